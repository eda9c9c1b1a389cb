"""The hooks of .pre-commit-hooks.yaml run by the real pre-commit, against temporary git repositories
holding a good and a bad stack: `pre-commit try-repo <this tree> HOOK --all-files`.

This tree is snapshotted into a one-commit repository first, uncommitted changes included, so both
runs share one revision and pre-commit builds the hook's environment once (`language: python`:
pip installs mlstack and its dependencies from PyPI into it, about a minute).
"""

from __future__ import annotations

import os
import sys
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.needs import pre_commit_argv

REPO = Path(__file__).resolve().parents[2]
BAD = REPO / "tests" / "lint_examples" / "bad"
pytestmark = pytest.mark.precommit


def git(directory: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(directory), "-c", "user.name=mlstack", "-c", "user.email=mlstack@test",
                           "-c", "commit.gpgsign=false", *args], check=True, capture_output=True, text=True).stdout


def commit_all(directory: Path) -> Path:
    git(directory, "init", "-q", "-b", "main")
    git(directory, "add", "-A")
    git(directory, "commit", "-q", "-m", "snapshot")
    return directory


@pytest.fixture(scope="module")
def hooks_repo(tmp_path_factory) -> Path:
    """This working tree as pre-commit would clone it: tracked and untracked files that git does not ignore."""
    listed = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    target = tmp_path_factory.mktemp("mlstack-hooks")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return commit_all(target)


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def try_repo(hooks_repo: Path, home: Path, project: Path, hook: str, path_dir: Path | None = None):
    environment = {key: value for key, value in os.environ.items()
                   if not key.endswith(("_PASSWORD", "_TOKEN")) and key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    environment["PRE_COMMIT_HOME"] = str(home)
    if path_dir is not None:
        environment["PATH"] = f"{path_dir}{os.pathsep}{environment['PATH']}"
    return subprocess.run([*pre_commit_argv(), "try-repo", str(hooks_repo), hook, "--all-files", "--color", "never"],
                          cwd=project, env=environment, capture_output=True, text=True, timeout=900)


def good_project(directory: Path) -> Path:
    directory.mkdir()
    (directory / "mlstack.yaml").write_text("name: good\n")   # the built-in fragments and profiles
    return commit_all(directory)


def bad_project(directory: Path) -> Path:
    shutil.copytree(BAD, directory)
    return commit_all(directory)


def test_the_lint_hook_passes_a_good_stack_and_fails_a_bad_one(hooks_repo, pre_commit_home, tmp_path):
    good = try_repo(hooks_repo, pre_commit_home, good_project(tmp_path / "good"), "mlstack-lint")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "mlstack lint" in good.stdout and "Passed" in good.stdout

    bad = try_repo(hooks_repo, pre_commit_home, bad_project(tmp_path / "bad"), "mlstack-lint")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout and "- exit code: 1" in bad.stdout
    assert ("stacks/data.yaml:11:9: services.db.ports[0]: error: MLS009 host port 5432 of data service db is published "
            "on all interfaces") in bad.stdout


def test_the_system_hook_runs_the_mlstack_on_path(hooks_repo, pre_commit_home, tmp_path):
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "mlstack").write_text(f"#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} "
                                  "-m mlstack \"$@\"\n")
    (shim / "mlstack").chmod(0o755)
    bad = try_repo(hooks_repo, pre_commit_home, bad_project(tmp_path / "bad"), "mlstack-lint-system", shim)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "services.db.healthcheck.test: error: MLS018 the healthcheck runs curl" in bad.stdout
    good = try_repo(hooks_repo, pre_commit_home, good_project(tmp_path / "good"), "mlstack-lint-system", shim)
    assert good.returncode == 0, good.stdout + good.stderr
