"""The swarm render on a real two-node swarm (scripts/test-swarm): converges, spreads, reaches across nodes.

The stack is the default one on the stand-in images (the stack's image map), in a test profile
on top of prod that sets `deploy.endpoint_mode: dnsrr` (these machines have no IPVS, so virtual-IP
service addresses answer "No route to host"), faster healthchecks, and a stdlib stand-in for the
API image (whose template needs packages the stand-in image lacks) that checks redis, qdrant and
mlflow by service name on /ready.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.integration.swarm import HOSTS, docker

pytestmark = pytest.mark.swarm

REPO = Path(__file__).resolve().parents[2]
STACK = "swarmproof"
PROJECT = f"{STACK}-swarmtest"
IMAGES = {
    "postgres:16.4-bookworm": "mlstack-test/postgres:1",
    "redis:7.4.1-bookworm": "mlstack-test/redis:1",
    "mlstack/mlflow:v2.17.2": "mlstack-test/mlflow:1",
    "quay.io/jupyter/pytorch-notebook:cuda12-pytorch-2.5.1": "mlstack-test/jupyter:1",
    "qdrant/qdrant:v1.12.4": "mlstack-test/qdrant:1",
    f"{STACK}-api:0.1.0": "mlstack-test/debian:1",
}
SERVICES = ("api", "jupyter", "mlflow", "postgres", "qdrant", "redis")
API_STANDIN = r'''
import os, socket, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
def redis_ok():
    with socket.create_connection(("redis", 6379), timeout=2) as s:
        s.sendall(b"PING\r\n"); return s.recv(16).startswith(b"+PONG")
def http_ok(url):
    return urllib.request.urlopen(url, timeout=2).status == 200
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            ok = self.path != "/ready" or (redis_ok() and http_ok(os.environ["QDRANT_URL"] + "/readyz")
                                           and http_ok(os.environ["MLFLOW_TRACKING_URI"] + "/health"))
        except OSError:
            ok = False
        self.send_response(200 if ok else 503); self.end_headers(); self.wfile.write(socket.gethostname().encode())
ThreadingHTTPServer(("0.0.0.0", 8000), H).serve_forever()
'''


def swarm_test_override() -> str:
    """dnsrr (no IPVS here); one CPU at most (these machines have two); checks every 2 s, and a long
    start_period, since Swarm replaces a task that turns unhealthy and MLflow's first start is slow here."""
    services = {name: {"deploy": {"endpoint_mode": "dnsrr", "resources": {"limits": {"cpus": "1.0"}}},
                       "healthcheck": {"interval": "2s", "start_period": "240s"}} for name in SERVICES}
    services["api"].update({"command": ["python3", "-c", API_STANDIN], "user": "10001:10001"})
    return yaml.safe_dump({"services": services})


def mlstack(directory: Path, *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.endswith(("_PASSWORD", "_TOKEN"))}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "mlstack", *args], cwd=directory, env=env, capture_output=True,
                          text=True, timeout=120)


def tasks(service: str) -> list[dict]:
    ids = docker("service", "ps", "-q", "--filter", "desired-state=running", f"{STACK}_{service}").stdout.split()
    return json.loads(docker("inspect", *ids).stdout) if ids else []


def node_ids() -> dict[str, str]:
    return {node: docker("info", "--format", "{{.Swarm.NodeID}}", host=host).stdout.strip() for node, host in HOSTS.items()}


def container_on(task: dict) -> tuple[str, str]:
    """(docker host of the task's node, container id)."""
    host = {v: HOSTS[k] for k, v in node_ids().items()}[task["NodeID"]]
    return host, task["Status"]["ContainerStatus"]["ContainerID"]


def in_task(task: dict, *argv: str) -> subprocess.CompletedProcess:
    host, container = container_on(task)
    return docker("exec", container, *argv, host=host, check=False, timeout=30)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    directory = tmp_path_factory.mktemp("swarm")
    images = "".join(f"  {source}: {target}\n" for source, target in IMAGES.items())
    (directory / "mlstack.yaml").write_text(
        f"name: {STACK}\nimages:\n{images}profiles:\n  swarmtest:\n    extends: prod\n    overrides: [./swarm-test.yaml]\n")
    (directory / "swarm-test.yaml").write_text(swarm_test_override())
    render = mlstack(directory, "render", "--profile", "swarmtest", "--target", "swarm", "-o", "stack.yaml")
    assert render.returncode == 0, render.stderr
    remove_stack()
    for secret in ("pg_password", "jupyter_token"):
        docker("secret", "create", f"{PROJECT}_{secret}", "-", input="swarm-test-secret")
    started = time.monotonic()
    docker("stack", "deploy", "--resolve-image", "never", "-c", str(directory / "stack.yaml"), STACK, timeout=180)
    yield {"dir": directory, "render": render, "started": started}
    remove_stack()


