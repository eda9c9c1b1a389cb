"""`mlstack up/status/exec/down` end to end, on the hermetic test engine (docs/testing.md).

mlstack runs as a subprocess INSIDE the engine's network namespace (`nsenter --net=...`): that is
where the engine publishes ports, so that is where mlstack's port check must look, exactly as a
user's mlstack shares the engine's namespace on a normal machine. The real fragments run on the
stand-in images through the stack's image map; a test-only override shortens healthcheck
intervals to 2 s so the suite stays within a few minutes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.engine import DOCKER_HOST, NETNS_PATH

pytestmark = [pytest.mark.engine, pytest.mark.netns]

REPO = Path(__file__).resolve().parents[2]

IMAGE_MAP = """\
images:
  postgres:16.4-bookworm: mlstack-test/postgres:1
  redis:7.4.1-bookworm: mlstack-test/redis:1
  mlstack/mlflow:v2.17.2: mlstack-test/mlflow:1
  quay.io/jupyter/pytorch-notebook:cuda12-pytorch-2.5.1: mlstack-test/jupyter:1
  qdrant/qdrant:v1.12.4: mlstack-test/qdrant:1
profiles:
  dev:
    overrides: [dev, ./fast-checks.yaml]
"""


def fast_checks(fragments: list[str]) -> str:
    """A test-only override: the built-in services' healthchecks every 2 s instead of 5-10 s."""
    builtin = [name for name in fragments if "/" not in name]
    return "services:\n" + "".join(f"  {name}:\n    healthcheck:\n      interval: 2s\n" for name in builtin) \
        if builtin else "services: {}\n"


def engine():
    import docker

    return docker.DockerClient(base_url=DOCKER_HOST, timeout=60)


def mlstack(directory: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300,
            stdin=subprocess.DEVNULL) -> subprocess.CompletedProcess:
    """`mlstack ARGS` in the engine's network namespace, in the stack directory."""
    full_env = {**os.environ, "DOCKER_HOST": DOCKER_HOST, "PYTHONPATH": str(REPO), **(env or {})}
    full_env.pop("COMPOSE_PROFILES", None)
    return subprocess.run(["nsenter", f"--net={NETNS_PATH}", sys.executable, "-m", "mlstack", *args],
                          cwd=directory, env=full_env, capture_output=True, text=True, timeout=timeout, stdin=stdin)


def project_containers(project: str) -> list:
    return engine().containers.list(all=True, filters={"label": f"com.docker.compose.project={project}"})


def project_volumes(project: str) -> list[str]:
    return sorted(v.name for v in engine().volumes.list(filters={"label": f"com.docker.compose.project={project}"}))


class Stack:
    def __init__(self, tmp: Path, fragments: list[str], extra: str = "", files: dict[str, str] | None = None):
        self.name = f"lc{uuid.uuid4().hex[:8]}"
        self.project = f"{self.name}-dev"
        self.dir = tmp / self.name
        self.dir.mkdir()
        (self.dir / "notebooks").mkdir()
        (self.dir / "fast-checks.yaml").write_text(fast_checks(fragments))
        (self.dir / "mlstack.yaml").write_text(f"name: {self.name}\nfragments: {json.dumps(fragments)}\n{IMAGE_MAP}{extra}")
        for name, text in (files or {}).items():
            (self.dir / name).write_text(text)

    def run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return mlstack(self.dir, *args, **kwargs)

    def remove(self) -> None:
        self.run("down", "--volumes", "--yes", timeout=180)


def base_port() -> int:
    return 20000 + (os.getpid() * 37 + int(time.time())) % 2000 * 10


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """redis, postgres, mlflow, jupyter, qdrant; host ports remapped through their variables."""
    created = Stack(tmp_path_factory.mktemp("lifecycle"), ["redis", "postgres", "mlflow", "jupyter", "qdrant"])
    base = base_port()
    created.ports = {"MLFLOW_PORT": base, "JUPYTER_PORT": base + 1, "QDRANT_PORT": base + 2,
                     "QDRANT_GRPC_PORT": base + 3, "REDIS_PORT": base + 4, "POSTGRES_PORT": base + 5}
    created.env = {**{key: str(value) for key, value in created.ports.items()}, "JUPYTER_TOKEN": "e2e-token"}
    created.started = time.monotonic()
    created.up = created.run("up", "--profile", "dev", "--timeout", "240", env=created.env, timeout=300)
    created.up_seconds = time.monotonic() - created.started
    yield created
    created.remove()


