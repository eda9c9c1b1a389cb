"""`mlstack explain SERVICE[.path]`: where every value came from and which merge rule put it there."""

from __future__ import annotations

from mlstack.commands.common import build_profile
from mlstack.core.model import parse_path
from mlstack.core.pipeline import provenance
from mlstack.errors import UsageError
from mlstack.report import Result


def run(stack_file: str | None, target: str, profile: str) -> Result:
    rendered = build_profile(stack_file, profile)
    host_gpu_decisions(rendered)
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
    lines += decisions
    return Result(text="\n".join(lines), data={"profile": profile, "values": data, "gpu": decisions})


def host_gpu_decisions(rendered) -> None:
    """Make the GPU decision `up` would make on this host, so explain shows the model `up` starts.

    Only stacks with GPU reservations ask the engine; when it cannot be reached, say so.
    """
    from mlstack.core.gpu import gpu_services

    if rendered.profile.gpu == "off" or not gpu_services(rendered.root):
        return
    from mlstack.commands.preflight import apply_gpu, gpu_decisions
    from mlstack.engine.docker_facts import Engine
    from mlstack.errors import EngineError

    try:
        engine = Engine()
    except EngineError:
        rendered.notes.append(f"gpu: engine not reachable; `mlstack up` decides per service (policy {rendered.profile.gpu})")
        return
    decisions = gpu_decisions(rendered, engine)
    fatal = [d for d in decisions if d.fatal]
    services = rendered.root.get("services")
    for decision in decisions:
        devices = services.value[decision.service].find(("deploy", "resources", "reservations", "devices"))
        if not decision.keep and not decision.fatal and devices is not None:
            where = f"services.{decision.service}.deploy.resources.reservations.devices"
            rendered.model.tombstones[where] = devices.origin.with_rule("gpu-removed")
    apply_gpu(rendered, [d for d in decisions if not d.fatal])
    rendered.notes += [f"gpu: {d.line()} (policy {rendered.profile.gpu}: `mlstack up` stops here)" for d in fatal]
