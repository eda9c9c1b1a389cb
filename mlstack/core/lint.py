"""Best-practice warnings about a valid model: a table of rules, each with an id and a reason.

Every id is documented in docs/lint.md (what it flags, why, how to fix it). Rules take the merged
model in Compose's long form and return warnings located at the node to change.
"""

from __future__ import annotations

import re
from typing import Callable

from mlstack.core.gpu_devices import reserves_gpu
from mlstack.core.model import Node
from mlstack.core.validate import ALL_INTERFACES, items, services_of
from mlstack.report import Diagnostic

Rule = Callable[[Node], list[Diagnostic]]


def lint(root: Node) -> list[Diagnostic]:
    warnings: list[Diagnostic] = []
    for _, _, rule in LINT_RULES:
        warnings += rule(root)
    return sorted(warnings, key=lambda d: (d.file, d.line, d.column))


WARNING = "warning"   # every lint finding: it never fails a render


# --- image-tag -----------------------------------------------------------------------------------
def image_tag(root: Node) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for name, service in services_of(root).items():
        image = service.get("image")
        if image is None or not isinstance(image.value, str) or not image.value or "build" in service.value:
            continue  # an image built here is named by the stack, not pulled
        reference = image.value
        if "@" in reference:
            continue  # pinned by digest
        tag = reference.rsplit("/", 1)[-1].partition(":")[2]
        path = ("services", name, "image")
        if not tag:
            found.append(Diagnostic.at(image, path, f'image "{reference}" has no tag, so it means :latest; pin a version',
                                       "image-tag", WARNING))
        elif tag == "latest":
            found.append(Diagnostic.at(image, path, f'image "{reference}" uses the latest tag; pin a version', "image-tag",
                                       WARNING))
    return found


# --- healthcheck ---------------------------------------------------------------------------------
def healthcheck(root: Node) -> list[Diagnostic]:
    return [Diagnostic.at(service, ("services", name),
                          "no healthcheck: nothing can wait until it is ready (depends_on condition: service_healthy)",
                          "healthcheck", WARNING)
            for name, service in services_of(root).items() if service.get("healthcheck") is None]


# --- gpu-shm-size --------------------------------------------------------------------------------
GIGABYTE = 1024 ** 3
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgtp]?)(?:i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4, "p": 1024 ** 5}
SHM_REASON = "PyTorch DataLoader workers need more than Docker's 64 MB /dev/shm"


def size_in_bytes(node: Node) -> int | None:
    """`shm_size` as Docker reads it (`1g`, `512mb`, `2GiB`, bytes as a number); None if unreadable."""
    if isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    match = _SIZE.match(node.value) if isinstance(node.value, str) else None
    return int(float(match[1]) * _UNITS[match[2].lower()]) if match else None


def gpu_shm_size(root: Node) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for name, service in services_of(root).items():
        if not reserves_gpu(service):
            continue
        shm_size = service.get("shm_size")
        if shm_size is None:
            message = f"reserves a GPU but sets no shm_size: {SHM_REASON} (set shm_size: 1g or more)"
            found.append(Diagnostic.at(service, ("services", name), message, "gpu-shm-size", WARNING))
            continue
        size = size_in_bytes(shm_size)
        if size is not None and size < GIGABYTE:
            message = f"shm_size {shm_size.text()} is below 1g for a GPU service: {SHM_REASON}"
            found.append(Diagnostic.at(shm_size, ("services", name, "shm_size"), message, "gpu-shm-size", WARNING))
    return found


# --- port-all-interfaces -------------------------------------------------------------------------
def port_all_interfaces(root: Node) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for name, service in services_of(root).items():
        for index, port in items(service.get("ports")):
            if not port.is_map:
                continue
            address = port.get("host_ip")
            if address is not None and address.text() not in ALL_INTERFACES:
                continue
            published = port.get("published")
            target = port.get("target")
            what = (f"host port {published.text()}" if published is not None and published.text()
                    else f"a random host port for container port {target.text() if target else '?'}")
            message = f"{what} is published on all interfaces; set host_ip: 127.0.0.1 unless other machines need it"
            found.append(Diagnostic.at(port, ("services", name, "ports", index), message, "port-all-interfaces",
                                       WARNING))
    return found


# --- plain-text-secret ---------------------------------------------------------------------------
SECRET_WORDS = {"PASSWORD", "PASSWD", "PASS", "SECRET", "TOKEN", "KEY", "APIKEY", "CREDENTIALS"}
NOT_THE_SECRET = {"FILE", "PATH", "DIR", "ID"}  # PGPASSWORD_FILE, AWS_ACCESS_KEY_ID name where it is


def looks_secret(variable: str) -> bool:
    words = [word for word in re.split(r"[^A-Z0-9]+", variable.upper()) if word]
    if not words or words[-1] in NOT_THE_SECRET:
        return False
    return any(word in SECRET_WORDS or word.endswith(("PASSWORD", "SECRET", "APIKEY")) for word in words)


def plain_text_secret(root: Node) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for name, service in services_of(root).items():
        environment = service.get("environment")
        if environment is None or not environment.is_map:
            continue
        for variable, value in environment.value.items():
            literal = value.is_scalar and value.text() != "" and value.origin.rule != "interpolated"
            if literal and looks_secret(variable):
                message = (f"looks like a secret in plain text; use a compose secret or ${{{variable}:?}} "
                           "and set the value outside the file")
                found.append(Diagnostic.at(value, ("services", name, "environment", variable), message,
                                           "plain-text-secret", WARNING))
    return found


LINT_RULES: list[tuple[str, str, Rule]] = [
    ("image-tag", "an image with no tag or :latest changes under you between pulls", image_tag),
    ("healthcheck", "a service without a healthcheck cannot be waited for", healthcheck),
    ("gpu-shm-size", "a GPU service needs a /dev/shm larger than Docker's 64 MB default", gpu_shm_size),
    ("port-all-interfaces", "a published port without host_ip is reachable from every network", port_all_interfaces),
    ("plain-text-secret", "a password, token or key written into the compose file", plain_text_secret),
]
