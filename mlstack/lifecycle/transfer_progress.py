"""A copy's progress for the person at the terminal: bytes, rate and time left.

Nothing shows for a copy shorter than a second. On a terminal, a rich progress bar (stderr);
otherwise one plain line every few seconds, so logs of CI runs stay short.
"""

from __future__ import annotations

import sys
import time

from mlstack.report import OUTPUT

QUIET_S = 1.0
PLAIN_EVERY_S = 5.0


def human_bytes(count: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(count) < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} TB"


class TransferProgress:
    def __init__(self, label: str, total: int | None, stream=None):
        self.label = label
        self.total = total
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.done = 0
        self.bar = None
        self.task = None
        self.last_line = 0.0

    def __call__(self, done: int) -> None:
        self.done = max(self.done, done)
        now = time.monotonic()
        if now - self.started < QUIET_S or OUTPUT.quiet:
            return
        if self.stream.isatty():
            self._show_bar()
        elif now - self.last_line >= PLAIN_EVERY_S:
            self.last_line = now
            self.stream.write(f"mlstack: {self.label}: {self._plain(now)}\n")
            self.stream.flush()

    def _show_bar(self) -> None:
        if self.bar is None:
            from rich.console import Console
            from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                                       TransferSpeedColumn)

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                                TimeRemainingColumn(), console=Console(file=self.stream, no_color=not OUTPUT.color), transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=self.total)
        self.bar.update(self.task, completed=self.done)

    def _plain(self, now: float) -> str:
        rate = self.done / max(now - self.started, 1e-6)
        text = human_bytes(self.done) + (f" of {human_bytes(self.total)}" if self.total else "")
        text += f", {human_bytes(rate)}/s"
        if self.total and rate > 0 and self.done < self.total:
            text += f", about {max(1, round((self.total - self.done) / rate))} s left"
        return text

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
