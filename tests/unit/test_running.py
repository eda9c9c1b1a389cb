"""The running stack's helpers: work on a thread while `up` goes on, and the rendered file written
only when its text changed."""

from __future__ import annotations

import threading

import pytest

from mlstack.errors import EngineError
from mlstack.lifecycle import running


def test_background_work_runs_while_the_caller_goes_on_and_hands_back_its_result():
    release = threading.Event()
    result = running.background(lambda a, b: release.wait(5) and a + b, 2, 3)
    release.set()   # had `background` run it here and now, it would have waited 5 s and returned False
    assert result() == 5


def test_background_work_raises_its_error_where_the_caller_waits_for_it():
    def refuse():
        raise EngineError("the Docker engine failed GET /_ping: refused")

    result = running.background(refuse)
    with pytest.raises(EngineError, match="refused"):
        result()


class Rendered:
    def __init__(self, directory, text):
        self.stack = type("Stack", (), {"directory": directory})()
        self._text = text

    def text(self, _directory):
        return self._text

    def document(self, _directory):
        return {"name": "team-dev"}


@pytest.mark.parametrize("before, written", [(None, True), ("name: team-dev\n", False), ("name: old\n", True)],
                         ids=["no file yet", "the same text", "changed text"])
def test_the_rendered_file_is_written_only_when_its_text_changed(tmp_path, monkeypatch, before, written):
    path = tmp_path / ".mlstack" / "dev" / "compose.yaml"
    if before is not None:
        path.parent.mkdir(parents=True)
        path.write_text(before)
    writes = []
    monkeypatch.setattr(running, "ensure_templates", lambda directory: None)
    def write_atomically(target, text):
        writes.append(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    monkeypatch.setattr(running, "write_atomically", write_atomically)
    project = running.Project(path, "team-dev", [], {}, None, None, rendered=Rendered(tmp_path, "name: team-dev\n"))
    running.write(project)
    assert path.read_text() == "name: team-dev\n"
    assert writes == ([path] if written else [])
    assert project.document == {"name": "team-dev"}
