"""`mlstack explain SERVICE[.path]`: where every value came from and which merge rule put it there."""

from __future__ import annotations

from typing import Mapping

from mlstack.core.model import parse_path
from mlstack.core.pipeline import provenance
from mlstack.errors import UsageError
from mlstack.lifecycle.preflight import apply_host_gpu
from mlstack.lifecycle.workspace import build_profile
from mlstack.report import Result


def run(stack_file: str | None, target: str, profile: str, *, env: Mapping[str, str]) -> Result:
    rendered = build_profile(stack_file, profile, env)
    apply_host_gpu(rendered, env)
    path = parse_path(target)
    if path and path[0] not in ("services", "volumes", "networks", "secrets", "configs", "name") and not str(path[0]).startswith("x-"):
        path = ("services",) + path
    rows = provenance(rendered, path)
    if not rows:
        services = rendered.root.get("services")
        known = ", ".join(sorted(services.value)) if services is not None else "none"
        raise UsageError(f"nothing at {target!r} in profile {profile!r} (services: {known})")
    width = max(len(row[0]) for row in rows)
    lines = []
    data = []
    for where, value, origin in rows:
        shown = "" if value is None else (" = " + repr(value) if not isinstance(value, str) else f" = {value}")
        source = origin.location() + (f" [profile {origin.profile}]" if origin.profile else "")
        lines.append(f"{where}{shown}".ljust(width + 24) + f"  {origin.rule:<12} {source}")
        data.append({"path": where, "value": value, "file": origin.file, "line": origin.line, "column": origin.column,
                     "profile": origin.profile, "rule": origin.rule})
    decisions = [note for note in rendered.notes if note.startswith("gpu:")]
    # which rule of the image map replaced the image of a service shown here (core.image_map)
    mapped = [note for note in rendered.notes if note.startswith("image map:") and path[:1] == ("services",)
              and (len(path) == 1 or note.split(":")[1].strip() == path[1])]
    lines += decisions + mapped
    return Result(text="\n".join(lines), data={"profile": profile, "values": data, "gpu": decisions, "images": mapped})

