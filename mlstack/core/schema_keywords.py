"""The schema validator's keywords: one builder per keyword, and the table they are read from.

`KEYWORDS`, read top to bottom: the keywords, the value classes they apply to (None: all) and the
builder that compiles them into a check over the node tree; `ANNOTATIONS` never fail. A builder
gets the compiler (schema.py) to compile the subschemas it holds.
"""

from __future__ import annotations

import re
from collections import namedtuple

from mlstack.core.model import Node, Path
from mlstack.core.schema_words import VALUE_WORDS, expected, join, matches_type, quoted, show, show_option, unknown_key


# A failed keyword before it becomes a Diagnostic (node: Node, path: Path, message, keyword: str);
# `keyword` helps pick among oneOf branches
Problem = namedtuple("Problem", ["node", "path", "message", "keyword"])

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms) on a render's path
if TYPE_CHECKING:
    from typing import Any, Callable, Protocol

    Check = Callable[[Node, Path, list], None]

    class Compiler(Protocol):
        """What a keyword builder asks of the compiler (schema.Compiler)."""

        def compile(self, schema: Any) -> Check: ...

        def ref(self, ref: str) -> Check: ...

        def accepted_types(self, schema: Any) -> tuple[str, ...] | None: ...

        def evaluated_keys(self, schema: Any) -> tuple[list[str], list[str]]: ...


def accept(node: Node, path: Path, problems: list) -> None:
    return None


def reject(node: Node, path: Path, problems: list) -> None:
    problems.append(Problem(node, path, "no value is allowed here", "false"))


# --- value equality as JSON Schema has it (1 == 1.0, True != 1) --------------------------------
def _frozen(value: Any) -> Any:
    cls = type(value)
    if cls is bool:
        return ("boolean", value)
    if cls is int or cls is float:
        return ("number", value)
    if cls is list:
        return ("array", tuple(_frozen(item) for item in value))
    if cls is dict:
        return ("object", frozenset((key, _frozen(item)) for key, item in value.items()))
    return (cls.__name__, value)


def _frozen_node(node: Node) -> Any:
    value = node.value
    if isinstance(value, (dict, list)):
        return _frozen(node.to_data())
    return _frozen(value)


def _key_test(text: str) -> Callable[[str], Any]:
    """A patternProperties pattern as a test of a key; `^x-` is a plain prefix, the common case."""
    prefix = text[1:]
    if text[:1] == "^" and prefix and all(char.isascii() and (char.isalnum() or char in "_-") for char in prefix):
        return lambda key: key.startswith(prefix)
    return re.compile(text).search


# --- keywords: (keywords, the value classes they apply to (None: all), builder) ---------------------
def _members(compiler: Compiler, schema: dict) -> Check:
    declared = schema.get("properties", {})
    properties: dict[str, Check] = {}   # compiled when a document first has the key: most never do

    def property_check(key: str) -> Check | None:
        sub = properties.get(key)
        if sub is None and key in declared:
            sub = properties[key] = compiler.compile(declared[key])
        return sub

    additional = schema.get("additionalProperties", True)
    checking: list[tuple[Callable[[str], Any], Check]] = []
    accepting: list[Callable[[str], Any]] = []  # only decide whether a key is known
    for text, sub in schema.get("patternProperties", {}).items():
        check_pattern = compiler.compile(sub)
        if check_pattern is not accept:
            checking.append((_key_test(text), check_pattern))
        elif additional is not True:
            accepting.append(_key_test(text))
    names = list(declared)
    shown_patterns = [text for text in schema.get("patternProperties", {}) if text != "^x-"]
    extra = compiler.compile(additional) if not isinstance(additional, bool) else None

    def check(node: Node, path: Path, problems: list) -> None:
        for key, child in node.value.items():
            sub = property_check(key)
            matched = sub is not None
            if matched and sub is not accept:
                sub(child, path + (key,), problems)
            for test, sub in checking:
                if test(key):
                    matched = True
                    sub(child, path + (key,), problems)
            if matched or additional is True or any(test(key) for test in accepting):
                continue
            if additional is False:
                problems.append(Problem(child, path, unknown_key(key, names, shown_patterns), "additionalProperties"))
            else:
                extra(child, path + (key,), problems)

    return check


