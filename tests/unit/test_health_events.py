"""The health wait following events: events move the state, the engine's own answer (a snapshot)
decides at the start, before every verdict, and whenever events say too little or stop."""

from __future__ import annotations

import pytest

from mlstack.engine import compose
from mlstack.engine.events import Event
from mlstack.errors import UnhealthyError
from mlstack.lifecycle import health
from mlstack.lifecycle.health import READY, Container, apply

TARGET = compose.Target(("docker", "compose"), "/s/.mlstack/dev/compose.yaml", "team-dev")


def box(service: str, state: str = "running", health_: str = "", code: int = 0) -> Container:
    return Container(service, f"team-dev-{service}-1", state, health_, code)


def event(service: str, action: str, health_: str = "", code: int = 0) -> Event:
    return Event(f"team-dev-{service}-1", service, action, health_, code)


APPLIED = [
    ("a health check passes", [box("db", health_="starting")], [event("db", "health_status", "healthy")],
     [box("db", health_="healthy")], True),
    ("a one-shot exits 0", [box("init")], [event("init", "die", code=0)], [box("init", "exited")], True),
    ("a crash keeps its exit code", [box("api")], [event("api", "die", code=3)], [box("api", "exited", code=3)], True),
    ("a restart begins the health check anew", [box("db", "exited", "unhealthy", 1)], [event("db", "start")],
     [box("db", health_="starting")], True),
    ("a restart without a healthcheck is running", [box("web", "exited", code=1)], [event("web", "start")],
     [box("web")], True),
    ("in order, the last one wins", [box("db", health_="starting")],
     [event("db", "health_status", "unhealthy"), event("db", "health_status", "healthy")], [box("db", health_="healthy")], True),
    ("a container not seen before asks the engine", [box("db")], [event("db2", "start")], [box("db")], False),
    ("a health event without its status asks the engine", [box("db", health_="starting")],
     [event("db", "health_status")], [box("db", health_="starting")], False),
]


@pytest.mark.parametrize("why, before, events, after, complete", APPLIED, ids=[case[0] for case in APPLIED])
def test_apply(why, before, events, after, complete):
    assert apply(before, events) == (after, complete)


class Engine:
    """Snapshots in turn (the last one repeats), event batches in turn (then the stream ends), a clock
    that the waits advance; records what was asked."""

    def __init__(self, snapshots: list[list[Container]], batches: list[list[Event]] | None, close_after: bool = True):
        self.snapshots, self.batches, self.close_after = snapshots, batches, close_after
        self.now = 0.0
        self.asked: list[str] = []
        self.open = batches is not None

    def snapshot(self) -> list[Container]:
        self.asked.append("snapshot")
        return self.snapshots.pop(0) if len(self.snapshots) > 1 else self.snapshots[0]

    def take(self, timeout: float) -> list[Event]:
        self.asked.append(f"take {timeout:g}")
        if timeout == 0:   # what came before the first snapshot: nothing here
            return []
        if self.batches:
            return self.batches.pop(0)
        if self.close_after:
            self.open = False
        self.now += timeout
        return []

    def sleep(self, seconds: float) -> None:
        self.asked.append(f"sleep {seconds:g}")
        self.now += seconds

    def wait(self, services: list[str], timeout: float = 60, shown: list | None = None):
        return health.wait(TARGET, services, timeout, (shown if shown is not None else []).append, self.snapshot,
                           clock=lambda: self.now, sleep=self.sleep, changes=self if self.batches is not None else None)


@pytest.fixture
def logs(monkeypatch):
    monkeypatch.setattr(compose, "run", lambda command, **_: compose.Completed(list(command), 0, "last words\n"))


def test_events_carry_the_wait_to_ready_with_the_engine_asked_at_the_start_and_the_end():
    starting = [box("db", health_="starting"), box("init"), box("plain")]
    done = [box("db", health_="healthy"), box("init", "exited"), box("plain")]
    engine = Engine([starting, done], [[event("init", "die")], [event("db", "health_status", "healthy")]])
    shown: list = []
    states = engine.wait(["db", "init", "plain"], shown=shown)
    assert {name: state[:2] for name, state in states.items()} == {
        "db": (READY, "healthy"), "init": (READY, "exited 0 (one-shot: done)"), "plain": (READY, "running (no healthcheck)")}
    assert engine.asked == ["take 0", "snapshot", "take 2", "take 2", "snapshot"]
    assert [state["db"][1] for state in shown] == ["starting", "starting", "healthy"]


def test_an_unhealthy_event_confirmed_by_the_engine_fails_with_the_logs(logs):
    engine = Engine([[box("db", health_="starting")], [box("db", health_="unhealthy")]],
                    [[event("db", "health_status", "unhealthy")]])
    with pytest.raises(UnhealthyError) as caught:
        engine.wait(["db"])
    assert caught.value.message.startswith("db did not become healthy\n--- db: unhealthy; last 30 log lines:\n  last words")
    assert engine.asked == ["take 0", "snapshot", "take 2", "snapshot"]


def test_a_crash_the_engine_shows_restarting_is_a_restart_loop(logs):
    engine = Engine([[box("loop", "created")], [box("loop", "restarting", code=3)]], [[event("loop", "die", code=3)]])
    with pytest.raises(UnhealthyError, match=r"--- loop: keeps restarting \(last exit code 3\)"):
        engine.wait(["loop"])


def test_an_event_the_engine_contradicts_does_not_decide():
    # the die event says exited 3, but by the snapshot the container runs again (restarted), then is healthy
    engine = Engine([[box("db", health_="starting")], [box("db", health_="starting")], [box("db", health_="healthy")]],
                    [[event("db", "die", code=3)], [event("db", "start"), event("db", "health_status", "healthy")]])
    assert engine.wait(["db"])["db"][:2] == (READY, "healthy")
    assert engine.asked == ["take 0", "snapshot", "take 2", "snapshot", "take 2", "snapshot"]


def test_the_stream_closed_midway_falls_back_to_polling():
    starting = [box("db", health_="starting"), box("api", health_="starting")]
    engine = Engine([starting, starting, [box("db", health_="healthy"), box("api", health_="healthy")]],
                    [[event("api", "health_status", "healthy")]])
    assert engine.wait(["api", "db"])["db"][:2] == (READY, "healthy")
    assert engine.asked == ["take 0", "snapshot", "take 2", "take 2", "snapshot", "sleep 0.25", "snapshot"]


def test_an_event_of_a_container_not_seen_yet_asks_the_engine():
    engine = Engine([[], [box("web")]], [[event("web", "start")]])
    assert engine.wait(["web"])["web"][:2] == (READY, "running (no healthcheck)")
    assert engine.asked == ["take 0", "snapshot", "take 2", "snapshot"]


def test_quiet_events_ask_the_engine_every_two_seconds_until_the_timeout(logs):
    engine = Engine([[box("db", health_="starting")]], [], close_after=False)
    with pytest.raises(UnhealthyError) as caught:
        engine.wait(["db"], timeout=5)
    assert caught.value.message.startswith("db did not become healthy (not ready within 5 s)\n--- db: starting;")
    assert engine.asked == ["take 0", "snapshot", "take 2", "snapshot", "take 2", "snapshot", "take 1", "snapshot"]


def test_without_events_the_wait_polls_as_before():
    engine = Engine([[box("db", health_="starting")], [box("db", health_="healthy")]], None)
    assert engine.wait(["db"])["db"][0] == READY
    assert engine.asked == ["snapshot", "sleep 0.25", "snapshot"]
