"""Lint: run the rule table (core.lint_rules) over one profile's merged model.

Each hit becomes a Finding at the source location its node's provenance gives, with the severity
the profile's kind and the stack's tuning (core.lint_config) decide, silenced when the service
(`x-mlstack.ignore`), the profile or the stack says why. Pure: the facts on disk come in LintInput.
"""

from __future__ import annotations

from mlstack.core.lint_config import LintConfig, service_ignores
from mlstack.core.lint_model import Finding, LintInput, at_least
from mlstack.core.lint_rules import BY_ID, RULES
from mlstack.core.validate import services_of
from mlstack.errors import StackError
from mlstack.report import Diagnostic


def lint(data: LintInput, config: LintConfig | None = None, profile: str = "") -> list[Finding]:
    """Every finding of every rule that is not off, silenced ones included, sorted by location."""
    config = config or LintConfig(data.kind)
    ignores: dict[str, dict[str, str]] = {}
    problems: list[Diagnostic] = []
    for name, service in services_of(data.root).items():
        ignores[name], wrong = service_ignores(service, name, set(BY_ID))
        problems += wrong
    if problems:
        raise StackError(problems[0].message, problems)
    findings: list[Finding] = []
    for rule in RULES:
        severity = config.severity.get(rule.id, rule.severity(data.kind))
        if severity == "off":
            continue
        for hit in rule.check(data):
            service = hit.path[1] if len(hit.path) > 1 and hit.path[0] == "services" else ""
            in_service = ignores.get(str(service), {}).get(rule.id, "")
            reason = in_service or config.ignore.get(rule.id, "")
            where = ("service" if in_service else "stack") if reason else ""
            findings.append(Finding.of(rule, hit, severity, profile, reason, where))
    return sorted(findings)


def failing(findings: list[Finding], strict: bool = False) -> list[Finding]:
    """What fails the gate: errors, and warnings too when strict; never a silenced finding."""
    floor = "warning" if strict else "error"
    return [finding for finding in findings if not finding.silenced and at_least(finding.severity, floor)]
