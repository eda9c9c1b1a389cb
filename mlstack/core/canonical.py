"""Short Compose syntax to the long form, per file and before merging, as Compose does.

Merging and de-duplication work on the long forms (a port `"8080:80"` and
`{target: 80, published: "8080"}` are the same port), so every file is brought to them first.
A long form made from a short one keeps the short text in `raw`: Compose merges a file before
its short forms are expanded, so a merge that compares entries must still see the short text.
The transforms are a table of path patterns, read top to bottom.
"""

from __future__ import annotations

from mlstack.core.fields import ip_problem
from mlstack.core.go_values import port_range
from mlstack.core.model import Node, Path, PatternTable, path_str, pattern
from mlstack.errors import StackError
from mlstack.report import Diagnostic

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms) on a render's path
if TYPE_CHECKING:
    from typing import Callable

    Transform = Callable[[Node, Path], Node]


def _fail(node: Node, path: Path, message: str) -> StackError:
    origin = node.origin
    return StackError(message, [Diagnostic.at(origin, path_str(path), message, "syntax")])


def _child(value, like: Node) -> Node:
    return Node(value, like.origin)


# --- key=value lists (environment, labels, args, ...) become mappings -------------------------
# Compose keeps KEY=VALUE fields as written, and as a list once two files set them: a `!reset`
# of one KEY then finds no key to remove. The mapping remembers that shape in `raw`.
AS_LIST = "KEY=VALUE"


def key_value_mapping(node: Node, path: Path) -> Node:
    if node.is_map or node.value is None:
        return node
    if not node.is_seq:  # Compose reads no KEY=VALUE string on its own
        raise _fail(node, path, "expected a mapping or a list of KEY=VALUE strings")
    mapping: dict[str, Node] = {}
    for item in node.value:
        if not item.is_scalar:
            raise _fail(item, path, "expected KEY=VALUE strings or a mapping")
        text = item.text()
        key, sep, value = text.partition("=")
        mapping[key] = Node(value if sep else None, item.origin)  # a later entry wins, in the first one's place
    return Node(mapping, node.origin, node.tag, AS_LIST)


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
        for number, mapping in enumerate(parse_port(item.text(), item, path + (index,))):
            # each port of a range is its own entry, and all of them come from one short form
            raw = item.text() if number == 0 else f"{item.text()}#{number}"
            expanded.append(Node({key: _child(value, item) for key, value in mapping.items()}, item.origin, raw=raw))
    return Node(expanded, node.origin, node.tag)


def parse_port(text: str, node: Node, path: Path) -> list[dict]:
    """`[IP:][HOST[-END]:]CONTAINER[-END][/PROTO]` into long-form ports, as Docker's parser reads it.

    The last section is the container port, the one before it the host port, everything before
    that the host IP (so `::1:8080:80` is `::1`, and `:2283:2283` has none). Each container port of
    a range is its own port, ordered as Compose orders them: by the text `PORT/PROTO`.
    """
    sections = text.split(":")
    container, host = sections[-1], sections[-2] if len(sections) > 1 else ""
    ip = ":".join(sections[:-2])
    container, _, protocol = container.partition("/")
    protocol = (protocol or "tcp").lower()

    def invalid(reason: str) -> StackError:
        return _fail(node, path, f"invalid port {text!r}: {reason}")

    if ip.startswith("["):
        if not ip.endswith("]"):
            raise invalid(f"{ip!r} is not an IP address")
        ip = ip[1:-1]
    if ip and (problem := ip_problem(ip)):
        raise invalid(problem)
    if not container:
        raise invalid("no container port")
    targets = port_range(container)
    if targets is None:
        raise invalid(f"{container!r} is not a port or a range of ports (0-65535)")
    hosts = port_range(host) if host else (0, 0)
    if hosts is None:
        raise invalid(f"{host!r} is not a port or a range of ports (0-65535)")
    count = targets[1] - targets[0]
    if host and count and count != hosts[1] - hosts[0]:
        raise invalid(f"the host ports {host} and the container ports {container} are not ranges of the same length")
    if protocol not in ("tcp", "udp", "sctp"):
        raise invalid(f"unknown protocol {protocol!r} (tcp, udp or sctp)")
    if targets[0] == 0:
        raise invalid("no container port (0 is not one)")
    result = []
    for offset in range(count + 1):
        entry: dict = {"target": targets[0] + offset}
        if host:  # a range of host ports for one container port: the engine picks one of them
            entry["published"] = str(hosts[0] + offset) if count or hosts[0] == hosts[1] else f"{hosts[0]}-{hosts[1]}"
        if ip:
            entry["host_ip"] = ip
        entry["protocol"] = protocol
        entry["mode"] = "ingress"
        result.append(entry)
    return sorted(result, key=lambda entry: f"{entry['target']}/{protocol}")


