"""mlstack.patterns: a pattern compiled on first use answers exactly as the compiled pattern would."""

import re
import threading

import pytest

from mlstack.patterns import LazyPattern, compiled_when_used, lazy

TEXTS = ["", "cuda12.4", "CUDA-11", "cu124", "a\nb", "1.5e3", "x" * 50]


@pytest.mark.parametrize("source, flags", [(r"cuda[-_]?(\d+)(?:\.(\d+))?", re.IGNORECASE), (r"^[-+]?\d+(\.\d*)?(e\d+)?$", 0),
                                           (r"(?P<word>\w+)", 0), (r"a.b", re.DOTALL)])
def test_a_lazy_pattern_answers_as_re_compile(source, flags):
    stand_in, real = lazy(source, flags), re.compile(source, flags)

    for text in TEXTS:
        for method in ("match", "fullmatch", "search"):
            found, expected = getattr(stand_in, method)(text), getattr(real, method)(text)
            assert (found and (found.span(), found.groups())) == (expected and (expected.span(), expected.groups()))
        assert stand_in.findall(text) == real.findall(text)
        assert stand_in.sub("-", text) == real.sub("-", text)
    assert (stand_in.pattern, stand_in.flags, stand_in.groups) == (real.pattern, real.flags, real.groups)
    assert stand_in.compiled() == real


def test_nothing_is_compiled_before_first_use_and_once_after():
    stand_in = lazy(r"never(")   # an invalid pattern fails where it is used, as it would have at import
    assert stand_in._compiled is None
    with pytest.raises(re.error):
        stand_in.match("x")

    stand_in = lazy(r"\d+")
    stand_in.match("1")
    compiled = stand_in._compiled
    stand_in.search("a1")
    assert stand_in._compiled is compiled and "match" in stand_in.__dict__   # kept: later calls skip __getattr__


def test_an_import_compiles_its_patterns_when_first_used_and_re_compile_is_restored(monkeypatch):
    monkeypatch.setattr(threading, "active_count", lambda: 1)   # as in a command's process: no thread of a test run
    real_compile = re.compile

    def module():
        return {"text": re.compile(r"\d+"), "bytes": re.compile(rb"\d+"), "flags": re.compile(r"a", re.I)}

    made = compiled_when_used(module)

    assert re.compile is real_compile
    assert isinstance(made["text"], LazyPattern) and made["text"]._compiled is None
    assert made["flags"].match("A") and made["text"].fullmatch("42")
    assert isinstance(made["bytes"], re.Pattern)   # bytes patterns compile as usual


def test_with_another_thread_running_the_import_compiles_as_usual():
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        made = compiled_when_used(lambda: re.compile(r"\d+"))
    finally:
        release.set()
        other.join()

    assert isinstance(made, re.Pattern)


def test_an_import_that_fails_restores_re_compile():
    real_compile = re.compile

    def broken():
        raise ImportError("no such module")

    with pytest.raises(ImportError):
        compiled_when_used(broken)
    assert re.compile is real_compile
