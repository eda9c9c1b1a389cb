"""Scalars resolve as Compose's Go YAML decoder resolves them, not as YAML 1.1 does."""

import pytest

from mlstack.core.load import parse_yaml
from mlstack.errors import StackError

SCALARS = [
    ("yes", "yes"), ("on", "on"), ("no", "no"), ("true", True), ("False", False), ("~", None), ("null", None),
    ("0755", 493), ("0x10", 16), ("0o17", 15), ("1_000", 1000), ("1.5", 1.5), ("1e3", 1000.0), ("-3", -3),
    ("'0755'", "0755"), ('"true"', "true"), ("12345678901234567890", 12345678901234567890), ("1.2.3", "1.2.3"),
]


@pytest.mark.parametrize("text, value", SCALARS)
def test_scalar_resolution(text, value):
    assert parse_yaml(f"v: {text}\n", "f.yaml").to_data() == {"v": value}


def test_nodes_know_their_line_and_column():
    node = parse_yaml("services:\n  web:\n    image: x\n", "c.yaml").find(("services", "web", "image"))
    assert (node.origin.file, node.origin.line, node.origin.column) == ("c.yaml", 3, 12)


def test_merge_keys_and_anchors():
    root = parse_yaml("base: &b {a: 1, b: 2}\nuse: {<<: *b, b: 3}\n", "f.yaml")
    assert root.to_data()["use"] == {"a": 1, "b": 3}


def test_compose_tags_are_kept():
    root = parse_yaml("a: !reset null\nb: !override [1]\n", "f.yaml")
    assert (root.get("a").tag, root.get("b").tag) == ("!reset", "!override")


@pytest.mark.parametrize("text, message", [
    ("a: 1\na: 2\n", "f.yaml:2:1: duplicate key 'a'"),
    ("a: !custom 1\n", "f.yaml:1:4: unknown YAML tag !custom (Compose knows !reset and !override)"),
    ("a: [1\n", "f.yaml:2:1: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence started at line 1, column 4)"),
])
def test_located_errors(text, message):
    with pytest.raises(StackError) as error:
        parse_yaml(text, "f.yaml")
    assert [str(d) for d in error.value.diagnostics] == [message]


def test_a_float_is_read_as_the_decoder_s_pattern_reads_one():
    """load._is_float answers as the pattern would on the whole text, for every short text of its characters."""
    import itertools
    import re

    from mlstack.core.load import _is_float

    pattern = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
    texts = ["".join(chars) for length in range(7) for chars in itertools.product("10.eE+-", repeat=length)]
    texts += ["5\n", "1_000", "\u0663.5", "1.5 ", " 1.5", "0x1p3", "1e", "e1", ".", "+.", "1.2.3", "1e+", "1e+-3"]
    assert [text for text in texts if _is_float(text) != bool(pattern.fullmatch(text))] == []