_PROPAGATION = {"shared", "rshared", "slave", "rslave", "private", "rprivate"}
_SELINUX = {"z", "Z"}


def volume_mount(node: Node, path: Path) -> Node:
    """`[SOURCE:]TARGET[:OPTIONS]` as Compose's parser reads it.

    A one-letter section before a colon is a Windows drive (`c:/data` is one path); a source
    is a host path when it starts with `.`, `/`, `~`, `\\\\` or a drive; options Compose does not
    know are ignored, as Compose ignores them.
    """
    if not node.is_scalar:
        return node
    text = node.text()
    sections = _volume_sections(text)
    if sections is None:
        raise _fail(node, path, f"invalid volume {text!r}: expected [SOURCE:]TARGET[:OPTIONS]")
    if len(text) <= 2:  # Compose takes these as they are, without the `volume: {}` of other specs
        long_form = from_plain({"type": "volume", "target": text}, node)
        long_form.raw = text
        return long_form
    mount: dict = {}
    if len(sections) == 1:
        mount = {"type": "volume", "target": sections[0]}
    else:
        source, target = sections[0], sections[1]
        mount = {"type": "bind" if _is_host_path(source) else "volume", "source": source, "target": target}
    for option in (sections[2].split(",") if len(sections) == 3 else []):
        if option == "ro":
            mount["read_only"] = True
        elif option == "rw":
            mount["read_only"] = False
        elif option == "nocopy":
            mount["volume"] = {"nocopy": True}
        elif option in _PROPAGATION:
            mount.setdefault("bind", {})["propagation"] = option
        elif option in _SELINUX:
            mount.setdefault("bind", {})["selinux"] = option
    if mount["type"] == "bind":
        mount.setdefault("bind", {})["create_host_path"] = True
    else:
        mount.setdefault("volume", {})
    long_form = from_plain(mount, node)
    long_form.raw = text
    return long_form


def _volume_sections(text: str) -> list[str] | None:
    """SOURCE, TARGET and OPTIONS split at colons; a one-letter section before a colon is a drive."""
    if len(text) in (1, 2):
        return [text]
    sections: list[str] = []
    current = ""
    for char in text:
        if char == ":" and not (len(current) == 1 and current.isalpha()):
            if not current or len(sections) == 3:
                return None
            sections.append(current)
            current = ""
        else:
            current += char
    if not current or len(sections) == 3:  # the end of the text ends a section, never a drive
        return None
    return sections + [current]


def _is_host_path(source: str) -> bool:
    return source.startswith((".", "/", "~", "\\\\")) or (len(source) > 1 and source[0].isalpha() and source[1] == ":")


def from_plain(data, like: Node) -> Node:
    if isinstance(data, dict):
        return Node({key: from_plain(value, like) for key, value in data.items()}, like.origin, like.tag)
    return Node(data, like.origin)


DEPENDENCY_DEFAULTS = {"condition": "service_started", "required": True}


def depends_on(node: Node, path: Path) -> Node:
    """A listed dependency is a whole entry (it replaces an earlier one); a mapped one is merged."""
    if node.is_seq:
        return Node({item.text(): from_plain(DEPENDENCY_DEFAULTS, item) for item in node.value}, node.origin, node.tag)
    return node


def dependency_defaults(node: Node, path: Path) -> Node:
    if node.is_map:
        for key, value in DEPENDENCY_DEFAULTS.items():
            node.value.setdefault(key, Node(value, node.origin.with_rule("derived")))
    return node


def list_to_mapping(node: Node, path: Path) -> Node:
    if node.is_seq:
        return Node({item.text(): Node(None, item.origin) for item in node.value}, node.origin, node.tag)
    return node