def _unevaluated(compiler: Compiler, schema: dict) -> Check | None:
    rest = schema["unevaluatedProperties"]
    if rest is True:
        return None
    names, pattern_texts = compiler.evaluated_keys(schema)
    known = frozenset(names)
    patterns = [_key_test(text) for text in pattern_texts]
    shown_patterns = [text for text in pattern_texts if text != "^x-"]
    extra = compiler.compile(rest) if rest is not False else None

    def check(node: Node, path: Path, problems: list) -> None:
        for key, child in node.value.items():
            if key in known or any(test(key) for test in patterns):
                continue
            if extra is None:
                problems.append(Problem(child, path, unknown_key(key, names, shown_patterns), "unevaluatedProperties"))
            else:
                extra(child, path + (key,), problems)

    return check


def _required(compiler: Compiler, schema: dict) -> Check:
    required = list(schema["required"])

    def check(node: Node, path: Path, problems: list) -> None:
        for name in required:
            if name not in node.value:
                problems.append(Problem(node, path, f'missing required key "{name}"', "required"))

    return check


def _dependencies(compiler: Compiler, schema: dict) -> Check:
    rules = [(key, list(then) if isinstance(then, list) else compiler.compile(then))
             for key, then in schema["dependencies"].items()]

    def check(node: Node, path: Path, problems: list) -> None:
        for key, then in rules:
            if key not in node.value:
                continue
            if isinstance(then, list):
                for name in then:
                    if name not in node.value:
                        problems.append(Problem(node, path, f'"{name}" is required when "{key}" is set', "required"))
            else:
                then(node, path, problems)

    return check


def _count(schema: dict, low: str, high: str, noun: str) -> Check:
    """minItems/maxItems, minLength/maxLength, minProperties/maxProperties: all a len()."""
    least, most = schema.get(low), schema.get(high)

    def check(node: Node, path: Path, problems: list) -> None:
        count = len(node.value)
        if least is not None and count < least:
            message = "must not be empty" if least == 1 else f"must have at least {least} {noun}, has {count}"
            problems.append(Problem(node, path, message, low))
        if most is not None and count > most:
            problems.append(Problem(node, path, f"must have at most {most} {noun}, has {count}", high))

    return check


def _items(compiler: Compiler, schema: dict) -> Check | None:
    if isinstance(schema["items"], list):
        raise NotImplementedError("items as a list (tuple validation) is not supported")
    item = compiler.compile(schema["items"])
    if item is accept:
        return None

    def check(node: Node, path: Path, problems: list) -> None:
        for index, child in enumerate(node.value):
            item(child, path + (index,), problems)

    return check


def _unique(compiler: Compiler, schema: dict) -> Check | None:
    if not schema["uniqueItems"]:
        return None

    def check(node: Node, path: Path, problems: list) -> None:
        seen: dict[Any, int] = {}
        for index, child in enumerate(node.value):
            key = _frozen_node(child)
            if key in seen:
                message = f"duplicate item {show(child.value)} (also at [{seen[key]}])"
                problems.append(Problem(child, path + (index,), message, "uniqueItems"))
            else:
                seen[key] = index

    return check


def _pattern(compiler: Compiler, schema: dict) -> Check:
    text = schema["pattern"]
    regex = re.compile(text)

    def check(node: Node, path: Path, problems: list) -> None:
        if not regex.search(node.value):
            problems.append(Problem(node, path, f"{show(node.value)} does not match {text}", "pattern"))

    return check


def _bounds(compiler: Compiler, schema: dict) -> Check:
    rules = [(schema[keyword], keyword, test, words) for keyword, test, words in (
        ("minimum", lambda value, bound: value < bound, "at least"),
        ("maximum", lambda value, bound: value > bound, "at most"),
    ) if keyword in schema]

    def check(node: Node, path: Path, problems: list) -> None:
        for bound, keyword, test, words in rules:
            if test(node.value, bound):
                problems.append(Problem(node, path, f"must be {words} {bound}, got {node.value}", keyword))

    return check


def _enum(compiler: Compiler, schema: dict) -> Check:
    options = schema["enum"] if "enum" in schema else [schema["const"]]
    allowed = frozenset(_frozen(option) for option in options)
    if len(options) == 1:
        wanted = f"expected {show(options[0])}"
    else:
        wanted = f"is not one of: {', '.join(show_option(option) for option in options)}"
    keyword = "enum" if "enum" in schema else "const"

    def check(node: Node, path: Path, problems: list) -> None:
        if _frozen_node(node) not in allowed:
            shown = show(node.value)
            message = f"{wanted}, got {shown}" if len(options) == 1 else f"{shown} {wanted}"
            problems.append(Problem(node, path, message, keyword))

    return check


def _ref(compiler: Compiler, schema: dict) -> Check:
    return compiler.ref(schema["$ref"])


