"""JSON Schema validation of a node tree, every problem located and said in the user's words.

The schemas are data (Compose's compose-spec.json, mlstack's mlstack.schema.json). Each is
compiled on first use, once, into nested closures that walk the `Node` tree directly, so a
problem carries the file:line:col of the node it is about. Only the keywords the two schemas use
are supported: KEYWORDS below, read top to bottom, plus ANNOTATIONS, which never fail (unknown
formats included, as jsonschema treats them by default). The unit tests check that the vendored
schemas use nothing else, and that our verdict equals jsonschema's.

Importing this module loads no JSON and compiles nothing: `render` pays for a schema only when
it validates against it.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Callable, NamedTuple

from mlstack.core.model import Node, Path, path_str
from mlstack.report import Diagnostic

SCHEMA_FILES = {"compose": "compose-spec.json", "mlstack": "mlstack.schema.json"}


class Problem(NamedTuple):
    """A failed keyword before it becomes a Diagnostic; `keyword` helps pick among oneOf branches."""

    node: Node
    path: Path
    message: str
    keyword: str


Check = Callable[[Node, Path, list], None]


def validate(root: Node, schema: str = "compose") -> list[Diagnostic]:
    """Every problem of `root` against the named schema, in document order, one Diagnostic each."""
    problems: list[Problem] = []
    compiled_schema(schema)(root, (), problems)
    diagnostics: list[Diagnostic] = []
    seen: set[tuple] = set()
    for problem in problems:
        origin = problem.node.origin
        diagnostic = Diagnostic(origin.file, origin.line, origin.column, path_str(problem.path), problem.message, "schema")
        if diagnostic not in seen:  # allOf parts can say the same thing twice
            seen.add(diagnostic)
            diagnostics.append(diagnostic)
    diagnostics.sort(key=lambda d: (d.file, d.line, d.column))
    return diagnostics


def schema_document(name: str) -> dict:
    if name not in SCHEMA_FILES:
        raise ValueError(f"unknown schema {name!r}: expected one of {', '.join(SCHEMA_FILES)}")
    folder = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "schemas")
    with open(os.path.join(folder, SCHEMA_FILES[name]), encoding="utf-8") as handle:
        return json.load(handle)


_COMPILED: dict[str, Check] = {}


def compiled_schema(name: str) -> Check:
    if name not in _COMPILED:
        _COMPILED[name] = _Compiler(schema_document(name)).compile_root()
    return _COMPILED[name]


# --- words ---------------------------------------------------------------------------------------
_TYPE_WORDS = {"string": "a string", "number": "a number", "integer": "an integer", "boolean": "a boolean",
               "null": "null", "array": "a list", "object": "a mapping"}
_JSON_TYPE = {str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null",
              list: "array", dict: "object"}
_VALUE_WORDS = {cls: _TYPE_WORDS[name] for cls, name in _JSON_TYPE.items()}
_CLASSES = {"string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
            "null": (type(None),), "array": (list,), "object": (dict,)}


def _join(words: list[str], last: str = "or") -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def _expected(types: tuple[str, ...]) -> str:
    if not types:
        return "nothing (no value is allowed here)"
    words = [_TYPE_WORDS[t] for t in types if not (t == "integer" and "number" in types)]
    return _join(words)


def _show(value: Any) -> str:
    """A value inside a message: strings quoted, on one line, cut when long."""
    if isinstance(value, (list, dict)):
        return _VALUE_WORDS[type(value)]
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:56] + '..."'


def _show_option(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _quoted(names) -> str:
    return " + ".join(f'"{name}"' for name in names)


def _unknown_key(key: str, names: list[str], patterns: list[str]) -> str:
    if names:
        from difflib import get_close_matches  # only paid for when there is a typo

        close = get_close_matches(key, names, n=1)
        return f'unknown key "{key}" (did you mean "{close[0]}"?)' if close else f'unknown key "{key}"'
    if patterns:
        return f'invalid key "{key}": keys must match {" or ".join(patterns)}'
    return f'unknown key "{key}" (no keys are allowed here)'


# --- types ---------------------------------------------------------------------------------------
def _matches_type(value: Any, types: tuple[str, ...]) -> bool:
    cls = type(value)
    for name in types:
        if cls in _CLASSES[name]:
            return True
    return cls is float and "integer" in types and value.is_integer()


def _types_of_values(values: list) -> tuple[str, ...]:
    found: list[str] = []
    for value in values:
        name = _JSON_TYPE[type(value)]
        found += [name, "integer"] if name == "number" else [name]
    return tuple(dict.fromkeys(found))


def _type_list(declared: Any) -> tuple[str, ...]:
    names = [declared] if isinstance(declared, str) else list(declared)
    if "number" in names and "integer" not in names:
        names.append("integer")
    return tuple(names)


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


# --- the compiler ----------------------------------------------------------------------------------
def _accept(node: Node, path: Path, problems: list) -> None:
    return None


class _Compiler:
    def __init__(self, document: dict):
        self.document = document
        # draft-07 ignores the siblings of a $ref; 2019-09 and later apply them
        self.ref_hides_siblings = "draft-07" in document.get("$schema", "")
        self.refs: dict[str, Check] = {}
        self.types: dict[int, tuple[str, ...] | None] = {}

    def compile_root(self) -> Check:
        return self.compile(self.document)

    def normal(self, schema: Any) -> Any:
        if isinstance(schema, dict) and "$ref" in schema and self.ref_hides_siblings:
            return {"$ref": schema["$ref"]}
        return schema

    def resolve(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise ValueError(f"only local $refs are supported, not {ref!r}")
        target: Any = self.document
        for part in filter(None, ref[1:].split("/")):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        return target

    def ref(self, ref: str) -> Check:
        if ref not in self.refs:
            later: list[Check] = []  # a recursive $ref calls through this until compiled
            self.refs[ref] = lambda node, path, problems: later[0](node, path, problems)
            compiled = self.compile(self.resolve(ref))
            later.append(compiled)
            self.refs[ref] = compiled
        return self.refs[ref]

    def accepted_types(self, schema: Any) -> tuple[str, ...] | None:
        """The JSON types a value must have to pass `schema`; None when any type may."""
        schema = self.normal(schema)
        if schema is True or schema is False:
            return None if schema else ()
        key = id(schema)
        if key in self.types:
            return self.types[key]
        self.types[key] = None  # a recursive $ref says nothing about types
        found: tuple[str, ...] | None = None

        def narrow(types: tuple[str, ...] | None) -> None:
            nonlocal found
            if types is not None:
                found = types if found is None else tuple(t for t in found if t in types)

        if "type" in schema:
            narrow(_type_list(schema["type"]))
        if "$ref" in schema:
            narrow(self.accepted_types(self.resolve(schema["$ref"])))
        for part in schema.get("allOf", ()):
            narrow(self.accepted_types(part))
        for keyword in ("oneOf", "anyOf"):
            if keyword in schema:
                branches = [self.accepted_types(branch) for branch in schema[keyword]]
                if None not in branches:
                    narrow(tuple(dict.fromkeys(t for branch in branches for t in branch)))
        if "enum" in schema:
            narrow(_types_of_values(schema["enum"]))
        if "const" in schema:
            narrow(_types_of_values([schema["const"]]))
        self.types[key] = found
        return found

    def evaluated_keys(self, schema: Any) -> tuple[list[str], list[str]]:
        """Property names and patterns that `schema`, its allOf parts and $refs evaluate."""
        schema = self.normal(schema)
        if not isinstance(schema, dict):
            return [], []
        for keyword in ("oneOf", "anyOf", "if", "dependentSchemas", "additionalProperties"):
            if keyword in schema:  # those would make the evaluated keys depend on the value
                raise NotImplementedError(f"unevaluatedProperties next to {keyword} is not supported")
        names = list(schema.get("properties", {}))
        patterns = list(schema.get("patternProperties", {}))
        parts = list(schema.get("allOf", ()))
        if "$ref" in schema:
            parts.append(self.resolve(schema["$ref"]))
        for part in parts:
            more_names, more_patterns = self.evaluated_keys(part)
            names += more_names
            patterns += more_patterns
        return list(dict.fromkeys(names)), list(dict.fromkeys(patterns))

    def compile(self, schema: Any) -> Check:
        schema = self.normal(schema)
        if schema is True or schema == {}:
            return _accept
        if schema is False:
            return _reject
        types = self.accepted_types(schema)
        for_any: list[Check] = []
        by_class: dict[type, list[Check]] = {}
        for position in sorted({_TABLE_POSITION[key] for key in schema if key in _TABLE_POSITION}):
            _, applies_to, build = KEYWORDS[position]
            check = build(self, schema)
            if check is None:
                continue
            if applies_to is None:
                for_any.append(check)
            for cls in applies_to or ():
                by_class.setdefault(cls, []).append(check)
        if types is None and not by_class and len(for_any) == 1:
            return for_any[0]  # a bare $ref, allOf or oneOf: no wrapper
        return _schema_check(types, for_any, by_class)


def _reject(node: Node, path: Path, problems: list) -> None:
    problems.append(Problem(node, path, "no value is allowed here", "false"))


def _schema_check(types: tuple[str, ...] | None, for_any: list[Check], by_class: dict[type, list[Check]]) -> Check:
    """One schema: a type test, then the keywords that apply to the value's class, in one lookup."""
    allowed = [cls for cls in _VALUE_WORDS if types is None or any(cls in _CLASSES[name] for name in types)]
    runs = {cls: tuple(for_any) + tuple(by_class.get(cls, ())) for cls in allowed}
    integral = tuple(for_any) + tuple(by_class.get(float, ())) if types and "integer" in types else None
    expected = _expected(types) if types is not None else ""

    def check(node: Node, path: Path, problems: list) -> None:
        value = node.value
        checks = runs.get(type(value))
        if checks is None:
            if integral is None or type(value) is not float or not value.is_integer():
                problems.append(Problem(node, path, f"expected {expected}, got {_VALUE_WORDS[type(value)]}", "type"))
                return  # every other keyword would only repeat it
            checks = integral
        for each in checks:
            each(node, path, problems)

    return check


