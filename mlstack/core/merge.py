"""Merging compose files exactly as Docker Compose does, recording why every value is there.

Two tables drive it, read top to bottom:
- MERGE_RULES: how a path merges when a later file sets it (default: mappings merge key by key,
  sequences append, scalars are replaced);
- UNIQUE_KEYS: sequences whose entries are de-duplicated after appending, by a key (a port by
  ip/published/target/protocol, a mount by target...): a later entry replaces the earlier one in
  the earlier one's position.
`!reset` removes a value from what earlier files set; `!override` replaces it without merging.
"""

from __future__ import annotations

from mlstack.core.canonical import AS_LIST
from mlstack.core.model import Node, Path, PatternTable, matches, path_str, pattern
from mlstack.errors import StackError
from mlstack.report import Diagnostic

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms) on a render's path
if TYPE_CHECKING:
    from typing import Callable

    Merger = Callable[[Node, Node, Path], Node]


SSH = pattern("services.*.build.ssh")


def mark(node: Node, rule: str) -> Node:
    node.origin = node.origin.with_rule(rule)
    return node


def merge_nodes(base: Node | None, over: Node | None, path: Path) -> Node | None:
    if over is None:
        return base
    if base is None:
        return over
    for merger in _MERGE_RULES.lookup(path):   # the first rule that matches
        return merger(base, over, path)
    return default_merge(base, over, path)


def default_merge(base: Node, over: Node, path: Path) -> Node:
    """Mappings merge key by key; sequences take the later entries they lack; a scalar is replaced.

    A later null keeps what was there; a mapping or a sequence can only be merged with its kind.
    """
    if over.value is None:
        return base
    if base.is_map and over.is_map:
        return merge_mappings(base, over, path)
    if base.is_seq and over.is_seq:
        return append_new(base, over, path)
    if base.is_scalar:
        return replaced(base, over, path)
    raise _cannot_merge(_kind(over), _kind(base), over, path)


def _cannot_merge(over_kind: str, base_kind: str, over: Node, path: Path) -> StackError:
    message = f"cannot merge a {over_kind} into a {base_kind}"
    origin = over.origin
    return StackError(message, [Diagnostic.at(origin, path_str(path), message, "merge")])


def append_new(base: Node, over: Node, path: Path) -> Node:
    """Append the later entries not there yet; entries already repeated stay repeated.

    Compose compares the merged (expanded) entries with the later file's entries as written, so
    a short form never equals what is there; UNIQUE_KEYS then settles entries with the same key.
    """
    kept = list(base.value)
    seen = [_identity(child) for child in kept]
    for child in over.value:
        identity = ("short", child.raw) if child.is_map and child.raw is not None else _identity(child)
        if identity not in seen:
            seen.append(identity)
            kept.append(mark(child, "appended"))
    return Node(kept, base.origin.with_rule("appended"))


def _identity(node: Node):
    """A comparable form where 1, 1.0, True and "1" all differ, as they do for Compose."""
    if node.is_map:
        return ("map", tuple(sorted((key, _identity(child)) for key, child in node.value.items())))
    if node.is_seq:
        return ("seq", tuple(_identity(child) for child in node.value))
    return (type(node.value).__name__, node.value)


def _kind(node: Node) -> str:
    return "mapping" if node.is_map else "sequence" if node.is_seq else "scalar"


def replaced(base: Node, over: Node, path: Path) -> Node:
    return mark(over, "replaced")


def merge_mappings(base: Node, over: Node, path: Path) -> Node:
    result = dict(base.value)
    for key, value in over.value.items():
        existing = result.get(key)
        if existing is None:
            result[key] = value
            continue
        result[key] = merge_nodes(existing, value, path + (key,))
    return Node(result, base.origin.with_rule("merged") if over.value else base.origin, base.tag)


def merge_key_values(base: Node, over: Node, path: Path) -> Node:
    """environment, labels, args...: canonical mappings, so a later KEY wins in place."""
    result = dict(base.value or {})
    for key, value in (over.value or {}).items():
        result[key] = mark(value, "replaced" if key in result else "appended")
    origin = base.origin.with_rule("merged") if base.value is not None else over.origin
    return Node(result if base.value is not None or over.value is not None else None, origin, base.tag, AS_LIST)


def merge_logging(base: Node, over: Node, path: Path) -> Node:
    if not (base.is_map and over.is_map):
        return replaced(base, over, path)
    base_driver, over_driver = base.get("driver"), over.get("driver")
    if base_driver is None or over_driver is None or base_driver.value == over_driver.value:
        return merge_mappings(base, over, path)
    return replaced(base, over, path)


