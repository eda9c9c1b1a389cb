"""JSON Schema validation of a node tree, every problem located and said in the user's words.

The schemas are data (Compose's compose-spec.json, mlstack's mlstack.schema.json). Each is
compiled on first use, once, into nested closures that walk the `Node` tree directly, so a
problem carries the file:line:col of the node it is about. Only the keywords the two schemas use
are supported: KEYWORDS in schema_keywords.py, read top to bottom, plus ANNOTATIONS, which never
fail (unknown formats included, as jsonschema treats them by default); the messages' words are in
schema_words.py. The unit tests check that the vendored schemas use nothing else, and that our
verdict equals jsonschema's.

Importing this module loads no JSON and compiles nothing: `render` pays for a schema only when
it validates against it.
"""

from __future__ import annotations

import binascii
import os

from mlstack.core.model import Node, Path
from mlstack.core.schema_keywords import ANNOTATIONS, KEYWORDS, TABLE_POSITION, Problem, accept, reject
from mlstack.core.schema_words import CLASSES, VALUE_WORDS, expected, type_list, types_of_values
from mlstack.report import Diagnostic

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms) on a render's path
if TYPE_CHECKING:
    from typing import Any

    from mlstack.core.schema_keywords import Check

SCHEMA_FILES = {"compose": "compose-spec.json", "mlstack": "mlstack.schema.json"}


def validate(root: Node, schema: str = "compose") -> list[Diagnostic]:
    """Every problem of `root` against the named schema, in document order, one Diagnostic each."""
    problems: list[Problem] = []
    compiled_schema(schema)(root, (), problems)
    diagnostics: list[Diagnostic] = []
    seen: set[tuple] = set()
    for problem in problems:
        diagnostic = Diagnostic.at(problem.node, problem.path, problem.message, "schema")
        if diagnostic not in seen:  # allOf parts can say the same thing twice
            seen.add(diagnostic)
            diagnostics.append(diagnostic)
    diagnostics.sort(key=lambda d: (d.file, d.line, d.column))
    return diagnostics


def entry_collections(name: str = "compose") -> frozenset[str]:
    """The top-level keys whose entries the schema checks each on its own (`services`, `networks`, ...:
    an object with patternProperties and additionalProperties, nothing else that can fail): a mapping's
    problems there are the union of its entries' problems, so an entry checked once need not be again
    while it is unchanged."""
    if name not in _ENTRY_COLLECTIONS:
        properties = schema_document(name).get("properties", {})
        _ENTRY_COLLECTIONS[name] = frozenset(
            key for key, schema in properties.items()
            if isinstance(schema, dict) and schema.get("type") == "object"
            and set(schema) - ANNOTATIONS <= {"patternProperties", "additionalProperties"})
    return _ENTRY_COLLECTIONS[name]


_ENTRY_COLLECTIONS: dict[str, frozenset[str]] = {}


def schema_document(name: str) -> dict:
    if name not in SCHEMA_FILES:
        raise ValueError(f"unknown schema {name!r}: expected one of {', '.join(SCHEMA_FILES)}")
    folder = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "schemas")
    with open(os.path.join(folder, SCHEMA_FILES[name]), "rb") as handle:
        data = handle.read()
    from mlstack.schemas.parsed import SCHEMAS   # the same documents, parsed ahead (scripts/gen-schemas)

    size, crc, document = SCHEMAS.get(SCHEMA_FILES[name], (None, None, None))
    if size == len(data) and crc == binascii.crc32(data):
        return document
    import json   # the file was edited since parsed.py was written: read it as it is now

    return json.loads(data)


_COMPILED: dict[str, Check] = {}


def compiled_schema(name: str) -> Check:
    if name not in _COMPILED:
        _COMPILED[name] = Compiler(schema_document(name)).compile_root()
    return _COMPILED[name]


# --- the compiler ----------------------------------------------------------------------------------
class Compiler:
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
            narrow(type_list(schema["type"]))
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
            narrow(types_of_values(schema["enum"]))
        if "const" in schema:
            narrow(types_of_values([schema["const"]]))
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
            return accept
        if schema is False:
            return reject
        types = self.accepted_types(schema)
        for_any: list[Check] = []
        by_class: dict[type, list[Check]] = {}
        for position in sorted({TABLE_POSITION[key] for key in schema if key in TABLE_POSITION}):
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


def _allowed(types: tuple[str, ...] | None) -> tuple[list[type], str]:
    """The value classes `types` admits, and the words for them: the same few type lists recur in a schema."""
    if types not in _ALLOWED:
        _ALLOWED[types] = ([cls for cls in VALUE_WORDS if types is None or any(cls in CLASSES[name] for name in types)],
                           expected(types) if types is not None else "")
    return _ALLOWED[types]


_ALLOWED: dict[tuple[str, ...] | None, tuple[list[type], str]] = {}


def _schema_check(types: tuple[str, ...] | None, for_any: list[Check], by_class: dict[type, list[Check]]) -> Check:
    """One schema: a type test, then the keywords that apply to the value's class, in one lookup."""
    allowed, wanted = _allowed(types)
    runs = {cls: tuple(for_any) + tuple(by_class.get(cls, ())) for cls in allowed}
    integral = tuple(for_any) + tuple(by_class.get(float, ())) if types and "integer" in types else None

    def check(node: Node, path: Path, problems: list) -> None:
        value = node.value
        checks = runs.get(type(value))
        if checks is None:
            if integral is None or type(value) is not float or not value.is_integer():
                problems.append(Problem(node, path, f"expected {wanted}, got {VALUE_WORDS[type(value)]}", "type"))
                return  # every other keyword would only repeat it
            checks = integral
        for each in checks:
            each(node, path, problems)

    return check
