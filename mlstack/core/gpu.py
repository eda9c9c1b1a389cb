"""The GPU plan: per service with a GPU reservation, keep it, remove it, or refuse to start.

One pure function, `plan_gpu`, decides for render (policy off), `up`, `pull`, `build`, `explain` and
`doctor`; `apply_plan` carries it out on the model. Facts come from the engine layer (docker info,
nvidia-smi, the image's config); this module runs nothing. The steps below are the decision table of
docs/gpu.md, in its order; the first step that finds a problem decides:

  1. policy `off`                   -> removed, nothing asked
  2. no NVIDIA runtime, no CDI GPU  -> problem (Docker: could not select device driver "nvidia")
  3. nvidia-smi cannot reach the driver -> problem
  4. a count or id no GPU here has  -> problem (nvidia-container-cli: unknown device)
  5. NVIDIA_REQUIRE_* false          -> problem (nvidia-container-cli: unsatisfied condition)
  6. CUDA beyond what the driver can run under NVIDIA's compatibility rules -> problem
  otherwise kept, with notes (minor-version compatibility, capabilities, unchecked facts).
A problem removes the reservation under `auto` and refuses to start under `required`.
"""

from __future__ import annotations

import re
from mlstack.records import field, record

from mlstack.core import gpu_require
from mlstack.core.gpu_devices import DeviceRequest, gpu_services, requests, select, strip_gpu_reservations
from mlstack.core.gpu_host import HostGpu
from mlstack.core.gpu_tables import (MINOR_VERSION_MINIMUM, driver_for_cuda, driver_text, same_version, version_text,
                                     version_tuple)
from mlstack.core.model import Node
from mlstack.patterns import lazy

POLICIES = ("auto", "required", "off")
NO_RUNTIME = "the Docker engine has no NVIDIA runtime and no CDI GPU devices"
INSTALL_TOOLKIT = ("install the NVIDIA Container Toolkit and run `nvidia-ctk runtime configure --runtime=docker`, "
                   "or use --gpu off")
ON_THE_CPU = "it runs on the CPU (CUDA code in it will not see a GPU)"
NVIDIA_CAPABILITIES = {"compute", "utility", "graphics", "video", "display", "compat32", "all"}


@record(frozen=True)
class ImageFacts:
    """`Config.Env` and `Config.Labels` of an image present on the engine."""

    env: dict[str, str]
    labels: dict[str, str]


@record(frozen=True)
class CudaNeed:
    version: tuple[int, int]
    exact: bool          # False for a tag like `cuda12`: any 12.x
    source: str

    def text(self) -> str:
        return version_text(self.version) if self.exact else f"{self.version[0]}.x"


@record
class Decision:
    service: str
    keep: bool
    reason: str
    fix: str = ""
    fatal: bool = False
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        verdict = "GPU kept" if self.keep else ("cannot start" if self.fatal else "GPU removed")
        return "; ".join([f"{self.service}: {verdict}: {self.reason}"] + ([self.fix] if self.fix else []) + self.notes)


@record
class GpuPlan:
    policy: str
    decisions: list[Decision]

    @property
    def fatal(self) -> list[Decision]:
        return [d for d in self.decisions if d.fatal]

    @property
    def removed(self) -> set[str]:
        return {d.service for d in self.decisions if not d.keep and not d.fatal}

    def lines(self) -> list[str]:
        return [f"gpu: {d.line()} (policy {self.policy})" for d in self.decisions]


@record
class _Finding:
    problem: str | None = None
    fix: str = ""
    reason: str = ""
    notes: list[str] = field(default_factory=list)


def plan_gpu(root: Node, policy: str, host: HostGpu | None,
             images: dict[str, ImageFacts | None] | None = None) -> GpuPlan:
    """One decision per service with a GPU reservation. `host` None: the engine could not be asked."""
    decisions = []
    for name, service in gpu_services(root).items():
        if policy == "off":
            decisions.append(Decision(name, False, "GPU policy is off", "it runs on the CPU"))
            continue
        if host is None:
            decisions.append(Decision(name, True, "engine not reachable: the reservation stays as written; "
                                                  "`mlstack up` decides on the engine it reaches"))
            continue
        found = assess(name, service, host, (images or {}).get(name))
        if found.problem is None:
            decisions.append(Decision(name, True, found.reason, notes=found.notes))
        elif policy == "required":
            decisions.append(Decision(name, False, found.problem, found.fix, fatal=True, notes=found.notes))
        else:
            fix = f"{ON_THE_CPU}; {found.fix}" if found.fix else ON_THE_CPU
            decisions.append(Decision(name, False, found.problem, fix, notes=found.notes))
    return GpuPlan(policy, decisions)


