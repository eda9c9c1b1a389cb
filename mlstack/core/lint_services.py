"""Rules about how services start, wait for each other and use the host: healthchecks, depends_on,
shared memory, GPU reservations, limits and mounts."""

from __future__ import annotations

import re
from typing import Iterator

from mlstack.core.go_values import decoded_size
from mlstack.core.gpu_devices import gpu_devices, reserves_gpu
from mlstack.core.lint_images import is_jupyter
from mlstack.core.lint_model import Hit, LintInput
from mlstack.core.model import Node
from mlstack.core.profiles import profiles_of
from mlstack.core.validate import items, named_entries, services_of

INIT_WORDS = {"init", "migrate", "migration", "migrations", "bootstrap", "setup", "seed", "seeder"}


def condition_of(entry: Node) -> str:
    condition = entry.get("condition") if entry.is_map else None
    return condition.text() if condition is not None else "service_started"


def awaited_to_complete(data: LintInput) -> set[str]:
    """Services some other service waits for with `condition: service_completed_successfully`."""
    return {dependency for service in services_of(data.root).values()
            for dependency, entry in named_entries(service.get("depends_on"))
            if condition_of(entry) == "service_completed_successfully"}


def looks_like_init(name: str) -> bool:
    return bool(INIT_WORDS & set(re.split(r"[-_.]+", name.lower())))


def has_healthcheck(service: Node) -> bool:
    healthcheck = service.get("healthcheck")
    if healthcheck is None or not healthcheck.is_map:
        return False
    disabled = healthcheck.get("disable")
    test = healthcheck.get("test")
    return not (disabled is not None and disabled.value is True) and not (
        test is not None and test.is_seq and test.value and test.value[0].text() == "NONE")


# --- MLS002 healthcheck --------------------------------------------------------------------------
def healthcheck(data: LintInput) -> Iterator[Hit]:
    one_shot = awaited_to_complete(data)
    for name, service in services_of(data.root).items():
        if service.get("healthcheck") is None and name not in one_shot and not looks_like_init(name):
            yield Hit(service, ("services", name),
                      "no healthcheck: nothing can wait until it is ready (depends_on condition: service_healthy)")


# --- MLS003 gpu-shm-size -------------------------------------------------------------------------
GIGABYTE = 1024 ** 3
SHM_REASON = "PyTorch DataLoader workers need more than Docker's 64 MB /dev/shm"


def gpu_shm_size(data: LintInput) -> Iterator[Hit]:
    for name, service in services_of(data.root).items():
        gpu = reserves_gpu(service)
        if not (gpu or is_jupyter(service)):
            continue
        ipc = service.get("ipc")
        if ipc is not None and ipc.text() == "host":
            continue
        what = "reserves a GPU" if gpu else "runs Jupyter"
        shm_size = service.get("shm_size")
        if shm_size is None:
            yield Hit(service, ("services", name),
                      f"{what} but sets no shm_size: {SHM_REASON} (set shm_size: 1g or more)")
            continue
        size = decoded_size(shm_size.value)
        if size is not None and size < GIGABYTE:
            yield Hit(shm_size, ("services", name, "shm_size"),
                      f"shm_size {shm_size.text()} is below 1g for a service that {what}: {SHM_REASON}")


# --- MLS010 gpu-in-base --------------------------------------------------------------------------
def gpu_in_base(data: LintInput) -> Iterator[Hit]:
    for name, service in services_of(data.root).items():
        gpus = service.get("gpus")
        placed = ([(gpus, ("services", name, "gpus"))] if gpus is not None else []) + [
            (device, ("services", name, "deploy", "resources", "reservations", "devices", index))
            for index, device in items(service.find(("deploy", "resources", "reservations", "devices")))
            if device in gpu_devices(service)]
        for node, path in placed:
            if not node.origin.profile and node.origin.file:
                yield Hit(node, path, "a GPU reservation in a base fragment holds for every profile, CI and laptops "
                                      "included; reserve the GPU in the profiles that have one")


# --- MLS011 healthy-without-healthcheck ----------------------------------------------------------
def healthy_without_healthcheck(data: LintInput) -> Iterator[Hit]:
    services = services_of(data.root)
    for name, service in services.items():
        for dependency, entry in named_entries(service.get("depends_on")):
            target = services.get(dependency)
            if target is None or condition_of(entry) != "service_healthy" or has_healthcheck(target):
                continue
            node = entry.get("condition") if entry.is_map and entry.get("condition") is not None else entry
            yield Hit(node, ("services", name, "depends_on", dependency, "condition"),
                      f"waits for {dependency} to be healthy, but {dependency} has no healthcheck, so it never is "
                      "and the stack does not start")


# --- MLS012 depends-across-profiles --------------------------------------------------------------
def depends_across_profiles(data: LintInput) -> Iterator[Hit]:
    """Every combination of Compose profiles, not only the enabled ones validation checks."""
    services = services_of(data.root)
    for name, service in services.items():
        mine = set(profiles_of(service))
        for dependency, entry in named_entries(service.get("depends_on")):
            target = services.get(dependency)
            required = entry.get("required") if entry.is_map else None
            if target is None or (required is not None and required.value is False):
                continue
            theirs = set(profiles_of(target))
            alone = sorted(mine - theirs)
            if theirs and (not mine or alone):
                when = f"with Compose profile {alone[0]}" if alone else "without a Compose profile"
                yield Hit(entry, ("services", name, "depends_on", dependency),
                          f"{name} starts {when}, but {dependency} only with {', '.join(sorted(theirs))}: "
                          f"Compose then refuses to start {name} (docker/compose#12900); give both the same profiles")


# --- MLS013 init-not-awaited ---------------------------------------------------------------------
def init_not_awaited(data: LintInput) -> Iterator[Hit]:
    awaited = awaited_to_complete(data)
    for name, service in services_of(data.root).items():
        if looks_like_init(name) and name not in awaited and not profiles_of(service):
            yield Hit(service, ("services", name),
                      f"{name} looks like a one-shot init service, but no service waits for it with "
                      "depends_on condition: service_completed_successfully, so they race it")


# --- MLS014 source-bind-mount --------------------------------------------------------------------
def source_bind_mount(data: LintInput) -> Iterator[Hit]:
    for name, service in services_of(data.root).items():
        for index, mount in items(service.get("volumes")):
            kind = mount.get("type") if mount.is_map else None
            source = mount.get("source") if mount.is_map else None
            if kind is None or kind.text() != "bind" or source is None:
                continue
            if source.text() == "." or source.text().startswith(("./", "../")):
                yield Hit(mount, ("services", name, "volumes", index),
                          f"bind-mounts {source.text()} from the source tree: the container runs whatever is checked "
                          "out on the host, not the image that was built and tested; COPY it into the image")


# --- MLS015 resource-limits ----------------------------------------------------------------------
def resource_limits(data: LintInput) -> Iterator[Hit]:
    for name, service in services_of(data.root).items():
        memory = service.find(("deploy", "resources", "limits", "memory"))
        if memory is None and service.get("mem_limit") is None:
            yield Hit(service, ("services", name),
                      "no memory limit: one leak or oversized batch takes the host's memory from every other "
                      "service (deploy.resources.limits.memory)")