def expected_table(ports: dict[str, int]) -> list[list[str]]:
    """The dev stack's table, split into words: every published port, and the URLs."""
    return [
        ["SERVICE", "STATE", "HEALTH", "PORTS", "URL"],
        ["jupyter", "running", "healthy", f"127.0.0.1:{ports['JUPYTER_PORT']}->8888/tcp",
         f"http://localhost:{ports['JUPYTER_PORT']}/lab?token=e2e-token"],
        ["mlflow", "running", "healthy", f"127.0.0.1:{ports['MLFLOW_PORT']}->5000/tcp",
         f"http://localhost:{ports['MLFLOW_PORT']}/"],
        ["postgres", "running", "healthy", f"127.0.0.1:{ports['POSTGRES_PORT']}->5432/tcp"],
        ["qdrant", "running", "healthy", f"127.0.0.1:{ports['QDRANT_PORT']}-{ports['QDRANT_GRPC_PORT']}->6333-6334/tcp",
         f"http://localhost:{ports['QDRANT_PORT']}/dashboard"],
        ["redis", "running", "healthy", f"127.0.0.1:{ports['REDIS_PORT']}->6379/tcp"],
    ]


def test_up_starts_everything_healthy_and_prints_the_url_table(stack):
    assert stack.up.returncode == 0, stack.up.stderr
    assert [line.split() for line in stack.up.stdout.splitlines()] == expected_table(stack.ports)


def test_status_shows_every_published_port_as_up_did(stack):
    done = stack.run("status", env=stack.env)     # JUPYTER_TOKEN: the URL shows it as up did
    assert done.returncode == 0, done.stderr
    assert [line.split() for line in done.stdout.splitlines()] == expected_table(stack.ports)


def test_the_gpu_service_runs_without_its_reservation_under_auto(stack):
    assert ("mlstack: gpu: jupyter: GPU removed: the Docker engine has no NVIDIA runtime and no CDI GPU devices; "
            "it runs on the CPU") in stack.up.stderr
    header = (stack.dir / ".mlstack" / "dev" / "compose.yaml").read_text().split("\nname:")[0]
    assert "# gpu: jupyter: GPU removed:" in header
    [jupyter] = [c for c in project_containers(stack.project) if c.labels["com.docker.compose.service"] == "jupyter"]
    assert not jupyter.attrs["HostConfig"].get("DeviceRequests")


