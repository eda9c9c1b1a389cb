"""Following the seeding helper: its output up to the exit line, and the copy's progress measured
meanwhile in its staging directory, with no report once the follow has returned."""

import time

from mlstack.engine import helper_container


class Output:
    """The helper's attached output: a pause (the copy), a line, the exit line."""

    def __init__(self, pause: float):
        self.pause = pause
        self.closed = False

    def __iter__(self):
        time.sleep(self.pause)
        yield b"copied\n"
        yield b"mlstack-seed-exit 0\n"

    def close(self):
        self.closed = True


def test_the_copy_is_measured_while_the_helper_runs_and_never_after(tmp_path, monkeypatch):
    monkeypatch.setattr(helper_container, "PROGRESS_S", 0.01)
    staging = tmp_path / ".mlstack-staging-1"
    (staging / "data").mkdir(parents=True)
    (staging / "data" / "weights.bin").write_bytes(b"x" * 1000)
    reported: list[int] = []
    output = Output(pause=0.3)
    assert helper_container.follow(None, "c1", output, str(staging), reported.append) == (0, "copied\n")
    assert output.closed and reported and set(reported) == {1000}
    after = len(reported)
    time.sleep(0.1)
    assert len(reported) == after


def test_the_exit_line_ends_the_follow_without_a_staging_directory():
    output = Output(pause=0)
    assert helper_container.follow(None, "c1", output, None, None) == (0, "copied\n")
