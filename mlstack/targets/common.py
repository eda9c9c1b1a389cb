"""What the swarm and k8s targets share: located warnings, durations, sizes, GPU counts, secrets."""

from __future__ import annotations

import re
from mlstack.records import field, record

from mlstack.core.model import Node, Origin, path_str
from mlstack.report import Diagnostic


@record
class Conversion:
    """What a target made: file name -> text (one entry for single-file targets), warnings, needs."""

    files: dict[str, str]
    warnings: list[Diagnostic] = field(default_factory=list)
    provide: list[str] = field(default_factory=list)
    single_file: bool = True


class Warnings:
    """Collects warnings located at the model node they are about (or its nearest parent)."""

    def __init__(self, root: Node, target: str):
        self.root = root
        self.target = target
        self.found: list[Diagnostic] = []

    def add(self, path: tuple, message: str) -> None:
        origin = self.origin(path)
        self.found.append(Diagnostic.at(origin, path_str(path),
                                     f"{self.target}: {message}", f"target-{self.target}", "warning"))

    def origin(self, path: tuple) -> Origin:
        for end in range(len(path), -1, -1):
            node = self.root.find(path[:end])
            if node is not None and (node.origin.file or end == 0):
                return node.origin
        return Origin()


def seconds(value) -> float | None:
    """A Compose duration (`1m30s`, `500ms`, `2d`) in seconds, decoded as Compose decodes it."""
    from mlstack.core.go_values import duration_seconds

    return duration_seconds(value)


def whole_seconds(value, minimum: int = 1) -> int | None:
    found = seconds(value)
    return None if found is None else max(minimum, int(-(-found // 1)))


def bytes_of(value) -> int | None:
    from mlstack.core.go_values import decoded_size

    return decoded_size(value)


def non_gpu_devices(devices: list) -> list:
    """Device reservations that are not GPUs (a target maps only GPUs)."""
    from mlstack.core.gpu_devices import is_gpu_device   # swarm and k8s only: compose keeps devices as they are

    return [device for device in devices if not (isinstance(device, dict) and is_gpu_device(device))]


@record(frozen=True)
class GpuNeed:
    count: int            # GPUs to ask the scheduler for
    all_gpus: bool        # the service asked for `count: all`
    ids: tuple[str, ...]  # device_ids, which no scheduler honours


def gpu_need(name: str, service: Node) -> GpuNeed | None:
    """The service's GPU reservation as a count a scheduler can place; None without one."""
    from mlstack.core.gpu_devices import requests

    wanted = requests(name, service)
    if not wanted:
        return None
    all_gpus = any(request.count is None and not request.ids for request in wanted)
    count = sum(request.count or len(request.ids) or 1 for request in wanted)
    ids = tuple(device for request in wanted for device in request.ids)
    return GpuNeed(max(count, 1), all_gpus, ids)


@record(frozen=True)
class SecretSource:
    """Where a deploy host reads a secret's value: an environment variable or a file."""

    name: str
    variable: str | None
    file: str | None
    external: bool

    def how(self) -> str:
        if self.variable:
            return f"environment variable {self.variable}"
        if self.file:
            return f"file {self.file}"
        return "an existing secret on the cluster"


def secret_sources(document: dict) -> list[SecretSource]:
    """The secrets some service reads (a built-in profile may declare more than this stack's services use)."""
    used = {service_secret_targets(entry)[0] for service in (document.get("services") or {}).values()
            for entry in service.get("secrets") or []}
    found = []
    for name, body in sorted((document.get("secrets") or {}).items()):
        if name not in used:
            continue
        body = body or {}
        found.append(SecretSource(name, body.get("environment"), body.get("file"), bool(body.get("external"))))
    return found


def service_secret_targets(entry) -> tuple[str, str]:
    """A service's `secrets:` entry as (secret name, file name under /run/secrets or absolute path)."""
    if isinstance(entry, str):
        return entry, entry
    source = entry.get("source")
    return source, entry.get("target") or source


def ports_of(service: dict) -> list[tuple[int, str]]:
    """Container ports (target, protocol) from `expose` and `ports`, in order, once each."""
    found: list[tuple[int, str]] = []
    for entry in service.get("expose") or []:
        port, _, protocol = str(entry).partition("/")
        if port.isdigit():
            found.append((int(port), (protocol or "tcp").upper()))
    for entry in service.get("ports") or []:
        if isinstance(entry, dict) and str(entry.get("target", "")).isdigit():
            found.append((int(entry["target"]), str(entry.get("protocol") or "tcp").upper()))
    return list(dict.fromkeys(found))


# Kubernetes names and expansion

def dns_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return name[:63].rstrip("-") or "x"


def dollars(value) -> str:
    return str(value).replace("$", "$$")
