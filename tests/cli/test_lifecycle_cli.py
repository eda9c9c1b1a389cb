"""The lifecycle commands' command lines: what reaches the command modules (no engine needed)."""

from __future__ import annotations

import pytest

from mlstack import cli
from tests import needs
from mlstack.report import Result


@pytest.fixture
def calls(monkeypatch):
    """Replace the command modules' run() with a recorder."""
    seen: dict[str, tuple] = {}

    def recorder(name):
        def run(*args, **kwargs):
            seen[name] = args
            return Result()
        return run

    from mlstack.commands import down, exec as exec_command, logs, up

    for name, module in (("exec", exec_command), ("logs", logs), ("down", down), ("up", up)):
        monkeypatch.setattr(module, "run", recorder(name))
    return seen


def invoke(*argv: str) -> int:
    with pytest.raises(SystemExit) as done:
        cli.main(list(argv))
    return done.value.code


def test_exec_passes_the_command_through_untouched(calls):
    assert invoke("exec", "jupyter", "python3", "-c", "print(1)", "--help") == 0
    assert calls["exec"][2:4] == ("jupyter", ["python3", "-c", "print(1)", "--help"])


def test_logs_dash_f_is_follow(calls):
    assert invoke("logs", "-f", "--tail", "5", "mlflow") == 0
    assert calls["logs"] == (None, "dev", ["mlflow"], True, 5)


def test_down_volumes_without_a_terminal_is_not_interactive(calls, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert invoke("down", "--volumes") == 0
    assert calls["down"][:5] == (None, "dev", True, False, False)


def test_up_options(calls):
    assert invoke("up", "mlflow", "--gpu", "off", "--port-offset", "100", "--compose-profile", "a",
                  "--compose-profile", "b", "--no-wait", "--no-seed", "--timeout", "30") == 0
    [options] = calls["up"]
    assert (options.services, options.gpu, options.port_offset, options.compose_profiles, options.wait,
            options.seed, options.timeout) == (["mlflow"], "off", 100, ("a", "b"), False, False, 30.0)


@pytest.mark.compose
def test_config_prints_the_file_and_the_command_lines(mlstack, tmp_path):
    compose = " ".join(needs.compose_argv())
    done = mlstack("config", "mlflow", "--build", env={"MLSTACK_COMPOSE": compose, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    target = f"{compose} -f {tmp_path}/.mlstack/dev/compose.yaml -p mlstack-dev"
    assert lines[0] == "file:    .mlstack/dev/compose.yaml (not written yet)"
    assert lines[1] == "project: mlstack-dev"
    assert lines[2].startswith(f"compose: {compose} ") and lines[2].endswith("(chosen by MLSTACK_COMPOSE)")
    assert lines[3] == f"up:             {target} up --detach --build mlflow"
    assert lines[4] == f"status:         {target} ps --all --format json"
    assert not (tmp_path / ".mlstack").exists()


@pytest.mark.compose
def test_compose_profiles_of_the_stack_environment_reach_compose(mlstack, tmp_path):
    from tests.cli.conftest import write

    compose = " ".join(needs.compose_argv())
    write(tmp_path, {".env": "COMPOSE_PROFILES=cuda,tools\n"})
    done = mlstack("config", env={"MLSTACK_COMPOSE": compose, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert done.code == 0, done.err
    up = [line for line in done.out.splitlines() if line.startswith("up:")][0]
    assert "-p mlstack-dev --profile cuda --profile tools up --detach" in up
