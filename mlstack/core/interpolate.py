"""Variable substitution exactly as Compose does it, applied to every string value of a file.

`$$` is a literal `$`; `$VAR` and `${VAR}`; `${VAR:-default}` / `${VAR-default}` (unset or
empty / unset); `${VAR:?message}` / `${VAR?message}` (required); `${VAR:+alt}` / `${VAR+alt}`.
Defaults and alternatives are themselves interpolated. A `$` not followed by a name or a brace
is kept as it is.
"""

from __future__ import annotations

from mlstack.core.go_values import go_float, go_int
from mlstack.core.model import Node, Path, PatternTable, path_str, pattern
from mlstack.errors import StackError
from mlstack.report import Diagnostic

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms) on a render's path
if TYPE_CHECKING:
    from typing import Callable, Mapping

_NAME_START = set("_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NAME_CHARS = _NAME_START | set("0123456789")


class InterpolationError(Exception):
    pass


def substitute(text: str, env: Mapping[str, str], unset: set[str] | None = None,
               seen: list[tuple[str, str]] | None = None) -> str:
    """Interpolate one string; raises InterpolationError with Compose's wording.

    `unset` collects the names that had no value; `seen`, each variable with the text it produced
    (its value, or its default), in order."""
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
            body = text[i + 2:end]
            out.append(_braced(body, env, unset, seen))
            if seen is not None:
                seen.append((_leading_name(body), out[-1]))
            i = end + 1
        elif nxt in _NAME_START:
            j = i + 1
            while j < length and text[j] in _NAME_CHARS:
                j += 1
            out.append(_lookup(text[i + 1:j], env, unset))
            if seen is not None:
                seen.append((text[i + 1:j], out[-1]))
            i = j
        else:
            out.append("$")
            i += 1
    return "".join(out)


MAX_NESTING = 32  # `${A:-${B:-...}}` levels; real files use two or three (docs/stack-definition.md, "Limits")


def _closing_brace(text: str, start: int) -> int:
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            if depth > MAX_NESTING:  # each level is a recursive substitution
                raise InterpolationError(f"variables nested deeper than {MAX_NESTING} levels")
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


def _leading_name(body: str) -> str:
    j = 0
    while j < len(body) and body[j] in _NAME_CHARS:
        j += 1
    return body[:j]


def _braced(body: str, env: Mapping[str, str], unset: set[str] | None, seen: list | None = None) -> str:
    name = _leading_name(body)
    rest = body[len(name):]
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
        return substitute(argument, env, unset, seen) if missing else value  # type: ignore[return-value]
    if kind == "+":
        return "" if missing else substitute(argument, env, unset, seen)
    if missing:
        message = f"required variable {name} is missing a value"
        detail = substitute(argument, env, unset)
        raise InterpolationError(f"{message}: {detail}" if detail else message)
    return value  # type: ignore[return-value]


# --- typed fields: after substitution, Compose casts the strings found at these paths ------------
def _to_int(text: str) -> int:
    value = go_int(text)
    if value is None:
        raise ValueError(f"invalid integer: {text}")
    return value


def _to_float(bits: int) -> Callable[[str], float]:
    """strconv.ParseFloat(text, bits): `cpus` is read as a float32, so 3.5e38 is out of range."""
    def cast(text: str) -> float:
        try:
            return go_float(text, bits)
        except ValueError:
            raise ValueError(f"invalid number: {text}") from None
    return cast


def _to_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "y", "yes", "on"):
        return True
    if lowered in ("false", "n", "no", "off"):
        return False
    raise ValueError(f"invalid boolean: {text}")


CASTS: list[tuple[tuple[str, ...], Callable[[str], object]]] = [
    *[(pattern(f"services.*.{field}"), _to_int) for field in (
        "cpu_count", "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpu_shares", "oom_score_adj",
        "pids_limit", "ulimits.*", "ulimits.*.hard", "ulimits.*.soft", "healthcheck.retries", "ports.[].target",
        "deploy.replicas", "deploy.update_config.parallelism", "deploy.rollback_config.parallelism",
        "deploy.restart_policy.max_attempts", "deploy.placement.max_replicas_per_node", "scale",
    )],
    *[(pattern(f"services.*.{field}"), _to_float(64)) for field in (
        "cpu_percent", "deploy.update_config.max_failure_ratio", "deploy.rollback_config.max_failure_ratio",
    )],
    (pattern("services.*.cpus"), _to_float(32)),
    *[(pattern(f"services.*.{field}"), _to_bool) for field in (
        "init", "oom_kill_disable", "privileged", "read_only", "stdin_open", "tty", "healthcheck.disable",
        "volumes.[].read_only", "volumes.[].volume.nocopy", "depends_on.*.required", "depends_on.*.restart",
    )],
    *[(pattern(f"{resource}.*.{field}"), _to_bool) for resource, field in (
        ("networks", "external"), ("networks", "internal"), ("networks", "attachable"), ("networks", "enable_ipv4"),
        ("networks", "enable_ipv6"), ("volumes", "external"), ("secrets", "external"), ("configs", "external"),
    )],
]


_CASTS = PatternTable(CASTS)


def interpolate(root: Node, env: Mapping[str, str], unset: set[str] | None = None) -> None:
    """Interpolate every string scalar in place, then cast typed fields; all failures at once."""
    problems: list[Diagnostic] = []
    _walk(root, (), env, unset, problems, _CASTS.start())
    if problems:
        raise StackError(problems[0].message, problems)


def _walk(node: Node, path: Path, env: Mapping[str, str], unset, problems: list[Diagnostic], casts: tuple) -> None:
    """`casts`: the branches of CASTS this path reaches (PatternTable.step), empty below any cast."""
    if node.tag == "!reset":
        return  # a reset value is never read: Compose drops it before interpolating
    value = node.value
    if isinstance(value, dict):
        for key, child in value.items():
            _walk(child, path + (key,), env, unset, problems, PatternTable.step(casts, key) if casts else ())
    elif isinstance(value, list):
        for index, child in enumerate(value):
            _walk(child, path + (index,), env, unset, problems, PatternTable.step(casts, index) if casts else ())
    elif isinstance(value, str):
        origin = node.origin
        if "$" in value:
            seen: list[tuple[str, str]] = []
            try:
                node.value = substitute(value, env, unset, seen)
            except InterpolationError as error:
                problems.append(Diagnostic.at(origin, path_str(path), str(error), "interpolate"))
                return
            node.raw = None
            if node.value != value:
                node.origin = origin.interpolated(tuple(seen))
        found = PatternTable.values(casts) if casts else ()
        if found:
            cast = found[0]
            try:
                node.value = cast(node.value)
            except ValueError as error:
                message = f"failed to cast to expected type: {error}"
                problems.append(Diagnostic.at(origin, path_str(path), message, "interpolate"))
            node.raw = None