def _key_test(text: str) -> Callable[[str], Any]:
    """A patternProperties pattern as a test of a key; `^x-` is a plain prefix, the common case."""
    if re.fullmatch(r"\^[A-Za-z0-9_-]+", text):
        prefix = text[1:]
        return lambda key: key.startswith(prefix)
    return re.compile(text).search


# --- keywords: (keywords, the value classes they apply to (None: all), builder) ---------------------
def _members(compiler: _Compiler, schema: dict) -> Check:
    properties = {name: compiler.compile(sub) for name, sub in schema.get("properties", {}).items()}
    additional = schema.get("additionalProperties", True)
    checking: list[tuple[Callable[[str], Any], Check]] = []
    accepting: list[Callable[[str], Any]] = []  # only decide whether a key is known
    for text, sub in schema.get("patternProperties", {}).items():
        check_pattern = compiler.compile(sub)
        if check_pattern is not _accept:
            checking.append((_key_test(text), check_pattern))
        elif additional is not True:
            accepting.append(_key_test(text))
    names = list(properties)
    shown_patterns = [text for text in schema.get("patternProperties", {}) if text != "^x-"]
    extra = compiler.compile(additional) if not isinstance(additional, bool) else None

    def check(node: Node, path: Path, problems: list) -> None:
        for key, child in node.value.items():
            sub = properties.get(key)
            matched = sub is not None
            if matched and sub is not _accept:
                sub(child, path + (key,), problems)
            for test, sub in checking:
                if test(key):
                    matched = True
                    sub(child, path + (key,), problems)
            if matched or additional is True or any(test(key) for test in accepting):
                continue
            if additional is False:
                problems.append(Problem(child, path, _unknown_key(key, names, shown_patterns), "additionalProperties"))
            else:
                extra(child, path + (key,), problems)

    return check


