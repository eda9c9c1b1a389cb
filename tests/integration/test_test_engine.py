"""Smoke tests for the hermetic Docker test engine and its stand-in images.

Needs `sudo scripts/test-engine start` (see docs/testing.md). Every service is reached from
another container on the same user-defined network, never from the host: the engine lives in
its own network namespace.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid

import pytest

pytestmark = pytest.mark.engine

NETNS = os.environ.get("MLSTACK_TEST_NETNS", "mlstack-ci")
DATA_ROOT = os.environ.get("MLSTACK_TEST_ROOT", "/var/lib/mlstack-ci")
DOCKER_HOST = os.environ.get("DOCKER_HOST") or f"unix:///run/{NETNS}/docker.sock"
DOCKER = shutil.which("docker")

BUSYBOX = "mlstack-test/busybox:1"
DEBIAN = "mlstack-test/debian:1"
VARIANTS = {
    "mlstack-test/postgres:1": (["docker-entrypoint.sh"], ["postgres"], ""),
    "mlstack-test/redis:1": (["docker-entrypoint.sh"], ["redis-server"], ""),
    "mlstack-test/mlflow:1": (None, ["python3"], ""),
    "mlstack-test/jupyter:1": (["tini", "-g", "--", "start.sh"], ["start-notebook.py"], "1000"),
    "mlstack-test/qdrant:1": (None, ["./entrypoint.sh"], ""),
}


def docker(*args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([DOCKER, "--host", DOCKER_HOST, *args],
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


class Stack:
    """Stand-in services on one user-defined network, plus a client container to probe them."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:8]
        self.network = f"mlstack-smoke-{self.tag}"
        self.containers: dict[str, str] = {}

    def run(self, alias: str, image: str, *cmd: str, opts: tuple[str, ...] = ()) -> None:
        name = f"{alias}-{self.tag}"
        docker("run", "-d", "--name", name, "--network", self.network, "--network-alias", alias,
               *opts, image, *cmd)
        self.containers[alias] = name

    def exec(self, *cmd: str, timeout: float = 30, container: str = "client") -> subprocess.CompletedProcess:
        return docker("exec", self.containers[container], *cmd, timeout=timeout, check=False)

    def wait_for(self, what: str, *cmd: str, deadline: float, container: str = "client") -> subprocess.CompletedProcess:
        while True:
            proc = self.exec(*cmd, container=container)
            if proc.returncode == 0:
                return proc
            if time.monotonic() > deadline:
                logs = docker("logs", "--tail", "40", self.containers[what], check=False)
                raise AssertionError(f"{what} not ready: {' '.join(cmd)} -> {proc.returncode} "
                                     f"{proc.stdout}{proc.stderr}\n--- logs of {what}:\n{logs.stdout}{logs.stderr}")
            time.sleep(1)

    def close(self) -> None:
        for name in self.containers.values():
            docker("rm", "-fv", name, check=False)
        docker("network", "rm", self.network, check=False)


@pytest.fixture(scope="module")
def stack():
    s = Stack()
    docker("network", "create", s.network)
    try:
        s.run("client", DEBIAN, "sleep", "infinity")
        s.run("postgres", DEBIAN, "docker-entrypoint.sh", "postgres",
              opts=("-e", "POSTGRES_USER=mlflow", "-e", "POSTGRES_PASSWORD=secret", "-e", "POSTGRES_DB=mlflow"))
        s.run("redis", DEBIAN, "redis-server", "--save", "60", "1", "--appendonly", "no")
        s.run("redis-image", "mlstack-test/redis:1", "redis-server", "--save", "60", "1", "--appendonly", "no")
        s.run("qdrant", DEBIAN, "/qdrant/entrypoint.sh")
        s.run("qdrant-image", "mlstack-test/qdrant:1")
        s.run("jupyter", DEBIAN, "start-notebook.py", opts=("--user", "1000:100", "-e", "JUPYTER_TOKEN=smoke-token"))
        s.wait_for("postgres", "pg_isready", "-h", "postgres", "-U", "mlflow", deadline=time.monotonic() + 60)
        s.run("mlflow", DEBIAN, "mlflow", "server",
              "--backend-store-uri", "postgresql+psycopg2://mlflow:secret@postgres:5432/mlflow",
              "--default-artifact-root", "/mlflow/artifacts", "--host", "0.0.0.0", "--port", "5000",
              # MLflow 3.x rejects Host headers other than localhost / private IPs (403).
              "--allowed-hosts", "mlflow:5000,localhost:*,127.0.0.1:*", "--workers", "1")
        yield s
    finally:
        s.close()


