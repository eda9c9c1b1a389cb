"""Bounds on what one input file may make mlstack do (docs/stack-definition.md, "Limits").

Each bound is far above what real stacks use and low enough that a broken or hostile file (an
alias bomb, a megabyte of one-character list items, nesting thousands deep) is refused, with
its location, in well under a second instead of exhausting memory or time.
"""

from __future__ import annotations

from mlstack.core.pyyaml import yaml

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms) on a render's path
if TYPE_CHECKING:
    from typing import Callable

    Fail = Callable[[yaml.Mark, str], Exception]

MAX_FILE_BYTES = 1024 * 1024   # real compose files and .env files are a few kB, the largest tens of kB
MAX_NODES = 100_000            # per file, an alias counted again at each use; real files have hundreds
MAX_DEPTH = 64                 # Compose's own nesting goes about 8 levels deep (deploy.resources...)
PRESCAN_BYTES = 64 * 1024      # above this, nodes are counted before composing (which costs ~4x more)


def count_nodes(text: str, loader, fail: Fail) -> None:
    """Refuse a large text with more than MAX_NODES nodes before composing it: events are cheap,
    node objects are not, so a megabyte of `[1,1,1,...]` is refused in a fraction of a second."""
    if len(text) <= PRESCAN_BYTES:
        return
    count = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.NodeEvent):
            count += 1
            if count > MAX_NODES:
                raise fail(event.start_mark, f"more than {MAX_NODES} YAML nodes in one file")


def without_aliases_within_budget(text: str) -> bool:
    """No alias in the text (no `*name`), and too short to reach MAX_NODES even at 4 nodes a character (YAML
    makes at most 3 of one: `?` alone is a mapping, its key and its value): of the Budget, only the depth
    can be exceeded, and `check_depth` says so as the Budget would. Most files are this."""
    return "*" not in text and 4 * len(text) + 4 <= MAX_NODES


def check_depth(roots: list, fail: Fail) -> None:
    """The Budget's depth check for documents without aliases, without its bookkeeping: the first node (in
    the Budget's order: depth first, a mapping's key before its value) that lies deeper than MAX_DEPTH is
    refused, with the Budget's words."""
    for root in roots:
        stack = [] if root is None or isinstance(root, yaml.ScalarNode) else [(root, 1)]
        while stack:
            node, depth = stack.pop()
            children = node.value if isinstance(node, yaml.SequenceNode) else [child for pair in node.value for child in pair]
            if depth >= MAX_DEPTH and children:
                raise fail(children[0].start_mark, f"YAML nested deeper than {MAX_DEPTH} levels")
            stack.extend((child, depth + 1) for child in reversed(children) if not isinstance(child, yaml.ScalarNode))


class Budget:
    """Sizes of composed documents with aliases expanded, checked before anything is built from them.

    Sizes are memoized per yaml node, so a "billion laughs" file is measured in time linear in its
    text; an anchor that contains an alias of itself is found here too. One budget covers all the
    documents of a file.
    """

    def __init__(self, fail: Fail):
        self.fail = fail
        self.total = 0
        self.sizes: dict[int, tuple[int, int]] = {}   # id(node) -> (nodes, height), aliases expanded
        self.open: set[int] = set()

    def measure(self, root: yaml.Node) -> None:
        self.total += self._size(root, 1)[0]

    def _size(self, node: yaml.Node, depth: int) -> tuple[int, int]:
        known = self.sizes.get(id(node))
        if known is None:
            if id(node) in self.open:
                raise self.fail(node.start_mark, "a YAML anchor contains an alias of itself")
            if depth > MAX_DEPTH:
                raise self.fail(node.start_mark, f"YAML nested deeper than {MAX_DEPTH} levels")
            children = ([] if isinstance(node, yaml.ScalarNode) else node.value if isinstance(node, yaml.SequenceNode)
                        else [child for pair in node.value for child in pair])
            self.open.add(id(node))
            count, height = 1, 0
            for child in children:
                child_count, child_height = self._size(child, depth + 1)
                count, height = count + child_count, max(height, child_height)
                if self.total + count > MAX_NODES:
                    raise self.fail(node.start_mark, self._too_many())
            self.open.discard(id(node))
            known = self.sizes[id(node)] = (count, height + 1)
        if depth + known[1] - 1 > MAX_DEPTH:
            raise self.fail(node.start_mark, f"YAML nested deeper than {MAX_DEPTH} levels once aliases are expanded")
        return known

    @staticmethod
    def _too_many() -> str:
        return f"YAML expands to more than {MAX_NODES} nodes here (an alias counts again at each use)"
