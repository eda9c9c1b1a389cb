"""render.dump writes each top-level key as `yaml.dump` with mlstack's dumper would, byte for byte: the
dumper's nodes are made directly (Dumper.node) rather than by PyYAML's representer, for the plain data
to_document gives, and this holds the two equal on documents of every kind of value a render can hold."""

from __future__ import annotations

import random

import pytest
import yaml

from mlstack.core.load import Timestamp
from mlstack.core.render import _dump_one, _dumper

TEXTS = ["", "plain", "with space", "8080", "0.0.0.0", "127.0.0.1:8080:80", "1e3", "0o17", "2024-02-01", "yes", "no",
         "null", "~", "true", "-c", "- x", ": x", "x: y", "#x", "a #b", "'quoted'", '"double"', "$$HOME", "${VAR:-x}",
         "line\nbreak", "line\nbreak\n", "trailing \n", "\ttab", "é unicode ✓", "\x85next", "a\u2028b", "&anchor",
         "*alias", "!tag", "%percent", "@at", "`tick", "|bar", ">gt", "[x]", "{x}", "x,y", "? x", " leading", "trailing ",
         "0x1F", "1_000", "1:30", ".inf", "-.5", "+12", "0777", "089", "=", "<<", "x" * 300, "a\\b", "C:\\path"]


def values(draw: random.Random, depth: int = 0):
    kind = draw.randrange(10 if depth < 4 else 6)
    if kind == 0:
        return draw.choice([True, False, None])
    if kind == 1:
        return draw.choice([0, 1, -1, 8080, 2**63 - 1, -2**63, 10**30])
    if kind == 2:
        return draw.choice([0.5, -1.25, 1e300, float("inf"), float("-inf"), 1e-7, 3.0])
    if kind == 3:
        return Timestamp(draw.choice(["2024-01-02", "2024-01-02T03:04:05Z", "2001-12-14 21:59:43.10 -5"]))
    if kind < 6:
        return draw.choice(TEXTS)
    if kind < 8:
        return [values(draw, depth + 1) for _ in range(draw.randrange(4))]
    return {draw.choice(TEXTS) or "k": values(draw, depth + 1) for _ in range(draw.randrange(5))}


@pytest.mark.parametrize("seed", range(60))
def test_a_document_is_dumped_as_pyyaml_dumps_it(seed):
    draw = random.Random(seed)
    document = {draw.choice(["services", "networks", "volumes", "x-extra", "name"]): values(draw) for _ in range(3)}
    for key, value in document.items():
        expected = yaml.dump({key: value}, Dumper=_dumper(), sort_keys=True, default_flow_style=False,
                             allow_unicode=True, width=4096)
        assert _dump_one({key: value}) == expected