def merge_ulimit(base: Node, over: Node, path: Path) -> Node:
    if base.is_map and over.is_map:
        return merge_mappings(base, over, path)
    return replaced(base, over, path)


def merge_extra_hosts(base: Node, over: Node, path: Path) -> Node:
    """As sequences of host=ip (a mapping sorted by host); the later ones not there yet appended.
    Nothing at all is a null, as in Compose (where the schema then rejects it)."""
    def entries(node: Node) -> list[Node]:
        if node.value is None:
            return []
        if node.is_map:
            out = []
            for host, ips in sorted(node.value.items()):
                for ip in (ips.value if ips.is_seq else [ips]):
                    out.append(Node(host if ip.value is None else f"{host}={ip.text()}", ip.origin))
            return out
        return list(node.value) if node.is_seq else [node]

    left = entries(base)
    seen = {entry.text() for entry in left}
    added = [mark(entry, "appended") for entry in entries(over) if entry.text() not in seen]
    return Node(left + added or None, base.origin.with_rule("appended"))


def merge_gpus(base: Node, over: Node, path: Path) -> Node:
    """Compose expands `gpus: all` only after merging: the text `all` cannot be merged into a list.

    What is merged so far is expanded (enforce_unicity forgets the text), so `all` in a later file is refused;
    an extended service is not, so there `all` and a list replace each other.
    """
    def short(node: Node) -> bool:
        return node.is_seq and node.raw is not None

    if short(over) and base.value is not None:
        if not short(base):
            raise _cannot_merge("scalar", "sequence", over, path)
        return replaced(base, over, path)
    if short(base) and over.is_seq:
        return replaced(base, over, path)
    return default_merge(base, over, path)


def merge_ssh(base: Node, over: Node, path: Path) -> Node:
    """Compose expands a `build.ssh` list into a mapping only after merging: what is merged so far
    is a mapping (enforce_unicity forgets it was a list), so a later list is refused; in
    `extends`, nothing is expanded yet, so a list and a mapping are refused either way round."""
    if base.value is not None and over.value is not None and (over.raw == AS_LIST) != (base.raw == AS_LIST):
        raise _cannot_merge("sequence" if over.raw == AS_LIST else "mapping",
                            "sequence" if base.raw == AS_LIST else "mapping", over, path)
    return default_merge(base, over, path)


def merge_ipam_config(base: Node, over: Node, path: Path) -> Node:
    """Compose's subnet-matching merge, reproduced step by step, its surprises included.

    For each earlier config, each later one with another subnet is added once; otherwise it is
    merged INTO the earlier config (which then takes its subnet) and that config replaces the
    first one with the same subnet. Earlier configs no later one matches are dropped.
    """
    if not (base.is_seq and over.is_seq):
        return replaced(base, over, path)
    configs: list[Node] = []

    def subnet(node: Node):
        value = node.get("subnet") if node.is_map else None
        return None if value is None else _identity(value)

    for right in base.value:
        for left in over.value:
            if subnet(left) != subnet(right) and not any(subnet(config) == subnet(left) for config in configs):
                configs.append(mark(left, "appended"))
                continue
            right.value = merge_mappings(right, left, path).value  # in place, as Compose mutates it
            right.origin = right.origin.with_rule("merged")
            same = [index for index, config in enumerate(configs) if subnet(config) == subnet(right)]
            if same:
                configs[same[0]] = right
            else:
                configs.append(right)
    return Node(configs, base.origin.with_rule("merged"))


MERGE_RULES: list[tuple[tuple[str, ...], Merger]] = [
    (pattern("networks.*.ipam.config"), merge_ipam_config),
    (pattern("services.*.command"), replaced),
    (pattern("services.*.entrypoint"), replaced),
    (pattern("services.*.healthcheck.test"), replaced),
    (pattern("services.*.logging"), merge_logging),
    (pattern("services.*.ulimits.*"), merge_ulimit),
    (pattern("services.*.extra_hosts"), merge_extra_hosts),
    (pattern("services.*.gpus"), merge_gpus),
    (SSH, merge_ssh),
    (pattern("services.*.build.extra_hosts"), merge_extra_hosts),
    *[(pattern(text), merge_key_values) for text in (
        "services.*.environment", "services.*.labels", "services.*.annotations", "services.*.sysctls",
        "services.*.build.args", "services.*.build.labels", "services.*.build.additional_contexts",
        "services.*.deploy.labels", "networks.*.labels", "volumes.*.labels", "secrets.*.labels", "configs.*.labels",
    )],
]
_MERGE_RULES = PatternTable(MERGE_RULES)


