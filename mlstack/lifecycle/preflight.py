"""Checks before anything starts: Compose features, GPU policy, published ports, disk.

`up` calls `run()`: the GPU plan and `--port-offset` change the model before it is written, and
any failure raises PreflightError (exit 4) with nothing started. `doctor`, `explain`
(`apply_host_gpu`), `pull` and `build` (`adjust_for_host`) take the same GPU plan (`gpu_plan`) and
report it instead of raising.
"""

from __future__ import annotations

from mlstack.records import record

from mlstack.core.gpu_devices import gpu_services
from mlstack.core.model import Origin
from mlstack.core.pipeline import Rendered, apply_gpu
from mlstack.core.ports import ModelPort, offset_ports, overlaps, published_ports
from mlstack.engine import ports as host_ports
from mlstack.engine.discovery import missing_file_features
from mlstack.engine.docker_facts import Engine, PublishedPort
from mlstack.errors import EngineError, PreflightError
from mlstack.lifecycle import running
from mlstack.lifecycle.running import Project

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Callable, Mapping

    from mlstack.core.gpu import GpuPlan   # the GPU decision is imported only for stacks that reserve a GPU

GIB = 1024 ** 3
MIN_FREE_DISK = 2 * GIB     # below: refuse (containers and volumes would fail mid-write)
LOW_FREE_DISK = 10 * GIB    # below: warn (one CUDA image alone is 5-10 GiB)


@record(frozen=True)
class Conflict:
    port: ModelPort
    holder: str


def run(project: Project, engine: Engine, port_offset: int = 0) -> list[str]:
    """Adjust the model (GPU, port offset) and check it; returns notices, raises PreflightError."""
    rendered = project.rendered
    assert rendered is not None
    notices: list[str] = []
    problems: list[str] = []
    for line in offset_ports(rendered.root, port_offset):
        rendered.notes.append(f"ports: {line} (--port-offset {port_offset})")
    # The GPU facts (image inspects, nvidia-smi: 50-300 ms) are gathered while the other checks run;
    # they only read the model, which the plan changes once every check is done.
    planned = running.background(gpu_plan, rendered, engine) if gpu_services(rendered.root) else (
        lambda: gpu_plan(rendered, engine))
    problems += [f"compose: {text}" for text in missing_file_features(project.cli, _service_keys(rendered))]
    model_ports = published_ports(rendered.root)
    engine_ports = engine.published_ports()
    bind_free = host_ports.bind_free if engine.address.local else None
    suggested: set[int] = set()
    for conflict in port_conflicts(model_ports, engine_ports, rendered.project_name, bind_free, host_ports.holder):
        spare = free_port_after(conflict.port, model_ports, engine_ports, bind_free, suggested)
        problems.append(port_message(conflict, port_offset, spare))
    disk_problem, disk_notice = disk(engine)
    problems += [disk_problem] if disk_problem else []
    notices += [disk_notice] if disk_notice else []
    plan = planned()
    notices[:0] = apply_gpu(rendered, plan)
    problems[:0] = [f"gpu: {d.line()}" for d in plan.fatal]
    if problems:
        raise PreflightError("preflight failed; nothing was started:\n  " + "\n  ".join(problems),
                             hint=_hint(bool(plan.fatal), problems))
    return notices


def adjust_for_host(project: Project, engine: Engine) -> list[str]:
    """The GPU plan without failing (for `pull` and `build`, which write the same file as `up`)."""
    assert project.rendered is not None
    return apply_gpu(project.rendered, gpu_plan(project.rendered, engine))


def apply_host_gpu(rendered: Rendered, env: Mapping[str, str]) -> None:
    """Apply the GPU plan `up` would make on this host, so explain shows the model `up` starts.

    Only stacks with GPU reservations ask the engine; when it cannot be reached, the plan says so."""
    if rendered.profile.gpu == "off" or not gpu_services(rendered.root):
        return
    try:
        engine = Engine(env)
    except EngineError:
        engine = None
    apply_gpu(rendered, gpu_plan(rendered, engine))


def _hint(fatal: bool, problems: list[str]) -> str:
    if fatal:
        return "--gpu off (or --gpu auto) starts these services without their GPU"
    if any(problem.startswith("port ") for problem in problems):
        return "free the ports, remap them as shown, or shift every published port: `mlstack up --port-offset 100`"
    return "`mlstack doctor` shows the engine, Compose, GPU and port facts"