def remove_stack() -> None:
    """The stack, its containers, volumes (a volume would keep the old password's database) and secrets."""
    label = f"label=com.docker.stack.namespace={STACK}"
    docker("stack", "rm", STACK, check=False)
    for _ in range(60):
        if not any(docker("ps", "-aq", "--filter", label, host=host, check=False).stdout.strip() for host in HOSTS.values()):
            break
        time.sleep(2)
    for host in HOSTS.values():
        volumes = docker("volume", "ls", "-q", "--filter", label, host=host, check=False).stdout.split()
        if volumes:
            docker("volume", "rm", "--force", *volumes, host=host, check=False)
    for secret in ("pg_password", "jupyter_token"):
        docker("secret", "rm", f"{PROJECT}_{secret}", check=False)

def healthy(service: str, replicas: int) -> bool:
    found = tasks(service)
    if len(found) != replicas or any(t["Status"]["State"] != "running" for t in found):
        return False
    for task in found:
        host, container = container_on(task)
        state = docker("inspect", "--format", "{{.State.Health.Status}}", container, host=host, check=False).stdout.strip()
        if state != "healthy":
            return False
    return True


@pytest.fixture(scope="module")
def converged(deployed):
    wanted = {"api": 2, "jupyter": 1, "mlflow": 1, "postgres": 1, "qdrant": 1, "redis": 1}
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if all(healthy(service, count) for service, count in wanted.items()):
            return time.monotonic() - deployed["started"]
        time.sleep(3)
    states = {service: [(t["NodeID"][:6], t["Status"]["State"], t["Status"].get("Err")) for t in tasks(service)]
              for service in wanted}
    pytest.fail(f"stack did not converge in 300 s: {states}")


def test_the_rendered_file_is_what_docker_stack_accepts(deployed):
    done = subprocess.run(["docker", "stack", "config", "-c", str(deployed["dir"] / "stack.yaml")], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "the deploy host must provide:" in deployed["render"].stderr


def test_every_service_converges_healthy(converged):
    assert converged < 300


def test_replicas_spread_over_both_nodes(converged):
    assert {task["NodeID"] for task in tasks("api")} == set(node_ids().values())


def healthy_task(service: str, within: float = 240) -> dict:
    """A running, healthy task of `service` (of one replica). Swarm replaces a task whose health check fails, and a
    loaded two-node swarm can fail one after the stack converged: then there is none until its replacement is up."""
    deadline = time.monotonic() + within
    while not healthy(service, 1):
        assert time.monotonic() < deadline, f"{service} not healthy again in {within:.0f} s: {[t['Status'] for t in tasks(service)]}"
        time.sleep(3)
    return tasks(service)[0]


def test_a_service_reaches_another_on_the_other_node_by_name(converged):
    mlflow_node = healthy_task("mlflow")["NodeID"]
    api_elsewhere = next(task for task in tasks("api") if task["NodeID"] != mlflow_node)
    # each probe runs as an orchestrator's would: periodically, until it answers or 60 s have passed (on a loaded
    # two-node swarm one request can time out, or be reset while the overlay network settles after a deploy)
    probe = "import urllib.request; print(urllib.request.urlopen('http://mlflow:5000/health', timeout=5).status)"
    done = probed(api_elsewhere, probe)
    assert done.returncode == 0 and done.stdout.strip() == "200", done.stderr
    # and the API's own readiness, which needs redis, qdrant and mlflow by name, from both nodes
    probe_ready = ("import urllib.request, urllib.error\n"
                   "try:\n    urllib.request.urlopen('http://127.0.0.1:8000/ready', timeout=10)\n"
                   "except urllib.error.HTTPError as e:\n    raise SystemExit(f'{e.code} {e.read().decode()}')")
    for task in tasks("api"):
        ready = probed(task, probe_ready)
        assert ready.returncode == 0, ready.stderr


def probed(task: dict, program: str, within: float = 60) -> subprocess.CompletedProcess:
    """`python3 -c PROGRAM` in the task, again every 2 s until it succeeds or `within` seconds have passed."""
    deadline = time.monotonic() + within
    while True:
        done = in_task(task, "python3", "-c", program)
        if done.returncode == 0 or time.monotonic() > deadline:
            return done
        time.sleep(2)


def test_the_gpu_service_runs_only_on_the_node_advertising_the_generic_resource(converged):
    (task,) = tasks("jupyter")
    assert task["NodeID"] == node_ids()["a"]
    host, container = container_on(task)
    env = json.loads(docker("inspect", "--format", "{{json .Config.Env}}", container, host=host).stdout)
    assert "DOCKER_RESOURCE_NVIDIA-GPU=GPU-mlstack-test-0" in env


@pytest.mark.parametrize("service, size", [("jupyter", 8 * 1024 ** 3), ("postgres", 256 * 1024 ** 2)])
def test_shared_memory_is_the_configured_size_inside_the_task(converged, service, size):
    (task,) = tasks(service)
    done = in_task(task, "python3", "-c", "import os; s = os.statvfs('/dev/shm'); print(s.f_blocks * s.f_frsize)")
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) == size


def test_secrets_are_files_under_run_secrets(converged):
    (task,) = tasks("postgres")
    done = in_task(task, "cat", "/run/secrets/pg_password")
    assert done.stdout == "swarm-test-secret"

