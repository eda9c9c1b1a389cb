"""How a stack tunes lint, read from mlstack.yaml (the schema has checked its shape already):

    lint:                                  # the whole stack
      ignore: {MLS006: "reason"}           # silence a rule everywhere; the reason is required and shown
      severity: {MLS015: error}            # raise or lower a rule in every profile
    profiles:
      staging:
        extends: prod
        lint: {kind: prod, severity: {...}, ignore: {...}}   # this profile (and those extending it)

A profile's kind (dev or prod) picks the column of default severities: its own `lint.kind`, else
the kind of the built-in profile its `extends` chain ends at, else prod, the stricter.
"""

from __future__ import annotations

from mlstack.records import field, record

from mlstack.core.lint_model import KINDS
from mlstack.core.model import Node
from mlstack.errors import StackError
from mlstack.report import Diagnostic


@record(frozen=True)
class LintConfig:
    kind: str = "dev"
    severity: dict[str, str] = field(default_factory=dict)   # rule id -> severity
    ignore: dict[str, str] = field(default_factory=dict)     # rule id -> reason


def _section(node: Node | None) -> Node | None:
    section = node.get("lint") if node is not None and node.is_map else None
    return section if section is not None and section.is_map else None


def lint_config(stack_root: Node | None, chain: list[str], known: set[str]) -> LintConfig:
    """The tuning for the first profile of `chain` (Stack.profile_chain): the stack's, then each
    profile of the chain from the root down."""
    profiles = stack_root.get("profiles") if stack_root is not None and stack_root.is_map else None
    sections = [_section(stack_root)] + [_section(profiles.get(name)) if profiles is not None and profiles.is_map
                                         else None for name in reversed(chain)]
    kind = next((section.get("kind").text() for section in reversed(sections)
                 if section is not None and section.get("kind") is not None), None)
    kind = kind or (chain[-1] if chain[-1] in KINDS else "prod")
    severity: dict[str, str] = {}
    ignore: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for section in sections:
        if section is None:
            continue
        for key, target in (("severity", severity), ("ignore", ignore)):
            entries = section.get(key)
            for rule_id, value in (entries.value.items() if entries is not None and entries.is_map else []):
                origin = value.origin
                if rule_id not in known:
                    problems.append(Diagnostic.at(origin, f"lint.{key}.{rule_id}",
                                               f"unknown lint rule {rule_id}", "lint"))
                elif not value.text().strip():
                    problems.append(Diagnostic.at(origin, f"lint.{key}.{rule_id}",
                                               "silencing a rule needs a reason", "lint"))
                target[rule_id] = value.text().strip()
    if problems:
        raise StackError(problems[0].message, problems)
    return LintConfig(kind, severity, ignore)


def service_ignores(service: Node, name: str, known: set[str]) -> tuple[dict[str, str], list[Diagnostic]]:
    """`services.NAME.x-mlstack.ignore`: rule id -> reason, and the entries that are not valid."""
    meta = service.get("x-mlstack")
    entries = meta.get("ignore") if meta is not None and meta.is_map else None
    if entries is None:
        return {}, []
    where = f"services.{name}.x-mlstack.ignore"
    if not entries.is_map:
        origin = entries.origin
        return {}, [Diagnostic.at(origin, where,
                               "must map rule ids to reasons, e.g. {MLS004: \"published for the load balancer\"}",
                               "lint")]
    reasons: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for rule_id, reason in entries.value.items():
        origin = reason.origin
        if rule_id not in known:
            problems.append(Diagnostic.at(origin, f"{where}.{rule_id}",
                                       f"unknown lint rule {rule_id}", "lint"))
        elif not reason.is_scalar or not reason.text().strip():
            problems.append(Diagnostic.at(origin, f"{where}.{rule_id}",
                                       "silencing a rule needs a reason", "lint"))
        else:
            reasons[rule_id] = reason.text().strip()
    return reasons, problems
