"""`mlstack validate`: every profile (or one) through the whole pipeline and lint; all problems at once.

A lint finding at error level fails validation as a schema error does; warnings are shown.
"""

from __future__ import annotations

from typing import Mapping

from mlstack.core.pipeline import build
from mlstack.errors import StackError
from mlstack.lifecycle.linting import lint_profile
from mlstack.lifecycle.workspace import open_stack
from mlstack.report import Result


def run(stack_file: str | None, profile: str | None, check_secrets: bool = False, *, env: Mapping[str, str]) -> Result:
    stack = open_stack(stack_file, env)
    profiles = [profile] if profile else sorted(stack.profiles)
    errors: set = set()
    warnings: dict = {}  # an ordered set: the first profile to warn places the warning
    lines = []
    for name in profiles:
        try:
            rendered = build(stack, name, dict(env))
            findings = [finding.diagnostic() for finding in lint_profile(rendered)
                        if not finding.silenced and finding.severity != "info"]   # info is for `mlstack lint`
        except StackError as error:
            if not error.diagnostics:
                raise
            errors.update(error.diagnostics)
            continue
        warnings.update(dict.fromkeys(rendered.warnings))
        missing = rendered.missing_secrets() if check_secrets else []
        errors.update(missing)   # and the lint findings too: every problem at once
        warnings.update(dict.fromkeys(finding for finding in findings if finding.severity != "error"))
        errors.update(finding for finding in findings if finding.severity == "error")
        if missing or any(finding.severity == "error" for finding in findings):
            continue
        count = len(rendered.root.get("services").value) if rendered.root.get("services") else 0
        lines.append(f"profile {name}: ok ({count} services)")
    if errors:
        ordered = sorted(errors)
        raise StackError(ordered[0].message, ordered + list(warnings))
    return Result(text="\n".join(lines), diagnostics=list(warnings), data={"profiles": profiles, "ok": True})
