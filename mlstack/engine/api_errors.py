"""What an Engine API call raises, whatever the transport: NotFound (a 404: callers decide what
absence means), Refused (another error status: the engine's own explanation), Unreachable
(nothing answers at the address), or another EngineError (exit 3)."""

from __future__ import annotations

import json

from mlstack.errors import EngineError

HINT = "check the engine with `docker info`; `mlstack doctor` says what mlstack sees"


class NotFound(Exception):
    pass


class Unreachable(EngineError):
    """Nothing answers at the address (no socket, refused, no permission): not a failing engine."""


class Refused(EngineError):
    """The engine answered a request with an error status (not 404): `status` and its own `explanation`."""

    def __init__(self, what: str, status: int, explanation: str):
        super().__init__(f"the Docker engine failed {what}: HTTP {status} {explanation}", hint=HINT)
        self.status = status
        self.explanation = explanation


def check(what: str, status: int, answer: bytes) -> None:
    """404 -> NotFound; any other error status -> Refused, with the engine's `message` as its explanation."""
    if status == 404:
        raise NotFound(what)
    if status >= 400:
        text = answer.decode(errors="replace").strip()
        try:
            text = json.loads(text).get("message") or text
        except (ValueError, AttributeError):
            pass
        raise Refused(what, status, text[:300])


def failure(what: str, error: Exception | str) -> EngineError:
    reason = error if isinstance(error, str) else (str(error).splitlines()[0][:300] if str(error) else type(error).__name__)
    return EngineError(f"the Docker engine failed {what}: {reason}", hint=HINT)
