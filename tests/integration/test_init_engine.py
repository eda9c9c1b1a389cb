"""A new user's first minutes, on the hermetic test engine: `mlstack init --yes`, `mlstack up --profile dev`,
`mlstack status`. The generated api/ image is really built (its base through the PYTHON_IMAGE build argument,
offline), runs as its unprivileged user, and turns healthy only once its model is loaded.

The engine reaches no registry, so the stack's image map points the other fragments at the stand-in images
(docs/testing.md) and a test-only override passes the api build its stand-in base; nothing else is changed
in what `init` wrote.
"""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

from tests.integration.engine import NETNS_PATH
from tests.integration.test_lifecycle import IMAGE_MAP, base_port, engine, mlstack, project_containers

pytestmark = [pytest.mark.engine, pytest.mark.netns]

STAND_INS = IMAGE_MAP.replace("./fast-checks.yaml", "./engine-stand-ins.yaml")
ENGINE_OVERRIDE = """\
services:
  api:
    build:
      args: {PYTHON_IMAGE: "mlstack-test/debian:1", OFFLINE: "1"}
    healthcheck: {interval: 2s}
  jupyter: {healthcheck: {interval: 2s, start_period: 240s}}
  mlflow: {healthcheck: {interval: 2s, start_period: 480s}}   # its first start migrates the database: slow on a busy machine
  postgres: {healthcheck: {interval: 2s, start_period: 120s}}
  qdrant: {healthcheck: {interval: 2s, start_period: 120s}}
  redis: {healthcheck: {interval: 2s, start_period: 120s}}
"""


def inside(*command: str) -> subprocess.CompletedProcess:
    """A command in the engine's network namespace, where the published ports are."""
    return subprocess.run(["nsenter", f"--net={NETNS_PATH}", *command], capture_output=True, text=True, timeout=30)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    name = f"init{uuid.uuid4().hex[:8]}"
    directory = tmp_path_factory.mktemp("init") / name
    created = mlstack(directory.parent, "init", name, "--yes")
    assert created.returncode == 0, created.stderr
    with (directory / "mlstack.yaml").open("a") as definition:
        definition.write(STAND_INS)
    (directory / "engine-stand-ins.yaml").write_text(ENGINE_OVERRIDE)
    base = base_port()
    ports = {"API_PORT": base, "MLFLOW_PORT": base + 1, "JUPYTER_PORT": base + 2, "QDRANT_PORT": base + 3,
             "QDRANT_GRPC_PORT": base + 4, "REDIS_PORT": base + 5, "POSTGRES_PORT": base + 6}
    env = {key: str(value) for key, value in ports.items()}
    up = mlstack(directory, "up", "--profile", "dev", "--timeout", "540", env=env, timeout=600)
    yield {"dir": directory, "name": name, "env": env, "ports": ports, "up": up}
    mlstack(directory, "down", "--volumes", "--yes", env=env, timeout=180)
    try:
        engine().images.remove(f"{name}-api:0.1.0", force=True)
    except Exception:  # noqa: BLE001 - best effort: the image may not have been built
        pass


def test_up_builds_the_api_and_every_service_turns_healthy(project):
    assert project["up"].returncode == 0, project["up"].stderr
    lines = project["up"].stdout.splitlines()   # the image build's output, then the service table
    header = next(number for number, line in enumerate(lines) if line.split()[:4] == ["SERVICE", "STATE", "HEALTH", "PORTS"])
    rows = {line.split()[0]: line.split() for line in lines[header + 1:] if line.strip()}
    assert sorted((name, row[1], row[2]) for name, row in rows.items()) == [
        (service, "running", "healthy") for service in sorted(["api", "jupyter", "mlflow", "postgres", "qdrant", "redis"])]
    # the Jupyter token init generated is the one up uses (no second generator)
    generated = (project["dir"] / ".mlstack" / "dev-secrets.env").read_text()
    token = rows["jupyter"][-1].split("token=")[1]
    assert f"JUPYTER_TOKEN={token}\n" in generated


def test_status_lists_every_published_port(project):
    done = mlstack(project["dir"], "status", env=project["env"])
    assert done.returncode == 0, done.stderr
    published = {line.split()[0]: line.split()[3] for line in done.stdout.splitlines()[1:]}
    ports = project["ports"]
    assert published == {
        "api": f"127.0.0.1:{ports['API_PORT']}->8000/tcp",
        "jupyter": f"127.0.0.1:{ports['JUPYTER_PORT']}->8888/tcp",
        "mlflow": f"127.0.0.1:{ports['MLFLOW_PORT']}->5000/tcp",
        "postgres": f"127.0.0.1:{ports['POSTGRES_PORT']}->5432/tcp",
        "qdrant": f"127.0.0.1:{ports['QDRANT_PORT']}-{ports['QDRANT_GRPC_PORT']}->6333-6334/tcp",
        "redis": f"127.0.0.1:{ports['REDIS_PORT']}->6379/tcp"}


def test_the_api_serves_its_model_on_the_published_port(project):
    url = f"http://127.0.0.1:{project['ports']['API_PORT']}"
    ready = inside("curl", "-sS", "--fail", f"{url}/ready")
    assert ready.returncode == 0, ready.stderr
    assert json.loads(ready.stdout) == {"status": "ready", "model": "stand-in-linear", "version": "0.1.0", "device": "cpu"}
    predicted = inside("curl", "-sS", "--fail", "-H", "content-type: application/json",
                       "-d", '{"features": {"amount": 100, "hour": 3, "merchant_risk": 0.9}}', f"{url}/predict")
    assert predicted.returncode == 0, predicted.stderr
    assert json.loads(predicted.stdout)["label"] is True


def test_the_built_image_is_multi_stage_unprivileged_and_checks_its_own_health(project):
    image = engine().images.get(f"{project['name']}-api:0.1.0")
    config = image.attrs["Config"]
    assert config["User"] == "10001:10001"
    assert "/ready" in " ".join(config["Healthcheck"]["Test"])
    assert {"PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"} <= set(config["Env"])
    history = " ".join(step.get("CreatedBy", "") for step in image.history())
    assert "build-essential" not in history   # the compilers stayed in the builder stage
    container, = [c for c in project_containers(f"{project['name']}-dev")
                  if c.labels.get("com.docker.compose.service") == "api"]
    assert container.exec_run(["id", "-u"]).output.decode().strip() == "10001"
