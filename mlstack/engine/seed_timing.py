"""Where a seed's time goes, phase by phase: `mlstack: debug: seed: <phase> <ms>` lines under --debug.

The host's phases are timed here, one after the other (each lap ends where the previous one did). The
helper's own phases are timed inside it: seed.sh prints `mlstack-seed-phase <name> <uptime>` as each
one ends (/proc/uptime of the engine's machine, read with the shell's `read`: no process started,
10 ms resolution), and `helper_phases` turns those lines into durations and takes them out of the
helper's output.
"""

from __future__ import annotations

import logging
import time

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Callable

PHASE_PREFIX = "mlstack-seed-phase "
log = logging.getLogger("mlstack")


class SeedTimer:
    """The phases of one seed, in the order they ran; a phase that runs twice adds up."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.mark = clock()
        self.phases: dict[str, float] = {}

    def lap(self, phase: str) -> None:
        """`phase` ran from the end of the previous one until now."""
        now = self.clock()
        self.add(phase, now - self.mark)
        self.mark = now

    def skip(self) -> None:
        """The time since the last lap is accounted for otherwise (the helper timed it)."""
        self.mark = self.clock()

    def add(self, phase: str, seconds: float) -> None:
        self.phases[phase] = self.phases.get(phase, 0.0) + seconds
        log.debug("seed: %s %d", phase, round(seconds * 1000))

    def helper_phases(self, output: str) -> str:
        """Record the helper's phases (each from the previous line's uptime to its own); the rest of
        its output, as it would be without them."""
        kept = []
        previous = None
        for line in output.splitlines(keepends=True):
            if not line.startswith(PHASE_PREFIX):
                kept.append(line)
                continue
            name, _, uptime = line[len(PHASE_PREFIX):].strip().rpartition(" ")
            now = _centiseconds(uptime)
            if now is None:
                kept.append(line)
                continue
            if previous is not None and name:
                self.add(name, (now - previous) / 100)
            previous = now
        return "".join(kept)


def _centiseconds(uptime: str) -> int | None:
    """/proc/uptime's first field (`12345.67`) in hundredths of a second, exactly; None if it is not one."""
    whole, _, fraction = uptime.partition(".")
    if not whole or not (whole + fraction).isascii() or not (whole + fraction).isdigit():
        return None
    return int(whole) * 100 + int((fraction + "00")[:2])
