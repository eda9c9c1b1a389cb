"""`mlstack init [DIR]`: what a new project gets, the prompts, and every refusal before anything is written."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from tests.cli.conftest import REPO, Run

DEFAULT_FRAGMENTS = ["api", "jupyter", "mlflow", "redis", "qdrant", "postgres"]


def init(*args: str, cwd, stdin: str | None = None) -> Run:
    environment = {key: value for key, value in os.environ.items()
                   if not key.endswith(("_PASSWORD", "_TOKEN")) and not key.endswith("_PORT")}
    environment["PYTHONPATH"] = str(REPO)
    done = subprocess.run([sys.executable, "-m", "mlstack", "init", *args], cwd=cwd, env=environment,
                          input=stdin if stdin is not None else "", capture_output=True, text=True, timeout=120)
    return Run(done.returncode, done.stdout, done.stderr)


def tree(directory) -> list[str]:
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*")
                  if path.is_file() and "__pycache__" not in path.parts)


def test_yes_writes_the_project_with_the_default_services_and_their_requirements(tmp_path):
    run = init("fraud-detection", "--yes", cwd=tmp_path)
    assert run.code == 0, run.err
    project = tmp_path / "fraud-detection"
    assert run.out == "next: cd fraud-detection && mlstack validate && mlstack up --profile dev\n"
    assert run.err.splitlines()[1:] == [
        "mlstack: added redis (required by api)",
        "mlstack: added qdrant (required by api)",
        "mlstack: added postgres (required by mlflow)",
        "mlstack: generated dev values for JUPYTER_TOKEN, POSTGRES_PASSWORD in .mlstack/dev-secrets.env (0600)"]
    definition = (project / "mlstack.yaml").read_text()
    assert "name: fraud-detection\n" in definition
    assert [line.split("#")[0].strip()[2:] for line in definition.splitlines() if line.startswith("  - ")] == DEFAULT_FRAGMENTS
    files = tree(project)
    for expected in ["mlstack.yaml", ".env", ".env.example", ".gitignore", "notebooks/.gitkeep", ".mlstack/dev-secrets.env",
                     "api/Dockerfile", "api/.dockerignore", "api/requirements.txt", "api/requirements-cpu.txt",
                     "api/requirements-gpu.txt", "api/app/main.py", "api/app/model.py", "api/model/model.json",
                     "api/tests/test_api.py"]:
        assert expected in files


def test_the_dev_env_is_private_and_ignored_and_the_example_holds_no_secret(tmp_path):
    assert init("--yes", "--services", "jupyter,postgres", cwd=tmp_path).code == 0
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / ".env.example").stat().st_mode) == 0o644
    ignored = (tmp_path / ".gitignore").read_text().splitlines()
    assert {".env", ".env.*", "!.env.example", ".mlstack/"} <= set(ignored)
    generated = dict(line.split("=", 1) for line in (tmp_path / ".mlstack/dev-secrets.env").read_text().splitlines()
                     if not line.startswith("#"))
    assert sorted(generated) == ["JUPYTER_TOKEN", "POSTGRES_PASSWORD"]
    for name in [".env", ".env.example"]:
        text = (tmp_path / name).read_text()
        assert not any(value in text for value in generated.values())
        assert "# JUPYTER_TOKEN=" in text and "JUPYTER_PORT" in text
    assert "JUPYTER_PORT=8888\n" in (tmp_path / ".env").read_text()
    assert "# JUPYTER_PORT=8888\n" in (tmp_path / ".env.example").read_text()
    assert not (tmp_path / "api").exists()


def test_an_existing_gitignore_is_extended_not_replaced(tmp_path):
    (tmp_path / ".gitignore").write_text("data/\n.env\n")
    assert init("--yes", "--services", "redis", cwd=tmp_path).code == 0
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert lines[:2] == ["data/", ".env"] and lines.count(".env") == 1 and "!.env.example" in lines


@pytest.mark.parametrize("profile", ["dev", "prod"])
def test_the_generated_stack_validates_and_lints_clean(tmp_path, mlstack, profile):
    assert init("--yes", cwd=tmp_path).code == 0
    validated = mlstack("validate", "--profile", profile, cwd=tmp_path)
    assert validated.code == 0, validated.err
    linted = mlstack("lint", "--profile", profile, "--strict", cwd=tmp_path)
    assert linted.code == 0, linted.err
    assert "0 errors, 0 warnings" in linted.err + linted.out


def test_prompts_read_piped_answers_ask_again_on_a_wrong_one_and_take_defaults_on_enter(tmp_path):
    (tmp_path / "My Project").mkdir()
    run = init(cwd=tmp_path / "My Project", stdin="Bad Name\n\nqdrant,nosuch\nqdrant\noff\n")
    assert run.code == 0, run.err
    assert "Error: stack name 'Bad Name': use lower-case letters" in run.err
    assert "Error: services: unknown service nosuch; choose from api, jupyter, mlflow, postgres, qdrant, redis" in run.err
    definition = (tmp_path / "My Project" / "mlstack.yaml").read_text()
    assert "name: my-project\n" in definition and "  - qdrant\n" in definition and 'gpu: "off"' in definition


def test_prompts_with_no_input_left_fail_and_say_how_to_run_without_them(tmp_path):
    run = init("new", cwd=tmp_path, stdin="")
    assert run.code == 2
    assert run.err.splitlines()[-2:] == [
        "mlstack: init: no answer on standard input (it ended)",
        "hint: pass --yes to take the defaults, with --services, --name and --gpu to choose"]
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("args, message", [
    (["--services", "api,nosuch"],
     "mlstack: services: unknown service nosuch; choose from api, jupyter, mlflow, postgres, qdrant, redis"),
    (["--name", "Fraud"], "mlstack: stack name 'Fraud': use lower-case letters, digits, '-' and '_', "
                          "starting with a letter or digit (it names the Compose project)"),
    (["--gpu", "sometimes"], "mlstack: GPU policy 'sometimes': unknown; choose from default, auto, required, off"),
])
def test_bad_answers_are_one_line_usage_errors(tmp_path, args, message):
    run = init("--yes", *args, cwd=tmp_path)
    assert (run.code, run.err.splitlines()[0]) == (2, message)
    assert "Traceback" not in run.err and os.listdir(tmp_path) == []


def test_existing_files_are_never_overwritten_without_force_and_nothing_is_half_written(tmp_path):
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "Dockerfile").write_text("FROM mine\n")
    (tmp_path / ".env").write_text("MINE=1\n")
    run = init("--yes", cwd=tmp_path)
    assert run.code == 2
    assert run.err.splitlines() == [f"{tmp_path}/.env: exists; --force overwrites it",
                                    f"{tmp_path}/api/Dockerfile: exists; --force overwrites it",
                                    "hint: nothing was written; pass --force to overwrite them"]
    assert sorted(os.listdir(tmp_path)) == [".env", "api"] and os.listdir(tmp_path / "api") == ["Dockerfile"]
    forced = init("--yes", "--force", cwd=tmp_path)
    assert forced.code == 0, forced.err
    assert (tmp_path / "api" / "Dockerfile").read_text().startswith("# The team API image")


def test_a_directory_that_cannot_be_written_is_a_filesystem_error(tmp_path):
    # /proc refuses new entries to everyone, root included (a chmod 500 directory would not stop root)
    run = init("/proc/mlstack-init-test", "--yes", cwd=tmp_path)
    assert run.code == 7, run.err
    assert run.err.startswith("mlstack: /proc") and run.err.splitlines()[0].endswith("; nothing was written")
    assert len(run.err.splitlines()) == 2 and "Traceback" not in run.err


def test_a_file_where_the_directory_should_be_is_a_filesystem_error(tmp_path):
    (tmp_path / "taken").write_text("")
    run = init("taken/project", "--yes", cwd=tmp_path)
    assert (run.code, run.err.splitlines()[0]) == (7, f"mlstack: {tmp_path}/taken: not a directory")


def test_the_api_templates_own_tests_pass_with_its_stand_in_model(tmp_path):
    assert init("--yes", "--services", "api", cwd=tmp_path).code == 0
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tmp_path / "api",
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": ""})
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("7 passed")
