"""`mlstack validate`: every profile (or one) through the whole pipeline; all problems at once."""

from __future__ import annotations

from mlstack.commands.common import open_stack
from mlstack.core.pipeline import build
from mlstack.errors import StackError
from mlstack.report import Result


def run(stack_file: str | None, profile: str | None, process_env: dict[str, str], check_secrets: bool = False) -> Result:
    stack = open_stack(stack_file)
    profiles = [profile] if profile else sorted(stack.profiles)
    errors: set = set()
    warnings: dict = {}  # an ordered set: the first profile to warn places the warning
    lines = []
    for name in profiles:
        try:
            rendered = build(stack, name, process_env)
        except StackError as error:
            if not error.diagnostics:
                raise
            errors.update(error.diagnostics)
            continue
        warnings.update(dict.fromkeys(rendered.warnings))
        if check_secrets:
            missing = rendered.missing_secrets()
            if missing:
                errors.update(missing)
                continue
        count = len(rendered.root.get("services").value) if rendered.root.get("services") else 0
        lines.append(f"profile {name}: ok ({count} services)")
    if errors:
        ordered = sorted(errors)
        raise StackError(ordered[0].message, ordered + list(warnings))
    return Result(text="\n".join(lines), diagnostics=list(warnings), data={"profiles": profiles, "ok": True})
