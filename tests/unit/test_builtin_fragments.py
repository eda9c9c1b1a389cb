"""Built-in service fragments (stacks/), built-in profiles (overrides/) and templates.

Static checks read the YAML directly. Tests marked ``compose`` run the real
``docker-compose`` binary (``config`` only: no Docker engine is needed) and are
skipped when it is not installed.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import needs

ROOT = Path(__file__).resolve().parents[2]
STACKS = ROOT / "stacks"
OVERRIDES = ROOT / "overrides"
TEMPLATES = ROOT / "mlstack" / "templates"

FRAGMENTS = ["api", "qdrant", "redis", "postgres", "mlflow", "jupyter"]
PROFILES = ["dev", "prod"]
X_MLSTACK_KEYS = {"description", "requires", "urls", "caches"}
URL_KEYS = {"service", "port", "path", "label", "query"}
CACHE_KEYS = {"service", "target", "owner"}

COMPOSE = needs.compose_argv()
TIMEOUT_S = 60

# Values that stand in for real secrets; they must never reach the rendered file.
PROD_ENV = {
    "POSTGRES_PASSWORD": "pg-sentinel-7f3a9c",
    "JUPYTER_TOKEN": "jupyter-sentinel-5d1e8b",
    "HF_TOKEN": "hf-sentinel-2c4b6a",
}

needs_compose = pytest.mark.compose


# --------------------------------------------------------------------------- helpers


def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


def fragment(name: str) -> dict[str, Any]:
    return load(STACKS / f"{name}.yaml")


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^${}]|\$\$)*))?\}")


def interpolate_defaults(value: str) -> str:
    """Compose interpolation with an empty environment (innermost expressions first)."""
    escaped = value.replace("$$", "\x00")
    while True:
        match = _VAR.search(escaped)
        if match is None:
            break
        op, arg = match.group(2), match.group(3) or ""
        if op in (":-", "-"):
            repl = arg
        elif op in (":?", "?"):
            raise ValueError(f"required variable {match.group(1)} in {value!r}")
        else:  # ${VAR}, ${VAR:+x}, ${VAR+x} with VAR unset
            repl = ""
        escaped = escaped[: match.start()] + repl + escaped[match.end():]
    return escaped.replace("\x00", "$")


def closure(names: list[str]) -> list[str]:
    """The fragments named plus everything they require, in FRAGMENTS order."""
    wanted: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(fragment(name)["x-mlstack"]["requires"])
    return [name for name in FRAGMENTS if name in wanted]


def scoped_profile(profile: str, services: set[str], tmp_path: Path) -> Path:
    """What mlstack does with a built-in profile: drop entries for absent services."""
    data = load(OVERRIDES / f"{profile}.yaml")
    data["services"] = {k: v for k, v in data["services"].items() if k in services}
    out = tmp_path / f"{profile}.yaml"
    out.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return out


def clean_env(**extra: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    env.update(extra)
    return env


def compose(files: list[Path], env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    assert COMPOSE is not None
    cmd = [*COMPOSE, "-p", "mlstack-test"]
    for path in files:
        cmd += ["-f", str(path)]
    cmd += list(args)
    return subprocess.run(
        cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )


def rendered(files: list[Path], env: dict[str, str]) -> dict[str, Any]:
    result = compose(files, env, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def stack_files(names: list[str]) -> list[Path]:
    return [STACKS / f"{name}.yaml" for name in names]


def image_is_pinned(image: str) -> bool:
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last:
        return False
    tag = last.rsplit(":", 1)[1]
    # Exact version: at least major.minor (rejects `latest`, `16`, `bookworm`, `v2`).
    return tag != "latest" and re.search(r"\d+\.\d+", tag) is not None


# ------------------------------------------------------------------ fragment checks


def test_fragment_set_is_complete() -> None:
    assert sorted(p.stem for p in STACKS.glob("*.yaml")) == sorted(FRAGMENTS)


@pytest.mark.compose
@needs_compose
@pytest.mark.parametrize("name", FRAGMENTS)
def test_fragment_is_valid_compose_on_its_own(name: str) -> None:
    result = compose([STACKS / f"{name}.yaml"], clean_env(), "config", "-q")
    assert result.returncode == 0, result.stderr
    assert "variable is not set" not in result.stderr, result.stderr


@pytest.mark.parametrize("name", FRAGMENTS)
def test_images_are_pinned(name: str) -> None:
    for service, spec in fragment(name)["services"].items():
        image = interpolate_defaults(spec["image"])
        assert image_is_pinned(image), f"{name}/{service}: image {image!r} is not pinned"


@pytest.mark.parametrize("name", FRAGMENTS)
def test_every_service_has_a_healthcheck(name: str) -> None:
    for service, spec in fragment(name)["services"].items():
        check = spec.get("healthcheck")
        assert isinstance(check, dict), f"{name}/{service} has no healthcheck"
        assert not check.get("disable"), f"{name}/{service} disables its healthcheck"
        test = check.get("test")
        assert isinstance(test, list) and test and test[0] in ("CMD", "CMD-SHELL"), test
        for key in ("interval", "timeout", "retries", "start_period"):
            assert key in check, f"{name}/{service} healthcheck lacks {key}"


@pytest.mark.parametrize("name", FRAGMENTS)
def test_x_mlstack_contract(name: str) -> None:
    data = fragment(name)
    meta = data.get("x-mlstack")
    assert isinstance(meta, dict), f"{name}: no x-mlstack block"
    assert set(meta) - {"state", "secrets"} == X_MLSTACK_KEYS, f"{name}: x-mlstack keys {sorted(meta)}"
    for volume in meta.get("state", []):   # optional: the volumes holding a service's own data (k8s StatefulSet)
        assert volume in (data.get("volumes") or {}), f"{name}: state volume {volume} is not declared"
    services = data["services"]

    assert isinstance(meta["description"], str) and meta["description"].strip()
    assert "\n" not in meta["description"].strip()

    assert isinstance(meta["requires"], list)
    assert all(isinstance(r, str) for r in meta["requires"])
    assert name not in meta["requires"]

    assert isinstance(meta["urls"], list)
    for row in meta["urls"]:
        assert isinstance(row, dict) and set(row) <= URL_KEYS, row
        assert {"service", "port", "path", "label"} <= set(row), row
        assert row["service"] in services, f"{name}: url row for unknown service {row['service']}"
        assert isinstance(row["port"], int) and not isinstance(row["port"], bool)
        exposed = [int(p) for p in services[row["service"]].get("expose", [])]
        assert row["port"] in exposed, f"{name}: url port {row['port']} not exposed"
        assert isinstance(row["path"], str) and row["path"].startswith("/")
        assert isinstance(row["label"], str) and row["label"]
        assert isinstance(row.get("query", ""), str)

    assert isinstance(meta["caches"], dict)
    declared = data.get("volumes") or {}
    for volume, cache in meta["caches"].items():
        assert isinstance(cache, dict) and set(cache) - {"access_mode"} == CACHE_KEYS, cache
        assert cache.get("access_mode", "ReadWriteOnce") in ("ReadWriteOnce", "ReadWriteMany"), cache
        assert volume in declared, f"{name}: cache {volume} is not a declared volume"
        assert cache["service"] in services
        mounts = services[cache["service"]].get("volumes", [])
        assert f"{volume}:{cache['target']}" in mounts, f"{name}: {volume} not mounted at {cache['target']}"
        assert re.fullmatch(r"\d+:\d+", str(cache["owner"])), cache["owner"]


@pytest.mark.parametrize("name", FRAGMENTS)
def test_requires_name_existing_fragments(name: str) -> None:
    for required in fragment(name)["x-mlstack"]["requires"]:
        assert (STACKS / f"{required}.yaml").is_file(), f"{name} requires unknown fragment {required}"


def test_requires_graph_is_acyclic() -> None:
    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"requires cycle: {' -> '.join(path + (name,))}"
        for required in fragment(name)["x-mlstack"]["requires"]:
            visit(required, path + (name,))

    for name in FRAGMENTS:
        visit(name, ())


@pytest.mark.parametrize("name", FRAGMENTS)
def test_base_fragments_publish_no_ports(name: str) -> None:
    for service, spec in fragment(name)["services"].items():
        assert "ports" not in spec, f"{name}/{service} publishes ports (profiles do that)"
        assert spec.get("expose"), f"{name}/{service} exposes no port"


@pytest.mark.parametrize("name", FRAGMENTS)
def test_base_fragments_are_self_contained(name: str) -> None:
    """No cross-fragment depends_on (compose rejects it alone), no fixed names."""
    for service, spec in fragment(name)["services"].items():
        assert "depends_on" not in spec, f"{name}/{service}: use x-mlstack.requires instead"
        assert "container_name" not in spec, f"{name}/{service}: container_name breaks replicas"


@pytest.mark.parametrize("name", FRAGMENTS)
def test_state_lives_in_declared_named_volumes(name: str) -> None:
    data = fragment(name)
    declared = set(data.get("volumes") or {})
    used: set[str] = set()
    for service, spec in data["services"].items():
        for mount in spec.get("volumes", []):
            assert isinstance(mount, str), mount
            source = mount.split(":", 1)[0]
            assert not source.startswith((".", "/", "~", "$")), f"{name}/{service}: bind mount {mount}"
            used.add(source)
    assert used == declared, f"{name}: used {sorted(used)} declared {sorted(declared)}"


def test_mlflow_image_tag_matches_its_dockerfile() -> None:
    dockerfile = (TEMPLATES / "mlflow" / "Dockerfile").read_text(encoding="utf-8")
    base = re.search(r"^FROM\s+ghcr\.io/mlflow/mlflow:(\S+)\s*$", dockerfile, re.M)
    assert base, "mlflow Dockerfile must build FROM a pinned ghcr.io/mlflow/mlflow tag"
    assert image_is_pinned(f"ghcr.io/mlflow/mlflow:{base.group(1)}")
    assert re.search(r"psycopg2-binary==\$\{PSYCOPG2_VERSION\}|psycopg2-binary==\d", dockerfile)
    assert re.search(r"^ARG PSYCOPG2_VERSION=\d+\.\d+\.\d+$", dockerfile, re.M)
    assert re.search(r"^USER\s+(?!0\b|root\b)\S+", dockerfile, re.M), "mlflow image must not run as root"
    service = fragment("mlflow")["services"]["mlflow"]
    assert service["image"] == f"mlstack/mlflow:{base.group(1)}"
    assert "${MLSTACK_TEMPLATES:-" in service["build"]["context"]


def test_jupyter_image_tag_carries_the_cuda_version() -> None:
    image = fragment("jupyter")["services"]["jupyter"]["image"]
    assert re.search(r":cuda\d+-", image), image


# ------------------------------------------------------------------ profile checks

@pytest.mark.parametrize("profile", PROFILES)
def test_profiles_only_mention_builtin_services(profile: str) -> None:
    """No phantom services: secrets are declared (x-mlstack.secrets), not checked by a service that never runs."""
    services = load(OVERRIDES / f"{profile}.yaml")["services"]
    assert set(services) <= set(FRAGMENTS), sorted(set(services) - set(FRAGMENTS))


def test_declared_secrets_match_what_prod_wires_by_hand() -> None:
    """The prod override stays valid Compose on its own; its wiring is the one the declarations produce."""
    prod = load(OVERRIDES / "prod.yaml")
    declared = {}
    for name in FRAGMENTS:
        for secret, body in (fragment(name)["x-mlstack"].get("secrets") or {}).items():
            entry = declared.setdefault(secret, {"services": {}})
            entry.update({key: value for key, value in body.items() if key != "services"})
            entry["services"].update(body.get("services") or {})
    assert sorted(declared) == sorted(prod["secrets"])
    for secret, body in declared.items():
        assert prod["secrets"][secret] == {"environment": body["environment"]}
        assert body["required"] == ["prod"]
        for service, variable in body["services"].items():
            assert prod["services"][service]["environment"][variable] == f"/run/secrets/{secret}"
            assert prod["services"][service]["environment"][variable.removesuffix("_FILE")] == ""
            assert secret in prod["services"][service]["secrets"]


@pytest.mark.parametrize("profile", PROFILES)
def test_profile_commands_extend_the_base_command(profile: str) -> None:
    """A profile that replaces a command keeps the fragment's arguments (redis)."""
    base = fragment("redis")["services"]["redis"]["command"]
    command = load(OVERRIDES / f"{profile}.yaml")["services"]["redis"]["command"]
    assert command[: len(base)] == base


