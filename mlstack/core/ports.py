"""Published host ports in the merged model: read them, list them, shift them (`--port-offset`).

Ports are in Compose's long form by now: `{target, published, host_ip, protocol}`, `published`
a string that may be a range (`8000-8010`). `port_range` is the one reader of such a value.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlstack.core.model import Node, Origin
from mlstack.errors import ChoiceError


@dataclass(frozen=True)
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
        return f"{self.host_ip or '0.0.0.0'}:{self.published}->{self.target}/{self.protocol}"


def port_range(node: Node | None) -> range:
    """`8080`, `"8080"` or `"8000-8010"` as a range of ports; empty when unset, left to the engine
    (`""`) or unreadable."""
    if node is None or isinstance(node.value, bool):
        return range(0)
    if isinstance(node.value, int):
        return range(node.value, node.value + 1)
    low, _, high = node.text().partition("-")
    high = high or low
    if not (low.isdecimal() and high.isdecimal() and int(low) <= int(high) <= 65535):
        return range(0)
    return range(int(low), int(high) + 1)


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

