"""The only core module that reads files: YAML into located node trees, and .env files.

Scalars are resolved the way Compose's Go YAML decoder resolves them (YAML 1.2 core schema
plus Go's integer syntax), not PyYAML's YAML 1.1 rules: `yes` and `on` stay strings,
`0755` is 493, `1_000` is 1000.
"""

from __future__ import annotations

import errno
import math
import os
import stat
from pathlib import Path as FsPath

from mlstack.core.limits import MAX_DEPTH, MAX_FILE_BYTES, Budget, check_depth, count_nodes, without_aliases_within_budget
from mlstack.core.model import Node, Origin
from mlstack.core.pyyaml import yaml
from mlstack.errors import StackError
from mlstack.report import Diagnostic
from mlstack.patterns import lazy

try:  # the C parser is several times faster; fall back quietly when libyaml is absent
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

COMPOSE_TAGS = {"!reset", "!override"}
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"


class _Loader(_SafeLoader):  # type: ignore[misc, valid-type]
    """The safe loader, minus the YAML 1.1 types of plain scalars: mlstack reads a plain scalar's type
    itself, as Go does (resolve_plain), so PyYAML's patterns need not run, nor be compiled, for each
    scalar composed. Only `<<`, YAML's merge key, keeps its tag."""

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode:
            return _MERGE if implicit[0] and value == "<<" else _STR
        return super().resolve(kind, value, implicit)

_IMPLICIT = {
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:value", "tag:yaml.org,2002:merge",
}
_NULLS = {"", "~", "null", "Null", "NULL"}
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_SPECIAL_FLOATS = {
    ".inf": math.inf, ".Inf": math.inf, ".INF": math.inf, "+.inf": math.inf, "+.Inf": math.inf,
    "+.INF": math.inf, "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf,
    ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan,
}


TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"



class Timestamp(str):
    """A plain scalar Go's decoder reads as a time (`2024-01-01`): Compose then writes it as
    `2024-01-01 00:00:00 +0000 UTC` in KEY=VALUE fields. mlstack keeps the text (a plain str,
    its node tagged TIMESTAMP_TAG) and renders it unquoted, so Compose reads the same time."""


_TIMESTAMP = lazy(
    r"(?P<date>[0-9]{4}-[0-9]{1,2}-[0-9]{1,2})"
    r"(?:(?:[Tt](?P<clock>[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?)(?:Z|[+-][0-9]{2}:[0-9]{2}))"
    r"|(?: (?P<spaced>[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?)))?"
)


def _timestamp(text: str) -> Timestamp | None:
    """Go's layouts: 2006-1-2T15:4:5.999999999Z07:00 (or t), 2006-1-2 15:4:5.999999999, 2006-1-2."""
    if text[4:5] != "-" or not text[:4].isdigit():   # what the pattern needs first: skipped for a port, a size
        return None
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    year, month, day = (int(part) for part in match["date"].split("-"))
    clock = (match["clock"] or match["spaced"] or "0:0:0").split(".")[0]
    hour, minute, second = (int(part) for part in clock.split(":"))
    import datetime   # only for a scalar that looks like a timestamp

    try:
        datetime.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    return Timestamp(text)


def resolve_plain(text: str):
    """Type of an unquoted scalar, as Go's yaml decoder reads it into an `any`."""
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if text in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text]
    first = text[0]
    if not (first.isdigit() or first in "+-."):
        return text
    number = text.replace("_", "")
    integer = _go_int(number)
    if integer is not None:
        return integer
    # the pattern's characters only (strip leaves any other): `5000:5000` is not tried
    if _is_float(number) and not math.isinf(float(number)):  # Go leaves an overflowing float as text
        return float(number)
    return _timestamp(text) or text


def _is_float(text: str) -> bool:
    r"""The whole text matches `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, the decimal floats the
    decoder reads (`1.5`, `.5`, `1.`, `1e3`, `-2.5E-3`): read without compiling the pattern
    (tests/unit/test_load.py holds one to the other)."""
    if text[:1] in ("+", "-"):
        text = text[1:]
    mantissa, mark, exponent = text.replace("E", "e").partition("e")
    if mark:
        exponent = exponent[1:] if exponent[:1] in ("+", "-") else exponent
        if not (exponent.isascii() and exponent.isdigit()):
            return False
    whole, dot, fraction = mantissa.partition(".")
    if not (whole.isascii() and fraction.isascii() and (whole.isdigit() or not whole)
            and (fraction.isdigit() or not fraction)):
        return False
    return bool(whole) or bool(dot and fraction)