@pytest.mark.parametrize("profile", PROFILES)
def test_profiles_bind_mount_only_in_dev(profile: str) -> None:
    for name, spec in load(OVERRIDES / f"{profile}.yaml")["services"].items():
        for mount in spec.get("volumes", []):
            assert profile == "dev", f"{profile}/{name} mounts {mount}"


@pytest.mark.compose
@needs_compose
def test_full_stack_with_dev_profile_renders_without_environment() -> None:
    files = stack_files(FRAGMENTS) + [OVERRIDES / "dev.yaml"]
    result = compose(files, clean_env(), "config", "-q")
    assert result.returncode == 0, result.stderr
    model = rendered(files, clean_env())
    for name, spec in model["services"].items():
        ports = spec.get("ports") or []
        assert ports, f"dev publishes no port for {name}"
        for port in ports:
            assert port.get("host_ip") == "127.0.0.1", f"dev publishes {name} beyond localhost: {port}"
    # Hot reload and notebooks come from bind mounts.
    api_mounts = {m["target"]: m for m in model["services"]["api"]["volumes"]}
    assert api_mounts["/app"]["type"] == "bind"
    assert "--reload" in model["services"]["api"]["command"]
    jupyter_mounts = {m["target"]: m for m in model["services"]["jupyter"]["volumes"]}
    assert jupyter_mounts["/home/jovyan/work"]["type"] == "bind"
    assert jupyter_mounts["/home/jovyan/.cache/huggingface"]["source"] == "hf-cache"
    assert model["services"]["api"]["environment"]["LOG_LEVEL"] == "debug"


