"""Checks the schema cannot express, after it: names that must resolve, ports that collide, cycles.

The rules are a table (RULES), read top to bottom; each takes the merged model, which is in
Compose's long form (ports and mounts are mappings, depends_on and service networks are
mappings), and returns its diagnostics located at the offending node. Each rule skips what does
not have the shape it expects: the schema has already said so.
"""

from __future__ import annotations

from mlstack.core.fields import typed_fields
from mlstack.core.model import Node, Path, path_str
from mlstack.core.profiles import active_services, may_run_together, profiles_of
from mlstack.report import Diagnostic

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms) on a render's path
if TYPE_CHECKING:
    from typing import Callable, Iterator

    Rule = Callable[[Node, tuple[str, ...]], list[Diagnostic]]

# A rule reads the model and the Compose service profiles enabled (as `--profile` would).

ALL_INTERFACES = {"", "0.0.0.0", "::"}


def check(root: Node, schema: str = "compose", profiles: tuple[str, ...] = ()) -> list[Diagnostic]:
    """Schema problems plus, for a compose model, the semantic ones; sorted by location.

    `profiles` are the Compose service profiles enabled: as in Compose, what must resolve is
    checked for the services that run.
    """
    from mlstack.core.schema import validate

    diagnostics = validate(root, schema)
    if schema == "compose":
        for _, rule in RULES:
            diagnostics += rule(root, profiles)
    return sorted(diagnostics, key=lambda d: (d.file, d.line, d.column))


# --- reading the model ---------------------------------------------------------------------------
def _at(node: Node, path: Path, message: str, rule: str) -> Diagnostic:
    origin = node.origin
    return Diagnostic.at(origin, path_str(path), message, rule)


def services_of(root: Node) -> dict[str, Node]:
    services = root.get("services")
    if services is None or not services.is_map:
        return {}
    return {name: service for name, service in services.value.items() if service.is_map}


def declared(root: Node, resource: str) -> set[str]:
    section = root.get(resource)
    return set(section.value) if section is not None and section.is_map else set()


def named_entries(node: Node | None) -> Iterator[tuple[str, Node]]:
    """(name, node) of a mapping's keys or a list's strings: depends_on, networks in either form."""
    if node is None:
        return
    if node.is_map:
        yield from node.value.items()
    elif node.is_seq:
        for item in node.value:
            if isinstance(item.value, str):
                yield item.value, item


def items(node: Node | None) -> Iterator[tuple[int, Node]]:
    if node is not None and node.is_seq:
        yield from enumerate(node.value)


def _text(node: Node | None) -> str:
    return node.value if node is not None and isinstance(node.value, str) else ""


# --- the rules -----------------------------------------------------------------------------------
def unknown_services(root: Node, profiles: tuple[str, ...]) -> list[Diagnostic]:
    """depends_on, links, volumes_from and network_mode of a service that runs naming a service
    the model lacks, or one that does not run (a dependency with `required: false` may not run)."""
    services = services_of(root)
    active = active_services(root, profiles)
    found: list[Diagnostic] = []

    def reference(target: str, node: Node, path: Path, required: bool = True) -> None:
        if target not in services:
            found.append(_at(node, path, f'unknown service "{target}"', "unknown-service"))
        elif target not in active and required:
            enable = " or ".join(f"--profile {profile}" for profile in profiles_of(services[target]))
            message = f'service "{target}" does not run unless its Compose profile is enabled ({enable})'
            found.append(_at(node, path, message, "unknown-service"))

    for name in [name for name in services if name in active]:
        service, here = services[name], ("services", name)
        for dependency, entry in named_entries(service.get("depends_on")):
            required = entry.get("required") if entry.is_map else None
            reference(dependency, entry, here + ("depends_on",), required is None or required.value is not False)
        for key in ("links", "volumes_from"):
            for index, item in items(service.get(key)):
                target = _text(item).partition(":")[0]
                if target and not _text(item).startswith("container:"):
                    reference(target, item, here + (key, index))
        mode = service.get("network_mode")
        if _text(mode).startswith("service:"):
            reference(_text(mode)[len("service:"):], mode, here + ("network_mode",))
    return found


