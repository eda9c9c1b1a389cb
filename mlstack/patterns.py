"""Regular expressions compiled when first used, not when their module is imported.

A cold render imports ~100 modules, and compiling the patterns they hold at import cost ~5 ms of
it, for patterns most renders never use (Go floats, timestamps, catalog version tags, ...).
`lazy(text, flags)` stands for `re.compile(text, flags)`: the first attribute asked of it
(`match`, `fullmatch`, `sub`, `pattern`, ...) compiles the pattern, and every attribute is then
kept on the stand-in, so later calls cost what they cost on the compiled pattern. It is not a
`re.Pattern`: pass `stand_in.compiled()` where a real one is needed (`re.sub(pattern, ...)`).

`compiled_when_used(import_module)` runs an import with `re.compile` itself answering stand-ins
(PyYAML compiles ~20 patterns at import; mlstack's loader and dumper use a few of them). Only
while no other thread runs: another thread's `re.compile` would get a stand-in it does not expect.
tests/unit/test_patterns.py holds both.
"""

from __future__ import annotations

import re
import sys


class LazyPattern:
    """`re.compile(text, flags)`, compiled on the first attribute asked of it."""

    __slots__ = ("_text", "_flags", "_compiled", "__dict__")

    def __init__(self, text: str, flags: int = 0) -> None:
        self._text = text
        self._flags = flags
        self._compiled = None

    def compiled(self) -> re.Pattern:
        if self._compiled is None:
            self._compiled = re.compile(self._text, self._flags)
        return self._compiled

    def __getattr__(self, name: str):
        value = getattr(self.compiled(), name)
        self.__dict__[name] = value   # found directly from now on: __getattr__ runs once per name
        return value

    def __repr__(self) -> str:
        return f"LazyPattern({self._text!r}, {self._flags!r})"


def lazy(text: str, flags: int = 0) -> LazyPattern:
    return LazyPattern(text, flags)


def compiled_when_used(import_module):
    """`import_module()` (a module's import) with every `re.compile` it makes deferred; its result."""
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return import_module()
    real = re.compile

    def deferred(pattern, flags=0):
        # a text pattern waits; bytes or an already compiled pattern: as re.compile would answer
        return LazyPattern(pattern, int(flags)) if isinstance(pattern, str) else real(pattern, flags)

    re.compile = deferred
    try:
        return import_module()
    finally:
        re.compile = real
