"""`mlstack status` on a recorded `compose ps`: every published port, in the table and in --json.

No engine: a fake engine answers the ping (tests/fakes/engine.py) and a fake Compose prints the
recording (tests/fakes/compose.py): the dev stack, and a team fragment with fixed and ephemeral ports.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import write
from tests.fakes.engine import FakeEngine

FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "fixtures"
FAKE_COMPOSE = Path(__file__).resolve().parents[1] / "fakes" / "compose.py"

# The file `up` wrote (status reads it instead of rendering again): what the table needs of it.
DEV_RENDER = """\
name: team-dev
services: {jupyter: {}, mlflow: {}, postgres: {}, qdrant: {}, redis: {}}
x-mlstack:
  urls:
    - {service: jupyter, port: 8888, path: /lab, label: JupyterLab, query: "token=$${JUPYTER_TOKEN}"}
    - {service: mlflow, port: 5000, path: /, label: MLflow UI}
    - {service: qdrant, port: 6333, path: /dashboard, label: Qdrant dashboard}
"""
TEAM_RENDER = """\
name: team-dev
services: {web: {}, worker: {}}
x-mlstack:
  urls:
    - {service: web, port: 8080, path: /, label: Team UI}
"""


@pytest.fixture
def status(mlstack, tmp_path):
    def run(render: str, recording: str, *args: str):
        write(tmp_path, {"mlstack.yaml": "name: team\nfragments: [redis]\n", ".mlstack/dev/compose.yaml": render})
        with FakeEngine(tmp_path, "ok") as engine:
            return mlstack("status", *args, env={
                "DOCKER_HOST": engine.url, "MLSTACK_COMPOSE": f"{sys.executable} {FAKE_COMPOSE}",
                "MLSTACK_FAKE_PS": str(FIXTURES / recording), "XDG_CACHE_HOME": str(tmp_path / "cache"),
                "JUPYTER_TOKEN": "t0k"})
    return run


def test_status_shows_postgres_and_redis_ports_of_the_dev_stack(status):
    done = status(DEV_RENDER, "compose-ps-dev.ndjson")
    assert (done.code, done.err) == (0, "")
    lines = done.out.splitlines()
    assert lines[0].split() == ["SERVICE", "STATE", "HEALTH", "PORTS", "URL"]
    assert "postgres  running  healthy  127.0.0.1:5432->5432/tcp" in lines
    assert "redis     running  healthy  127.0.0.1:6379->6379/tcp" in lines
    assert lines[1].split()[3:] == ["127.0.0.1:8888->8888/tcp", "http://localhost:8888/lab?token=t0k"]


def test_status_json_lists_every_binding_of_a_team_fragment_with_ephemeral_ports(status):
    done = status(TEAM_RENDER, "compose-ps-ports.ndjson", "--json")
    assert done.code == 0, done.err
    rows = {row["service"]: row for row in json.loads(done.out)["services"]}
    assert [port["shown"] for port in rows["web"]["ports"]] == [
        "127.0.0.1:18081->8080/tcp", "0.0.0.0:18082->8082/udp", "0.0.0.0:32769->9000/tcp", "[::]:32768->9000/tcp",
        "127.0.0.1:19000->9100/tcp", "127.0.0.1:32768->9200/tcp"]
    assert rows["web"]["ports"][0] == {"host_ip": "127.0.0.1", "published": 18081, "target": 8080, "protocol": "tcp",
                                       "shown": "127.0.0.1:18081->8080/tcp"}
    assert rows["web"]["url"] == "http://localhost:18081/"
    assert rows["worker"]["ports"] == []