# --- de-duplication of sequences ----------------------------------------------------------
def _whole(node: Node) -> str:
    return node.text() if node.is_scalar else repr(node.to_data())


def _before_equals(node: Node) -> str:
    return node.text().split("=", 1)[0] if node.is_scalar else repr(node.to_data())


def _port_key(node: Node) -> str:
    """Compose's key: host_ip:published:target/protocol, where published 8080 and "8080" differ."""
    if not node.is_map:
        return _whole(node)
    data = node.to_data()
    published = data.get("published")
    published_text = published if isinstance(published, str) else f"%!s({type(published).__name__}={published})"
    return f"{data.get('host_ip', '0.0.0.0')}:{published_text}:{data.get('target')}/{data.get('protocol', 'tcp')}"


def _target_key(node: Node) -> str:
    if node.is_map:
        target = node.get("target")
        return target.text() if target is not None else repr(node.to_data())
    return _whole(node)


def _mount_key(default_dir: str) -> Callable[[Node], str]:
    def key(node: Node) -> str:
        if node.is_map:
            target = node.get("target")
            if target is not None:
                return target.text()
            source = node.get("source")
            return f"{default_dir}/{source.text() if source is not None else ''}"
        return f"{default_dir}/{node.text()}"
    return key


def _env_file_key(node: Node) -> str:
    if node.is_map:
        path = node.get("path")
        return path.text() if path is not None else repr(node.to_data())
    return node.text()


def _device_key(node: Node) -> str:
    if node.is_map:
        target = node.get("target")
        return target.text() if target is not None else repr(node.to_data())
    parts = node.text().split(":")
    return parts[1] if len(parts) > 1 else parts[0]


UNIQUE_KEYS: list[tuple[tuple[str, ...], Callable[[Node], str]]] = [
    (pattern("services.*.ports"), _port_key),
    (pattern("services.*.volumes"), _target_key),
    (pattern("services.*.secrets"), _mount_key("/run/secrets")),
    (pattern("services.*.configs"), _mount_key("")),
    (pattern("services.*.devices"), _device_key),
    (pattern("services.*.env_file"), _env_file_key),
    (pattern("services.*.expose"), _whole),
    (pattern("services.*.cap_add"), _before_equals),
    (pattern("services.*.cap_drop"), _before_equals),
    (pattern("services.*.links"), _before_equals),
    (pattern("services.*.profiles"), _before_equals),
    (pattern("services.*.dns"), _before_equals),
    (pattern("services.*.dns_opt"), _before_equals),
    (pattern("services.*.dns_search"), _before_equals),
    (pattern("services.*.tmpfs"), _before_equals),
    (pattern("services.*.build.tags"), _before_equals),
    (pattern("services.*.networks.*.aliases"), _before_equals),
    (pattern("services.*.networks.*.link_local_ips"), _before_equals),
    (pattern("networks.*.ipam.options"), _before_equals),
]


_UNIQUE_KEYS = PatternTable(UNIQUE_KEYS)

# Compose de-duplicates twice: before expanding the file just merged (its short ports keyed by
# their text, "8080:80") and after (every port by host_ip:published:target/protocol).
KEYED_BY_TEXT_FIRST = [pattern("services.*.ports")]


def enforce_unicity(node: Node, path: Path = ()) -> None:
    """De-duplicate by UNIQUE_KEYS, then forget which entries were short forms: merged, they
    are what the next file is compared with, as expanded entries."""
    if node.is_map:
        if matches(path, SSH):
            node.raw = None  # merged, a `build.ssh` list is the mapping it stands for
        for key, child in node.value.items():
            enforce_unicity(child, path + (key,))
        return
    if not node.is_seq or len(path) < 3:
        return
    for key_of in _UNIQUE_KEYS.lookup(path):   # the first row that matches
        if any(matches(path, first) for first in KEYED_BY_TEXT_FIRST):
            node.value = _unique(node.value, lambda entry: entry.raw if entry.is_map and entry.raw else key_of(entry))
        node.value = _unique(node.value, key_of)
        break
    node.raw = None  # `gpus: all`, as merged, is the list it stands for
    for entry in node.value:
        if entry.is_map:
            entry.raw = None


def _unique(entries: list[Node], key_of: Callable[[Node], str]) -> list[Node]:
    """One entry per key: the later one, in the place of the first."""
    kept: list[Node] = []
    where: dict[str, int] = {}
    for entry in entries:
        key = key_of(entry)
        if key in where:
            kept[where[key]] = mark(entry, "replaced")
        else:
            where[key] = len(kept)
            kept.append(entry)
    return kept
