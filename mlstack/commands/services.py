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