def _service_keys(rendered: Rendered) -> set[str]:
    services = rendered.root.get("services")
    return {key for service in (services.value.values() if services is not None else []) if service.is_map
            for key in service.value}


def gpu_plan(rendered: Rendered, engine: Engine | None) -> GpuPlan:
    """Gather the facts the GPU decision needs, once, and decide (`core.gpu.plan_gpu`).

    Only services with a GPU reservation cost anything; under `off` render has already applied the
    plan. `engine` None: the engine could not be reached (explain), the reservations stay as written."""
    from mlstack.core.gpu import GpuPlan, plan_gpu

    wanted = gpu_services(rendered.root)
    policy = rendered.profile.gpu
    if not wanted or policy == "off":
        return GpuPlan(policy, [])
    if engine is None:
        return plan_gpu(rendered.root, policy, None)
    images = {}
    for name, service in wanted.items():
        image = service.get("image").text() if service.get("image") is not None else ""
        images[name] = engine.image(image) if image else None
    return plan_gpu(rendered.root, policy, engine.host_gpu(), images)


def port_conflicts(ports: list[ModelPort], engine_ports: list[PublishedPort], project: str,
                   bind_free: Callable[[str, int, str], bool] | None,
                   holder: Callable[[int], str | None]) -> list[Conflict]:
    """Published host ports already taken, by another project's container or by any other process.

    This project's own running containers do not count: `up` on a running stack keeps them.
    `bind_free` is None when the engine is not on this machine (binding here would prove nothing).
    """
    found = []
    for port in ports:
        owners = [p for p in engine_ports if p.port == port.published and p.protocol == port.protocol
                  and overlaps(p.host_ip, port.host_ip)]
        if any(owner.project == project for owner in owners):
            continue
        if owners:
            owner = owners[0]
            what = f"container {owner.container}"
            if owner.project:
                what += f" (service {owner.service} of Compose project {owner.project})"
            found.append(Conflict(port, what))
        elif bind_free is not None and not bind_free(port.host_ip, port.published, port.protocol):
            found.append(Conflict(port, holder(port.published) or "another program"))
    return found


def port_message(conflict: Conflict, port_offset: int, spare: int | None = None) -> str:
    port = conflict.port
    text = f"port {port.published} ({port.shown}, service {port.service}) is taken by {conflict.holder}"
    variable = remap_variable(port.origin, port.published - port_offset)
    if variable and spare:
        text += f"; remap it: `{variable}={spare - port_offset} mlstack up`"
    elif variable:
        text += f"; remap it with {variable}"
    return text


def free_port_after(port: ModelPort, model_ports: list[ModelPort], engine_ports: list[PublishedPort],
                    bind_free: Callable[[str, int, str], bool] | None, suggested: set[int]) -> int | None:
    """The next host port nobody uses: not in the model, not published by a container, not suggested
    for another port already, bindable here. Added to `suggested`."""
    taken = {p.published for p in model_ports} | {p.port for p in engine_ports} | suggested
    for candidate in range(port.published + 1, min(port.published + 101, 65536)):
        if candidate not in taken and (bind_free is None or bind_free(port.host_ip, candidate, port.protocol)):
            suggested.add(candidate)
            return candidate
    return None


def remap_variable(origin: Origin, value: int) -> str | None:
    """The variable that set this published port (`${MLFLOW_PORT:-5000}`), as interpolation recorded it:
    the one that produced the port (a range's first port counts), else the first one."""
    matching = [name for name, text in origin.variables if text.partition("-")[0] == str(value)]
    names = matching or [name for name, _ in origin.variables]
    return names[0] if names else None


def disk(engine: Engine) -> tuple[str | None, str | None]:
    """(problem, notice) about free space where the engine keeps images and volumes."""
    free = engine.free_disk()
    if free is None:
        return None, None
    root, available = free
    if available < MIN_FREE_DISK:
        return (f"disk: {available / GIB:.1f} GiB free under {root} (the engine's data root); "
                f"mlstack needs at least {MIN_FREE_DISK // GIB} GiB: `docker system prune` frees unused images", None)
    if available < LOW_FREE_DISK:
        return None, f"disk: only {available / GIB:.1f} GiB free under {root}; large images may not fit"
    return None, None