def _go_int(text: str) -> int | None:
    sign, body = ("-", text[1:]) if text[:1] == "-" else ("", text[1:] if text[:1] == "+" else text)
    if not body or len(body) > 66:  # 0b and 64 binary digits is the longest 64-bit integer
        return None
    lowered = body[:2].lower()
    try:
        if lowered in ("0x", "0o", "0b"):
            value = int(body, 0)
        elif body[0] == "0" and len(body) > 1:
            value = int(body, 8)
        elif body.isdigit():
            value = int(body)
        else:
            return None
    except ValueError:
        return None
    value = -value if sign else value
    # Go reads an int64 or a uint64; anything wider stays text (and could not be printed again)
    return value if -2**63 <= value < 2**64 else None


class _Builder:
    def __init__(self, filename: str, profile: str):
        self.filename = filename
        self.profile = profile
        self.built: dict[int, Node] = {}

    def origin(self, node: yaml.Node) -> Origin:
        mark = node.start_mark
        return Origin(self.filename, mark.line + 1, mark.column + 1, self.profile)

    def fail(self, node: yaml.Node, message: str) -> StackError:
        mark = node.start_mark
        return StackError(message, [Diagnostic(self.filename, mark.line + 1, mark.column + 1, "", message, "yaml")])

    def build(self, node: yaml.Node) -> Node:
        # aliases share the yaml node; each use gets its own copy so merges never alias
        tag = node.tag if node.tag in COMPOSE_TAGS else ""
        if tag == "" and node.tag not in _IMPLICIT and not node.tag.startswith("tag:yaml.org,2002:"):
            raise self.fail(node, f"unknown YAML tag {node.tag} (Compose knows !reset and !override)")
        origin = self.origin(node)
        if isinstance(node, yaml.ScalarNode):
            plain = not node.style and not tag  # the C parser says '' where the Python one says None
            value = resolve_plain(node.value) if plain else node.value  # a tagged scalar is its text, for Go
            if isinstance(value, Timestamp):
                value, tag = str(value), tag or TIMESTAMP_TAG
            return Node(value, origin, tag, node.value)
        if isinstance(node, yaml.SequenceNode):
            return Node([self.build(item) for item in node.value], origin, tag)
        mapping: dict[str, Node] = {}
        merged: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE or (key_node.value == "<<" and key_node.style is None):
                for source in value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]:
                    if not isinstance(source, yaml.MappingNode):
                        raise self.fail(source, "a YAML merge key (<<) takes a mapping or a list of mappings")
                    for key, child in self.build(source).value.items():
                        merged.setdefault(key, child)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, "mapping keys must be plain strings")
            key = key_node.value
            if not key_node.style and not _is_string_key(key):
                raise self.fail(key_node, f"mapping key {key} is not a string (Compose rejects it): quote it, \"{key}\"")
            if key in mapping:
                raise self.fail(key_node, f"duplicate key {key!r}")
            mapping[key] = self.build(value_node)
        for key, child in merged.items():
            mapping.setdefault(key, child)
        return Node(mapping, origin, tag)


def _is_string_key(text: str) -> bool:
    value = resolve_plain(text)
    return isinstance(value, str) and not isinstance(value, Timestamp)


def parse_yaml(text: str, filename: str, profile: str = "") -> Node:
    """Parse one YAML document into a located node tree; an empty document is an empty mapping."""
    return _parse(text, filename, profile, lambda: [yaml.compose(text, Loader=_Loader)])[0]


def parse_yaml_documents(text: str, filename: str, profile: str = "") -> list[Node]:
    """Every document of a YAML stream (`---` between them), to be merged in turn, as Compose does.

    A file with no document at all (empty, or only comments) is one empty mapping; an empty
    document after a `---` is a null, which the caller rejects, as Compose does.
    """
    return _parse(text, filename, profile, lambda: list(yaml.compose_all(text, Loader=_Loader)) or [None])


def _parse(text: str, filename: str, profile: str, compose) -> list[Node]:
    def fail(mark: yaml.Mark, message: str) -> StackError:
        return StackError(message, [Diagnostic(filename, mark.line + 1, mark.column + 1, "", message, "yaml")])

    try:
        count_nodes(text, _Loader, fail)
        roots = compose()
    except yaml.reader.ReaderError as error:  # a character YAML forbids (NUL, other controls)
        line, column = _line_column(text, error.position)
        message = f"invalid YAML: character {_codepoint(error.character)} is not allowed in YAML"
        raise StackError(message, [Diagnostic(filename, line, column, "", message, "yaml")]) from None
    except RecursionError:  # only the pure-Python parser recurses; libyaml stops at 1000 levels itself
        message = f"YAML nested deeper than {MAX_DEPTH} levels"
        raise StackError(message, [Diagnostic(filename, 1, 0, "", message, "yaml")]) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = error.problem or error.context or "invalid YAML"
        if error.context and error.context_mark and error.problem:
            start = error.context_mark
            problem += f" ({error.context} started at line {start.line + 1}, column {start.column + 1})"
        raise StackError(problem, [Diagnostic(filename, line, column, "", f"invalid YAML: {problem}", "yaml")]) from None
    except yaml.YAMLError as error:
        raise StackError(str(error), [Diagnostic(filename, 1, 0, "", f"invalid YAML: {error}", "yaml")]) from None
    if without_aliases_within_budget(text):
        check_depth(roots, fail)
    else:
        budget = Budget(fail)
        for root in roots:
            if root is not None:
                budget.measure(root)
    builder = _Builder(filename, profile)
    return [Node({}, Origin(filename, 1, 1, profile)) if root is None else builder.build(root) for root in roots]


