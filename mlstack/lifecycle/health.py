"""Waiting until the started services are healthy: the rules as a table, the poll loop, the progress.

mlstack does not use `compose up --wait`: it exits 1 as soon as a one-shot init container exits,
even with code 0 (docker/compose#10596). It follows the containers' state instead (Docker's own
healthcheck status: nothing connects to the containers from here): `up` through the engine's event
stream (engine/events.py, applied by `apply`) and the engine API (`from_inspect`), polling when
there is no stream; `status` through one `compose ps --format json` (`parse_ps`).
"""

from __future__ import annotations

import json
import sys
import time
from mlstack.records import field, record, replace

from mlstack.core.ports import Binding, bindings_from_inspect, bindings_from_publishers
from mlstack.engine import compose
from mlstack.engine.events import Event
from mlstack.errors import UnhealthyError
from mlstack.report import OUTPUT

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Callable, Mapping, Protocol

READY, WAITING, FAILED = "ready", "waiting", "failed"
LOG_LINES = 30
# Poll often while services typically become ready, then back off (a poll through the SDK costs a
# few ms; through `compose ps` about 60 ms of CPU).
FAST_POLL_S, FAST_POLL_FOR_S, SLOW_POLL_S = 0.25, 10.0, 1.0
SAFETY_POLL_S = 2.0   # following events: ask the engine anyway when none came for this long


@record(frozen=True)
class Container:
    service: str
    name: str = ""
    state: str = "missing"      # created running restarting exited paused dead, or missing (no container yet)
    health: str = ""            # starting healthy unhealthy, "" without a healthcheck
    exit_code: int = 0
    ports: tuple[Binding, ...] = field(default_factory=tuple)   # what the engine bound (core/ports.py)


# Top to bottom, the first row that matches decides: (condition, verdict, what the user reads).
RULES: list[tuple[Callable[[Container], bool], str, str]] = [
    (lambda c: c.health == "unhealthy", FAILED, "unhealthy"),
    (lambda c: c.state == "running" and c.health == "healthy", READY, "healthy"),
    (lambda c: c.state == "running" and c.health == "", READY, "running (no healthcheck)"),
    (lambda c: c.state == "running", WAITING, "starting"),
    (lambda c: c.state == "exited" and c.exit_code == 0, READY, "exited 0 (one-shot: done)"),
    (lambda c: c.state == "exited", FAILED, "exited with code {exit_code}"),
    (lambda c: c.state == "restarting", FAILED, "keeps restarting (last exit code {exit_code})"),
    (lambda c: c.state == "dead", FAILED, "dead (the engine could not stop or remove it)"),
    (lambda c: c.state == "paused", FAILED, "paused"),
    (lambda c: True, WAITING, "waiting to start"),
]


def verdict(container: Container) -> tuple[str, str]:
    for condition, outcome, text in RULES:
        if condition(container):
            return outcome, text.format(exit_code=container.exit_code, state=container.state)
    raise AssertionError("the last rule matches everything")


def parse_ps(text: str) -> list[Container]:
    """`compose ps --format json`: one object per line (Compose >= 2.21) or one array (older)."""
    text = text.strip()
    if not text:
        return []
    rows = json.loads(text) if text.startswith("[") else [json.loads(line) for line in text.splitlines() if line.strip()]
    return [Container(row.get("Service", ""), row.get("Name", ""), (row.get("State") or "").lower(),
                      (row.get("Health") or "").lower(), int(row.get("ExitCode") or 0),
                      bindings_from_publishers(row.get("Publishers") or ())) for row in rows]


def from_inspect(attrs: dict) -> Container:
    """A Container from `docker inspect` data: the same as `parse_ps` reads from `compose ps`."""
    state = attrs.get("State") or {}
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    return Container(labels.get("com.docker.compose.service", ""), (attrs.get("Name") or "").lstrip("/"),
                     (state.get("Status") or "").lower(), ((state.get("Health") or {}).get("Status") or "").lower(),
                     int(state.get("ExitCode") or 0),
                     bindings_from_inspect((attrs.get("NetworkSettings") or {}).get("Ports")))


def by_service(containers: list[Container], services: list[str]) -> dict[str, tuple[str, str, Container]]:
    """Each wanted service's verdict; with several replicas the worst one counts."""
    rank = {FAILED: 0, WAITING: 1, READY: 2}
    result: dict[str, tuple[str, str, Container]] = {}
    for service in services:
        mine = [c for c in containers if c.service == service] or [Container(service)]
        judged = sorted(((*verdict(c), c) for c in mine), key=lambda item: rank[item[0]])
        result[service] = judged[0]
    return result


def compose_snapshot(target: compose.Target, env: Mapping[str, str] | None) -> Callable[[], list[Container]]:
    return lambda: parse_ps(compose.run(compose.ps(target), env=env).stdout)


