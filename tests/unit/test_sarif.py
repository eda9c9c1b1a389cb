"""SARIF for GitHub code scanning: valid against the official 2.1.0 schema, and pointing at the
source lines (paths relative to the repository root) that the bad stack's comments mark."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest

from mlstack.commands import lint as command
from mlstack.core.lint_rules import RULES
from tests.unit.test_lint_example import BAD, expected

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "sarif" / "sarif-schema-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def sarif(monkeypatch, directory: Path, stack_file: str | None = "mlstack.yaml", profile: str | None = None) -> dict:
    monkeypatch.chdir(directory)
    result = command.run(command.LintOptions(stack_file, profile, output_format="sarif"), {})
    log = json.loads(result.text)
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text(encoding="utf-8"))).validate(log)
    return log


def test_the_vendored_schema_is_the_official_one():
    data = SCHEMA.read_bytes()
    assert len(data) == 112768
    assert hashlib.sha256(data).hexdigest() == "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
    assert json.loads(data)["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")


def test_the_schema_rejects_what_github_would():
    """The validation can fail: a result without a message is not SARIF."""
    log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "mlstack"}}, "results": [{"ruleId": "MLS001"}]}]}
    with pytest.raises(jsonschema.ValidationError, match="'message' is a required property"):
        jsonschema.Draft4Validator(json.loads(SCHEMA.read_text(encoding="utf-8"))).validate(log)


def test_results_point_at_the_source_lines(monkeypatch):
    log = sarif(monkeypatch, BAD)
    run = log["runs"][0]
    prefix = BAD.relative_to(ROOT).as_posix() + "/"
    located = set()
    for result in run["results"]:
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        uri = location["artifactLocation"]["uri"]
        assert uri.startswith(prefix), uri      # relative to the repository root, as GitHub resolves it
        assert location["region"]["startColumn"] >= 1
        for profile in result["properties"]["profiles"]:
            located.add((uri[len(prefix):], location["region"]["startLine"], result["ruleId"], profile))
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    assert located == expected()
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == ROOT.as_uri() + "/"


def test_rules_carry_help_that_names_their_docs_entry(monkeypatch):
    rules = sarif(monkeypatch, BAD)["runs"][0]["tool"]["driver"]["rules"]
    page = (ROOT / "docs" / "lint.md").read_text(encoding="utf-8")
    anchors = {re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
               for heading in re.findall(r"^## (.+)$", page, re.MULTILINE)}
    assert [rule["id"] for rule in rules] == [rule.id for rule in RULES]
    for rule in rules:
        assert "helpUri" not in rule  # mlstack has no public docs site to link to: the help says where
        assert re.search(r"\(#([a-z0-9-]+)\)\.$", rule["help"]["markdown"])[1] in anchors
        assert rule["help"]["markdown"].startswith("**") and "**Fix:**" in rule["help"]["markdown"]
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]


def test_levels_follow_the_profile(monkeypatch):
    log = sarif(monkeypatch, BAD, profile="prod")
    levels = {(result["ruleId"], result["level"]) for result in log["runs"][0]["results"]}
    assert {("MLS001", "error"), ("MLS006", "note"), ("MLS004", "warning")} <= levels
    log = sarif(monkeypatch, BAD, profile="dev")
    levels = {(result["ruleId"], result["level"]) for result in log["runs"][0]["results"]}
    assert ("MLS001", "warning") in levels and not any(rule == "MLS006" for rule, _ in levels)


def test_fingerprints_survive_lines_moving(monkeypatch, tmp_path):
    copy = tmp_path / "bad"
    shutil.copytree(BAD, copy)
    before = sarif(monkeypatch, copy)["runs"][0]["results"]
    fragment = copy / "stacks" / "ml.yaml"
    fragment.write_text("# a new first line\n" + fragment.read_text(encoding="utf-8"), encoding="utf-8")
    after = sarif(monkeypatch, copy)["runs"][0]["results"]

    def by_print(results):
        return {r["partialFingerprints"]["mlstackFinding/v1"]: r["locations"][0]["physicalLocation"] for r in results}

    old, new = by_print(before), by_print(after)
    assert old.keys() == new.keys() and len(old) == len(before)
    moved = [key for key in old if old[key]["artifactLocation"]["uri"].endswith("stacks/ml.yaml")]
    assert moved and all(new[key]["region"]["startLine"] == old[key]["region"]["startLine"] + 1 for key in moved)


def test_silenced_findings_are_suppressions_with_their_reason(monkeypatch, tmp_path):
    log = sarif(monkeypatch, tmp_path, stack_file=None, profile="prod")   # the built-in default stack
    results = log["runs"][0]["results"]
    suppressed = {r["ruleId"]: r["suppressions"][0]["justification"] for r in results if "suppressions" in r}
    assert {r["suppressions"][0]["kind"] for r in results if "suppressions" in r} == {"inSource"}
    assert set(suppressed) == {"MLS004", "MLS007", "MLS010"}
    assert suppressed["MLS004"].startswith("published on every interface on purpose")
    assert {r["level"] for r in results if "suppressions" not in r} == {"note"}   # MLS006 info only


def test_a_stack_wide_silence_is_an_external_suppression(monkeypatch, tmp_path):
    (tmp_path / "mlstack.yaml").write_text("name: s\nlint: {ignore: {MLS006: 'pinned by the deploy repository'}}\n")
    results = sarif(monkeypatch, tmp_path, profile="prod")["runs"][0]["results"]
    digests = [r for r in results if r["ruleId"] == "MLS006"]
    assert len(digests) == 4
    assert all(r["suppressions"] == [{"kind": "external", "justification": "pinned by the deploy repository"}]
               for r in digests)


def test_security_rules_are_ranked_for_github(monkeypatch):
    rules = {rule["id"]: rule["properties"] for rule in sarif(monkeypatch, BAD)["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["MLS008"] == {"dev": "error", "prod": "error", "tags": ["mlstack", "security"], "security-severity": "9.0"}
    assert rules["MLS002"] == {"dev": "warning", "prod": "error", "tags": ["mlstack"]}
    assert all(0 < float(p["security-severity"]) <= 10 for p in rules.values() if "security-severity" in p)