def apply_plan(root: Node, tombstones: dict, plan: GpuPlan) -> list[str]:
    """Remove the reservations the plan removes (recorded for `explain`); return the plan's note lines.

    A fatal decision leaves the model as it is: the command decides whether to stop (`up`, `doctor`)
    or to show it (`explain`, `pull`, `build`)."""
    services = root.get("services")
    for name in sorted(plan.removed):
        devices = services.value[name].find(("deploy", "resources", "reservations", "devices"))
        if devices is not None:
            tombstones[f"services.{name}.deploy.resources.reservations.devices"] = devices.origin.with_rule("gpu-removed")
        gpus = services.value[name].get("gpus")
        if gpus is not None:
            tombstones[f"services.{name}.gpus"] = gpus.origin.with_rule("gpu-removed")
    strip_gpu_reservations(root, plan.removed)
    return plan.lines()


def assess(name: str, service: Node, host: HostGpu, image: ImageFacts | None) -> _Finding:
    """Steps 2-6 of the table for one service."""
    wanted = requests(name, service)
    image_ref = service.get("image").text() if service.get("image") is not None else ""
    env, sources = container_env(service, image)
    if not host.usable:
        return _Finding(NO_RUNTIME, INSTALL_TOOLKIT)
    if host.gpus == [] and host.smi_error:
        return _Finding(f"nvidia-smi cannot reach the NVIDIA driver ({host.smi_error})",
                        "load the driver (`sudo modprobe nvidia`, or reinstall it) until `nvidia-smi` lists the GPUs")
    found = _Finding()
    selected = []
    for request in wanted:
        problem = _device_problem(request, host, found)
        if problem:
            return problem
        if host.gpus is not None:
            selected += [gpu for gpu in select(request, host)[0] if gpu not in selected]
    forward = _requirements(wanted, host, env, sources, selected, found)
    if found.problem:
        return found
    need = cuda_need(image_ref, env, sources, image)
    if image is None and need is not None and need.source.startswith("tag"):
        found.notes.append(f"image {image_ref} is not on the engine yet: CUDA read from its tag; once pulled, "
                           "its own NVIDIA_REQUIRE_CUDA decides")
    _compatibility(need, image_ref, host, forward, found)
    if found.problem:
        return found
    _capabilities(wanted, env, sources, found)
    _visible_devices(wanted, env, sources, found)
    runtime = "NVIDIA runtime" if host.nvidia_runtime and any(r.driver != "cdi" for r in wanted) else "CDI GPU devices"
    reason = f"{runtime} present"
    if host.driver_version:
        reason += f", driver {host.driver_version} (CUDA {version_text(host.driver_cuda or ())})"
    if selected:
        reason += f", GPU {', '.join(str(gpu.index) for gpu in selected)}"
    if need:
        reason += f", image needs CUDA {need.text()} ({need.source})"
    found.reason = reason
    return found


def container_env(service: Node, image: ImageFacts | None) -> tuple[dict[str, str], dict[str, str]]:
    """The variables the container sees (the image's, then the service's `environment:` over them) and
    where each came from."""
    env: dict[str, str] = {}
    sources: dict[str, str] = {}
    for key, value in (image.env if image else {}).items():
        env[key], sources[key] = value, "image config"
    environment = service.get("environment")
    if environment is not None and environment.is_map:
        for key, value in environment.value.items():
            if value.is_scalar and value.value is not None:
                env[key], sources[key] = value.text(), "service environment"
    return env, sources


def _device_problem(request: DeviceRequest, host: HostGpu, found: _Finding) -> _Finding | None:
    if request.driver == "cdi":
        chosen, missing = select(request, host)
        if missing:
            return _Finding(f"{request.where} names CDI device {', '.join(missing)}, which no CDI spec on the engine "
                            f"defines (CDI GPU devices here: {', '.join(host.cdi_gpus) or 'none'})",
                            "`nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml` writes the spec; "
                            "`nvidia-ctk cdi list` lists the names")
        return None
    if not host.nvidia_runtime and not host.cdi_gpus:
        return _Finding(NO_RUNTIME, INSTALL_TOOLKIT)
    if host.gpus is None:
        if request.ids or request.count is not None:
            found.notes.append(f"{request.where}: GPU ids and counts not checked (nvidia-smi not available to mlstack "
                               "for this engine)")
        return None
    _, missing = select(request, host)
    if not missing:
        return None
    count = len(host.gpus)
    if request.count is not None and not request.ids:
        return _Finding(f"{request.where} asks for {request.count} GPUs, this host has {count}: {host.present()}",
                        f"set count: {count} or count: all")
    return _Finding(f"{request.where} names GPU {', '.join(missing)}, which this host does not have "
                    f"(GPUs here: {host.present()})",
                    "use an index, GPU-/MIG- UUID or GPU:MIG index listed by `nvidia-smi -L`")


