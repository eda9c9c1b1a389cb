"""GPU policy: which GPU reservations to keep, as a pure decision table over host facts.

Facts come from the engine layer (`docker info` runtimes and CDI devices, `nvidia-smi`); this
module never runs anything. Policy `auto` keeps a reservation only where it will work, `required`
fails before anything starts, `off` drops them all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mlstack.core.model import Node

# NVIDIA's published minimum Linux driver for each CUDA toolkit release (CUDA Toolkit release notes, table 3).
CUDA_MIN_DRIVER: list[tuple[tuple[int, int], tuple[int, ...]]] = [
    ((13, 0), (580, 65, 6)),
    ((12, 9), (575, 51, 3)),
    ((12, 8), (570, 26)),
    ((12, 6), (560, 28, 3)),
    ((12, 5), (555, 42, 2)),
    ((12, 4), (550, 54, 14)),
    ((12, 3), (545, 23, 6)),
    ((12, 2), (535, 54, 3)),
    ((12, 1), (530, 30, 2)),
    ((12, 0), (525, 60, 13)),
    ((11, 8), (520, 61, 5)),
    ((11, 7), (515, 43, 4)),
    ((11, 6), (510, 39, 1)),
    ((11, 5), (495, 29, 5)),
    ((11, 4), (470, 42, 1)),
    ((11, 3), (465, 19, 1)),
    ((11, 2), (460, 27, 3)),
    ((11, 1), (455, 23)),
    ((11, 0), (450, 36, 6)),
    ((10, 2), (440, 33)),
    ((10, 1), (418, 39)),
    ((10, 0), (410, 48)),
]


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def version_text(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


def max_cuda_for_driver(driver: str) -> tuple[int, int] | None:
    installed = version_tuple(driver)
    for cuda, minimum in CUDA_MIN_DRIVER:
        if installed >= minimum:
            return cuda
    return None


def min_driver_for_cuda(cuda: tuple[int, int]) -> tuple[int, ...] | None:
    candidates = [minimum for version, minimum in CUDA_MIN_DRIVER if version >= cuda]
    return min(candidates) if candidates else None


_CUDA_TAG = re.compile(r"cuda[-_]?(\d+)(?:\.(\d+))?", re.IGNORECASE)


def image_cuda(image: str, env: dict[str, str] | None = None, labels: dict[str, str] | None = None) -> tuple[int, int] | None:
    """The CUDA version an image needs: its CUDA_VERSION env or label when known, else its tag."""
    for source in ((env or {}).get("CUDA_VERSION"), (labels or {}).get("com.nvidia.cuda.version")):
        if source:
            parts = version_tuple(source)
            if parts:
                return (parts[0], parts[1] if len(parts) > 1 else 0)
    repository, _, tag = image.rsplit("/", 1)[-1].partition(":")
    match = _CUDA_TAG.search(tag)
    if match:
        return (int(match[1]), int(match[2] or 0))
    if repository == "cuda" and re.match(r"\d+\.\d+", tag):  # nvidia/cuda:12.4.1-runtime-ubuntu22.04
        parts = version_tuple(tag)
        return (parts[0], parts[1])
    return None


def gpu_devices(service: Node) -> list[Node]:
    """The GPU entries of a service's deploy.resources.reservations.devices."""
    devices = service.find(("deploy", "resources", "reservations", "devices"))
    if devices is None or not devices.is_seq:
        return []
    found = []
    for device in devices.value:
        data = device.to_data() if device.is_map else {}
        capabilities = data.get("capabilities") or []
        if "gpu" in capabilities or data.get("driver") == "nvidia":
            found.append(device)
    return found


def gpu_services(root: Node) -> dict[str, Node]:
    services = root.get("services")
    if services is None or not services.is_map:
        return {}
    return {name: service for name, service in sorted(services.value.items())
            if service.is_map and (gpu_devices(service) or service.get("gpus") is not None)}


