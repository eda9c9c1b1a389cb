"""examples/: the two team stacks render (dev and prod), lint without errors, and come up healthy.

The render and lint proofs read the examples as they are committed. The end-to-end proof copies an
example into a temporary directory and changes only that copy's `mlstack.yaml`, the way
tests/integration/test_lifecycle.py runs the built-in fragments: a unique stack name (others share
the engine), the stack's image map pointing every real image at its stand-in (mlstack-test/*:1),
and a test-only override with 2 s healthchecks (and a long start period, which only
stops early failures from counting). Host ports are remapped through the fragments'
own variables. The model caches are seeded from all-MiniLM-L6-v2's real files
(tests/integration/models.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from tests import needs
from tests.integration.engine import DOCKER_HOST, NETNS_PATH
from tests.integration.models import MODEL, hf_cache, model_files

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
SERVICES = {"rag": {"api", "qdrant"}, "training": {"jupyter", "mlflow", "postgres", "trainer"}}
STAND_INS = {
    "{name}-api:0.1.0": "mlstack-test/debian:1",   # the API image a stack builds; the stand-in has FastAPI
    "{name}-trainer:0.1.0": "mlstack-test/jupyter:1",
    "postgres:16.4-bookworm": "mlstack-test/postgres:1",
    "mlstack/mlflow:v2.17.2": "mlstack-test/mlflow:1",
    "quay.io/jupyter/pytorch-notebook:cuda12-pytorch-2.5.1": "mlstack-test/jupyter:1",
    "qdrant/qdrant:v1.12.4": "mlstack-test/qdrant:1",
}


def mlstack(directory: Path, *args: str, env: dict[str, str] | None = None, in_namespace: bool = False,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """`mlstack ARGS` in `directory`; lifecycle commands run in the engine's network namespace, where
    it publishes ports."""
    full_env = {**os.environ, "DOCKER_HOST": DOCKER_HOST, "PYTHONPATH": str(REPO), **(env or {})}
    full_env.pop("COMPOSE_PROFILES", None)
    prefix = ["nsenter", f"--net={NETNS_PATH}"] if in_namespace else []
    return subprocess.run([*prefix, sys.executable, "-m", "mlstack", *args], cwd=directory, env=full_env,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


# --- as committed: render and lint -------------------------------------------------------------

@pytest.mark.parametrize("profile", ["dev", "prod"])
@pytest.mark.parametrize("example", sorted(SERVICES))
def test_the_example_renders(example, profile, tmp_path):
    out = tmp_path / "compose.yaml"
    done = mlstack(EXAMPLES / example, "render", "--profile", profile, "-o", str(out))
    assert done.returncode == 0, done.stderr
    rendered = yaml.safe_load(out.read_text())
    assert rendered["name"] == f"{example}-{profile}"
    assert set(rendered["services"]) == SERVICES[example]


@pytest.mark.parametrize("example", sorted(SERVICES))
def test_the_example_lints_without_errors_in_every_profile(example):
    done = mlstack(EXAMPLES / example, "lint", "--format", "json")
    report = json.loads(done.stdout)
    errors = [f for f in report["findings"] if f["severity"] == "error" and not f.get("silenced")]
    assert (done.returncode, errors) == (0, []), done.stderr
    assert report["counts"]["error"] == 0


@pytest.mark.compose
@pytest.mark.parametrize("profile", ["dev", "prod"])
@pytest.mark.parametrize("example", sorted(SERVICES))
def test_docker_compose_accepts_the_render(example, profile, tmp_path):
    out = tmp_path / "compose.yaml"
    assert mlstack(EXAMPLES / example, "render", "--profile", profile, "-o", str(out)).returncode == 0
    done = subprocess.run([*needs.compose_argv(), "-f", str(out), "config", "-q"], cwd=EXAMPLES / example,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


# --- on the test engine: up, healthy, seeded, down ---------------------------------------------

class Running:
    """A copy of an example under a unique name, started with `mlstack up` and removed at the end."""

    def __init__(self, example: str, tmp: Path, env: dict[str, str]):
        self.name = f"{example}{uuid.uuid4().hex[:8]}"
        self.project = f"{self.name}-dev"
        self.dir = tmp / self.name
        shutil.copytree(EXAMPLES / example, self.dir)
        stack = yaml.safe_load((self.dir / "mlstack.yaml").read_text())
        stack["name"] = self.name
        stack["images"] = {image.format(name=self.name): stand_in for image, stand_in in STAND_INS.items()}
        stack["profiles"]["dev"]["overrides"].append("./fast-checks.yaml")
        (self.dir / "mlstack.yaml").write_text(yaml.safe_dump(stack, sort_keys=False))
        # checked every 2 s; failures in the first 5 min do not count (MLflow's first start is slow on a busy host)
        checks = {"services": {name: {"healthcheck": {"interval": "2s", "start_period": "300s"}}
                               for name in SERVICES[example]}}
        if "mlflow" in stack["fragments"]:
            # The stand-in runs MLflow 3's uvicorn with 4 workers, whose supervisor kills a worker that
            # misses a 5 s ping: on a loaded 2-core host that repeats forever. One worker has no supervisor.
            checks["services"]["mlflow"] = {**checks["services"].get("mlflow", {}), "environment": {"MLFLOW_WORKERS": "1"}}
        (self.dir / "fast-checks.yaml").write_text(yaml.safe_dump(checks))
        self.env = env
        self.up = self.run("up", "--profile", "dev", "--timeout", "420", timeout=480)   # a busy 2-core host

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return mlstack(self.dir, *args, env=self.env, in_namespace=True, timeout=timeout)

    def status(self) -> dict[str, dict]:
        done = self.run("status", "--json")
        assert done.returncode == 0, done.stderr
        return {row["service"]: row for row in json.loads(done.stdout)["services"]}

    def remove(self) -> None:
        self.run("down", "--volumes", "--yes", timeout=180)


def base_port() -> int:
    return 23000 + (os.getpid() * 41 + int(time.time())) % 1500 * 10


@pytest.fixture
def running(tmp_path):
    started: list[Running] = []

    def start(example: str, env: dict[str, str]) -> Running:
        started.append(Running(example, tmp_path, env))
        return started[-1]

    yield start
    for stack in started:
        stack.remove()


def in_service(stack: Running, service: str, code: str) -> str:
    done = stack.run("exec", service, "python3", "-c", code)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.engine
@pytest.mark.netns
def test_the_rag_stack_comes_up_healthy_with_its_embedding_model_seeded(running):
    port = base_port()
    stack = running("rag", {"EMBEDDING_MODEL_DIR": str(model_files()), "API_PORT": str(port),
                            "QDRANT_PORT": str(port + 1), "QDRANT_GRPC_PORT": str(port + 2)})
    assert stack.up.returncode == 0, stack.up.stderr
    assert {name: (row["state"], row["health"]) for name, row in stack.status().items()} == \
        {"api": ("running", "healthy"), "qdrant": ("running", "healthy")}
    # /ready (the healthcheck) found Qdrant and the seeded model; the copy is the model itself
    ready = json.loads(in_service(stack, "api", "import urllib.request; "
                                  "print(urllib.request.urlopen('http://127.0.0.1:8000/ready').read().decode())"))
    assert ready == {"status": "ready", "model": "/models/all-MiniLM-L6-v2", "collection": "documents"}
    size = in_service(stack, "api", "import os; print(os.path.getsize('/models/all-MiniLM-L6-v2/model.safetensors'))")
    assert int(size) == (model_files() / "model.safetensors").stat().st_size


@pytest.mark.engine
@pytest.mark.netns
def test_the_training_stack_comes_up_healthy_with_its_hf_cache_seeded(running, tmp_path):
    port = base_port()
    commit = hf_cache(tmp_path / "hf")
    stack = running("training", {"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "JUPYTER_TOKEN": "e2e",
                                 "JUPYTER_PORT": str(port), "MLFLOW_PORT": str(port + 1),
                                 "POSTGRES_PORT": str(port + 2)})
    assert stack.up.returncode == 0, stack.up.stderr
    # the trainer is in a Compose service profile (`train`): a plain `up` does not create it
    assert {name: (row["state"], row["health"]) for name, row in stack.status().items()} == \
        {**{name: ("running", "healthy") for name in ("jupyter", "mlflow", "postgres")}, "trainer": ("not created", "-")}
    assert "jupyter: GPU removed: the Docker engine has no NVIDIA runtime" in stack.up.stderr   # gpu: auto
    shm = in_service(stack, "jupyter", "import os; s = os.statvfs('/dev/shm'); print(s.f_blocks * s.f_frsize)")
    assert int(shm) == 16 * 1024 ** 3
    snapshot = f"/home/jovyan/.cache/huggingface/hub/models--{MODEL.replace('/', '--')}/snapshots/{commit}"
    size = in_service(stack, "jupyter", f"import os; print(os.path.getsize('{snapshot}/model.safetensors'))")
    assert int(size) == (model_files() / "model.safetensors").stat().st_size
