"""PyYAML, imported without compiling the patterns it compiles at import.

`import yaml` compiles ~20 patterns (the Python reader's NON_PRINTABLE, a class spanning all of
Unicode; the implicit resolvers; the constructor's timestamp; ...): ~4 ms of a cold render, which
reads and writes YAML through libyaml (CSafeLoader, CSafeDumper), resolves plain scalars itself
(core.load) and needs only the resolvers the dumper asks for a string it writes. The import runs
with `re.compile` answering stand-ins that compile when first used (`mlstack.patterns`): every use
gets the real pattern, so nothing differs but the import time. tests/unit/test_pyyaml.py holds it.

`implicit_tag` answers the question PyYAML's dumper asks of every scalar it writes (which type would
a reader give this text, unquoted?) without its patterns where the answer is certain, so that most
renders compile none of them (~1.5 ms). tests/unit/test_pyyaml.py holds its answers to PyYAML's.
"""

from __future__ import annotations

import sys

from mlstack.patterns import compiled_when_used


def _import_yaml():
    if "yaml" in sys.modules:
        return sys.modules["yaml"]

    def import_yaml():
        import yaml

        return yaml

    return compiled_when_used(import_yaml)


yaml = _import_yaml()


_YAML = "tag:yaml.org,2002:"
# The words PyYAML's implicit resolvers (YAML 1.1) read as other than a string, for every first
# character whose resolvers match whole words only: such a text is one of these, or a string.
_WORDS = {
    **dict.fromkeys("yes Yes YES no No NO true True TRUE false False FALSE on On ON off Off OFF".split(), _YAML + "bool"),
    **dict.fromkeys(["", "~", "null", "Null", "NULL"], _YAML + "null"),
    "<<": _YAML + "merge", "=": _YAML + "value", "!": _YAML + "yaml", "&": _YAML + "yaml", "*": _YAML + "yaml",
}
WORD_FIRSTS = frozenset("yYnNtTfFoO~<=!&*")
NUMBER_FIRSTS = frozenset("+-.0123456789")   # floats, ints, timestamps: these have patterns
# every character a YAML 1.1 int or float (0x1F, 1_000, 1:30, 1.5e+3, -.inf, .NaN) can hold
_NUMBER_CHARACTERS = frozenset("+-._:0123456789abcdefABCDEFxeEinfINFaN")


def implicit_tag(text: str) -> str | None:
    """The tag PyYAML's resolver gives `text` as a plain scalar, where certain without its patterns;
    None where only the patterns can tell (a number-like text, or one that ends in a newline, which
    their `$` accepts)."""
    if not text:
        return _WORDS[""]
    if text[-1] == "\n":
        return None
    first = text[0]
    if first in WORD_FIRSTS:
        return _WORDS.get(text, _YAML + "str")
    if first not in NUMBER_FIRSTS:
        return _YAML + "str"
    if len(text) >= 5 and text[4] == "-" and text[:4].isascii() and text[:4].isdigit():
        return None   # shaped like a timestamp
    digits = text[1:] if first in "+-" else text
    if not digits or digits[0] not in "0123456789.":
        return None if not digits else _YAML + "str"   # after a sign, every number goes on with a digit or a dot
    if digits.isascii() and digits.isdigit():   # [-+]?(0|[1-9][0-9_]*) or [-+]?0[0-7_]+, else no pattern
        return _YAML + ("int" if digits[0] != "0" or not digits.strip("01234567") else "str")
    if text.count(".") > 1 or not _NUMBER_CHARACTERS.issuperset(text):
        return _YAML + "str"   # no float holds two dots; no int or float holds any other character
    if ":" in text and any(not 1 <= len(group.partition(".")[0]) <= 2 for group in text.split(":")[1:]):
        return _YAML + "str"   # base 60 (1:30, 1:30.5): one or two digits after each colon, as in 1000:100 never
    return None
