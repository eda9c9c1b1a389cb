"""The deliberately bad stack (tests/lint_examples/bad): every rule fires, each exactly at the
lines its `# expect: MLS001 MLS006@prod` comments mark, in the profiles they name (default: all)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mlstack.commands import lint as command
from mlstack.core.lint_rules import RULES

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "lint_examples" / "bad"
PROFILES = ("dev", "prod")


def expected() -> set[tuple[str, int, str, str]]:
    """(file, line, rule, profile) from the `# expect:` comments of the bad stack's files."""
    marks = set()
    for path in sorted(BAD.rglob("*.yaml")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            found = re.search(r"#\s*expect:((?:\s+MLS\d{3}(?:@\w+)?)+)\s*$", line)
            for mark in found[1].split() if found else []:
                rule, _, profile = mark.partition("@")
                for name in [profile] if profile else PROFILES:
                    marks.add((path.relative_to(BAD).as_posix(), number, rule, name))
    return marks


def found(monkeypatch) -> tuple[set[tuple[str, int, str, str]], int]:
    monkeypatch.chdir(BAD)
    result = command.run(command.LintOptions("mlstack.yaml", output_format="json"), {})
    report = json.loads(result.text)
    return ({(f["file"], f["line"], f["rule"], profile) for f in report["findings"] for profile in f["profile"].split(",")},
            result.exit_code)


def test_every_finding_is_where_the_comments_say(monkeypatch):
    actual, exit_code = found(monkeypatch)
    assert sorted(actual - expected()) == [], "findings no comment expects"
    assert sorted(expected() - actual) == [], "expected findings that did not fire"
    assert exit_code == 1


def test_the_bad_stack_triggers_every_rule():
    assert {rule for _, _, rule, _ in expected()} == {rule.id for rule in RULES}
