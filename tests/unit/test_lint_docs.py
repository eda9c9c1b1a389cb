"""docs/lint.md is the rule reference, generated from the rule table: stale means failing."""

from __future__ import annotations

from pathlib import Path

from mlstack.core.lint_reference import reference
from mlstack.core.lint_rules import RULES

ROOT = Path(__file__).resolve().parents[2]


def test_docs_lint_md_is_generated_from_the_table():
    page = (ROOT / "docs" / "lint.md").read_text(encoding="utf-8")
    assert page == reference(), "docs/lint.md is stale: run scripts/gen-lint-docs"


def test_every_rule_has_its_entry_with_why_fix_and_silence():
    page = reference()
    for rule in RULES:
        entry = page.split(f"\n## {rule.id} {rule.name}\n", 1)[1].split("\n## ", 1)[0]
        assert rule.why in entry and rule.fix in entry, rule.id
        assert f"ignore: {{{rule.id}: " in entry, rule.id
        assert f"dev **{rule.dev}**, prod **{rule.prod}**" in entry, rule.id


def test_the_tuning_example_is_a_valid_stack_definition():
    import re

    from mlstack.core.load import parse_yaml
    from mlstack.core.validate import check

    example = re.search(r"```yaml\n# mlstack.yaml\n(.*?)```", reference(), re.DOTALL)[1]
    assert [str(d) for d in check(parse_yaml("name: example\n" + example, "mlstack.yaml"), "mlstack")] == []