def _requirements(wanted: list[DeviceRequest], host: HostGpu, env: dict[str, str], sources: dict[str, str],
                  selected: list, found: _Finding) -> bool:
    """Step 5, as the NVIDIA container CLI runs it for a request through the runtime hook.

    Returns True when a requirement held only through a later alternative (a brand/driver group:
    NVIDIA's forward-compatibility package in the image, which the step after honours)."""
    if gpu_require.disabled(env) and _has_requirement(env):
        found.notes.append(f"NVIDIA_DISABLE_REQUIRE={env['NVIDIA_DISABLE_REQUIRE']} ({sources['NVIDIA_DISABLE_REQUIRE']}): "
                           "the runtime skips NVIDIA_REQUIRE_*; decided by CUDA compatibility")
    checks = gpu_require.requirements(env)
    if not checks:
        return False
    through_hook = host.nvidia_runtime and any(request.driver != "cdi" for request in wanted)
    if not through_hook:
        found.notes.append("NVIDIA_REQUIRE_* is not evaluated for CDI devices; decided by CUDA compatibility")
        return False
    if not host.driver_version:
        found.notes.append("NVIDIA_REQUIRE_* not checked: the host driver is unknown (nvidia-smi not available "
                           "to mlstack for this engine)")
        return False
    forward = False
    cuda = version_text(host.driver_cuda or ())
    for variable, expression in checks:
        where = f"{variable} ({sources.get(variable, 'image config')})" if variable != "CUDA_VERSION" else \
            f"CUDA_VERSION={env['CUDA_VERSION']} ({sources.get('CUDA_VERSION', 'image config')}) without NVIDIA_REQUIRE_CUDA"
        through: list[str] = []
        for gpu in selected or [None]:
            facts = gpu_require.Facts(cuda, host.driver_version, gpu.arch if gpu else None, gpu.brand if gpu else None)
            try:
                outcome = gpu_require.evaluate(expression, facts)
            except gpu_require.InvalidExpression as error:
                found.problem = (f"{where} has the clause {error.args[0]!r}, which the NVIDIA container CLI rejects "
                                 "(requirement error: invalid expression)")
                found.fix = "correct it, or set NVIDIA_DISABLE_REQUIRE=1 in the service's environment"
                return False
            on = f"GPU {gpu.index} {gpu.name} (brand {gpu.brand or 'unknown'}, " if gpu else "("
            on += f"driver {host.driver_version}, CUDA {cuda})"
            if outcome.holds is False:
                found.problem = _unsatisfied(where, expression, outcome, on)
                found.fix = _requirement_fix(expression, host)
                return False
            if outcome.holds is None:
                found.notes.append(f"{where} could not be checked on {on}: brand or arch unknown")
            elif outcome.matched != gpu_require.first_alternative(expression) and outcome.matched not in through:
                through.append(outcome.matched)
        if through:
            found.notes.append(f"{where} holds through {' and '.join(through)}, not "
                               f"{gpu_require.first_alternative(expression)}")
            forward = True
    return forward


def _has_requirement(env: dict[str, str]) -> bool:
    return any(name.startswith("NVIDIA_REQUIRE_") for name in env) or bool(env.get("CUDA_VERSION"))


def _unsatisfied(where: str, expression: str, outcome: gpu_require.Outcome, on: str) -> str:
    first = gpu_require.first_alternative(expression)
    text = f"{where} fails on {on}: {outcome.failing[0]} is false"
    others = len(outcome.failing) - 1
    if others:
        text += f", and none of its {others} other alternatives holds"
    return text + f" (the NVIDIA container CLI refuses to start it: unsatisfied condition: {first})"


def _requirement_fix(expression: str, host: HostGpu) -> str:
    floor = gpu_require.cuda_floor(expression)
    if floor is None:
        return "use an image whose NVIDIA_REQUIRE_* this host meets"
    driver = driver_for_cuda(floor)
    fix = f"install driver >= {driver_text(driver)} (CUDA {version_text(floor)})" if driver else "upgrade the driver"
    family = MINOR_VERSION_MINIMUM.get(floor[0])
    if family and host.driver_version and same_version(version_tuple(host.driver_version)) >= same_version(family):
        fix += (f", or set NVIDIA_DISABLE_REQUIRE=1 in the service's environment: driver {host.driver_version} runs "
                f"CUDA {floor[0]}.x through minor-version compatibility (no JIT of newer PTX)")
    return fix


