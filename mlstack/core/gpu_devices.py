"""GPU reservations in the model: the one definition of "reserves a GPU", the requests Docker will
make from them, which host GPUs they name, and their removal.

Docker turns each reservation (`deploy.resources.reservations.devices` entry or `gpus:`) into a
device request. For the `nvidia` driver it sets NVIDIA_VISIBLE_DEVICES from the request (moby,
daemon/nvidia_linux.go): `count: N` becomes `0,...,N-1`, `count: all` or no count `all`,
`device_ids` the ids as written; the NVIDIA container CLI then fails on an id no GPU has. For the
`cdi` driver each id is a CDI device name that a spec must define.
"""

from __future__ import annotations

from mlstack.records import record

from mlstack.core.gpu_host import Gpu, HostGpu
from mlstack.core.model import Node
from mlstack.patterns import lazy

DEVICES_PATH = ("deploy", "resources", "reservations", "devices")


@record(frozen=True)
class DeviceRequest:
    driver: str                  # nvidia, cdi, or "" (Docker picks by capability: nvidia for gpu)
    count: int | None            # None: all
    ids: tuple[str, ...]
    capabilities: tuple[str, ...]
    where: str                   # services.X.deploy.resources.reservations.devices[0] or services.X.gpus


def _texts(value) -> tuple[str, ...]:
    """A list's entries as text; anything else as none (the schema reports it: check and lint go on past it)."""
    return tuple(str(entry) for entry in value) if isinstance(value, list) else ()


def is_gpu_device(data: dict) -> bool:
    capabilities = _texts(data.get("capabilities"))
    ids = _texts(data.get("device_ids"))
    return ("gpu" in capabilities or data.get("driver") == "nvidia"
            or (data.get("driver") == "cdi" and any(i.startswith("nvidia.com/gpu") for i in ids)))


def gpu_devices(service: Node) -> list[Node]:
    """The GPU entries of a service's deploy.resources.reservations.devices."""
    devices = service.find(DEVICES_PATH)
    if devices is None or not devices.is_seq:
        return []
    return [device for device in devices.value if device.is_map and is_gpu_device(device.to_data())]


def reserves_gpu(service: Node) -> bool:
    """The one definition, shared by the GPU decision and lint: `gpus:`, or a device reservation with
    the `gpu` capability, the `nvidia` driver, or a `cdi` device named nvidia.com/gpu=..."""
    return service.is_map and (service.get("gpus") is not None or bool(gpu_devices(service)))


def gpu_services(root: Node) -> dict[str, Node]:
    services = root.get("services")
    if services is None or not services.is_map:
        return {}
    return {name: service for name, service in sorted(services.value.items()) if reserves_gpu(service)}


def requests(name: str, service: Node) -> list[DeviceRequest]:
    """The device requests Docker makes for this service's GPU reservations."""
    found = []
    for index, device in enumerate(service.find(DEVICES_PATH).value if gpu_devices(service) else []):
        if device.is_map and is_gpu_device(device.to_data()):
            found.append(_request(device.to_data(), f"services.{name}.deploy.resources.reservations.devices[{index}]"))
    gpus = service.get("gpus")
    if gpus is not None:
        data = gpus.to_data()
        entries = [{"count": "all", "capabilities": ["gpu"]}] if data == "all" else (data if isinstance(data, list) else [])
        found += [_request(entry, f"services.{name}.gpus") for entry in entries if isinstance(entry, dict)]
    return found


def _request(data: dict, where: str) -> DeviceRequest:
    count = data.get("count")
    number = int(count) if isinstance(count, int) or (isinstance(count, str) and count.isdigit()) else None
    return DeviceRequest(str(data.get("driver") or ""), number, _texts(data.get("device_ids")),
                         _texts(data.get("capabilities")), where)


def select(request: DeviceRequest, host: HostGpu) -> tuple[list[Gpu], list[str]]:
    """(the host GPUs the request gives the container, the ids or count that name none).

    Only meaningful when `host.gpus` is known. A MIG device counts as its parent GPU (whose brand
    and arch the requirements see).
    """
    gpus = host.gpus or []
    if request.driver == "cdi":
        return _select_cdi(request, host)
    if request.ids:
        chosen, missing = [], []
        # Docker joins the ids with commas into NVIDIA_VISIBLE_DEVICES; the CLI splits them again
        for device_id in [part for device_id in request.ids for part in device_id.split(",") if part]:
            if device_id.lower() == "all":
                return gpus, missing
            gpu = _find(device_id, gpus)
            if gpu is None:
                missing.append(device_id)
            elif gpu not in chosen:
                chosen.append(gpu)
        return chosen, missing
    if request.count is not None and request.count > len(gpus):
        return gpus, [f"count {request.count}"]
    return (gpus[: request.count] if request.count is not None else gpus), []


_PCI = lazy(r"([0-9a-fA-F]+):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.0")
_MIG_INDEX = lazy(r"(\d+):(\d+)")


def _find(device_id: str, gpus: list[Gpu]) -> Gpu | None:
    """The GPU an id names, in the order nvidia-container-cli tries (src/cli/common.c, select_devices): a GPU
    UUID (any case), a PCI bus id, an index; then a MIG UUID or `GPU:MIG` indexes, which name their GPU."""
    pci = _PCI.match(device_id)
    bus = f"{int(pci[1], 16):08x}:{int(pci[2], 16):02x}:{int(pci[3], 16):02x}.0" if pci else None
    for gpu in gpus:
        if device_id.lower() == gpu.uuid.lower() or (bus and gpu.bus_id.lower().startswith(bus)):
            return gpu
    if device_id.isdigit() and int(device_id) < len(gpus):
        return gpus[int(device_id)]
    match = _MIG_INDEX.match(device_id)
    indexes = (int(match[1]), int(match[2])) if match else None
    for gpu in gpus:
        for mig in gpu.mig:
            if device_id.lower() == mig.uuid.lower() or indexes == (mig.gpu, mig.index):
                return gpu
    return None


def _select_cdi(request: DeviceRequest, host: HostGpu) -> tuple[list[Gpu], list[str]]:
    gpus = host.gpus or []
    missing = [name for name in request.ids if name not in host.cdi_devices]
    chosen: list[Gpu] = []
    for name in request.ids:
        kind, _, device = name.partition("=")
        if kind != "nvidia.com/gpu" or name in missing:
            continue
        if device == "all":
            return gpus, missing
        gpu = _find(device, gpus)
        if gpu is not None and gpu not in chosen:
            chosen.append(gpu)
    return chosen, missing


def strip_gpu_reservations(root: Node, only: set[str] | None = None) -> list[str]:
    """Remove GPU device reservations (and `gpus:`) in place; return the services changed."""
    changed = []
    for name, service in gpu_services(root).items():
        if only is not None and name not in only:
            continue
        service.value.pop("gpus", None)
        devices = service.find(DEVICES_PATH)
        if devices is not None:
            gpu = gpu_devices(service)
            devices.value = [device for device in devices.value if device not in gpu]
            _prune_empty(service, DEVICES_PATH)
        changed.append(name)
    return changed


def _prune_empty(service: Node, path: tuple[str, ...]) -> None:
    for depth in range(len(path), 0, -1):
        parent = service.find(path[: depth - 1]) if depth > 1 else service
        child = service.find(path[:depth])
        if child is not None and not child.value and parent is not None and parent.is_map:
            del parent.value[path[depth - 1]]
