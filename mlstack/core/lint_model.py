"""The vocabulary of lint: what a rule looks at, what it finds, and how a finding is reported.

A rule is a row of data (`Rule`): a stable id, a severity per profile kind, and a check, a pure
function of `LintInput` that yields `Hit`s located at the node to change. The engine (core.lint)
turns hits into `Finding`s: severity for the profile, silencing, and the source location that the
node's provenance gives (the fragment or override that set it, never the render).
"""

from __future__ import annotations

from mlstack.records import field, record
from typing import Callable, Iterable, Mapping

from mlstack.core.model import Node, Origin, Path, path_str
from mlstack.report import Diagnostic

SEVERITIES = ("off", "info", "warning", "error")     # in rising order
KINDS = ("dev", "prod")


@record(frozen=True)
class BuildContext:
    """What the command layer found on disk for a service's local build context (core reads no files)."""

    path: str                                    # as the model has it
    dockerignore: tuple[str, ...] | None = None  # its patterns; None: the context has no .dockerignore
    dockerfile_user: str | None = None           # the last USER of the Dockerfile; None: it sets none
    dockerfile_base: str = ""                    # the last FROM


@record(frozen=True)
class LintInput:
    """The merged model of one profile and the facts around it that rules may use."""

    root: Node
    kind: str = "dev"                                   # dev | prod: which column of severities applies
    caches: frozenset[str] = frozenset()                # volumes named in a fragment's x-mlstack.caches
    seeded: frozenset[str] = frozenset()                # volumes mlstack.yaml gives a seed
    contexts: Mapping[str, BuildContext] = field(default_factory=dict)  # by service name; local contexts only


@record(frozen=True)
class Hit:
    """What a check found: the node to change, its path in the model, and what is wrong."""

    node: Node
    path: Path
    message: str


Check = Callable[[LintInput], Iterable[Hit]]


@record(frozen=True)
class Rule:
    id: str            # MLS001...; never reused or renumbered
    name: str          # a readable alias, the heading of its docs entry
    title: str         # one line: what it flags
    dev: str           # severity in a dev-kind profile
    prod: str          # severity in a prod-kind profile
    check: Check
    why: str           # docs: why it matters
    fix: str           # docs: how to fix it
    security: str = ""  # GitHub's security-severity (0.0-10.0) when the rule is about security

    def severity(self, kind: str) -> str:
        return self.prod if kind == "prod" else self.dev


@record(frozen=True, order=True)
class Finding:
    """One located finding of one rule in one profile; `silenced` holds the reason when it is."""

    file: str
    line: int
    column: int
    path: str
    rule: str
    severity: str
    message: str
    profile: str = ""
    silenced: str = ""
    silenced_in: str = ""   # service: its x-mlstack.ignore; stack: mlstack.yaml's lint.ignore

    @staticmethod
    def of(rule: Rule, hit: Hit, severity: str, profile: str, silenced: str = "", silenced_in: str = "") -> "Finding":
        origin = hit.node.origin
        return Finding(origin.file, origin.line, origin.column, path_str(hit.path), rule.id, severity,
                       hit.message, profile, silenced, silenced_in)

    def location(self) -> str:
        return Origin(self.file, self.line, self.column).location()

    def __str__(self) -> str:
        """`file:line:col: path: severity: MLS001 message`, as every mlstack message starts with its location."""
        subject = f" {self.path}:" if self.path else ""
        if self.silenced:
            return f"{self.location()}:{subject} silenced {self.rule} ({self.silenced}): {self.message}"
        return f"{self.location()}:{subject} {self.severity}: {self.rule} {self.message}"

    def diagnostic(self) -> Diagnostic:
        """For validate: the shared Diagnostic, the rule id leading the message."""
        return Diagnostic(self.file, self.line, self.column, self.path, f"{self.rule} {self.message}", self.rule,
                          self.severity)


def at_least(severity: str, floor: str) -> bool:
    return SEVERITIES.index(severity) >= SEVERITIES.index(floor)