def _unevaluated(compiler: _Compiler, schema: dict) -> Check | None:
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
                problems.append(Problem(child, path, _unknown_key(key, names, shown_patterns), "unevaluatedProperties"))
            else:
                extra(child, path + (key,), problems)

    return check


def _required(compiler: _Compiler, schema: dict) -> Check:
    required = list(schema["required"])

    def check(node: Node, path: Path, problems: list) -> None:
        for name in required:
            if name not in node.value:
                problems.append(Problem(node, path, f'missing required key "{name}"', "required"))

    return check


def _dependencies(compiler: _Compiler, schema: dict) -> Check:
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


def _items(compiler: _Compiler, schema: dict) -> Check | None:
    if isinstance(schema["items"], list):
        raise NotImplementedError("items as a list (tuple validation) is not supported")
    item = compiler.compile(schema["items"])
    if item is _accept:
        return None

    def check(node: Node, path: Path, problems: list) -> None:
        for index, child in enumerate(node.value):
            item(child, path + (index,), problems)

    return check


def _unique(compiler: _Compiler, schema: dict) -> Check | None:
    if not schema["uniqueItems"]:
        return None

    def check(node: Node, path: Path, problems: list) -> None:
        seen: dict[Any, int] = {}
        for index, child in enumerate(node.value):
            key = _frozen_node(child)
            if key in seen:
                message = f"duplicate item {_show(child.value)} (also at [{seen[key]}])"
                problems.append(Problem(child, path + (index,), message, "uniqueItems"))
            else:
                seen[key] = index

    return check