def _line_column(text: str, position: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, position) + 1
    return text.count("\n", 0, position) + 1, position - line_start + 1


def _codepoint(character) -> str:
    code = character if isinstance(character, int) else ord(character)
    return f"U+{code:04X}"


def resolve_path(path: FsPath) -> FsPath:
    """`path` made absolute, links resolved; a symlink loop is left for file_problem to report."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):  # Python < 3.13 raises RuntimeError on a loop; NUL: ValueError
        return FsPath(os.path.abspath(path))


def file_problem(path: FsPath, what: str, shown: str | None = None) -> str | None:
    """Why `path` cannot be read as `what`, or None: missing, a directory, a symlink loop, not a
    regular file (a FIFO would block, a device never end), over MAX_FILE_BYTES."""
    shown = shown or str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return f"{what} not found: {shown}"
    except OSError as error:
        if error.errno == errno.ELOOP:
            return f"{what} is a symlink loop: {shown}"
        return f"cannot read {what} {shown}: {error.strerror or error}"
    except ValueError:  # no file name holds a NUL character
        return f"{what} name is not a valid path: {shown!r}"
    if stat.S_ISDIR(info.st_mode):
        return f"{what} is a directory, not a file: {shown}"
    if not stat.S_ISREG(info.st_mode):
        return f"{what} is not a regular file: {shown}"
    if info.st_size > MAX_FILE_BYTES:
        return f"{what} is {_size(info.st_size)}, over the {_size(MAX_FILE_BYTES)} limit: {shown}"
    return None


def read_text(path: FsPath, what: str = "file", referenced_from: Origin | None = None,
              display: str | None = None) -> str:
    """A file's text, or a located StackError. Problems with the file as a whole are reported
    where it is named (`referenced_from`); a byte that is not UTF-8 at its own line and column."""
    display = display or str(path)
    message = file_problem(path, what, display)
    if message is None:
        try:
            with open(path, "rb") as stream:
                data = stream.read(MAX_FILE_BYTES + 1)
        except OSError as error:
            message = f"cannot read {what} {display}: {error.strerror or error}"
        else:
            if len(data) <= MAX_FILE_BYTES:
                return _decode(data, display, what)
            message = f"{what} is over the {_size(MAX_FILE_BYTES)} limit: {display}"  # it grew since
    where = referenced_from if referenced_from is not None and referenced_from.file else Origin(display, 1)
    raise StackError(message, [Diagnostic(where.file, where.line, where.column, "", message, "io")])


def _decode(data: bytes, display: str, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line_start = data.rfind(b"\n", 0, error.start) + 1
        line = data.count(b"\n", 0, error.start) + 1
        column = len(data[line_start:error.start].decode("utf-8", "replace")) + 1
        message = f"{what} is not UTF-8 text (byte 0x{data[error.start]:02x}: {error.reason})"
        raise StackError(message, [Diagnostic(display, line, column, "", message, "io")]) from None


def _size(count: int) -> str:
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


def load_yaml_file(path: FsPath, display: str, profile: str = "", what: str = "file",
                   referenced_from: Origin | None = None) -> Node:
    return _mapping(parse_yaml(read_text(path, what, referenced_from, display), display, profile), display, what)


def load_yaml_documents(path: FsPath, display: str, profile: str = "", what: str = "file",
                        referenced_from: Origin | None = None) -> list[Node]:
    text = read_text(path, what, referenced_from, display)
    return [_mapping(node, display, what) for node in parse_yaml_documents(text, display, profile)]


_KINDS = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def _mapping(node: Node, display: str, what: str) -> Node:
    if not node.is_map:
        kind = "an empty document" if node.value is None else _KINDS.get(type(node.value), "a scalar")
        message = f"a {what} must be a YAML mapping, not {kind}"
        raise StackError(message, [Diagnostic(display, node.origin.line, node.origin.column, "", message, "yaml")])
    return node
