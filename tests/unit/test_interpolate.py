"""Interpolation, as (template, expected) cases checked against Compose's behaviour."""

import pytest

from mlstack.core.interpolate import InterpolationError, substitute

ENV = {"A": "aval", "EMPTY": "", "N": "5"}

CASES = [
    ("plain", "plain"),
    ("$A", "aval"),
    ("${A}", "aval"),
    ("$A-x", "aval-x"),
    ("${A:-d}", "aval"),
    ("${EMPTY:-d}", "d"),
    ("${EMPTY-d}", ""),
    ("${UNSET-d}", "d"),
    ("${UNSET:-${A}}", "aval"),
    ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
    ("${A:+yes}", "yes"),
    ("${EMPTY:+yes}", ""),
    ("${EMPTY+yes}", "yes"),
    ("${UNSET+x}", ""),
    ("${A:?boom}", "aval"),
    ("a$$b", "a$b"),
    ("$$A", "$A"),
    ("$1", "$1"),
    ("$", "$"),
    ("x$", "x$"),
    ("${UNSET}", ""),
    ("127.0.0.1:${PORT:-5000}:5000", "127.0.0.1:5000:5000"),
]


@pytest.mark.parametrize("template, expected", CASES)
def test_substitute(template, expected):
    assert substitute(template, ENV) == expected


ERRORS = [
    ("${A", "invalid interpolation format"),
    ("${}", "invalid interpolation format"),
    ("${A!}", "invalid interpolation format"),
    ("${UNSET:?must set}", "required variable UNSET is missing a value: must set"),
    ("${UNSET?}", "required variable UNSET is missing a value"),
    ("${EMPTY:?e}", "required variable EMPTY is missing a value: e"),
]


@pytest.mark.parametrize("template, message", ERRORS)
def test_errors(template, message):
    with pytest.raises(InterpolationError) as error:
        substitute(template, ENV)
    assert str(error.value) == message


def test_unset_variables_are_collected():
    unset: set[str] = set()
    substitute("$X ${Y} ${Z:-d} ${A}", ENV, unset)
    assert unset == {"X", "Y"}


def test_each_variable_is_recorded_with_the_text_it_produced():
    seen: list = []
    text = substitute("127.0.0.1:${PORT:-5000}:5000 $USER ${A:-${B:-x}} ${C:+on} $$D", {"USER": "ada", "C": "1"}, None, seen)
    assert text == "127.0.0.1:5000:5000 ada x on $D"
    assert seen == [("PORT", "5000"), ("USER", "ada"), ("B", "x"), ("A", "x"), ("C", "on")]
