"""Following one Compose project's containers through the engine's `/events` stream.

`up` opens the stream before `compose up` runs, so no transition is missed, and reads it on a
thread of its own into a queue; the health wait (lifecycle/health.py) takes what arrived. Events
are hints: the wait still judges by its RULES table and asks the engine itself at the start, at
the end and whenever an event says too little. When the stream ends (the engine closed it, or it
could not be opened) the follower says so and the wait falls back to polling.

The format is the Engine API's since 1.22 (engine 20.10 included): `Type`, `Action` (`start`,
`die`, `health_status: healthy`), `Actor.Attributes` with the container's labels, its `name` and,
on `die`, its `exitCode`.
"""

from __future__ import annotations

import queue
import threading
from mlstack.records import record

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any, Iterable, Protocol

PROJECT_LABEL = "com.docker.compose.project"
FOLLOWED = ("start", "die", "health_status")   # the engine matches health_status as a prefix


@record(frozen=True)
class Event:
    name: str            # the container's name, as health.Container has it
    service: str
    action: str          # one of FOLLOWED
    health: str = ""     # health_status: starting healthy unhealthy
    exit_code: int = 0   # die


if TYPE_CHECKING:   # a type checker's word for what Follower reads: the engine's stream or the SDK's
    class Stream(Protocol):
        def __iter__(self) -> Any: ...
        def close(self) -> None: ...


def filters(project: str) -> dict[str, list[str]]:
    return {"type": ["container"], "label": [f"{PROJECT_LABEL}={project}"], "event": list(FOLLOWED)}


def parse(raw: Any, project: str) -> Event | None:
    """An Event of this project's service containers; None for anything else (other projects,
    `compose run` one-offs, other types or actions, malformed objects)."""
    if not isinstance(raw, dict) or raw.get("Type", "container") != "container":
        return None
    attributes = (raw.get("Actor") or {}).get("Attributes") or {}
    if not isinstance(attributes, dict) or attributes.get(PROJECT_LABEL) != project \
            or attributes.get("com.docker.compose.oneoff") == "True":
        return None
    action, _, detail = str(raw.get("Action") or raw.get("status") or "").partition(":")
    name, service = attributes.get("name") or "", attributes.get("com.docker.compose.service") or ""
    if action not in FOLLOWED or not name:
        return None
    if action == "health_status":
        return Event(name, service, action, health=detail.strip() or str(attributes.get("health_status") or ""))
    if action == "die":
        try:
            return Event(name, service, action, exit_code=int(attributes.get("exitCode") or 0))
        except ValueError:
            return None
    return Event(name, service, action)


CLOSED = object()   # the reader's last word


class Follower:
    """Reads `stream` on a daemon thread; `take()` hands over what arrived. `open` turns False once
    the stream has ended and everything before its end was taken."""

    def __init__(self, stream: Stream | None, project: str):
        self.stream = stream
        self.project = project
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.open = stream is not None
        if stream is not None:
            threading.Thread(target=self._read, args=(stream,), name="mlstack-events", daemon=True).start()

    def _read(self, stream: Iterable[Any]) -> None:
        try:
            for raw in stream:
                event = parse(raw, self.project)
                if event is not None:
                    self.queue.put(event)
        except Exception:  # noqa: BLE001 - whatever ends the stream (a transport error, a close), the wait polls on
            pass
        finally:
            self.queue.put(CLOSED)

    def take(self, timeout: float) -> list[Event]:
        """The events that arrived, waiting up to `timeout` seconds for the first; [] when none came."""
        if not self.open:
            return []
        batch = []
        try:
            item = self.queue.get(timeout=max(0.0, timeout)) if timeout > 0 else self.queue.get_nowait()
            while True:
                if item is CLOSED:
                    self.open = False
                    break
                batch.append(item)
                item = self.queue.get_nowait()
        except queue.Empty:
            pass
        return batch

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()
        self.open = False
