"""What no layer translated still ends as one line and a named exit code; --debug adds the traceback."""

from __future__ import annotations

import sys

import pytest

from mlstack import cli
from mlstack.commands import render
from mlstack.errors import ExitCode


class APIError(Exception):
    """Stands in for docker.errors.APIError: what counts is the package it comes from."""


APIError.__module__ = "docker.errors"

CASES = [
    (ValueError("bad thing"), ExitCode.INTERNAL,
     "mlstack: internal error (ValueError: bad thing)\n"
     "hint: this is a bug in mlstack: run again with --debug for the traceback, and report it\n"),
    (PermissionError(13, "Permission denied", "/srv/out.yaml"), ExitCode.FILESYSTEM,
     "mlstack: /srv/out.yaml: Permission denied\n"
     "hint: check the path's permissions and the free space on its disk\n"),
    (APIError("500 Server Error: Internal Server Error"), ExitCode.ENGINE,
     "mlstack: the Docker engine failed: 500 Server Error: Internal Server Error\n"
     "hint: check the engine with `docker info`; `mlstack doctor` says what mlstack sees\n"),
    (ConnectionResetError(104, "Connection reset by peer"), ExitCode.ENGINE,
     "mlstack: the Docker engine failed: [Errno 104] Connection reset by peer\n"
     "hint: check the engine with `docker info`; `mlstack doctor` says what mlstack sees\n"),
]


@pytest.mark.parametrize("error, code, stderr", CASES, ids=[type(c[0]).__name__ for c in CASES])
def test_an_untranslated_error_is_one_line_and_its_exit_code(monkeypatch, capsys, error, code, stderr):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(render, "run", fail)
    with pytest.raises(SystemExit) as exited:
        cli.main(["render"])
    assert exited.value.code == code
    assert capsys.readouterr().err == stderr


def test_debug_adds_the_traceback(monkeypatch, capsys):
    def fail(*args, **kwargs):
        raise ValueError("bad thing")

    monkeypatch.setattr(render, "run", fail)
    monkeypatch.setenv("MLSTACK_DEBUG", "0")  # only --debug asks for the traceback here
    with pytest.raises(SystemExit) as exited:
        cli.main(["render", "--debug"])
    err = capsys.readouterr().err
    assert exited.value.code == ExitCode.INTERNAL
    assert err.startswith("Traceback (most recent call last):")
    assert err.endswith("mlstack: internal error (ValueError: bad thing)\n"
                        "hint: this is a bug in mlstack: run again with --debug for the traceback, and report it\n")


def test_debug_after_exec_belongs_to_the_command_run(monkeypatch):
    seen = {}

    def fake_exec(stack_file, profile, service, argv, tty, env):
        seen["argv"] = argv
        from mlstack.report import Result

        return Result()

    from mlstack.commands import exec as exec_command

    monkeypatch.setattr(exec_command, "run", fake_exec)
    with pytest.raises(SystemExit):
        cli.main(["exec", "api", "pytest", "--debug"])
    assert seen["argv"] == ["pytest", "--debug"]


def test_debug_shows_the_commands_mlstack_runs(monkeypatch, capsys):
    def fake_render(*args, env):
        from mlstack.engine import compose

        compose.run([sys.executable, "-c", "pass"])
        from mlstack.report import Result

        return Result()

    monkeypatch.setattr(render, "run", fake_render)
    for argv, shown in ((["render", "--debug"], True), (["render"], False)):
        with pytest.raises(SystemExit):
            cli.main(argv)
        err = capsys.readouterr().err
        assert (f"mlstack: debug: run: {sys.executable} -c pass\n" in err) is shown
