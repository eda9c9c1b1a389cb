"""Short Compose syntax to the long form, per file and before merging, as Compose does.

Merging and de-duplication work on the long forms (a port `"8080:80"` and
`{target: 80, published: "8080"}` are the same port), so every file is brought to them first.
The transforms are a table of path patterns, read top to bottom.
"""

from __future__ import annotations

import re
from typing import Callable

from mlstack.core.model import Node, Path, matches, path_str, pattern
from mlstack.errors import StackError
from mlstack.report import Diagnostic

Transform = Callable[[Node, Path], Node]


def _fail(node: Node, path: Path, message: str) -> StackError:
    origin = node.origin
    return StackError(message, [Diagnostic(origin.file, origin.line, origin.column, path_str(path), message, "syntax")])


def _child(value, like: Node) -> Node:
    return Node(value, like.origin)


# --- key=value lists (environment, labels, args, ...) become mappings -------------------------
def key_value_mapping(node: Node, path: Path) -> Node:
    if node.is_map or node.value is None:
        return node
    items = node.value if node.is_seq else [node]
    mapping: dict[str, Node] = {}
    for item in items:
        if not item.is_scalar:
            raise _fail(item, path, "expected KEY=VALUE strings or a mapping")
        text = item.text()
        key, sep, value = text.partition("=")
        mapping.pop(key, None)  # a later entry wins and, as in Compose, keeps the first position
        mapping[key] = Node(value if sep else None, item.origin)
    return Node(mapping, node.origin, node.tag)


def string_or_list(node: Node, path: Path) -> Node:
    if node.is_scalar and node.value is not None:
        return Node([node], node.origin, node.tag)
    return node


def ports(node: Node, path: Path) -> Node:
    if not node.is_seq:
        return node
    expanded: list[Node] = []
    for index, item in enumerate(node.value):
        if item.is_map:
            expanded.append(item)
            continue
        for mapping in parse_port(item.text(), item, path + (index,)):
            expanded.append(Node({key: _child(value, item) for key, value in mapping.items()}, item.origin))
    return Node(expanded, node.origin, node.tag)


_PORT = re.compile(
    r"^(?:(?P<ip>\[[0-9a-fA-F:.]+\]|[0-9.]+|[0-9a-fA-F:]*:[0-9a-fA-F:]+)?:)??"
    r"(?:(?P<published>[0-9]*(?:-[0-9]+)?):)?(?P<target>[0-9]+(?:-[0-9]+)?)(?:/(?P<protocol>[a-zA-Z]+))?$"
)


def parse_port(text: str, node: Node, path: Path) -> list[dict]:
    """`[IP:][HOST[-END]:]CONTAINER[-END][/PROTO]` into long-form ports (ranges expanded)."""
    match = _PORT.match(text)
    if not match:
        raise _fail(node, path, f"invalid port {text!r}: expected [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]")
    ip = match["ip"]
    if ip and ip.startswith("["):
        ip = ip[1:-1]
    published = match["published"] or ""
    first, _, last = match["target"].partition("-")
    targets = list(range(int(first), int(last or first) + 1))
    if not targets:
        raise _fail(node, path, f"invalid port range {match['target']!r}")
    hosts: list[str] = [published] * len(targets)
    if published and "-" in published and len(targets) > 1:
        low, _, high = published.partition("-")
        if int(high) - int(low) + 1 != len(targets):
            raise _fail(node, path, f"port ranges don't match in {text!r}")
        hosts = [str(int(low) + offset) for offset in range(len(targets))]
    result = []
    for target, host in zip(targets, hosts):
        entry: dict = {"target": target}
        if host:
            entry["published"] = host
        if ip:
            entry["host_ip"] = ip
        entry["protocol"] = (match["protocol"] or "tcp").lower()
        entry["mode"] = "ingress"
        result.append(entry)
    return result


_VOLUME_MODES = {"ro", "rw", "z", "Z", "nocopy", "consistent", "cached", "delegated"}
_PROPAGATION = {"shared", "rshared", "slave", "rslave", "private", "rprivate"}


