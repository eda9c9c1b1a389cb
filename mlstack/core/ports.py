"""Published host ports: what the model asks for, and what the engine bound.

The model's ports are in Compose's long form by now: `{target, published, host_ip, protocol}`,
`published` a string that may be a range (`8000-8010`) or empty (the engine chooses).
`port_range` is the one reader of such a value; `published_ports` lists them, `offset_ports`
shifts them (`--port-offset`).

What the engine actually bound (the truth, ephemeral ports included) comes as `compose ps`
Publishers or `docker inspect` `NetworkSettings.Ports`; `bindings_from_publishers` and
`bindings_from_inspect` read either into the same `Binding`s, and `shown_ports` writes them as
`docker ps` does.
"""

from __future__ import annotations

from mlstack.records import record

from mlstack.core.go_values import port_range as port_range_text
from mlstack.core.model import Node, Origin
from mlstack.errors import ChoiceError

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any, Iterable, Mapping


ANY_IPV4, ANY_IPV6 = "0.0.0.0", "::"


@record(frozen=True)
class ModelPort:
    service: str
    index: int
    host_ip: str
    published: int
    target: int
    protocol: str
    origin: Origin     # where `published` was set: the file, line and variable to name in messages

    @property
    def shown(self) -> str:
        return port_text(self.host_ip, self.published, self.target, self.protocol)


def port_text(host_ip: str, published: int | str, target: int | str, protocol: str) -> str:
    """`127.0.0.1:5432->5432/tcp`, `[::1]:8080->80/tcp`: how every port is written, as `docker ps` does."""
    host = host_ip or ANY_IPV4
    return f"{f'[{host}]' if ':' in host else host}:{published}->{target}/{protocol}"


def port_range(node: Node | None) -> range:
    """`8080`, `"8080"` or `"8000-8010"` as a range of ports; empty when unset, left to the engine
    (`""`) or unreadable."""
    if node is None or isinstance(node.value, bool):
        return range(0)
    if isinstance(node.value, int):
        return range(node.value, node.value + 1)
    found = port_range_text(node.text())
    return range(found[0], found[1] + 1) if found else range(0)


def published_ports(root: Node) -> list[ModelPort]:
    """Every port with a host port of its own, in service order; a range by its first port."""
    found = []
    services = root.get("services")
    for name, service in sorted(services.value.items()) if services is not None and services.is_map else []:
        ports = service.get("ports") if service.is_map else None
        for index, entry in enumerate(ports.value if ports is not None and ports.is_seq else []):
            published = entry.get("published") if entry.is_map else None
            hosts = port_range(published)
            if not hosts:
                continue  # not published, or an ephemeral host port chosen by the engine
            host_ip, target, protocol = (entry.get(key) for key in ("host_ip", "target", "protocol"))
            targets = port_range(target)
            found.append(ModelPort(name, index, host_ip.text() if host_ip is not None else "", hosts.start,
                                   targets.start if targets else 0,
                                   protocol.text() if protocol is not None else "tcp", published.origin))
    return found


def offset_ports(root: Node, offset: int) -> list[str]:
    """Add `offset` to every published host port, in place; returns `service: old -> new` lines."""
    if not offset:
        return []
    planned = []
    for port in published_ports(root):
        node = root.find(("services", port.service, "ports", port.index, "published"))
        hosts = port_range(node)
        low, high = hosts.start + offset, hosts.stop - 1 + offset
        shifted = str(low) + (f"-{high}" if "-" in node.text() else "")
        if not (0 < low and high < 65536):
            raise ChoiceError(f"--port-offset {offset} moves {port.service}'s port {node.value} out of 1-65535")
        planned.append((port.service, node, shifted))
    changed = []
    for service, node, shifted in planned:
        changed.append(f"{service}: {node.value} -> {shifted}")
        node.value = shifted
        node.raw = None
        node.origin = node.origin.with_rule("derived")
    return changed

def overlaps(first: str, second: str) -> bool:
    """Do two host IPs collide for the same port? 0.0.0.0 (or empty) takes every address."""
    wildcard = ("", "0.0.0.0", "::")
    return first in wildcard or second in wildcard or first == second


@record(frozen=True)
class Binding:
    """A host port the engine bound for a container port."""

    host_ip: str
    published: int
    target: int
    protocol: str = "tcp"

    @property
    def shown(self) -> str:
        return port_text(self.host_ip, self.published, self.target, self.protocol)

    def as_json(self) -> dict[str, Any]:
        return {"host_ip": self.host_ip, "published": self.published, "target": self.target,
                "protocol": self.protocol, "shown": self.shown}


def bindings_from_publishers(publishers: Iterable[Mapping[str, Any]]) -> tuple[Binding, ...]:
    """`compose ps --format json` Publishers; an exposed port that is not published (PublishedPort 0) is none."""
    return distinct(Binding(row.get("URL") or ANY_IPV4, int(row.get("PublishedPort") or 0),
                            int(row.get("TargetPort") or 0), row.get("Protocol") or "tcp")
                    for row in publishers)


def bindings_from_inspect(ports: Mapping[str, Any] | None) -> tuple[Binding, ...]:
    """`docker inspect` `NetworkSettings.Ports`: `{"8080/tcp": [{"HostIp", "HostPort"}] or null}`."""
    found = []
    for key, bindings in (ports or {}).items():
        target, _, protocol = key.partition("/")
        found += [Binding(binding.get("HostIp") or ANY_IPV4, int(binding.get("HostPort") or 0), int(target),
                          protocol or "tcp") for binding in bindings or []]
    return distinct(found)


def distinct(bindings: Iterable[Binding]) -> tuple[Binding, ...]:
    """Published bindings once each, by container port, IPv4 first. The engine binds a port on
    every address twice, `0.0.0.0` and `::`: `0.0.0.0` stands for both (its IPv6 twin is dropped
    when it has the same host port; an older engine may choose different ephemeral ports for the
    two, and then both show)."""
    found = {binding for binding in bindings if binding.published}
    twins = {Binding(ANY_IPV6, b.published, b.target, b.protocol) for b in found if b.host_ip == ANY_IPV4}
    return tuple(sorted(found - twins, key=lambda b: (b.target, b.protocol, ":" in b.host_ip, b.host_ip, b.published)))


def shown_ports(bindings: Iterable[Binding]) -> list[str]:
    """As `docker ps` writes them: consecutive ports on one address in one run,
    `127.0.0.1:6333-6334->6333-6334/tcp`."""
    runs: list[list[Binding]] = []
    for binding in bindings:
        last = runs[-1][-1] if runs else None
        if last is not None and (last.host_ip, last.protocol, last.published + 1, last.target + 1) == \
                (binding.host_ip, binding.protocol, binding.published, binding.target):
            runs[-1].append(binding)
        else:
            runs.append([binding])
    return [port_text(run[0].host_ip, _span(run[0].published, run[-1].published), _span(run[0].target, run[-1].target),
                      run[0].protocol) for run in runs]


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"