def test_published_ports_answer_inside_the_engine_namespace(stack):
    probe = ("import urllib.request, sys; "
             f"print(urllib.request.urlopen('http://127.0.0.1:{stack.ports['MLFLOW_PORT']}/health', timeout=5).read().decode())")
    done = subprocess.run(["nsenter", f"--net={NETNS_PATH}", sys.executable, "-c", probe],
                          capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "OK", done.stderr


def test_status_json_is_fast_enough_and_complete(stack):
    started = time.monotonic()
    done = stack.run("status", "--json")
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["services"]
    assert {row["service"]: row["verdict"] for row in rows} == dict.fromkeys(
        ["jupyter", "mlflow", "postgres", "qdrant", "redis"], "ready")
    ports = stack.ports
    assert {row["service"]: [port["shown"] for port in row["ports"]] for row in rows} == {
        "jupyter": [f"127.0.0.1:{ports['JUPYTER_PORT']}->8888/tcp"],
        "mlflow": [f"127.0.0.1:{ports['MLFLOW_PORT']}->5000/tcp"],
        "postgres": [f"127.0.0.1:{ports['POSTGRES_PORT']}->5432/tcp"],
        "qdrant": [f"127.0.0.1:{ports['QDRANT_PORT']}->6333/tcp", f"127.0.0.1:{ports['QDRANT_GRPC_PORT']}->6334/tcp"],
        "redis": [f"127.0.0.1:{ports['REDIS_PORT']}->6379/tcp"],
    }
    [postgres] = [row for row in rows if row["service"] == "postgres"]
    assert postgres["ports"] == [{"host_ip": "127.0.0.1", "published": ports["POSTGRES_PORT"], "target": 5432,
                                  "protocol": "tcp", "shown": f"127.0.0.1:{ports['POSTGRES_PORT']}->5432/tcp"}]
    assert elapsed < 5   # the 300 ms target is measured by bench/lifecycle.py on a quiet machine


def test_a_service_reaches_another_by_service_name(stack):
    code = "import urllib.request; print(urllib.request.urlopen('http://mlflow:5000/health', timeout=5).read().decode())"
    done = stack.run("exec", "jupyter", "python3", "-c", code)
    assert (done.returncode, done.stdout.strip()) == (0, "OK"), done.stderr
    assert stack.run("exec", "redis", "sh", "-c", "exit 7").returncode == 7


def test_a_second_up_keeps_containers_and_volume_data(stack):
    assert stack.run("exec", "redis", "sh", "-c", "echo kept > /data/marker").returncode == 0
    before = {c.name: c.id for c in project_containers(stack.project)}
    again = stack.run("up", "--profile", "dev", env=stack.env)
    assert again.returncode == 0, again.stderr
    assert {c.name: c.id for c in project_containers(stack.project)} == before
    assert stack.run("exec", "redis", "cat", "/data/marker").stdout.strip() == "kept"


def test_a_taken_port_is_reported_before_anything_starts(tmp_path):
    other = Stack(tmp_path, ["redis"])
    port = base_port() + 7
    holder = subprocess.Popen(["nsenter", f"--net={NETNS_PATH}", sys.executable, "-m", "http.server", str(port),
                               "--bind", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.5)
        done = other.run("up", "--profile", "dev", env={"REDIS_PORT": str(port)})
    finally:
        holder.send_signal(signal.SIGTERM)
        holder.wait(10)
    assert done.returncode == 4, done.stderr
    assert (f"mlstack: preflight failed; nothing was started:\n"
            f"  port {port} (127.0.0.1:{port}->6379/tcp, service redis) is taken by "
            f"{os.path.basename(sys.executable)} -m http.server {port} (pid {holder.pid}); "
            f"remap it: `REDIS_PORT={port + 1} mlstack up`\n") in done.stderr
    assert "--port-offset 100" in done.stderr
    assert project_containers(other.project) == [] and project_volumes(other.project) == []


def test_a_port_another_stack_publishes_names_that_container(stack, tmp_path):
    other = Stack(tmp_path, ["redis"])
    port = stack.ports["REDIS_PORT"]
    done = other.run("up", "--profile", "dev", env={"REDIS_PORT": str(port)})
    assert done.returncode == 4, done.stderr
    assert (f"  port {port} (127.0.0.1:{port}->6379/tcp, service redis) is taken by container {stack.project}-redis-1 "
            f"(service redis of Compose project {stack.project}); remap it: `REDIS_PORT=") in done.stderr
    assert project_containers(other.project) == []


def test_gpu_required_refuses_before_anything_starts(tmp_path):
    other = Stack(tmp_path, ["jupyter"])
    done = other.run("up", "--profile", "dev", "--gpu", "required", "--port-offset", str(base_port() + 8 - 8888))
    assert done.returncode == 4, done.stderr
    assert ("  gpu: jupyter: cannot start: the Docker engine has no NVIDIA runtime and no CDI GPU devices; "
            "install the NVIDIA Container Toolkit") in done.stderr
    assert project_containers(other.project) == [] and project_volumes(other.project) == []


UNHEALTHY = """\
services:
  init:
    image: mlstack-test/busybox:1
    command: ["sh", "-c", "echo migrated"]
  broken:
    image: mlstack-test/busybox:1
    command: ["sh", "-c", "echo starting broken; sleep 300"]
    healthcheck: {test: ["CMD", "false"], interval: 1s, retries: 2}
"""


def test_an_unhealthy_service_exits_5_with_its_logs_and_a_one_shot_init_counts_as_done(tmp_path):
    other = Stack(tmp_path, ["./oneshot.yaml"], files={"oneshot.yaml": UNHEALTHY})
    try:
        done = other.run("up", "--profile", "dev", "--timeout", "60")
        assert done.returncode == 5, done.stderr
        assert "mlstack: broken did not become healthy\n--- broken: unhealthy; last 30 log lines:\n" in done.stderr
        assert "starting broken" in done.stderr
        assert "--- init" not in done.stderr
    finally:
        other.remove()


def test_down_keeps_volumes_and_down_volumes_needs_yes(stack):
    volumes = project_volumes(stack.project)
    assert volumes == sorted(f"{stack.project}_{name}" for name in
                             ("hf-cache", "jupyter-work", "mlflow-artifacts", "pgdata", "qdrant-storage", "redis-data")
                             if name != "jupyter-work")   # dev replaces jupyter-work with ./notebooks
    done = stack.run("down")
    assert done.returncode == 0, done.stderr
    assert project_containers(stack.project) == []
    assert project_volumes(stack.project) == volumes
    refused = stack.run("down", "--volumes")       # stdin is not a terminal
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"mlstack: down --volumes would delete {len(volumes)} volume(s) of {stack.project}")
    assert project_volumes(stack.project) == volumes
    removed = stack.run("down", "--volumes", "--yes")
    assert removed.returncode == 0, removed.stderr
    assert project_volumes(stack.project) == []


OPTIONAL = """\
services:
  base:
    image: mlstack-test/busybox:1
    command: ["sleep", "300"]
  extra:
    image: mlstack-test/busybox:1
    command: ["sleep", "300"]
    profiles: [extra]
"""


def test_compose_profiles_start_optional_services_and_down_stops_them_too(tmp_path):
    other = Stack(tmp_path, ["./optional.yaml"], files={"optional.yaml": OPTIONAL})
    try:
        plain = other.run("up", "--profile", "dev")
        assert plain.returncode == 0, plain.stderr
        assert [line.split()[:2] for line in plain.stdout.splitlines()[1:]] == [["base", "running"]]
        with_extra = other.run("up", "--profile", "dev", "--compose-profile", "extra")
        assert [line.split()[:2] for line in with_extra.stdout.splitlines()[1:]] == [["base", "running"], ["extra", "running"]]
        assert other.run("down").returncode == 0
        assert project_containers(other.project) == []
    finally:
        other.remove()


TEAM_PORTS = """\
x-mlstack:
  urls: [{service: web, port: 9000, path: /, label: Team UI}]
services:
  web:
    image: mlstack-test/busybox:1
    command: ["sleep", "300"]
    ports:
      - "127.0.0.1:${WEB_PORT}:8080"    # a team fragment's fixed port
      - "9000"                          # ephemeral: the engine chooses
      - "127.0.0.1::9200"               # ephemeral on loopback
"""


def test_a_team_fragment_s_fixed_and_ephemeral_ports_show_the_ports_the_engine_chose(tmp_path):
    other = Stack(tmp_path, ["./team.yaml"], files={"team.yaml": TEAM_PORTS})
    fixed = base_port() + 9
    try:
        done = other.run("up", "--profile", "dev", env={"WEB_PORT": str(fixed)})
        assert done.returncode == 0, done.stderr
        [web] = project_containers(other.project)
        bound = web.attrs["NetworkSettings"]["Ports"]
        every_address = [b["HostPort"] for b in bound["9000/tcp"] if b["HostIp"] == "0.0.0.0"][0]
        loopback = bound["9200/tcp"][0]["HostPort"]
        status = json.loads(other.run("status", "--json").stdout)["services"]
        shown = [port["shown"] for port in status[0]["ports"]]
        assert shown[0] == f"127.0.0.1:{fixed}->8080/tcp"
        assert f"0.0.0.0:{every_address}->9000/tcp" in shown and shown[-1] == f"127.0.0.1:{loopback}->9200/tcp"
        assert status[0]["url"] == f"http://localhost:{every_address}/"
        [line] = done.stdout.splitlines()[1:]
        assert line.split() == ["web", "running", "no", "healthcheck", *[port + "," for port in shown[:-1]], shown[-1],
                                status[0]["url"]]
    finally:
        other.remove()