def _compatibility(need: CudaNeed | None, image: str, host: HostGpu, forward: bool, found: _Finding) -> None:
    """Step 6: NVIDIA's minor-version compatibility (CUDA Compatibility guide) where only a version is known."""
    if need is None:
        return
    if not host.driver_version:
        found.notes.append(f"CUDA {need.text()} not checked against the driver: unknown (nvidia-smi not available "
                           "to mlstack for this engine)")
        return
    have = host.driver_cuda
    if have is None:
        return
    driver = same_version(version_tuple(host.driver_version))
    major = need.version[0]
    family = MINOR_VERSION_MINIMUM.get(major)
    wanted_driver = driver_for_cuda(need.version) if need.exact else family
    install = f"install driver >= {driver_text(wanted_driver)}" if wanted_driver else "upgrade the driver"
    if major > have[0] and forward:
        found.notes.append(f"CUDA {need.text()} on a CUDA {version_text(have)} driver runs through NVIDIA's forward "
                           "compatibility package in the image (data-center GPUs only)")
        return
    if major > have[0] or (family and driver < same_version(family)):
        minimum = f"CUDA {major}.x needs driver >= {driver_text(family)}" if family else \
            f"CUDA {need.text()} needs a newer driver"
        found.problem = (f"image {image} needs CUDA {need.text()} ({need.source}); driver {host.driver_version} "
                         f"supports CUDA {version_text(have)}, and {minimum} even under minor-version compatibility")
        found.fix = f"{install} (CUDA {need.text()}), or use an image built for CUDA {have[0]}.x"
        return
    if major == have[0] and need.exact and need.version > have:
        found.notes.append(f"CUDA {need.text()} on a CUDA {version_text(have)} driver runs through minor-version "
                           f"compatibility: no JIT of PTX newer than {version_text(have)} ({install} lifts that)")


def _capabilities(wanted: list[DeviceRequest], env: dict[str, str], sources: dict[str, str], found: _Finding) -> None:
    """Docker sets NVIDIA_DRIVER_CAPABILITIES from a request's NVIDIA capabilities, else the container's applies."""
    requested = {c for request in wanted for c in request.capabilities if c in NVIDIA_CAPABILITIES}
    if requested:
        capabilities, source = requested, "the reservation's capabilities"
    elif env.get("NVIDIA_DRIVER_CAPABILITIES"):
        capabilities = set(env["NVIDIA_DRIVER_CAPABILITIES"].split(","))
        source = f"NVIDIA_DRIVER_CAPABILITIES ({sources['NVIDIA_DRIVER_CAPABILITIES']})"
    else:
        return
    if not capabilities & {"compute", "all"}:
        found.notes.append(f"{source} = {','.join(sorted(capabilities))} has no `compute`: CUDA cannot run in it")


def _visible_devices(wanted: list[DeviceRequest], env: dict[str, str], sources: dict[str, str], found: _Finding) -> None:
    """Docker sets NVIDIA_VISIBLE_DEVICES from an `nvidia` request, over what the service's environment says."""
    value = env.get("NVIDIA_VISIBLE_DEVICES")
    if value is not None and value != "all" and sources.get("NVIDIA_VISIBLE_DEVICES") == "service environment" \
            and any(request.driver != "cdi" for request in wanted):
        found.notes.append(f"NVIDIA_VISIBLE_DEVICES={value} (service environment) is replaced by the reservation's "
                           "devices: Docker sets it from the device request")


_CUDA_TAG = lazy(r"cuda[-_]?(\d+)(?:\.(\d+))?", re.IGNORECASE)
_CU_TAG = lazy(r"(?<![a-z])cu(\d{2})(\d)(?!\d)", re.IGNORECASE)   # pytorch's cu124, cu118


def cuda_need(image: str, env: dict[str, str], sources: dict[str, str], facts: ImageFacts | None) -> CudaNeed | None:
    """The CUDA the image was built for: its NVIDIA_REQUIRE_CUDA floor or CUDA_VERSION, its label, else its tag."""
    floor = gpu_require.cuda_floor(env.get("NVIDIA_REQUIRE_CUDA", ""))
    if floor:
        return CudaNeed(floor, True, f"NVIDIA_REQUIRE_CUDA, {sources['NVIDIA_REQUIRE_CUDA']}")
    for key, value, source in (("CUDA_VERSION", env.get("CUDA_VERSION"), sources.get("CUDA_VERSION")),
                               ("label com.nvidia.cuda.version", (facts.labels if facts else {}).get("com.nvidia.cuda.version"),
                                "image config")):
        parts = version_tuple(value or "")
        if parts:
            return CudaNeed((parts[0], parts[1] if len(parts) > 1 else 0), len(parts) > 1, f"{key}, {source}")
    repository, _, tag = image.rsplit("/", 1)[-1].partition(":")
    match = _CUDA_TAG.search(tag) or _CU_TAG.search(tag)
    if match:
        exact = match[2] is not None
        return CudaNeed((int(match[1]), int(match[2] or 0)), exact, f"tag {tag}")
    if repository == "cuda" and re.match(r"\d+\.\d+", tag):   # nvidia/cuda:12.4.1-runtime-ubuntu22.04
        parts = version_tuple(tag)
        return CudaNeed((parts[0], parts[1]), True, f"tag {tag}")
    return None
