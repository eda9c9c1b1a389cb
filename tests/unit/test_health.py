"""The health rules (a table), `compose ps` parsing and the wait loop, on recorded and fake ps output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlstack.core.ports import Binding
from mlstack.lifecycle import health
from mlstack.lifecycle.health import FAILED, READY, WAITING, Container, parse_ps, verdict
from mlstack.engine import compose
from mlstack.errors import UnhealthyError

FIXTURES = Path(__file__).parent / "fixtures"
TARGET = compose.Target(("docker", "compose"), "/s/.mlstack/dev/compose.yaml", "team-dev")

RULES = [
    (Container("db", state="running", health="healthy"), (READY, "healthy")),
    (Container("db", state="running", health=""), (READY, "running (no healthcheck)")),
    (Container("db", state="running", health="starting"), (WAITING, "starting")),
    (Container("db", state="running", health="unhealthy"), (FAILED, "unhealthy")),
    (Container("init", state="exited", exit_code=0), (READY, "exited 0 (one-shot: done)")),
    (Container("init", state="exited", exit_code=3), (FAILED, "exited with code 3")),
    (Container("db", state="restarting", exit_code=1), (FAILED, "keeps restarting (last exit code 1)")),
    (Container("db", state="created"), (WAITING, "waiting to start")),
    (Container("db"), (WAITING, "waiting to start")),
    (Container("db", state="dead"), (FAILED, "dead (the engine could not stop or remove it)")),
]


@pytest.mark.parametrize("container, expected", RULES)
def test_rules(container, expected):
    assert verdict(container) == expected


def test_parse_recorded_ps():
    containers = parse_ps((FIXTURES / "compose-ps-dev.ndjson").read_text())
    assert [(c.service, c.state, c.health) for c in containers] == [
        ("jupyter", "running", "healthy"), ("mlflow", "running", "healthy"), ("postgres", "running", "healthy"),
        ("qdrant", "running", "healthy"), ("redis", "running", "healthy")]
    assert containers[0].ports == (Binding("127.0.0.1", 8888, 8888, "tcp"),)


def test_parse_the_older_array_form_and_nothing():
    assert parse_ps('[{"Service": "a", "State": "exited", "ExitCode": 2}]') == [Container("a", "", "exited", "", 2)]
    assert parse_ps("") == []


def test_the_worst_replica_counts():
    states = health.by_service([Container("w", "w-1", "running", "healthy"), Container("w", "w-2", "exited", "", 1)], ["w"])
    assert states["w"][:2] == (FAILED, "exited with code 1")


def ps_line(service: str, state: str, health_: str = "", code: int = 0) -> str:
    return json.dumps({"Service": service, "Name": f"team-dev-{service}-1", "State": state, "Health": health_, "ExitCode": code})


class FakeEngine:
    """Answers ps with one snapshot per poll, logs with fixed lines; records the commands."""

    def __init__(self, snapshots: list[list[str]]):
        self.snapshots = snapshots
        self.commands: list[list[str]] = []

    def __call__(self, command, **_):
        self.commands.append(list(command))
        if "ps" in command:
            snapshot = self.snapshots.pop(0) if len(self.snapshots) > 1 else self.snapshots[0]
            return compose.Completed(list(command), 0, "\n".join(snapshot))
        return compose.Completed(list(command), 0, "line 1\nline 2\n")


def test_wait_until_healthy_with_a_one_shot_init(monkeypatch):
    engine = FakeEngine([
        [ps_line("db", "running", "starting"), ps_line("init", "running")],
        [ps_line("db", "running", "healthy"), ps_line("init", "exited", code=0)],
    ])
    monkeypatch.setattr(compose, "run", engine)
    shown = []
    states = health.wait(TARGET, ["db", "init"], 60, shown.append, sleep=lambda s: None)
    assert {name: state[:2] for name, state in states.items()} == {"db": (READY, "healthy"),
                                                                   "init": (READY, "exited 0 (one-shot: done)")}
    assert len(shown) == 2


def test_an_unhealthy_service_fails_with_its_last_log_lines(monkeypatch):
    engine = FakeEngine([[ps_line("db", "running", "unhealthy"), ps_line("api", "running", "healthy")]])
    monkeypatch.setattr(compose, "run", engine)
    with pytest.raises(UnhealthyError) as caught:
        health.wait(TARGET, ["api", "db"], 60, lambda states: None, sleep=lambda s: None)
    assert caught.value.message == (
        "db did not become healthy\n"
        "--- db: unhealthy; last 30 log lines:\n"
        "  line 1\n"
        "  line 2\n"
        "the other services keep running: `mlstack logs SERVICE`, `mlstack status`, `mlstack down`")
    assert engine.commands[-1] == TARGET.base() + ["logs", "--tail", "30", "--no-color", "db"]
    assert int(caught.value.exit_code) == 5


def test_the_timeout_names_the_services_still_waiting(monkeypatch):
    engine = FakeEngine([[ps_line("db", "running", "starting")]])
    monkeypatch.setattr(compose, "run", engine)
    now = iter(range(0, 1000, 10))
    with pytest.raises(UnhealthyError) as caught:
        health.wait(TARGET, ["db"], 25, lambda states: None, clock=lambda: next(now), sleep=lambda s: None)
    assert caught.value.message.startswith("db did not become healthy (not ready within 25 s)\n--- db: starting;")


def test_progress_without_a_terminal_prints_changes_only(tmp_path):
    stream = open(tmp_path / "out", "w+")
    progress = health.Progress(stream)
    starting = {"db": (WAITING, "starting", Container("db"))}
    progress(starting)
    progress(starting)
    progress({"db": (READY, "healthy", Container("db"))})
    progress.close()
    stream.seek(0)
    assert stream.read() == "mlstack: db: starting\nmlstack: db: healthy\n"


def test_containers_from_recorded_inspect_data():
    """What `up` polls through the SDK reads the same as what `status` gets from `compose ps`."""
    containers = sorted((health.from_inspect(attrs) for attrs in
                         json.loads((FIXTURES / "container-inspect.json").read_text())), key=lambda c: c.service)
    assert [(c.service, c.name, c.state, c.health, c.exit_code) for c in containers] == [
        ("init", "e2e4-dev-init-1", "exited", "", 0), ("web", "e2e4-dev-web-1", "running", "healthy", 0)]
    assert containers[1].ports == (Binding("127.0.0.1", 23456, 8000, "tcp"),)
    assert [verdict(c) for c in containers] == [(READY, "exited 0 (one-shot: done)"), (READY, "healthy")]
