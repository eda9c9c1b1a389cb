"""`!reset` and `!override`: taken from a file, then applied to what is merged so far (docs/merge.md).

A `!reset` value leaves the file; an `!override` value stays in it as an ordinary value. Both
paths are removed from what earlier files merged, before the file is merged: that is all an
override is, in Compose.
"""

from __future__ import annotations

from mlstack.core.canonical import AS_LIST
from mlstack.core.merge import mark
from mlstack.core.model import Node, Origin, Path, path_str

def take_tagged(node: Node, path: Path = ()) -> tuple[list[tuple[Path, Node]], list[tuple[Path, Node]]]:
    """Find a file's `!reset` and `!override` values: (resets, overrides).

    A `!reset` value is removed from the file; an `!override` one stays, as an ordinary value.
    Both paths are then removed from what is merged so far (apply_resets), before the file is
    merged: that is all an override is, in Compose.
    """
    resets: list[tuple[Path, Node]] = []
    overrides: list[tuple[Path, Node]] = []

    def walk(current: Node, where: Path, in_sequence: bool) -> None:   # Compose's paths never reach into one
        if current.is_map:
            for key, child in list(current.value.items()):
                if child.tag == "!reset":
                    if not in_sequence:
                        resets.append((where + (key,), child))
                    del current.value[key]
                    continue
                if child.tag == "!override":
                    if not in_sequence:
                        overrides.append((where + (key,), child))
                    child.tag = ""
                    mark(child, "overridden")
                if child.is_map or child.is_seq:
                    walk(child, where + (key,), in_sequence)
        elif current.is_seq:
            for index, child in enumerate(current.value):
                if child.is_map or child.is_seq:
                    walk(child, where + (index,), True)

    walk(node, path, any(isinstance(part, int) for part in path))
    return resets, overrides


def apply_resets(merged: Node, tagged: list[tuple[Path, Node]], tombstones: dict[str, Origin]) -> None:
    """Before a file is merged, as Compose does: remove what its tags name from what is there."""
    for where, node in tagged:
        parent = merged.find(where[:-1])
        if parent is None or not parent.is_map or where[-1] not in parent.value:
            continue
        if parent.raw == AS_LIST:
            continue  # Compose holds these KEY=VALUE entries as a list, where a KEY finds nothing
        del parent.value[where[-1]]
        if node.origin.rule != "overridden":
            tombstones[path_str(where)] = node.origin.with_rule("reset")


def drop_tagged_items(node: Node) -> None:
    """A sequence entry tagged `!reset` is dropped from its own sequence (only there); one tagged
    `!override` is an ordinary entry. Done before anything else reads the file, as Compose does."""
    if node.is_map:
        for child in node.value.values():
            drop_tagged_items(child)
    elif node.is_seq:
        node.value = [child for child in node.value if child.tag != "!reset"]
        for child in node.value:
            if child.tag == "!override":
                child.tag = ""
            drop_tagged_items(child)
