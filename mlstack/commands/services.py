"""`mlstack services`: the fragment catalog (local, team catalogs, built-in) with descriptions."""

from __future__ import annotations

from pathlib import Path as FsPath

from mlstack.core.load import load_yaml_file
from mlstack.core.stack import builtin_dir
from mlstack.lifecycle.workspace import open_stack
from mlstack.report import Result


def run(stack_file: str | None) -> Result:
    stack = open_stack(stack_file)
    in_use = {ref.path.resolve() for ref in stack.fragments}
    seen: dict[str, dict] = {}
    sources = [(catalog, str(catalog)) for catalog in stack.catalogs] + [(builtin_dir("stacks"), "built-in")]
    for directory, label in sources:
        for path in sorted(FsPath(directory).glob("*.yaml")) if FsPath(directory).is_dir() else []:
            if path.stem in seen:
                seen[path.stem].setdefault("shadows", []).append(label)
                continue
            node = load_yaml_file(path, str(path), what="fragment")
            meta = node.get("x-mlstack")
            description = meta.get("description").text() if meta is not None and meta.get("description") is not None else ""
            services = sorted(node.get("services").value) if node.get("services") is not None else []
            seen[path.stem] = {"name": path.stem, "description": description, "source": label,
                               "services": services, "in_stack": path.resolve() in in_use}
    rows = list(seen.values())
    width = max((len(row["name"]) for row in rows), default=4)
    lines = []
    for row in rows:
        mark = "*" if row["in_stack"] else " "
        extra = f" (shadows {', '.join(row['shadows'])})" if row.get("shadows") else ""
        lines.append(f"{mark} {row['name']:<{width}}  {row['description']}  [{row['source']}]{extra}")
    lines.append("* = in this stack")
    return Result(text="\n".join(lines), data=rows)
