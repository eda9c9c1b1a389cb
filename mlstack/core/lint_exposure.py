"""Rules about what a stack exposes: published ports, secrets in the file, the host's privileges."""

from __future__ import annotations

import re
from typing import Iterator

from mlstack.core.gpu_devices import reserves_gpu
from mlstack.core.lint_images import is_data_service, is_jupyter
from mlstack.core.lint_model import Hit, LintInput
from mlstack.core.model import Node
from mlstack.core.validate import ALL_INTERFACES, items, services_of


def public_ports(service: Node) -> Iterator[tuple[int, Node, str]]:
    """(index, port, what) for each port published on every interface of the host."""
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
        yield index, port, what


# --- MLS004 port-all-interfaces ------------------------------------------------------------------
def port_all_interfaces(data: LintInput) -> Iterator[Hit]:
    for name, service in services_of(data.root).items():
        if is_data_service(data, name, service):
            continue  # MLS009 says it louder
        for index, port, what in public_ports(service):
            yield Hit(port, ("services", name, "ports", index),
                      f"{what} is published on all interfaces; set host_ip: 127.0.0.1 unless other machines need it")


# --- MLS009 data-service-public ------------------------------------------------------------------
def data_service_public(data: LintInput) -> Iterator[Hit]:
    for name, service in services_of(data.root).items():
        if not is_data_service(data, name, service):
            continue
        for index, port, what in public_ports(service):
            yield Hit(port, ("services", name, "ports", index),
                      f"{what} of data service {name} is published on all interfaces, for anyone on the network "
                      "to read and write; publish it on 127.0.0.1, or not at all")


# --- MLS005 plain-text-secret --------------------------------------------------------------------
SECRET_WORDS = {"PASSWORD", "PASSWD", "PASS", "SECRET", "TOKEN", "KEY", "APIKEY", "CREDENTIALS"}
NOT_THE_SECRET = {"FILE", "PATH", "DIR", "ID"}  # PGPASSWORD_FILE, AWS_ACCESS_KEY_ID name where it is


def looks_secret(variable: str) -> bool:
    words = [word for word in re.split(r"[^A-Z0-9]+", variable.upper()) if word]
    if not words or words[-1] in NOT_THE_SECRET:
        return False
    return any(word in SECRET_WORDS or word.endswith(("PASSWORD", "SECRET", "APIKEY")) for word in words)


def plain_text_secret(data: LintInput) -> Iterator[Hit]:
    for name, service in services_of(data.root).items():
        environment = service.get("environment")
        if environment is None or not environment.is_map:
            continue
        for variable, value in environment.value.items():
            literal = value.is_scalar and value.text() != "" and value.origin.rule != "interpolated"
            if literal and looks_secret(variable):
                yield Hit(value, ("services", name, "environment", variable),
                          f"looks like a secret in plain text; use a compose secret or ${{{variable}:?}} "
                          "and set the value outside the file")


# --- MLS008 host-privileges ----------------------------------------------------------------------
DOCKER_SOCKETS = {"/var/run/docker.sock", "/run/docker.sock"}
HOST_NAMESPACES = [("network_mode", "host", "shares the host's network stack"),
                   ("pid", "host", "sees and signals every process of the host"),
                   ("ipc", "host", "shares the host's IPC namespace and shared memory"),
                   ("userns_mode", "host", "turns off user namespace remapping")]
UNCONFINED = ("seccomp:unconfined", "seccomp=unconfined", "apparmor:unconfined", "apparmor=unconfined")


def host_privileges(data: LintInput) -> Iterator[Hit]:
    for name, service in services_of(data.root).items():
        here = ("services", name)
        privileged = service.get("privileged")
        if privileged is not None and privileged.value is True:
            yield Hit(privileged, here + ("privileged",), "privileged: true gives the container every device and "
                                                          "capability of the host; add the one capability it needs")
        for index, capability in items(service.get("cap_add")):
            yield Hit(capability, here + ("cap_add", index),
                      f"adds capability {capability.text()}; drop it unless the service cannot work without it")
        for key, value, what in HOST_NAMESPACES:
            node = service.get(key)
            if node is None or node.text() != value:
                continue
            if key == "ipc" and data.kind == "dev" and (reserves_gpu(service) or is_jupyter(service)):
                continue  # NVIDIA's advice for PyTorch in development; prod gets shm_size (MLS003)
            yield Hit(node, here + (key,), f"{key}: {value} {what}")
        for index, option in items(service.get("security_opt")):
            if option.text().startswith(UNCONFINED):
                yield Hit(option, here + ("security_opt", index), f"security_opt {option.text()} removes a confinement")
        for index, mount in items(service.get("volumes")):
            source = mount.get("source") if mount.is_map else None
            if source is not None and source.text().rstrip("/") in DOCKER_SOCKETS:
                yield Hit(mount, here + ("volumes", index),
                          f"mounts the Docker socket ({source.text()}): whoever controls the container controls the host")
