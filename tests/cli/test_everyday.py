"""Everyday use (docs/cli.md): shell completion, MLSTACK_FILE / MLSTACK_PROFILE, --json errors, --quiet,
--verbose, and the note outside a stack directory."""

import json
import os
import sys

import pytest

from tests.cli.conftest import REPO, write
from tests.cli.test_status_cli import DEV_RENDER, FAKE_COMPOSE, FIXTURES
from tests.fakes.engine import FakeEngine

NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
DEFAULT_STACK = "mlstack: no mlstack.yaml here; using the built-in default stack (`mlstack init` creates one)"
STAGING = {"mlstack.yaml": "name: team\nprofiles:\n  staging: {extends: prod}\n  qa: {extends: dev}\n"}


# --- shell completion ----------------------------------------------------------------------------

@pytest.mark.parametrize(("shell", "expected"), [
    ("bash", "complete -o default -F _mlstack_completion mlstack"),
    ("zsh", "compdef _mlstack_completion mlstack"),
    ("fish", 'complete --command mlstack --no-files --arguments "(env _MLSTACK_COMPLETE=complete_fish'),
])
def test_show_completion_prints_the_script_for_each_shell(mlstack, shell, expected):
    run = mlstack("--show-completion", shell, env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert run.code == 0, run.err
    assert expected in run.out
    assert "python" not in run.out   # the script calls `mlstack`, also when this run was `python -m mlstack`


def complete_bash(mlstack, line: str, **options) -> list[str]:
    words = line.split(" ")
    env = {"_MLSTACK_COMPLETE": "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)}
    run = mlstack(env={**env, **options.pop("env", {})}, **options)
    assert run.code == 0, run.err
    return run.out.split()


def test_a_command_name_completes(mlstack):
    assert complete_bash(mlstack, "mlstack st") == ["status"]
    assert complete_bash(mlstack, "mlstack do") == ["down", "doctor"]


def test_profile_completes_to_the_stack_profiles(mlstack, tmp_path):
    assert complete_bash(mlstack, "mlstack up --profile ") == ["dev", "prod"]   # the built-in default stack
    write(tmp_path, STAGING)
    assert complete_bash(mlstack, "mlstack status -p ") == ["dev", "prod", "qa", "staging"]
    assert complete_bash(mlstack, "mlstack explain --profile s") == ["staging"]
    assert complete_bash(mlstack, "mlstack diff dev q") == ["qa"]   # diff's two profiles


def test_profile_completion_reads_the_stack_the_line_or_mlstack_file_names(mlstack, tmp_path):
    write(tmp_path / "elsewhere", STAGING)
    (tmp_path / "here").mkdir()
    assert complete_bash(mlstack, "mlstack up -f ../elsewhere/mlstack.yaml -p ", cwd=tmp_path / "here") == [
        "dev", "prod", "qa", "staging"]
    assert complete_bash(mlstack, "mlstack up -p q", cwd=tmp_path / "here",
                         env={"MLSTACK_FILE": "../elsewhere/mlstack.yaml"}) == ["qa"]


def test_a_stack_that_does_not_load_completes_to_the_built_in_profiles(mlstack, tmp_path):
    write(tmp_path, {"mlstack.yaml": "name: [broken\n"})
    assert complete_bash(mlstack, "mlstack up -p ") == ["dev", "prod"]


def test_service_arguments_complete_to_the_profiles_services(mlstack, tmp_path):
    write(tmp_path, {"mlstack.yaml": "name: team\nfragments: [postgres, redis]\n"})
    assert complete_bash(mlstack, "mlstack logs ") == ["postgres", "redis"]
    assert complete_bash(mlstack, "mlstack up postgres ") == ["redis"]       # those already named are left out
    assert complete_bash(mlstack, "mlstack exec p") == ["postgres"]
    assert complete_bash(mlstack, "mlstack restart -f missing.yaml ") == []  # a stack that does not load: nothing


def test_completion_is_answered_by_the_parser_not_the_replay_cache(mlstack, tmp_path):
    cache = tmp_path / "cache"
    assert complete_bash(mlstack, "mlstack up -p ", env={"MLSTACK_CACHE_DIR": str(cache)}) == ["dev", "prod"]
    write(tmp_path, STAGING)   # a replay would answer as before
    assert complete_bash(mlstack, "mlstack up -p ", env={"MLSTACK_CACHE_DIR": str(cache)}) == [
        "dev", "prod", "qa", "staging"]
    assert not cache.exists() or not any(cache.iterdir())


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_complete_profiles_too(mlstack, tmp_path, shell):
    write(tmp_path, STAGING)
    env = {"_MLSTACK_COMPLETE": f"complete_{shell}", "_TYPER_COMPLETE_ARGS": "mlstack up --profile st",
           "_TYPER_COMPLETE_FISH_ACTION": "get-args"}
    run = mlstack(env=env)
    assert run.code == 0, run.err
    assert "staging" in run.out and "qa" not in run.out


# --- MLSTACK_FILE and MLSTACK_PROFILE ------------------------------------------------------------------

def header_profile(run) -> str:
    assert run.code == 0, run.err
    return run.out.splitlines()[0]


def test_mlstack_profile_is_the_default_profile_and_the_option_wins(mlstack, tmp_path):
    write(tmp_path, STAGING)
    env = {"MLSTACK_PROFILE": "staging", "MLSTACK_CACHE_DIR": "off"}
    assert header_profile(mlstack("render", env=env)) == "# Rendered by mlstack: stack team, profile staging. " \
                                                         "Do not edit: re-render."
    assert "profile qa." in header_profile(mlstack("render", "-p", "qa", env=env))
    assert "profile dev." in header_profile(mlstack("render", env={"MLSTACK_PROFILE": "", "MLSTACK_CACHE_DIR": "off"}))


def test_a_replayed_render_follows_mlstack_profile(mlstack, tmp_path):
    """The replay cache keys on the whole environment: a stored render of one profile is not another's."""
    write(tmp_path, STAGING)
    cache = {"MLSTACK_CACHE_DIR": str(tmp_path / "cache")}
    for _ in range(2):   # stored, then replayed
        assert "profile staging." in header_profile(mlstack("render", env={**cache, "MLSTACK_PROFILE": "staging"}))
        assert "profile qa." in header_profile(mlstack("render", env={**cache, "MLSTACK_PROFILE": "qa"}))
    assert any((tmp_path / "cache").iterdir())


def test_mlstack_file_is_the_default_stack_definition_and_the_option_wins(mlstack, tmp_path):
    write(tmp_path, {"a.yaml": "name: alpha\n", "b.yaml": "name: beta\n"})
    env = {"MLSTACK_FILE": "a.yaml", "MLSTACK_CACHE_DIR": "off"}
    assert "stack alpha," in header_profile(mlstack("render", env=env))
    assert "stack beta," in header_profile(mlstack("render", "-f", "b.yaml", env=env))
    run = mlstack("render", env={"MLSTACK_FILE": "missing.yaml"})
    assert (run.code, run.err) == (2, "mlstack: stack definition not found: missing.yaml\n")


def test_validate_and_lint_still_check_every_profile_under_mlstack_profile(mlstack, tmp_path):
    write(tmp_path, STAGING)
    run = mlstack("validate", "--json", env={"MLSTACK_PROFILE": "staging"})
    assert run.code == 0, run.err
    document = json.loads(run.out)
    profiles = document.get("result", document)["profiles"]
    assert sorted(profiles if isinstance(profiles, list) else profiles) == ["dev", "prod", "qa", "staging"]


def test_help_names_the_variables(mlstack):
    run = mlstack("status", "--help", env={"COLUMNS": "200"})
    assert "[env var: MLSTACK_FILE]" in run.out
    assert "[env var: MLSTACK_PROFILE; default: dev]" in run.out


# --- --json errors ---------------------------------------------------------------------------------

def test_an_error_under_json_is_one_json_object_on_stdout_too(mlstack, tmp_path):
    run = mlstack("explain", "mlflow", "--profile", "nope", "--json")
    assert run.code == 2
    assert run.err == "mlstack: unknown profile 'nope'; this stack defines: dev, prod\n"
    assert json.loads(run.out) == {"error": {
        "exit_code": 2, "name": "USAGE", "message": "unknown profile 'nope'; this stack defines: dev, prod", "hint": "",
        "diagnostics": []}}


def test_a_located_error_under_json_carries_its_diagnostics(mlstack, tmp_path):
    write(tmp_path, {"mlstack.yaml": "name: team\nimages:\n  docker.io/: registry.internal\n"})
    run = mlstack("explain", "mlflow", "--json")
    assert run.code == 1
    message = "a prefix rule's replacement ends with '/', as its key does: 'registry.internal' -> registry.internal/"
    assert run.err == f"mlstack.yaml:3:15: images.docker.io/: {message}\n"
    assert json.loads(run.out)["error"]["diagnostics"] == [{
        "file": "mlstack.yaml", "line": 3, "column": 15, "path": "images.docker.io/", "message": message,
        "rule": "images", "severity": "error"}]


def test_a_usage_error_under_json_is_a_json_object_and_exit_2(mlstack):
    run = mlstack("explain", "--json")
    assert run.code == 2
    assert "Missing argument 'TARGET'." in run.err
    assert json.loads(run.out)["error"] | {"message": ""} == {
        "exit_code": 2, "name": "USAGE", "message": "", "hint": "", "diagnostics": []}


def test_diff_has_json(mlstack, tmp_path):
    run = mlstack("diff", "dev", "dev", "--json")
    assert run.code == 0, run.err
    assert json.loads(run.out) == {"profiles": ["dev", "dev"], "same": True, "diff": ""}


# --- outside a stack directory, --quiet, --verbose -----------------------------------------------------

def test_a_lifecycle_command_outside_a_stack_says_which_stack_it_uses(mlstack, tmp_path):
    run = mlstack("up", env=NO_ENGINE)
    assert run.code == 3
    assert run.err.splitlines()[0] == DEFAULT_STACK
    write(tmp_path, STAGING)
    assert DEFAULT_STACK not in mlstack("up", env=NO_ENGINE).err


def test_render_outside_a_stack_prints_only_the_file(mlstack, tmp_path):
    run = mlstack("render", env={"MLSTACK_CACHE_DIR": "off"})
    assert run.code == 0, run.err
    assert DEFAULT_STACK not in run.err and run.out.startswith("# Rendered by mlstack")


@pytest.mark.parametrize("args", [("up", "-q"), ("-q", "up"), ("up", "--quiet")])
def test_quiet_keeps_only_errors(mlstack, args):
    run = mlstack(*args, env=NO_ENGINE)
    assert run.code == 3
    assert run.err.startswith("mlstack: cannot reach the Docker engine at unix:///nonexistent/docker.sock")
    assert len(run.err.splitlines()) == 1


def test_quiet_is_not_an_option_of_the_command_exec_runs(mlstack):
    run = mlstack("exec", "-q", env=NO_ENGINE)   # `-q` is exec's SERVICE here: it is not taken away
    assert run.code == 2
    assert "Missing argument 'ARGV...'" in run.err


def fake_status(mlstack, tmp_path, *args: str):
    """`status` on a recorded `compose ps` (tests/cli/test_status_cli.py): a fake engine and a fake Compose."""
    write(tmp_path, {".mlstack/dev/compose.yaml": DEV_RENDER})
    with FakeEngine(tmp_path, "ok") as engine:
        return mlstack("status", *args, env={
            "DOCKER_HOST": engine.url, "MLSTACK_COMPOSE": f"{sys.executable} {FAKE_COMPOSE}",
            "MLSTACK_FAKE_PS": str(FIXTURES / "compose-ps-dev.ndjson"), "XDG_CACHE_HOME": str(tmp_path / "cache")})


def test_verbose_shows_the_commands_mlstack_runs_and_quiet_only_the_result(mlstack, tmp_path):
    plain = fake_status(mlstack, tmp_path)
    assert (plain.code, plain.err) == (0, DEFAULT_STACK + "\n")
    verbose = fake_status(mlstack, tmp_path, "--verbose")
    assert verbose.code == 0, verbose.err
    lines = verbose.err.splitlines()
    assert lines[0] == DEFAULT_STACK
    assert lines[1].startswith("mlstack: debug: run: ") and lines[1].endswith(" ps --all --format json")
    assert lines[2].startswith("mlstack: debug: exit 0: ")
    assert verbose.out == plain.out
    quiet = fake_status(mlstack, tmp_path, "-q")
    assert (quiet.code, quiet.err, quiet.out) == (0, "", plain.out)


def test_install_completion_installs_a_bash_script_that_completes_in_bash(mlstack, tmp_path):
    """The installed script, sourced by a real bash, completes through a `mlstack` found on PATH."""
    import shutil
    import subprocess

    bash = shutil.which("bash")
    assert bash, "bash is needed"
    home, bin_dir, stack = tmp_path / "home", tmp_path / "bin", tmp_path / "stack"
    home.mkdir()
    run = mlstack("--install-completion", "bash", env={"HOME": str(home), "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert run.code == 0, run.err
    script = home / ".bash_completions" / "mlstack.sh"
    assert f"source '{script}'" in (home / ".bashrc").read_text()
    write(bin_dir, {"mlstack": f"#!/bin/sh\nexec {sys.executable} -m mlstack \"$@\"\n"})
    (bin_dir / "mlstack").chmod(0o755)
    write(stack, STAGING)
    line = f'source {script}; COMP_WORDS=(mlstack up --profile ""); COMP_CWORD=3; _mlstack_completion mlstack "" --profile; ' \
           'printf "%s\\n" "${COMPREPLY[@]}"'
    environment = {key: value for key, value in os.environ.items() if not key.startswith("_MLSTACK")}
    environment.update({"PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": str(REPO), "HOME": str(home)})
    done = subprocess.run([bash, "--norc", "-c", line], cwd=stack, env=environment, capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.split() == ["dev", "prod", "qa", "staging"]
