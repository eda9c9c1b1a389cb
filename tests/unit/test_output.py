"""How much mlstack tells the terminal (report.OUTPUT, set by the CLI): --quiet and NO_COLOR (docs/cli.md#output)."""

from __future__ import annotations

import io
import re

import pytest

from mlstack.lifecycle import health
from mlstack.lifecycle.transfer_progress import TransferProgress
from mlstack.report import OUTPUT, Result, emit, say

COLOUR = re.compile(r"\x1b\[[0-9;]*3[0-9](;[0-9]+)*m")   # a foreground colour (SGR 30-39)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def output():
    saved = (OUTPUT.quiet, OUTPUT.color)
    yield OUTPUT
    OUTPUT.quiet, OUTPUT.color = saved


STATES = {"mlflow": (health.READY, "healthy", None), "postgres": (health.WAITING, "starting", None)}


def test_quiet_drops_progress_and_notes_but_keeps_the_result(output, capsys):
    output.quiet = True
    say("seeding hf-cache")
    progress = health.Progress(io.StringIO())
    progress(STATES)
    emit(Result(text="the table", notes=["a note"]))
    assert capsys.readouterr() == ("the table\n", "")
    assert progress.stream.getvalue() == "" and progress.live is None


def test_without_quiet_they_are_shown(output, capsys):
    output.quiet = False
    say("seeding hf-cache")
    emit(Result(text="the table", notes=["a note"]))
    assert capsys.readouterr() == ("the table\n", "mlstack: seeding hf-cache\na note\n")
    stream = io.StringIO()
    health.Progress(stream)(STATES)
    assert stream.getvalue() == "mlstack: mlflow: healthy\nmlstack: postgres: starting\n"


def test_no_color_draws_the_live_status_without_colour(output):
    output.quiet, output.color = False, False
    progress = health.Progress(Terminal())
    progress(STATES)
    progress.close()
    assert progress.live.console.no_color
    assert not COLOUR.search(progress.stream.getvalue())
    assert "mlflow" in progress.stream.getvalue()


def test_colour_is_left_to_the_terminal_otherwise(output):
    output.quiet, output.color = False, True
    progress = health.Progress(Terminal())
    progress.close()
    assert not progress.live.console.no_color


def test_the_transfer_bar_follows_no_color_and_quiet(output):
    output.quiet, output.color = False, False
    bar = TransferProgress("seeding hf-cache", 100, Terminal())
    bar.started -= 10   # past the first second, in which nothing shows
    bar(50)
    bar.close()
    assert bar.bar is not None and bar.bar.console.no_color
    output.quiet = True
    quiet = TransferProgress("seeding hf-cache", 100, Terminal())
    quiet.started -= 10
    quiet(50)
    assert quiet.bar is None and quiet.stream.getvalue() == ""