@pytest.mark.compose
@needs_compose
def test_dev_host_ports_are_remappable() -> None:
    files = stack_files(FRAGMENTS) + [OVERRIDES / "dev.yaml"]
    model = rendered(files, clean_env(MLFLOW_PORT="15000", JUPYTER_PORT="18888"))
    published = {
        name: {str(p["published"]) for p in spec.get("ports", [])}
        for name, spec in model["services"].items()
    }
    assert published["mlflow"] == {"15000"}
    assert published["jupyter"] == {"18888"}


@pytest.mark.compose
@needs_compose
def test_full_stack_with_prod_profile_renders_with_secrets_set() -> None:
    files = stack_files(FRAGMENTS) + [OVERRIDES / "prod.yaml"]
    result = compose(files, clean_env(**PROD_ENV), "config", "-q")
    assert result.returncode == 0, result.stderr
    model = rendered(files, clean_env(**PROD_ENV))
    services = model["services"]
    for name, spec in services.items():
        assert spec.get("restart") in ("unless-stopped", "always"), f"prod {name}: no restart policy"
        limits = (spec.get("deploy") or {}).get("resources", {}).get("limits", {})
        assert limits.get("memory") and limits.get("cpus"), f"prod {name}: no resource limits"
        for mount in spec.get("volumes") or []:
            assert mount["type"] == "volume", f"prod {name}: {mount['type']} mount {mount['target']}"
    for name in ("postgres", "redis", "qdrant"):
        assert not services[name].get("ports"), f"prod publishes database port of {name}"
    assert services["api"].get("ports"), "prod must publish the api"
    assert services["api"]["deploy"]["replicas"] == 2
    for name in ("mlflow", "jupyter"):
        for port in services[name].get("ports") or []:
            assert port.get("host_ip") == "127.0.0.1", f"prod publishes {name} beyond localhost"
    assert services["api"]["environment"]["LOG_LEVEL"] == "info"
    assert set(model["secrets"]) == {"pg_password", "jupyter_token"}


