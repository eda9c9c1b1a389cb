"""Compose on the original files must equal Compose on mlstack's render, case by case.

Each directory under differential/ is a case (see compose_diff.py); each directory under
differential_errors/ is a case Compose rejects, which mlstack must reject too, with a StackError
(exit code 1), from loading or from the validation that follows it, as in the pipeline.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compose_diff import Case, compare, explain_mismatch, load_and_check, run_compose
from mlstack.errors import ExitCode, StackError

HERE = Path(__file__).parent
CASES = sorted(path for path in (HERE / "differential").iterdir() if path.is_dir())
ERROR_CASES = sorted(path for path in (HERE / "differential_errors").iterdir() if path.is_dir())

pytestmark = pytest.mark.compose


def _known_difference(directory: Path, request: pytest.FixtureRequest) -> None:
    """A case may document a known difference (docs/merge.md) in xfail.txt: it must then fail."""
    reason = directory / "xfail.txt"
    if reason.is_file():
        request.applymarker(pytest.mark.xfail(reason=reason.read_text().strip(), strict=True))


@pytest.mark.parametrize("directory", CASES, ids=[path.name for path in CASES])
def test_render_matches_compose(directory: Path, request: pytest.FixtureRequest) -> None:
    _known_difference(directory, request)
    case = Case.read(directory)
    expected, actual, rendered = compare(case)
    assert expected == actual, explain_mismatch(case, expected, actual, rendered)


@pytest.mark.parametrize("directory", CASES, ids=[path.name for path in CASES])
def test_relocated_render_matches_compose(directory: Path, request: pytest.FixtureRequest) -> None:
    _known_difference(directory, request)
    case = Case.read(directory)
    expected, actual, rendered = compare(case, relocated=True)
    assert expected == actual, explain_mismatch(case, expected, actual, rendered)


@pytest.mark.parametrize("directory", ERROR_CASES, ids=[path.name for path in ERROR_CASES])
def test_both_reject(directory: Path, request: pytest.FixtureRequest) -> None:
    _known_difference(directory, request)
    case = Case.read(directory)
    compose = run_compose(case, case.files)
    assert compose.returncode != 0, f"Compose accepted {directory.name}; the case no longer tests a rejection"
    with pytest.raises(StackError) as raised:
        load_and_check(case)
    assert raised.value.exit_code == ExitCode.INVALID_STACK
    assert raised.value.diagnostics, "a rejection must say where"


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 40