def volume_mount(node: Node, path: Path) -> Node:
    if not node.is_scalar:
        return node
    text = node.text()
    parts = text.split(":")
    if not text or len(parts) > 3:
        raise _fail(node, path, f"invalid volume {text!r}: expected [SOURCE:]TARGET[:MODE]")
    mount: dict = {}
    if len(parts) == 1:
        mount = {"type": "volume", "target": parts[0]}
    else:
        source, target = parts[0], parts[1]
        is_path = source.startswith((".", "/", "~", "$")) or "/" in source
        mount = {"type": "bind" if is_path else "volume", "source": source, "target": target}
        options = parts[2].split(",") if len(parts) == 3 else []
        for option in options:
            if option == "ro":
                mount["read_only"] = True
            elif option == "rw":
                mount["read_only"] = False
            elif option in ("z", "Z"):
                mount.setdefault("bind", {})["selinux"] = option
            elif option == "nocopy":
                mount.setdefault("volume", {})["nocopy"] = True
            elif option in _PROPAGATION:
                mount.setdefault("bind", {})["propagation"] = option
            elif option in ("consistent", "cached", "delegated"):
                mount["consistency"] = option
            else:
                raise _fail(node, path, f"invalid volume mode {option!r} in {text!r}")
        if mount["type"] == "bind":
            mount.setdefault("bind", {})["create_host_path"] = True
    return from_plain(mount, node)


def from_plain(data, like: Node) -> Node:
    if isinstance(data, dict):
        return Node({key: from_plain(value, like) for key, value in data.items()}, like.origin, like.tag)
    return Node(data, like.origin)


def depends_on(node: Node, path: Path) -> Node:
    if node.is_seq:
        return Node({item.text(): from_plain({"condition": "service_started", "required": True}, item)
                     for item in node.value}, node.origin, node.tag)
    if node.is_map:
        for name, entry in node.value.items():
            if entry.is_map:
                entry.value.setdefault("condition", Node("service_started", entry.origin))
                entry.value.setdefault("required", Node(True, entry.origin))
    return node


def list_to_mapping(node: Node, path: Path) -> Node:
    if node.is_seq:
        return Node({item.text(): Node(None, item.origin) for item in node.value}, node.origin, node.tag)
    return node


def build(node: Node, path: Path) -> Node:
    if node.is_scalar and node.value is not None:
        return Node({"context": node}, node.origin, node.tag)
    return node


def file_mount(node: Node, path: Path) -> Node:
    if node.is_scalar and node.value is not None:
        return Node({"source": node}, node.origin, node.tag)
    return node


def ulimit(node: Node, path: Path) -> Node:
    if node.is_scalar and isinstance(node.value, int):
        return Node({"soft": node, "hard": Node(node.value, node.origin)}, node.origin, node.tag)
    return node


def extends(node: Node, path: Path) -> Node:
    if node.is_scalar and node.value is not None:
        return Node({"service": node}, node.origin, node.tag)
    return node


KEY_VALUE_PATHS = [
    "services.*.environment", "services.*.labels", "services.*.annotations", "services.*.sysctls",
    "services.*.build.args", "services.*.build.labels", "services.*.build.additional_contexts",
    "services.*.deploy.labels", "networks.*.labels", "volumes.*.labels", "secrets.*.labels", "configs.*.labels",
]
STRING_OR_LIST_PATHS = [
    "services.*.dns", "services.*.dns_search", "services.*.dns_opt", "services.*.tmpfs",
    "services.*.env_file", "services.*.label_file",
]

TRANSFORMS: list[tuple[tuple[str, ...], Transform]] = [
    *[(pattern(text), key_value_mapping) for text in KEY_VALUE_PATHS],
    *[(pattern(text), string_or_list) for text in STRING_OR_LIST_PATHS],
    (pattern("services.*.ports"), ports),
    (pattern("services.*.volumes.[]"), volume_mount),
    (pattern("services.*.depends_on"), depends_on),
    (pattern("services.*.networks"), list_to_mapping),
    (pattern("services.*.models"), list_to_mapping),
    (pattern("services.*.build"), build),
    (pattern("services.*.secrets.[]"), file_mount),
    (pattern("services.*.configs.[]"), file_mount),
    (pattern("services.*.build.secrets.[]"), file_mount),
    (pattern("services.*.ulimits.*"), ulimit),
    (pattern("services.*.build.ulimits.*"), ulimit),
    (pattern("services.*.extends"), extends),
]


def canonical(node: Node, path: Path = ()) -> Node:
    """Return the tree with every short form in its long form (children first)."""
    if node.is_map:
        for key in list(node.value):
            node.value[key] = canonical(node.value[key], path + (key,))
    elif node.is_seq:
        node.value = [canonical(child, path + (index,)) for index, child in enumerate(node.value)]
    if len(path) >= 2 and path[0] in ("services", "networks", "volumes", "secrets", "configs"):
        for want, transform in TRANSFORMS:
            if matches(path, want):
                return transform(node, path)
    return node