@pytest.mark.compose
@needs_compose
def test_prod_render_keeps_secret_values_out() -> None:
    files = stack_files(FRAGMENTS) + [OVERRIDES / "prod.yaml"]
    result = compose(files, clean_env(**PROD_ENV), "config")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    model = rendered(files, clean_env(**PROD_ENV))
    for var, value in PROD_ENV.items():
        assert value not in text, f"the value of {var} leaks into the rendered prod file"
    assert model["secrets"]["pg_password"]["environment"] == "POSTGRES_PASSWORD"
    assert model["secrets"]["jupyter_token"]["environment"] == "JUPYTER_TOKEN"


@pytest.mark.compose
@needs_compose
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", FRAGMENTS)
def test_profiles_scoped_to_smaller_stacks(name: str, profile: str, tmp_path: Path) -> None:
    names = closure([name])
    override = scoped_profile(profile, set(names), tmp_path)
    needed: dict[str, str] = {}
    if profile == "prod":
        if {"postgres", "mlflow"} & set(names):
            needed["POSTGRES_PASSWORD"] = PROD_ENV["POSTGRES_PASSWORD"]
        if "jupyter" in names:
            needed["JUPYTER_TOKEN"] = PROD_ENV["JUPYTER_TOKEN"]
    result = compose(stack_files(names) + [override], clean_env(**needed), "config", "-q")
    assert result.returncode == 0, f"{names} + {profile}: {result.stderr}"