def strip_gpu_reservations(root: Node, only: set[str] | None = None) -> list[str]:
    """Remove GPU device reservations (and `gpus:`) in place; return the services changed."""
    changed = []
    for name, service in gpu_services(root).items():
        if only is not None and name not in only:
            continue
        service.value.pop("gpus", None)
        devices = service.find(("deploy", "resources", "reservations", "devices"))
        if devices is not None:
            gpu = gpu_devices(service)
            devices.value = [device for device in devices.value if device not in gpu]
            _prune_empty(service, ("deploy", "resources", "reservations", "devices"))
        changed.append(name)
    return changed


def _prune_empty(service: Node, path: tuple[str, ...]) -> None:
    for depth in range(len(path), 0, -1):
        parent = service.find(path[: depth - 1]) if depth > 1 else service
        child = service.find(path[:depth])
        if child is not None and not child.value and parent is not None and parent.is_map:
            del parent.value[path[depth - 1]]


@dataclass
class HostGpu:
    """What the engine and host offer; filled by the engine layer."""

    nvidia_runtime: bool = False
    cdi_devices: list[str] = field(default_factory=list)
    driver_version: str | None = None      # from nvidia-smi
    cuda_version: tuple[int, int] | None = None  # highest CUDA the driver supports (nvidia-smi header)
    gpu_names: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.nvidia_runtime or any("nvidia.com/gpu" in device for device in self.cdi_devices)

    @property
    def max_cuda(self) -> tuple[int, int] | None:
        if self.cuda_version:
            return self.cuda_version
        return max_cuda_for_driver(self.driver_version) if self.driver_version else None


@dataclass
class Decision:
    service: str
    keep: bool
    reason: str
    fix: str = ""
    fatal: bool = False

    def line(self) -> str:
        verdict = "GPU kept" if self.keep else ("cannot start" if self.fatal else "GPU removed")
        text = f"{self.service}: {verdict}: {self.reason}"
        return f"{text}; {self.fix}" if self.fix else text


def decide(policy: str, services: dict[str, str], host: HostGpu, needs: dict[str, tuple[int, int] | None]) -> list[Decision]:
    """One decision per GPU service. `services` maps service -> image; `needs` -> CUDA it needs."""
    decisions = []
    for service in sorted(services):
        image = services[service]
        if policy == "off":
            decisions.append(Decision(service, False, "GPU policy is off", "runs on the CPU"))
            continue
        problem, fix = _problem(image, host, needs.get(service))
        if problem is None:
            decisions.append(Decision(service, True, _ok_reason(host, needs.get(service))))
        elif policy == "required":
            decisions.append(Decision(service, False, problem, fix, fatal=True))
        else:
            decisions.append(Decision(service, False, problem,
                                      f"it runs on the CPU (CUDA code in it will not see a GPU); {fix}" if fix else
                                      "it runs on the CPU (CUDA code in it will not see a GPU)"))
    return decisions


def _ok_reason(host: HostGpu, need: tuple[int, int] | None) -> str:
    runtime = "NVIDIA runtime" if host.nvidia_runtime else "CDI GPU devices"
    if host.driver_version and need:
        return f"{runtime} present, driver {host.driver_version} supports CUDA {version_text(host.max_cuda or ())}, image needs {version_text(need)}"
    return f"{runtime} present"


def _problem(image: str, host: HostGpu, need: tuple[int, int] | None) -> tuple[str | None, str]:
    if not host.usable:
        return ("the Docker engine has no NVIDIA runtime and no CDI GPU devices",
                "install the NVIDIA Container Toolkit and run `nvidia-ctk runtime configure --runtime=docker`, or use --gpu off")
    supported = host.max_cuda
    if need and supported and need > supported:
        minimum = min_driver_for_cuda(need)
        driver = f"host driver {host.driver_version}" if host.driver_version else "the host driver"
        fix = f"upgrade the driver to >= {minimum[0] if minimum else '?'}"
        fix += f" or use an image built for CUDA {version_text(supported)} (e.g. a cuda{version_text(supported)} tag)"
        return (f"image {image} needs CUDA {version_text(need)}, {driver} supports up to {version_text(supported)}", fix)
    return (None, "")
