"""Findings as a SARIF 2.1.0 log, the format GitHub code scanning reads.

One run, the rule table as the driver's rules (help text naming its docs/lint.md entry each), one
result per finding, located in the source file by a path relative to the repository root
(`%SRCROOT%`), with a fingerprint that survives lines moving. Pure: paths come in resolved.
"""

from __future__ import annotations

import hashlib
from typing import Mapping

from mlstack.core.lint_model import Finding, Rule

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note", "off": "none"}
ROOT_ID = "%SRCROOT%"


def anchor(rule: Rule) -> str:
    """The heading anchor of the rule's docs entry, as GitHub renders `## MLS001 image-tag`."""
    return f"{rule.id.lower()}-{rule.name}"


def help_markdown(rule: Rule) -> str:
    return (f"**{rule.title}** (dev: {rule.dev}, prod: {rule.prod})\n\n{rule.why}\n\n**Fix:** {rule.fix}\n\n"
            f"**Silence:** `x-mlstack: {{ignore: {{{rule.id}: \"reason\"}}}}` on the service, or "
            f"`lint: {{ignore: {{{rule.id}: \"reason\"}}}}` in mlstack.yaml.\n\n"
            f"Reference: mlstack's docs/lint.md, section `{rule.id} {rule.name}` (#{anchor(rule)}).")


def _rule(rule: Rule) -> dict:
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.why},
        "help": {"text": f"{rule.why} Fix: {rule.fix}", "markdown": help_markdown(rule)},
        "defaultConfiguration": {"level": LEVELS[rule.prod]},
        "properties": {"dev": rule.dev, "prod": rule.prod,
                       **({"tags": ["mlstack", "security"], "security-severity": rule.security} if rule.security
                          else {"tags": ["mlstack"]})},
    }


def fingerprint(finding: Finding, uri: str) -> str:
    """Stable while lines move: the rule, the file, the model path and the profile, not the line."""
    key = "\0".join((finding.rule, uri, finding.path, finding.profile))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _result(finding: Finding, index: dict[str, int], uris: Mapping[str, str]) -> dict:
    uri = uris.get(finding.file, finding.file)
    location: dict = {"artifactLocation": {"uri": uri}}
    if "://" not in uri:
        location["artifactLocation"]["uriBaseId"] = ROOT_ID
    if finding.line:
        location["region"] = {"startLine": finding.line, **({"startColumn": finding.column} if finding.column else {})}
    profiles = f" [{finding.profile}]" if finding.profile else ""
    result = {
        "ruleId": finding.rule,
        "ruleIndex": index[finding.rule],
        "level": LEVELS[finding.severity],
        "message": {"text": f"{finding.path}: {finding.message}{profiles}"},
        "locations": [{"physicalLocation": location,
                       "logicalLocations": [{"fullyQualifiedName": finding.path, "kind": "member"}]}],
        "partialFingerprints": {"mlstackFinding/v1": fingerprint(finding, uri)},
        "properties": {"profiles": finding.profile.split(",") if finding.profile else []},
    }
    if finding.silenced:
        kind = "inSource" if finding.silenced_in == "service" else "external"
        result["suppressions"] = [{"kind": kind, "justification": finding.silenced}]
    return result


def to_sarif(findings: list[Finding], rules: list[Rule], uris: Mapping[str, str], root_uri: str,
             version: str) -> dict:
    """`uris`: finding file -> URI relative to the repository root (or an absolute file:// URI)."""
    index = {rule.id: position for position, rule in enumerate(rules)}
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "mlstack", "version": version,
                                "rules": [_rule(rule) for rule in rules]}},
            "originalUriBaseIds": {ROOT_ID: {"uri": root_uri}},
            "columnKind": "unicodeCodePoints",
            "results": [_result(finding, index, uris) for finding in findings],
        }],
    }
