"""`mlstack services`: the fragment catalog (local, team catalogs, built-in) with descriptions."""

from __future__ import annotations

from typing import Mapping

from mlstack.lifecycle.workspace import catalog, open_stack
from mlstack.report import Result


def run(stack_file: str | None, *, env: Mapping[str, str]) -> Result:
    rows = catalog(open_stack(stack_file, env))
    width = max((len(row["name"]) for row in rows), default=4)
    lines = []
    for row in rows:
        mark = "*" if row["in_stack"] else " "
        extra = f" (shadows {', '.join(row['shadows'])})" if row.get("shadows") else ""
        lines.append(f"{mark} {row['name']:<{width}}  {row['description']}  [{row['source']}]{extra}")
    lines.append("* = in this stack")
    return Result(text="\n".join(lines), data=rows)


def profile_names(stack_file: str | None, env: dict[str, str]) -> list[str]:
    """The stack's mlstack profiles (dev, prod and those in mlstack.yaml): what `--profile` completes to.

    A stack that does not load still has the built-in profiles: completion never fails."""
    from mlstack.core.stack import BUILTIN_PROFILES
    from mlstack.errors import MlstackError

    try:
        return sorted(open_stack(stack_file, env).profiles)
    except (MlstackError, OSError):
        return list(BUILTIN_PROFILES)


def service_names(stack_file: str | None, profile: str | None, env: dict[str, str]) -> list[str]:
    """The services of a profile's render: what SERVICE arguments complete to; none when it does not render."""
    from mlstack.errors import MlstackError
    from mlstack.lifecycle.workspace import build_profile

    try:
        services = build_profile(stack_file, profile or "dev", env).root.get("services")
    except (MlstackError, OSError):
        return []
    return sorted(services.value) if services is not None else []