def build(node: Node, path: Path) -> Node:
    if node.is_scalar and node.value is not None:
        return Node({"context": node}, node.origin, node.tag, node.text())
    return node


def file_mount(node: Node, path: Path) -> Node:
    if node.is_scalar and node.value is not None:
        return Node({"source": node}, node.origin, node.tag, node.text())
    return node


def gpus(node: Node, path: Path) -> Node:
    """`gpus: all` is one request for every GPU; the short text is kept (merge_gpus needs it)."""
    if node.is_scalar and node.value == "all":
        return Node([Node({"count": Node("all", node.origin)}, node.origin)], node.origin, node.tag, "all")
    return node


def watch_rule(node: Node, path: Path) -> Node:
    """`ignore: x` and `include: x` are `[x]`. The rule remembers it was written short: Compose
    compares it, as written, with the expanded rules merged so far, so it is never one of them."""
    if not node.is_map:
        return node
    short = [key for key in ("ignore", "include") if node.get(key) is not None and node.value[key].is_scalar
             and node.value[key].value is not None]
    if short:
        node.raw = repr(node.to_data())
        for key in short:
            node.value[key] = Node([node.value[key]], node.value[key].origin)
    return node


def extends(node: Node, path: Path) -> Node:
    if node.is_scalar and node.value is not None:
        return Node({"service": node}, node.origin, node.tag, node.text())
    return node


KEY_VALUE_PATHS = [
    "services.*.environment", "services.*.labels", "services.*.annotations", "services.*.sysctls",
    "services.*.build.args", "services.*.build.labels", "services.*.build.additional_contexts",
    "services.*.deploy.labels", "networks.*.labels", "volumes.*.labels", "secrets.*.labels", "configs.*.labels",
    "services.*.build.ssh",  # `id=path` entries; a bare `default` is the agent, without a path
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
    (pattern("services.*.extends"), extends),
    (pattern("services.*.gpus"), gpus),
    (pattern("services.*.develop.watch.[]"), watch_rule),
]


# Defaults are filled after merging (and after validating what is merged so far), never per file:
# an override that sets only `required` keeps the `condition` of the file before it.
def build_context_default(node: Node, path: Path) -> Node:
    """A build without a context builds the project directory: the render must say so, since it
    may be read from another directory."""
    if node.is_map:
        node.value.setdefault("context", Node(".", node.origin.with_rule("derived")))
    return node


DEFAULTS: list[tuple[tuple[str, ...], Transform]] = [
    (pattern("services.*.depends_on.*"), dependency_defaults),
    (pattern("services.*.build"), build_context_default),
]


_DEFAULTS, _TRANSFORMS = PatternTable(DEFAULTS), PatternTable(TRANSFORMS)


def fill_defaults(node: Node, path: Path = ()) -> None:
    _fill_defaults(node, path, _reached(_DEFAULTS, path))


def _fill_defaults(node: Node, path: Path, branches: tuple) -> None:
    """Down the tree only as far as some pattern of DEFAULTS goes."""
    for transform in PatternTable.values(branches):
        transform(node, path)
    if node.is_map:
        for key, child in node.value.items():
            below = PatternTable.step(branches, key)
            if below:
                _fill_defaults(child, path + (key,), below)


def canonical(node: Node, path: Path = ()) -> Node:
    """Return the tree with every short form in its long form (children first)."""
    return _canonical(node, path, _reached(_TRANSFORMS, path))


def _canonical(node: Node, path: Path, branches: tuple) -> Node:
    """Down the tree only as far as some pattern of TRANSFORMS goes: below, nothing changes."""
    if node.tag == "!reset":
        return node  # never read: Compose drops it before anything else
    if node.is_map:
        for key in list(node.value):
            below = PatternTable.step(branches, key)
            if below:
                node.value[key] = _canonical(node.value[key], path + (key,), below)
    elif node.is_seq:
        node.value = [_canonical(child, path + (index,), below) if (below := PatternTable.step(branches, index)) else child
                      for index, child in enumerate(node.value)]
    if len(path) >= 2 and path[0] in ("services", "networks", "volumes", "secrets", "configs"):
        for transform in PatternTable.values(branches):   # the first row that matches
            return transform(node, path)
    return node


def _reached(table: PatternTable, path: Path) -> tuple:
    branches = table.start()
    for part in path:
        branches = table.step(branches, part)
    return branches
