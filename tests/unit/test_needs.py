"""Under CI=true a test whose need is unmet fails; elsewhere it is skipped with the reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

MARKED = """
import pytest

@pytest.mark.engine
def test_needs_the_engine():
    pass

@pytest.mark.compose
def test_skips_itself():
    pytest.skip("no model files")

def test_plain():
    pass

def test_a_missing_dependency():
    pytest.importorskip("mlstack_no_such_module")
"""

MODULE_SKIP = """
import pytest

pytest.skip("nothing here", allow_module_level=True)

def test_never():
    pass
"""


def run_pytest(tmp_path: Path, source: str, ci: bool) -> subprocess.CompletedProcess:
    test_file = tmp_path / "test_case.py"
    test_file.write_text(source)
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env["MLSTACK_TEST_NETNS"] = "mlstack-no-such-namespace"  # an engine that is never there
    if ci:
        env["CI"] = "true"
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider",
                           "-q", "-ra", str(test_file)], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_an_unmet_need_skips_outside_ci(tmp_path):
    done = run_pytest(tmp_path, MARKED, ci=False)
    assert done.returncode == 0, done.stdout
    assert "1 passed, 3 skipped" in done.stdout
    assert "needs engine: hermetic Docker engine not reachable" in done.stdout
    assert "engine    0 passed, 0 failed, 1 skipped, 0 xfailed, 0 xpassed" in done.stdout


def test_an_unmet_need_or_a_skip_of_a_marked_test_fails_in_ci(tmp_path):
    done = run_pytest(tmp_path, MARKED, ci=True)
    assert done.returncode == 1, done.stdout
    last = done.stdout.strip().splitlines()[-1]
    assert "2 failed" in last and "1 passed" in last and "1 error" in last  # an unmet need fails in setup
    assert "CI=true and this `engine` test cannot run: hermetic Docker engine not reachable" in done.stdout
    assert "CI=true: a `compose` test skipped itself: Skipped: no model files" in done.stdout
    assert "CI=true: a test skipped itself: Skipped: could not import 'mlstack_no_such_module'" in done.stdout
    assert "unmarked  1 passed, 1 failed, 0 skipped" in done.stdout


@pytest.mark.parametrize("ci, code", [(False, 5), (True, 2)])  # 5: no test ran; 2: a collection error
def test_a_module_skipped_at_collection_fails_only_in_ci(tmp_path, ci, code):
    done = run_pytest(tmp_path, MODULE_SKIP, ci=ci)
    assert done.returncode == code, done.stdout
    if ci:
        assert "was skipped at collection: Skipped: nothing here" in done.stdout
