"""Needs, skips and CI: a test marked with a need (tests/needs.py) runs, or says why it cannot.

Outside CI an unmet need skips the test with its reason. Under CI=true it fails instead, and so
does every other skip (a missing test dependency's `importorskip` too) and any module skipped at
collection: in CI every proof runs.
The run ends with the counts per marker, so a reader sees at once how much of each proof ran.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter, defaultdict

import pytest

from tests import needs

# Replayed renders and help texts (mlstack.cli.replay) go to a directory of this test run, not the user's cache.
os.environ["MLSTACK_CACHE_DIR"] = tempfile.mkdtemp(prefix="mlstack-test-cache-")

OUTCOMES = ("passed", "failed", "skipped", "xfailed", "xpassed")
_counts: dict[str, Counter] = defaultdict(Counter)


def _needs_of(item: pytest.Item) -> list[str]:
    return [marker.name for marker in item.iter_markers() if marker.name in needs.CHECKS]


def pytest_runtest_setup(item: pytest.Item) -> None:
    for need in _needs_of(item):
        reason = needs.unmet(need)
        if reason and needs.in_ci():
            pytest.fail(f"CI=true and this `{need}` test cannot run: {reason}", pytrace=False)
        if reason:
            pytest.skip(f"needs {need}: {reason}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    outcome = yield
    report = outcome.get_result()
    report.needs = _needs_of(item)  # markers only: report.keywords also holds parameter ids
    if report.skipped and needs.in_ci() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        kind = f"`{', '.join(report.needs)}` test" if report.needs else "test"
        report.longrepr = f"CI=true: a {kind} skipped itself: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and needs.in_ci():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"CI=true: {collector.nodeid} was skipped at collection: {reason}"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or (report.when == "setup" and not report.passed):
        if hasattr(report, "wasxfail"):
            result = "xpassed" if report.passed else "xfailed"
        else:
            result = report.outcome
        groups = getattr(report, "needs", None) or ["unmarked"]
        for group in groups:
            _counts[group][result] += 1


def pytest_terminal_summary(terminalreporter) -> None:
    if not _counts:
        return
    terminalreporter.section("counts per marker")
    for group in [*needs.CHECKS, "unmarked"]:
        if group in _counts:
            counts = _counts[group]
            terminalreporter.write_line(f"{group:9} " + ", ".join(f"{counts[name]} {name}" for name in OUTCOMES))
