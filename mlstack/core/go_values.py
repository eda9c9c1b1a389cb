"""Scalars as Go reads them, for Compose: numbers (strconv), byte sizes (go-units) and durations
(time.ParseDuration plus days and weeks). Pure readers: each says what a text decodes to, or why
Compose refuses it. core/fields.py applies them to the model's typed fields.
"""

from __future__ import annotations

import math
from mlstack.patterns import lazy

INT64_MAX = 2**63 - 1
FLOAT32_MAX = 3.4028234663852886e38


# --- numbers as Go's strconv reads them ----------------------------------------------------------
_DIGITS = r"[0-9](?:_?[0-9])*"
_HEX = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_GO_FLOAT = lazy(
    rf"[+-]?(?:(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][+-]?{_DIGITS})?"
    rf"|0[xX]_?(?:{_HEX}(?:\.(?:{_HEX})?)?|\.{_HEX})[pP][+-]?{_DIGITS}"
    r"|(?i:inf|infinity|nan))"
)


def _ascii_digits(text: str) -> bool:
    """`[0-9]+`: one or more ASCII digits (str.isdigit alone takes other scripts' digits too)."""
    return text.isascii() and text.isdigit()


def go_float(text: str, bits: int = 64) -> float:
    """strconv.ParseFloat: Go's literal syntax (`1_000`, `0x1p4`, `.5`, `inf`); out of range fails."""
    whole, _, fraction = text.partition(".")
    plain = _ascii_digits(whole) and _ascii_digits(fraction or "0")   # `2`, `0.5`: Go floats, without the pattern
    if not (plain or _GO_FLOAT.fullmatch(text)):
        raise ValueError(f"{text!r} is not a number")
    cleaned = text.replace("_", "")
    value = float.fromhex(cleaned) if "x" in cleaned.lower() else float(cleaned)
    if math.isinf(value) and "inf" not in cleaned.lower() or bits == 32 and FLOAT32_MAX < abs(value) < math.inf:
        raise ValueError(f"{text!r} is out of range")
    return value


def go_int(text: str) -> int | None:
    """strconv.ParseInt(text, 10, 64): optional sign, decimal digits, within int64; else None."""
    if not _ascii_digits(text[1:] if text[:1] in ("+", "-") else text):
        return None
    value = int(text)
    return value if -INT64_MAX - 1 <= value <= INT64_MAX else None


# --- byte sizes: `16g`, `512 MiB`, `1.5g`, `-1` ---------------------------------------------------
_SIZE_UNITS = "kmgtp"


def _number_and_unit(text: str) -> tuple[str, str] | None:
    """Split after the last digit, dot or space (a space between them is dropped), as go-units does."""
    cut = max(text.rfind(char) for char in "0123456789. ")
    if cut < 0:
        return None
    return (text[:cut + 1], text[cut + 1:]) if text[cut] != " " else (text[:cut], text[cut + 1:])


def size_problem(text: str) -> str | None:
    """docker/go-units RAMInBytes, after Compose's plain-integer shortcut (`-1` is accepted)."""
    if go_int(text) is not None:
        return None
    split = _number_and_unit(text)
    if split is None:
        return f"invalid size {text!r}: no number"
    number, unit = split
    try:
        value = go_float(number)
    except ValueError as error:
        return f"invalid size {text!r}: {error}"
    if value < 0:
        return f"invalid size {text!r}: a size with a unit or a fraction cannot be negative"
    lowered = unit.lower()
    if unit and not (lowered == "b" or len(lowered) <= 3 and lowered[0] in _SIZE_UNITS
                     and lowered[1:] in ("", "b", "ib")):
        return f"invalid size {text!r}: unknown unit {unit!r} (expected b, k, m, g, t or p, optionally followed by b or ib)"
    return None


def size_in_bytes(value) -> int:
    """What Compose decodes a valid size to: an integer as it is, a float (YAML `1.5`) as 0."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return 0
    if isinstance(value, int) or go_int(value) is not None:
        return int(value)
    number, unit = _number_and_unit(value) or ("", "")
    power = _SIZE_UNITS.index(unit[0].lower()) + 1 if unit and unit[0].lower() in _SIZE_UNITS else 0
    return int(go_float(number) * 1024 ** power)


def decoded_size(value) -> int | None:
    """A size as Compose decodes it (`1g`, `512mb`, bytes as a number), None when Compose would refuse it."""
    if isinstance(value, str) and size_problem(value) is not None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    return size_in_bytes(value)


# --- durations: Go's time.ParseDuration plus days and weeks (`1m30s`, `1.5h`, `2d`) -------------
_DURATION_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
                   "h": 3600 * 10**9, "d": 86400 * 10**9, "w": 7 * 86400 * 10**9}
_DURATION_PART = lazy(r"([0-9]*(?:\.[0-9]*)?)([^0-9.]*)")


def duration_problem(text: str) -> str | None:
    return _parse_duration(text)[1]


def duration_seconds(value) -> float | None:
    """A duration as Compose decodes it, in seconds (a bare number is seconds); None when Compose refuses it."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return None
    (numerator, scale), problem = _parse_duration(value)
    return None if problem else numerator / 10**scale / 10**9


def _parse_duration(text: str) -> tuple[tuple[int, int], str | None]:
    """((N, S), None): exactly N / 10**S nanoseconds; or ((0, 0), why Compose refuses the text).
    Exact decimal arithmetic in integers (`1.5h` is 15 * 3600e9 / 10), as fractions.Fraction would do it
    without importing it (~4 ms, decimal with it)."""
    zero = (0, 0)
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return zero, None
    if not body:
        return zero, f"invalid duration {text!r}: expected a number and a unit, as in 1m30s"
    total, scale = 0, 0
    position = 0
    while position < len(body):
        match = _DURATION_PART.match(body, position)
        number, unit = match[1], match[2]
        if number in ("", "."):
            return zero, f"invalid duration {text!r}: expected a number and a unit, as in 1m30s"
        if not unit:
            return zero, f"invalid duration {text!r}: {number} has no unit (ns, us, ms, s, m, h, d or w)"
        if unit not in _DURATION_UNITS:
            return zero, f"invalid duration {text!r}: unknown unit {unit!r} (ns, us, ms, s, m, h, d or w)"
        whole, _, fraction = number.partition(".")
        part, digits = int(whole + fraction or "0") * _DURATION_UNITS[unit], len(fraction)
        if digits > scale:
            total, scale = total * 10**(digits - scale), digits
        total += part * 10**(scale - digits)
        position = match.end()
    if total > (INT64_MAX + (text[:1] == "-")) * 10**scale:
        return zero, f"invalid duration {text!r}: too long"
    return ((-total if text[:1] == "-" else total), scale), None


# --- ports: `80`, `8000-8010` ------------------------------------------------------------------
def port_range(text: str) -> tuple[int, int] | None:
    """`80` or `8000-8010` (Go: `+80` too), each port 0-65535, the end not before the start; else None."""
    low, dash, high = text.partition("-")
    numbers = [low, high] if dash else [low]
    if not all(_ascii_digits(number[1:] if number[:1] == "+" else number) and int(number) <= 65535 for number in numbers):
        return None
    start, end = int(numbers[0]), int(numbers[-1])
    return (start, end) if start <= end else None