def test_images_exist():
    for image in (BUSYBOX, DEBIAN, *VARIANTS):
        docker("image", "inspect", "--format", "{{.Id}}", image)


def test_variant_images_mirror_the_real_ones():
    for image, (entrypoint, cmd, user) in VARIANTS.items():
        out = docker("image", "inspect", "--format",
                     "{{json .Config.Entrypoint}}|{{json .Config.Cmd}}|{{.Config.User}}", image).stdout.strip()
        ep, c, u = out.split("|")
        assert (json.loads(ep), json.loads(c), u) == (entrypoint, cmd, user), image


def test_busybox_runs():
    out = docker("run", "--rm", "--network", "none", BUSYBOX, "echo", "ok").stdout
    assert out.strip() == "ok"


def test_postgres(stack):
    assert stack.exec("pg_isready", "-h", "postgres", "-U", "mlflow").returncode == 0
    q = stack.exec("env", "PGPASSWORD=secret", "psql", "-h", "postgres", "-U", "mlflow", "-d", "mlflow",
                   "-Atc", "select current_user || ' ' || current_database()")
    assert q.stdout.strip() == "mlflow mlflow", q.stderr
    # host connections need the password (scram), like the official image
    assert stack.exec("psql", "-w", "-h", "postgres", "-U", "mlflow", "-d", "mlflow", "-c", "select 1").returncode != 0
    assert stack.exec("ps", "-o", "user=", "-p", "1", container="postgres").stdout.strip() == "postgres"


@pytest.mark.parametrize("alias", ["redis", "redis-image"])
def test_redis(stack, alias):
    proc = stack.wait_for(alias, "redis-cli", "-h", alias, "ping", deadline=time.monotonic() + 30)
    assert proc.stdout.strip() == "PONG"
    assert stack.exec("redis-cli", "-h", alias, "set", "k", "v").stdout.strip() == "OK"


def test_mlflow(stack):
    proc = stack.wait_for("mlflow", "curl", "-sf", "http://mlflow:5000/health", deadline=time.monotonic() + 90)
    assert proc.stdout.strip() == "OK"
    api = stack.exec("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                     "http://mlflow:5000/api/2.0/mlflow/experiments/search?max_results=1")
    assert api.stdout == "200"


def test_jupyter(stack):
    proc = stack.wait_for("jupyter", "curl", "-sf", "http://jupyter:8888/api", deadline=time.monotonic() + 60)
    assert '"version"' in proc.stdout
    status = "%{http_code}"
    with_token = stack.exec("curl", "-s", "-o", "/dev/null", "-w", status, "http://jupyter:8888/api/status?token=smoke-token")
    without = stack.exec("curl", "-s", "-o", "/dev/null", "-w", status, "http://jupyter:8888/api/status")
    assert (with_token.stdout, without.stdout) == ("200", "403")
    ident = stack.exec("sh", "-c", 'echo "$(id -u):$(id -g) $HOME"', container="jupyter")
    assert ident.stdout.strip() == "1000:100 /home/jovyan"


@pytest.mark.parametrize("alias", ["qdrant", "qdrant-image"])
def test_qdrant(stack, alias):
    proc = stack.wait_for(alias, "curl", "-sf", f"http://{alias}:6333/healthz", deadline=time.monotonic() + 30)
    assert proc.returncode == 0
    cols = stack.exec("curl", "-sf", f"http://{alias}:6333/collections")
    assert '"collections": []' in cols.stdout
