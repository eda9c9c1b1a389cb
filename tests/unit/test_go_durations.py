"""Durations as Compose reads them (Go's time.ParseDuration plus days and weeks), in exact decimal
arithmetic: the seconds are those of the exact rational value, rounded once to a float, then divided."""

import random
from fractions import Fraction

import pytest

from mlstack.core.go_values import INT64_MAX, duration_problem, duration_seconds

UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9,
         "d": 86400 * 10**9, "w": 7 * 86400 * 10**9}


def exact_seconds(parts: list[tuple[str, str]], negative: bool) -> float | None:
    """The value as the rational it spells: the oracle."""
    total = sum((Fraction(number.rstrip(".") or "0") * UNITS[unit] for number, unit in parts), Fraction(0))
    if total > INT64_MAX + negative:
        return None
    return float(-total if negative else total) / 10**9


CASES = [
    ("1m30s", 90.0), ("1.5h", 5400.0), ("500ms", 0.5), (".5s", 0.5), ("1.s", 1.0), ("2d", 172800.0),
    ("1w", 604800.0), ("-1.25m", -75.0), ("+3us", 3e-06), ("0", 0.0), ("0.1s0.2s", 0.3),
    ("106751d23h47m16.854775807s", 9223372036.854776), ("106751d23h47m16.854775808s", None),
    ("", None), ("1", None), ("s", None), ("1x", None), ("1..5s", None),
]


@pytest.mark.parametrize("text, seconds", CASES, ids=[text or "(empty)" for text, _ in CASES])
def test_a_duration_in_seconds(text, seconds):
    assert duration_seconds(text) == seconds
    assert (duration_problem(text) is None) == (seconds is not None)


def test_any_sum_of_decimal_parts_is_the_exact_value_rounded_once():
    chooser = random.Random(3)
    for _ in range(3000):
        parts = [(f"{chooser.randint(0, 10**chooser.randint(0, 12))}"
                  + chooser.choice(["", ".", f".{chooser.randint(0, 10**chooser.randint(1, 15))}"]), chooser.choice(list(UNITS)))
                 for _ in range(chooser.randint(1, 4))]
        negative = chooser.random() < 0.3
        text = ("-" if negative else "") + "".join(number + unit for number, unit in parts)
        assert duration_seconds(text) == exact_seconds(parts, negative), text
