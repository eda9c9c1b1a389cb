"""core.model.PatternTable looks rows up as `matches` tests them, row by row: the same rows, in table order."""

import random

import pytest

from mlstack.core.model import PatternTable, matches, pattern

ROWS = [(pattern("services.*"), "service"), (pattern("services.*.ports"), "ports"),
        (pattern("services.*.ports.[]"), "a port"), (pattern("services.*.ports.[].target"), "target"),
        (pattern("services.web.ports"), "web's ports"), (pattern("*.*"), "any two")]
CASES = [
    (("services", "web"), ["service", "any two"]),
    (("services", "web", "ports"), ["ports", "web's ports"]),
    (("services", "db", "ports"), ["ports"]),
    (("services", "db", "ports", 0), ["a port"]),
    (("services", "db", "ports", "0"), []),               # `[]` is an index, never a key
    (("services", "db", "ports", 2, "target"), ["target"]),
    (("volumes", 3), ["any two"]),                         # `*` is any key or index
    (("services",), []),
    ((), []),
    (("services", "*"), ["service", "any two"]),           # a key spelled `*` is a key like any other
    (("services", "[]", "ports"), ["ports"]),
]


@pytest.mark.parametrize("path, expected", CASES, ids=[repr(path) for path, _ in CASES])
def test_the_rows_whose_pattern_matches_in_table_order(path, expected):
    assert PatternTable(ROWS).lookup(path) == expected == [value for want, value in ROWS if matches(path, want)]


def test_a_walk_stops_where_no_pattern_goes_on():
    table = PatternTable(ROWS)
    below = table.step(table.step(table.start(), "networks"), "default")
    assert table.values(below) == ["any two"] and table.step(below, "driver") == ()


def test_any_table_any_path_as_matches_says():
    chooser = random.Random(7)
    parts = ["services", "web", "ports", "*", "[]", "0"]
    rows = [(tuple(chooser.choice(parts) for _ in range(chooser.randint(0, 4))), row) for row in range(80)]
    table = PatternTable(rows)
    for _ in range(5000):
        path = tuple(chooser.choice(parts + [0, 1]) for _ in range(chooser.randint(0, 4)))
        assert table.lookup(path) == [value for want, value in rows if matches(path, want)], path
