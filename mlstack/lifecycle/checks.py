"""The checks of `mlstack doctor`: the engine, which Compose and why, GPU facts and decisions, disk, ports.

Every check is reported (never stops at the first); the verdict is ENGINE (3) when the engine is
unreachable, PREFLIGHT (4) when another check fails, 0 otherwise.
"""

from __future__ import annotations

from mlstack.records import field, record
from typing import Any, Mapping

from mlstack.core.gpu_host import HostGpu
from mlstack.core.gpu_tables import version_text
from mlstack.core.ports import published_ports
from mlstack.engine import ports as host_ports
from mlstack.engine.discovery import FEATURES, MINIMUM_VERSION, discover
from mlstack.engine.docker_facts import Engine
from mlstack.errors import ExitCode, MlstackError
from mlstack.lifecycle import preflight, running


@record
class Findings:
    lines: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    exit_code: int = 0


def check(stack_file: str | None, profile: str, env: Mapping[str, str]) -> Findings:
    lines: list[str] = []
    data: dict = {}
    failed = False
    try:
        engine = Engine(env)
    except MlstackError as error:
        return Findings(["engine:  UNREACHABLE", f"  {error.message}"], {"engine": None, "error": error.message},
                        int(ExitCode.ENGINE))
    info = engine.info()
    lines.append(f"engine:  {engine.address.url} (from {engine.address.source}), Docker {info.get('ServerVersion')}, "
                 f"{info.get('OperatingSystem')}")
    data["engine"] = {"url": engine.address.url, "source": engine.address.source, "version": info.get("ServerVersion")}
    try:
        cli = discover(env)
        lines.append(f"compose: {' '.join(cli.argv)} {cli.version_text}: {cli.why}; mlstack needs >= "
                     f"{'.'.join(map(str, MINIMUM_VERSION))} for:")
        lines += [f"  - {text} (since {'.'.join(map(str, since))})" for since, text in FEATURES]
        data["compose"] = {"argv": list(cli.argv), "version": cli.version_text, "why": cli.why}
    except MlstackError as error:
        failed = True
        lines.append(f"compose: PROBLEM: {error.message}" + (f"\n  hint: {error.hint}" if error.hint else ""))
    host = engine.host_gpu()
    lines.append(f"gpu:     {gpu_facts(host)}")
    data["gpu"] = {"nvidia_runtime": host.nvidia_runtime, "cdi_devices": host.cdi_devices,
                   "driver": host.driver_version, "cuda": version_text(host.driver_cuda) if host.driver_cuda else None,
                   "gpus": [{"index": g.index, "uuid": g.uuid, "name": g.name, "brand": g.brand, "arch": g.arch,
                             "mig": [m.uuid for m in g.mig]} for g in host.gpus or []]}
    decisions_at = len(lines)
    problem, notice = preflight.disk(engine)
    free = engine.free_disk()
    lines.append(f"disk:    {problem or notice or (f'{free[1] / preflight.GIB:.1f} GiB free under {free[0]}' if free else 'unknown (the engine is not on this machine)')}")
    failed = failed or problem is not None
    try:
        project = running.render(stack_file, profile, env)
    except MlstackError as error:
        lines.append(f"stack:   cannot render profile {profile}: {error.message}")
        return Findings(lines, data, int(ExitCode.PREFLIGHT))
    assert project.rendered is not None
    missing = project.rendered.missing_secrets()
    secrets = project.rendered.root.get("secrets")
    lines.append(f"secrets: profile {profile} reads {len(secrets.value) if secrets is not None and secrets.is_map else 0}"
                 + (f", {len(missing)} missing:" if missing else ", all provided"))
    lines += [f"  {problem}" for problem in missing]
    data["secrets_missing"] = [problem.message for problem in missing]
    failed = failed or bool(missing)
    plan = preflight.gpu_plan(project.rendered, engine)
    lines[decisions_at:decisions_at] = [f"  {profile}: {line.removeprefix('gpu: ')}" for line in plan.lines()]
    data["gpu"]["decisions"] = [{"service": d.service, "keep": d.keep, "fatal": d.fatal, "line": d.line()}
                                for d in plan.decisions]
    failed = failed or bool(plan.fatal)
    model_ports = published_ports(project.rendered.root)
    engine_ports = engine.published_ports()
    bind_free = host_ports.bind_free if engine.address.local else None
    conflicts = {c.port: c for c in preflight.port_conflicts(model_ports, engine_ports, project.name, bind_free,
                                                             host_ports.holder)}
    lines.append(f"ports:   profile {profile} publishes {len(model_ports)}")
    suggested: set[int] = set()
    for port in model_ports:
        conflict = conflicts.get(port)
        spare = preflight.free_port_after(port, model_ports, engine_ports, bind_free, suggested) if conflict else None
        lines.append("  " + (preflight.port_message(conflict, 0, spare) if conflict
                             else f"port {port.published} ({port.shown}, service {port.service}): free or this stack's own"))
    failed = failed or bool(conflicts)
    data["ports"] = [{"service": p.service, "port": p.published, "taken_by": conflicts[p].holder if p in conflicts else None}
                     for p in model_ports]
    return Findings(lines, data, int(ExitCode.PREFLIGHT) if failed else 0)


def gpu_facts(host: HostGpu) -> str:
    """One line: runtime, CDI devices, driver and its CUDA, the GPUs (or why nvidia-smi says none)."""
    driver = host.driver_version or (f"none: {host.smi_error}" if host.smi_error else "unknown (no nvidia-smi for this engine)")
    text = (f"NVIDIA runtime {'yes' if host.nvidia_runtime else 'no'}; "
            f"CDI devices {', '.join(host.cdi_devices) or 'none'}; driver {driver}")
    if host.driver_cuda:
        text += f" (CUDA {version_text(host.driver_cuda)})"
    if host.gpus:
        text += f"; GPUs {host.present()}"
    return text