if TYPE_CHECKING:   # for a type checker only: `wait` takes any object that answers these
    class Changes(Protocol):
        """What `wait` needs of engine/events.py's Follower: the events since the last call."""
        open: bool

        def take(self, timeout: float) -> list[Event]: ...


def apply(containers: list[Container], events: list[Event]) -> tuple[list[Container], bool]:
    """The containers as these events leave them; False when one is about a container not in the
    list or says too little, so the caller asks the engine instead."""
    by_name = {container.name: container for container in containers}
    complete = True
    for event in events:
        known = by_name.get(event.name)
        if known is None or (event.action == "health_status" and not event.health):
            complete = False
        elif event.action == "start":   # a (re)start begins the health check anew where there is one
            by_name[event.name] = replace(known, state="running", exit_code=0, health="starting" if known.health else "")
        elif event.action == "die":
            by_name[event.name] = replace(known, state="exited", exit_code=event.exit_code)
        elif event.action == "health_status":
            by_name[event.name] = replace(known, health=event.health)
    return list(by_name.values()), complete


def wait(target: compose.Target, services: list[str], timeout: float, show: Callable[[dict], None],
         snapshot: Callable[[], list[Container]] | None = None,
         clock: Callable[[], float] = time.monotonic,
         sleep: Callable[[float], None] = time.sleep,
         env: Mapping[str, str] | None = None,
         changes: Changes | None = None) -> dict[str, tuple[str, str, Container]]:
    """Wait until every service is ready; UnhealthyError (with the failing services' logs) otherwise.

    With `changes` (the engine's events, opened before the containers started) it wakes on each
    transition and applies it; without them, or once their stream ends, it polls. Either way the
    engine's own answer (`snapshot`) decides: at the start, before any verdict of ready, failed or
    timed out, and when events say too little or nothing came for SAFETY_POLL_S."""
    snapshot = snapshot or compose_snapshot(target, env)
    started = clock()
    deadline = started + timeout
    if changes is not None:
        changes.take(0)   # what the snapshot below already shows
    containers, confirmed = snapshot(), True
    while True:
        states = by_service(containers, services)
        outcomes = {outcome for outcome, _, _ in states.values()}
        decided = FAILED in outcomes or outcomes == {READY} or clock() >= deadline
        if decided and not confirmed:   # events are hints: the engine's answer decides
            containers, confirmed = snapshot(), True
            continue
        show(states)
        failed = [name for name, (outcome, _, _) in states.items() if outcome == FAILED]
        if failed:
            raise UnhealthyError(failure_report(target, states, failed, env=env))
        if outcomes == {READY}:
            return states
        if clock() >= deadline:
            waiting = [name for name, (outcome, _, _) in states.items() if outcome == WAITING]
            raise UnhealthyError(failure_report(target, states, waiting, f"not ready within {timeout:g} s", env))
        if changes is not None and changes.open:
            events = changes.take(min(SAFETY_POLL_S, max(0.0, deadline - clock())))
            containers, complete = apply(containers, events)
            if events and complete:
                confirmed = False
                continue
        else:
            sleep(FAST_POLL_S if clock() - started < FAST_POLL_FOR_S else SLOW_POLL_S)
        containers, confirmed = snapshot(), True


def failure_report(target: compose.Target, states: dict, services: list[str], why: str = "",
                   env: Mapping[str, str] | None = None) -> str:
    lines = [f"{', '.join(services)} did not become healthy" + (f" ({why})" if why else "")]
    for name in services:
        lines.append(f"--- {name}: {states[name][1]}; last {LOG_LINES} log lines:")
        done = compose.run(compose.logs(target, [name], tail=LOG_LINES, color=False), check=False, env=env)
        lines += [f"  {line}" for line in (done.stdout + done.stderr).rstrip().splitlines()[-LOG_LINES:]] or ["  (no output)"]
    lines.append("the other services keep running: `mlstack logs SERVICE`, `mlstack status`, `mlstack down`")
    return "\n".join(lines)


class Progress:
    """A live status per service on a terminal; one plain line per change otherwise."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.last: dict[str, str] = {}
        self.live = None
        self.quiet = OUTPUT.quiet
        if self.stream.isatty() and not self.quiet:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.stream, no_color=not OUTPUT.color)
            self.live = Live(console=console, transient=True, auto_refresh=False)
            self.live.start()

    def __call__(self, states: dict[str, tuple[str, str, Container]]) -> None:
        if self.live is not None:
            from rich.table import Table

            table = Table(box=None, show_header=False)
            marks = {READY: "[green]ok[/]", WAITING: "[yellow]..[/]", FAILED: "[red]!![/]"}
            for name, (outcome, text, _) in states.items():
                table.add_row(marks[outcome], name, text)
            self.live.update(table, refresh=True)
            return
        if self.quiet:
            return
        for name, (_, text, _) in states.items():
            if self.last.get(name) != text:
                self.stream.write(f"mlstack: {name}: {text}\n")
                self.last[name] = text
        self.stream.flush()

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