def undeclared_resources(root: Node, profiles: tuple[str, ...]) -> list[Diagnostic]:
    """Named volumes, networks, secrets and configs a service uses but the top level lacks."""
    volumes, networks = declared(root, "volumes"), declared(root, "networks") | {"default"}
    secrets, configs = declared(root, "secrets"), declared(root, "configs")
    found: list[Diagnostic] = []

    def missing(node: Node, path: Path, kind: str, name: str) -> None:
        message = f'{kind} "{name}" is not declared in the top-level {kind}s'
        found.append(_at(node, path, message, "undeclared-resource"))

    for name, service in services_of(root).items():
        here = ("services", name)
        for index, mount in items(service.get("volumes")):
            source = _text(mount.get("source")) if mount.is_map else ""
            if mount.is_map and _text(mount.get("type")) == "volume" and source and source not in volumes:
                missing(mount, here + ("volumes", index), "volume", source)
        if service.get("network_mode") is None:
            for network, entry in named_entries(service.get("networks")):
                if network not in networks:
                    missing(entry, here + ("networks",), "network", network)
        uses = [(service.get("secrets"), here + ("secrets",), "secret", secrets),
                (service.get("configs"), here + ("configs",), "config", configs)]
        build = service.get("build")
        if build is not None and build.is_map:
            uses.append((build.get("secrets"), here + ("build", "secrets"), "secret", secrets))
        for node, where, kind, known in uses:
            for index, entry in items(node):
                source = _text(entry.get("source")) if entry.is_map else _text(entry)
                if source and source not in known:
                    missing(entry, where + (index,), kind, source)
    return found


def _host_ports(published: Node | None) -> range:
    """`8080`, `"8080"` or `"8000-8010"` as a range of ports; empty when unset or unreadable."""
    if published is None or isinstance(published.value, bool):
        return range(0)
    if isinstance(published.value, int):
        return range(published.value, published.value + 1)
    low, _, high = _text(published).partition("-")
    high = high or low
    if not (low.isdecimal() and high.isdecimal() and int(low) <= int(high) <= 65535):
        return range(0)
    return range(int(low), int(high) + 1)


def port_conflicts(root: Node, profiles: tuple[str, ...]) -> list[Diagnostic]:
    """Two ports on the same host port, protocol and address (an unset address is all of them),
    of services that may run together (see profiles.may_run_together)."""
    taken: dict[tuple[str, int], list[tuple[str, Path, Node]]] = {}
    found: list[Diagnostic] = []
    for name, service in services_of(root).items():
        for index, port in items(service.get("ports")):
            if not port.is_map:
                continue
            path = ("services", name, "ports", index)
            protocol = (_text(port.get("protocol")) or "tcp").lower()
            address = _text(port.get("host_ip"))
            numbers = _host_ports(port.get("published"))
            clash = next(((number, other) for number in numbers
                          for other_address, other, other_service in taken.get((protocol, number), ())
                          if (address == other_address or ALL_INTERFACES & {address, other_address})
                          and (other_service is service or may_run_together(service, other_service, profiles))), None)
            if clash:
                message = f"host port {clash[0]}/{protocol} is already published by {path_str(clash[1])}"
                found.append(_at(port, path, message, "port-conflict"))
            for number in numbers:
                taken.setdefault((protocol, number), []).append((address, path, service))
    return found


def dependency_cycles(root: Node, profiles: tuple[str, ...]) -> list[Diagnostic]:
    """depends_on cycles, each reported once, starting from its service that comes first."""
    services = services_of(root)
    order = {name: position for position, name in enumerate(services)}
    edges = {name: {dependency: entry for dependency, entry in named_entries(service.get("depends_on"))
                    if dependency in services}
             for name, service in services.items()}
    state: dict[str, str] = {}
    reported: set[tuple[str, ...]] = set()
    found: list[Diagnostic] = []
    for start in services:
        if start in state:
            continue
        trail = [start]
        pending = [iter(edges[start])]
        state[start] = "open"
        while pending:
            for dependency in pending[-1]:
                if state.get(dependency) == "open":
                    cycle = trail[trail.index(dependency):]
                    first = min(range(len(cycle)), key=lambda i: order[cycle[i]])
                    cycle = cycle[first:] + cycle[:first]
                    if tuple(cycle) not in reported:
                        reported.add(tuple(cycle))
                        entry = edges[cycle[0]][cycle[1] if len(cycle) > 1 else cycle[0]]
                        message = f"dependency cycle: {' -> '.join(cycle + [cycle[0]])}"
                        found.append(_at(entry, ("services", cycle[0], "depends_on"), message, "dependency-cycle"))
                elif dependency not in state:
                    state[dependency] = "open"
                    trail.append(dependency)
                    pending.append(iter(edges[dependency]))
                    break
            else:
                state[trail.pop()] = "done"
                pending.pop()
    return found


def image_or_build(root: Node, profiles: tuple[str, ...]) -> list[Diagnostic]:
    """A container that runs needs an image: named, or built (a provider service needs neither)."""
    active = active_services(root, profiles)
    return [_at(service, ("services", name), 'neither "image" nor "build" is set', "image-or-build")
            for name, service in services_of(root).items()
            if name in active and not {"image", "build", "provider"} & set(service.value)]


RULES: list[tuple[str, Rule]] = [
    ("unknown-service", unknown_services),
    ("undeclared-resource", undeclared_resources),
    ("port-conflict", port_conflicts),
    ("dependency-cycle", dependency_cycles),
    ("image-or-build", image_or_build),
    ("typed-field", lambda root, profiles: typed_fields(root)),  # every service: Compose decodes them all
]
