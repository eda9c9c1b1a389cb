"""`mlstack validate`: every profile (or one) through the whole pipeline; all problems at once."""

from __future__ import annotations

from mlstack.commands.common import open_stack
from mlstack.core.pipeline import build
from mlstack.errors import StackError
from mlstack.report import Result


def run(stack_file: str | None, profile: str | None, process_env: dict[str, str]) -> Result:
    stack = open_stack(stack_file)
    profiles = [profile] if profile else sorted(stack.profiles)
    errors, warnings, lines = [], [], []
    for name in profiles:
        try:
            rendered = build(stack, name, process_env)
        except StackError as error:
            errors.extend(d for d in error.diagnostics if d not in errors)
            if not error.diagnostics:
                raise
            continue
        warnings.extend(d for d in rendered.warnings if d not in warnings)
        count = len(rendered.root.get("services").value) if rendered.root.get("services") else 0
        lines.append(f"profile {name}: ok ({count} services)")
    if errors:
        raise StackError(errors[0].message, sorted(set(errors)) + warnings)
    return Result(text="\n".join(lines), diagnostics=warnings, data={"profiles": profiles, "ok": True})