def _pattern(compiler: _Compiler, schema: dict) -> Check:
    text = schema["pattern"]
    regex = re.compile(text)

    def check(node: Node, path: Path, problems: list) -> None:
        if not regex.search(node.value):
            problems.append(Problem(node, path, f"{_show(node.value)} does not match {text}", "pattern"))

    return check


def _bounds(compiler: _Compiler, schema: dict) -> Check:
    rules = [(schema[keyword], keyword, test, words) for keyword, test, words in (
        ("minimum", lambda value, bound: value < bound, "at least"),
        ("maximum", lambda value, bound: value > bound, "at most"),
    ) if keyword in schema]

    def check(node: Node, path: Path, problems: list) -> None:
        for bound, keyword, test, words in rules:
            if test(node.value, bound):
                problems.append(Problem(node, path, f"must be {words} {bound}, got {node.value}", keyword))

    return check


def _enum(compiler: _Compiler, schema: dict) -> Check:
    options = schema["enum"] if "enum" in schema else [schema["const"]]
    allowed = frozenset(_frozen(option) for option in options)
    if len(options) == 1:
        wanted = f"expected {_show(options[0])}"
    else:
        wanted = f"is not one of: {', '.join(_show_option(option) for option in options)}"
    keyword = "enum" if "enum" in schema else "const"

    def check(node: Node, path: Path, problems: list) -> None:
        if _frozen_node(node) not in allowed:
            shown = _show(node.value)
            message = f"{wanted}, got {shown}" if len(options) == 1 else f"{shown} {wanted}"
            problems.append(Problem(node, path, message, keyword))

    return check


def _ref(compiler: _Compiler, schema: dict) -> Check:
    return compiler.ref(schema["$ref"])


def _all_of(compiler: _Compiler, schema: dict) -> Check:
    parts = [compiler.compile(part) for part in schema["allOf"]]

    def check(node: Node, path: Path, problems: list) -> None:
        for part in parts:
            part(node, path, problems)

    return parts[0] if len(parts) == 1 else check


def _not(compiler: _Compiler, schema: dict) -> Check:
    forbidden = compiler.compile(schema["not"])
    inner = schema["not"]
    keys = inner.get("required", []) if isinstance(inner, dict) and set(inner) == {"required"} else []
    message = f"{_quoted(keys)} must not be set here" if keys else "this value is not allowed here"

    def check(node: Node, path: Path, problems: list) -> None:
        found: list[Problem] = []
        forbidden(node, path, found)
        if not found:
            problems.append(Problem(node, path, message, "not"))

    return check


def _alternatives(keyword: str):
    exactly_one = keyword == "oneOf"

    def build(compiler: _Compiler, schema: dict) -> Check:
        branches = [(compiler.compile(sub), compiler.accepted_types(sub), compiler.normal(sub)) for sub in schema[keyword]]

        def check(node: Node, path: Path, problems: list) -> None:
            value = node.value
            failures: list[tuple[list[Problem], Any]] = []
            passed = 0
            for branch, types, sub in branches:
                if types is not None and not _matches_type(value, types):
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
        return [Problem(node, path, f"expected {_expected(types)}, got {_VALUE_WORDS[type(node.value)]}", "type")]
    if len(failures) == 1:
        return failures[0][0]
    shapes = [sub.get("required") if isinstance(sub, dict) else None for _, sub in failures]
    only_shape = all(p.keyword in ("required", "not") and p.path == path for found, _ in failures for p in found)
    if only_shape and all(shapes):
        forms = [_quoted(keys) for keys in shapes]
        message = f"needs either {_join(forms)}, not both" if exactly_one and len(forms) == 2 else (
            f"needs exactly one of: {_join(forms)}" if exactly_one else f"needs {_join(forms)}")
        return [Problem(node, path, message, "required")]
    found, _ = min(failures, key=lambda failure: (len(failure[0]), -max(len(p.path) for p in failure[0])))
    return found


KEYWORDS: list[tuple[tuple[str, ...], tuple[type, ...] | None, Callable[[_Compiler, dict], Check | None]]] = [
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
_TABLE_POSITION = {keyword: position for position, (keywords, _, _) in enumerate(KEYWORDS) for keyword in keywords}
SUPPORTED_KEYWORDS = frozenset(keyword for keywords, _, _ in KEYWORDS for keyword in keywords) | ANNOTATIONS
