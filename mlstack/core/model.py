"""The shared vocabulary of every phase: paths, origins and the provenance-carrying node tree.

A compose document is held as a tree of `Node`s. Each node knows where it came from
(`Origin`: file, line, column, mlstack profile) and which merge rule last touched it, so that
`mlstack explain` can say where any rendered value was set and why.
"""

from __future__ import annotations

from mlstack.records import field, record, replace

from mlstack.report import path_str  # noqa: F401 - the one way a path is written, shared with diagnostics

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms) on a render's path
if TYPE_CHECKING:
    from typing import Any, Iterator

PathPart = str | int
Path = tuple[PathPart, ...]


def parse_path(text: str) -> Path:
    """The inverse of path_str: `services.web.ports[0]` -> ("services", "web", "ports", 0)."""
    parts: list[PathPart] = []
    for chunk in text.split("."):
        while "[" in chunk and chunk.endswith("]"):
            head, _, index = chunk.partition("[")
            if head:
                parts.append(head)
            chunk = "[" + index
            inner, _, rest = chunk[1:].partition("]")
            parts.append(int(inner) if inner.isdigit() else inner)
            chunk = rest
        if chunk:
            parts.append(chunk)
    return tuple(parts)


def matches(path: Path, pattern: tuple[str, ...]) -> bool:
    """A pattern part `*` matches any one key or index; `[]` matches any index."""
    if len(path) != len(pattern):
        return False
    for part, want in zip(path, pattern):
        if want == "*":
            continue
        if want == "[]":
            if not isinstance(part, int):
                return False
            continue
        if part != want:
            return False
    return True


def pattern(text: str) -> tuple[str, ...]:
    return tuple(text.split("."))


class PatternTable:
    """Rows of (pattern, value), looked up by path: the values of the rows whose pattern `matches` the
    path, in row order. One walk down a tree of the patterns' parts instead of a test per row; a walk
    over a document carries the branches reached (`start`, `step`) and stops where none is left."""

    def __init__(self, rows: list[tuple[tuple[str, ...], Any]]) -> None:
        root: list = [{}, []]   # a branch: [{part: branch}, [(row, value) of the patterns that end here]]
        for row, (want, value) in enumerate(rows):
            branch = root
            for part in want:
                branch = branch[0].setdefault(part, [{}, []])
            branch[1].append((row, value))
        self._start = (root,)

    def start(self) -> tuple:
        return self._start

    @staticmethod
    def step(branches: tuple, part: PathPart) -> tuple:
        """The branches one part further down; empty when no pattern goes on with this part."""
        found = []
        for children, _ in branches:
            if not children:
                continue
            if isinstance(part, str) and part != "*" and part != "[]":
                exact = children.get(part)
                if exact is not None:
                    found.append(exact)
            elif isinstance(part, int) and "[]" in children:
                found.append(children["[]"])
            if "*" in children:
                found.append(children["*"])
        return tuple(found)

    @staticmethod
    def values(branches: tuple) -> list:
        rows = [row for _, here in branches for row in here]
        if len(rows) > 1:
            rows.sort(key=lambda row: row[0])
        return [value for _, value in rows]

    def lookup(self, path: Path) -> list:
        branches = self._start
        for part in path:
            branches = self.step(branches, part)
            if not branches:
                return []
        return self.values(branches)


@record(frozen=True)
class Origin:
    """Where a value was set and how the merge treated it."""

    file: str = ""
    line: int = 0
    column: int = 0
    profile: str = ""
    rule: str = "set"  # set | replaced | appended | merged | reset | overridden | interpolated | derived | extended
    # The variables interpolated into the value, each with the text it produced (value or default), in order.
    variables: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def __init__(self, file: str = "", line: int = 0, column: int = 0, profile: str = "", rule: str = "set",
                 variables: tuple[tuple[str, str], ...] = ()) -> None:
        # the fields above, written out: every node has an origin, and record's general __init__ costs twice
        # this (tests/unit/test_records.py holds the two to the same fields)
        self.__dict__.update(file=file, line=line, column=column, profile=profile, rule=rule, variables=variables)

    def with_rule(self, rule: str) -> "Origin":
        return replace(self, rule=rule)

    def interpolated(self, variables: tuple[tuple[str, str], ...]) -> "Origin":
        return replace(self, rule="interpolated", variables=variables)

    def location(self) -> str:
        where = self.file or "<mlstack>"
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return where


class Node:
    """A mapping (dict of str -> Node), a sequence (list of Node) or a scalar.

    `raw` keeps a scalar's source text: Compose builds `KEY=VALUE` strings from it (so `0755`
    stays `0755` in a label while it reads as 493 as a number). On a mapping, it is the short
    syntax the mapping was expanded from (`"8080:80"`), if any.
    """

    __slots__ = ("value", "origin", "tag", "raw")

    def __init__(self, value: Any, origin: Origin, tag: str = "", raw: str | None = None):
        self.value = value
        self.origin = origin
        self.tag = tag
        self.raw = raw

    @property
    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_seq(self) -> bool:
        return isinstance(self.value, list)

    @property
    def is_scalar(self) -> bool:
        return not isinstance(self.value, (dict, list))

    def text(self) -> str:
        """The scalar as Compose's `KEY=VALUE` conversions see it."""
        if self.raw is not None and not isinstance(self.value, (dict, list)):
            return self.raw
        if self.value is None:
            return ""
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        return str(self.value)

    def get(self, key: str) -> "Node | None":
        return self.value.get(key) if isinstance(self.value, dict) else None

    def to_data(self) -> Any:
        if isinstance(self.value, dict):
            return {key: child.to_data() for key, child in self.value.items()}
        if isinstance(self.value, list):
            return [child.to_data() for child in self.value]
        return self.value

    def walk(self, path: Path = ()) -> Iterator[tuple[Path, "Node"]]:
        yield path, self
        if isinstance(self.value, dict):
            for key, child in self.value.items():
                yield from child.walk(path + (key,))
        elif isinstance(self.value, list):
            for index, child in enumerate(self.value):
                yield from child.walk(path + (index,))

    def find(self, path: Path) -> "Node | None":
        node: Node | None = self
        for part in path:
            if node is None:
                return None
            if isinstance(part, int):
                node = node.value[part] if isinstance(node.value, list) and part < len(node.value) else None
            else:
                node = node.value.get(part) if isinstance(node.value, dict) else None
        return node

    def __repr__(self) -> str:  # for test failures
        return f"Node({self.to_data()!r} @ {self.origin.location()})"


def from_data(data: Any, origin: Origin) -> Node:
    """Build a node tree from plain data, every node carrying the same origin."""
    if isinstance(data, dict):
        return Node({str(key): from_data(value, origin) for key, value in data.items()}, origin)
    if isinstance(data, list):
        return Node([from_data(value, origin) for value in data], origin)
    return Node(data, origin)