# ------------------------------------------------------------------ API template

API_DIR = TEMPLATES / "api"


def test_api_template_files() -> None:
    ast.parse((API_DIR / "app" / "main.py").read_text(encoding="utf-8"))
    dockerfile = (API_DIR / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11\.10-slim-bookworm$", dockerfile, re.M)
    assert re.search(r"^USER\s+(?!0\b|root\b)\S+", dockerfile, re.M), "api image must not run as root"
    assert '"app.main:app"' in dockerfile and '"8000"' in dockerfile
    reqs = [
        line.split("#", 1)[0].strip()
        for line in (API_DIR / "requirements.txt").read_text(encoding="utf-8").splitlines()
    ]
    reqs = [r for r in reqs if r]
    assert reqs and all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==\d+(\.\d+)+", r) for r in reqs), reqs
    names = {re.split(r"[\[=]", r, 1)[0].lower() for r in reqs}
    assert {"fastapi", "uvicorn", "redis"} <= names


@pytest.fixture
def api_client(monkeypatch: pytest.MonkeyPatch):
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    pytest.importorskip("redis")
    from fastapi.testclient import TestClient

    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # keep the shipped template clean
    spec = importlib.util.spec_from_file_location("mlstack_api_template_main", API_DIR / "app" / "main.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("READY_CHECK_TIMEOUT", "1")
    return TestClient(module.app)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_api_health_is_liveness_only(api_client, monkeypatch: pytest.MonkeyPatch) -> None:
    port = _closed_port()
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{port}/0")
    response = api_client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_api_ready_is_503_quickly_when_dependencies_are_down(api_client, monkeypatch: pytest.MonkeyPatch) -> None:
    port = _closed_port()
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{port}/0")
    monkeypatch.setenv("QDRANT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    started = time.monotonic()
    response = api_client.get("/ready")
    assert time.monotonic() - started < 3
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["mlflow", "qdrant", "redis"]
    assert all(not check["ok"] and check["error"] for check in body["checks"].values())


def test_api_ready_times_out_on_a_hung_dependency(api_client, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as hung:  # accepts connections (backlog), never answers
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)
        port = hung.getsockname()[1]
        monkeypatch.setenv("REDIS_URL", "")
        monkeypatch.setenv("QDRANT_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("MLFLOW_TRACKING_URI", "")
        started = time.monotonic()
        response = api_client.get("/ready")
        assert time.monotonic() - started < 3
    assert response.status_code == 503
    assert response.json()["failed"] == ["qdrant"]


def test_api_ready_skips_dependencies_set_to_empty(api_client, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("REDIS_URL", "QDRANT_URL", "MLFLOW_TRACKING_URI"):
        monkeypatch.setenv(var, "")
    response = api_client.get("/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def test_api_docs_are_served(api_client) -> None:
    assert api_client.get("/docs").status_code == 200
    paths = api_client.get("/openapi.json").json()["paths"]
    assert {"/health", "/ready"} <= set(paths)
