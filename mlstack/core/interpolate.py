"""Variable substitution exactly as Compose does it, applied to every string value of a file.

`$$` is a literal `$`; `$VAR` and `${VAR}`; `${VAR:-default}` / `${VAR-default}` (unset or
empty / unset); `${VAR:?message}` / `${VAR?message}` (required); `${VAR:+alt}` / `${VAR+alt}`.
Defaults and alternatives are themselves interpolated. A `$` not followed by a name or a brace
is kept as it is.
"""

from __future__ import annotations

from typing import Mapping

from mlstack.core.model import Node, Path, path_str
from mlstack.errors import StackError
from mlstack.report import Diagnostic

_NAME_START = set("_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NAME_CHARS = _NAME_START | set("0123456789")


class InterpolationError(Exception):
    pass


def substitute(text: str, env: Mapping[str, str], unset: set[str] | None = None) -> str:
    """Interpolate one string; raises InterpolationError with Compose's wording."""
    if "$" not in text:
        return text
    out: list[str] = []
    i, length = 0, len(text)
    while i < length:
        char = text[i]
        if char != "$":
            out.append(char)
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < length else ""
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "{":
            end = _closing_brace(text, i + 2)
            if end < 0:
                raise InterpolationError("invalid interpolation format")
            out.append(_braced(text[i + 2:end], env, unset))
            i = end + 1
        elif nxt in _NAME_START:
            j = i + 1
            while j < length and text[j] in _NAME_CHARS:
                j += 1
            out.append(_lookup(text[i + 1:j], env, unset))
            i = j
        else:
            out.append("$")
            i += 1
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _lookup(name: str, env: Mapping[str, str], unset: set[str] | None) -> str:
    if name in env:
        return env[name]
    if unset is not None:
        unset.add(name)
    return ""


def _braced(body: str, env: Mapping[str, str], unset: set[str] | None) -> str:
    j = 0
    while j < len(body) and body[j] in _NAME_CHARS:
        j += 1
    name, rest = body[:j], body[j:]
    if not name or name[0] not in _NAME_START:
        raise InterpolationError("invalid interpolation format")
    if not rest:
        return _lookup(name, env, unset)
    for operator in (":-", ":?", ":+", "-", "?", "+"):
        if rest.startswith(operator):
            argument = rest[len(operator):]
            break
    else:
        raise InterpolationError("invalid interpolation format")
    value = env.get(name)
    empty_counts = operator.startswith(":")
    missing = value is None or (empty_counts and value == "")
    kind = operator[-1]
    if kind == "-":
        return substitute(argument, env, unset) if missing else value  # type: ignore[return-value]
    if kind == "+":
        return "" if missing else substitute(argument, env, unset)
    if missing:
        message = f"required variable {name} is missing a value"
        detail = substitute(argument, env, unset)
        raise InterpolationError(f"{message}: {detail}" if detail else message)
    return value  # type: ignore[return-value]


def interpolate(root: Node, env: Mapping[str, str], unset: set[str] | None = None) -> None:
    """Interpolate every string scalar in place; all failures are reported at once."""
    problems: list[Diagnostic] = []
    _walk(root, (), env, unset, problems)
    if problems:
        raise StackError(problems[0].message, problems)


def _walk(node: Node, path: Path, env: Mapping[str, str], unset, problems: list[Diagnostic]) -> None:
    value = node.value
    if isinstance(value, dict):
        for key, child in value.items():
            _walk(child, path + (key,), env, unset, problems)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            _walk(child, path + (index,), env, unset, problems)
    elif isinstance(value, str) and "$" in value:
        try:
            node.value = substitute(value, env, unset)
        except InterpolationError as error:
            origin = node.origin
            problems.append(Diagnostic(origin.file, origin.line, origin.column, path_str(path), str(error), "interpolate"))
            return
        node.raw = None
        if node.value != value:
            node.origin = node.origin.with_rule("interpolated")
