"""The schema validator's words and JSON types: how a value, a type or a key reads in a message.

Part of the schema validator (schema.py compiles, schema_keywords.py checks).
"""

from __future__ import annotations


TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms) on a render's path
if TYPE_CHECKING:
    from typing import Any

TYPE_WORDS = {"string": "a string", "number": "a number", "integer": "an integer", "boolean": "a boolean",
               "null": "null", "array": "a list", "object": "a mapping"}
JSON_TYPE = {str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null",
              list: "array", dict: "object"}
VALUE_WORDS = {cls: TYPE_WORDS[name] for cls, name in JSON_TYPE.items()}
CLASSES = {"string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
            "null": (type(None),), "array": (list,), "object": (dict,)}


def join(words: list[str], last: str = "or") -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def expected(types: tuple[str, ...]) -> str:
    if not types:
        return "nothing (no value is allowed here)"
    words = [TYPE_WORDS[t] for t in types if not (t == "integer" and "number" in types)]
    return join(words)


def show(value: Any) -> str:
    """A value inside a message: strings quoted, on one line, cut when long."""
    if isinstance(value, (list, dict)):
        return VALUE_WORDS[type(value)]
    import json   # only for a message

    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:56] + '..."'


def show_option(value: Any) -> str:
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value)


def quoted(names) -> str:
    return " + ".join(f'"{name}"' for name in names)


def unknown_key(key: str, names: list[str], patterns: list[str]) -> str:
    if names:
        from difflib import get_close_matches  # only paid for when there is a typo

        close = get_close_matches(key, names, n=1)
        return f'unknown key "{key}" (did you mean "{close[0]}"?)' if close else f'unknown key "{key}"'
    if patterns:
        return f'invalid key "{key}": keys must match {" or ".join(patterns)}'
    return f'unknown key "{key}" (no keys are allowed here)'


# --- types ---------------------------------------------------------------------------------------
def matches_type(value: Any, types: tuple[str, ...]) -> bool:
    cls = type(value)
    for name in types:
        if cls in CLASSES[name]:
            return True
    return cls is float and "integer" in types and value.is_integer()


def types_of_values(values: list) -> tuple[str, ...]:
    found: list[str] = []
    for value in values:
        name = JSON_TYPE[type(value)]
        found += [name, "integer"] if name == "number" else [name]
    return tuple(dict.fromkeys(found))


def type_list(declared: Any) -> tuple[str, ...]:
    names = [declared] if isinstance(declared, str) else list(declared)
    if "number" in names and "integer" not in names:
        names.append("integer")
    return tuple(names)