def _all_of(compiler: Compiler, schema: dict) -> Check:
    parts = [compiler.compile(part) for part in schema["allOf"]]

    def check(node: Node, path: Path, problems: list) -> None:
        for part in parts:
            part(node, path, problems)

    return parts[0] if len(parts) == 1 else check


def _not(compiler: Compiler, schema: dict) -> Check:
    forbidden = compiler.compile(schema["not"])
    inner = schema["not"]
    keys = inner.get("required", []) if isinstance(inner, dict) and set(inner) == {"required"} else []
    message = f"{quoted(keys)} must not be set here" if keys else "this value is not allowed here"

    def check(node: Node, path: Path, problems: list) -> None:
        found: list[Problem] = []
        forbidden(node, path, found)
        if not found:
            problems.append(Problem(node, path, message, "not"))

    return check


def _alternatives(keyword: str):
    exactly_one = keyword == "oneOf"

    def build(compiler: Compiler, schema: dict) -> Check:
        branches = [(compiler.compile(sub), compiler.accepted_types(sub), compiler.normal(sub)) for sub in schema[keyword]]

        def check(node: Node, path: Path, problems: list) -> None:
            value = node.value
            failures: list[tuple[list[Problem], Any]] = []
            passed = 0
            for branch, types, sub in branches:
                if types is not None and not matches_type(value, types):
                    continue  # it would only say "wrong type"
                found: list[Problem] = []
                branch(node, path, found)
                if found:
                    failures.append((found, sub))
                elif not exactly_one:
                    return
                else:
                    passed += 1
            if passed == 1:
                return
            if passed > 1:
                problems.append(Problem(node, path, "matches more than one of the allowed forms", keyword))
                return
            problems.extend(_most_relevant(node, path, failures, branches, exactly_one))

        return check

    return build


def _most_relevant(node: Node, path: Path, failures: list, branches: list, exactly_one: bool) -> list[Problem]:
    """Of the failed branches, the problems of the one the user most likely meant."""
    if not failures:  # no branch takes a value of this type
        types = tuple(dict.fromkeys(t for _, branch_types, _ in branches for t in branch_types or ()))
        return [Problem(node, path, f"expected {expected(types)}, got {VALUE_WORDS[type(node.value)]}", "type")]
    if len(failures) == 1:
        return failures[0][0]
    shapes = [sub.get("required") if isinstance(sub, dict) else None for _, sub in failures]
    only_shape = all(p.keyword in ("required", "not") and p.path == path for found, _ in failures for p in found)
    if only_shape and all(shapes):
        forms = [quoted(keys) for keys in shapes]
        message = f"needs either {join(forms)}, not both" if exactly_one and len(forms) == 2 else (
            f"needs exactly one of: {join(forms)}" if exactly_one else f"needs {join(forms)}")
        return [Problem(node, path, message, "required")]
    found, _ = min(failures, key=lambda failure: (len(failure[0]), -max(len(p.path) for p in failure[0])))
    return found


KEYWORDS: list[tuple[tuple[str, ...], tuple[type, ...] | None, Callable[[Compiler, dict], Check | None]]] = [
    (("$ref",), None, _ref),
    (("allOf",), None, _all_of),
    (("oneOf",), None, _alternatives("oneOf")),
    (("anyOf",), None, _alternatives("anyOf")),
    (("not",), None, _not),
    (("enum",), None, _enum),
    (("const",), None, _enum),
    (("required",), (dict,), _required),
    (("properties", "patternProperties", "additionalProperties"), (dict,), _members),
    (("unevaluatedProperties",), (dict,), _unevaluated),
    (("dependencies",), (dict,), _dependencies),
    (("minProperties", "maxProperties"), (dict,), lambda _, schema: _count(schema, "minProperties", "maxProperties", "keys")),
    (("items",), (list,), _items),
    (("minItems", "maxItems"), (list,), lambda _, schema: _count(schema, "minItems", "maxItems", "items")),
    (("uniqueItems",), (list,), _unique),
    (("minLength", "maxLength"), (str,), lambda _, schema: _count(schema, "minLength", "maxLength", "characters")),
    (("pattern",), (str,), _pattern),
    (("minimum", "maximum"), (int, float), _bounds),
]

# never fail a value: "type" is checked by every compiled schema itself; the rest are annotations
ANNOTATIONS = frozenset({
    "type", "$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated",
    "format", "definitions", "$defs", "readOnly", "writeOnly",
})
TABLE_POSITION = {keyword: position for position, (keywords, _, _) in enumerate(KEYWORDS) for keyword in keywords}
SUPPORTED_KEYWORDS = frozenset(keyword for keywords, _, _ in KEYWORDS for keyword in keywords) | ANNOTATIONS
