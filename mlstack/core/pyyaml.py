"""PyYAML, imported without compiling the one pattern only its pure-Python reader uses.

`yaml.reader` compiles `Reader.NON_PRINTABLE` (a character class spanning all of Unicode) at import:
~6 ms of a cold render, which reads and writes YAML through libyaml (CSafeLoader, CSafeDumper) and
never calls the Python reader. `re.compile` answers from `re`'s cache when the same pattern is there,
so for the length of `import yaml` the cache holds a stand-in that compiles the pattern when first
used: every use of NON_PRINTABLE (the Python reader, without libyaml) still gets the real pattern,
and the stand-in leaves the cache when the import ends. Should `re` or PyYAML ever change so that
the stand-in is not what NON_PRINTABLE became, nothing differs but the import time.
tests/unit/test_pyyaml.py holds both.
"""

from __future__ import annotations

import re
import sys

# as yaml/reader.py writes it (PyYAML 5.1 to 6.x)
NON_PRINTABLE = "[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff]"


class LazyPattern:
    """Compiles its pattern on the first attribute asked of it (`search`, `pattern`, ...), then forwards."""

    def __init__(self, pattern: str) -> None:
        self._source = pattern
        self._compiled = None

    def __getattr__(self, name: str):
        if self._compiled is None:
            self._compiled = re.compile(self._source)
        return getattr(self._compiled, name)


def _import_yaml():
    if "yaml" in sys.modules:
        return sys.modules["yaml"]
    cache = getattr(re, "_cache", None)
    key = (str, NON_PRINTABLE, 0)   # how re._compile looks a pattern up (CPython 3.7 to 3.12)
    if not isinstance(cache, dict) or key in cache:
        import yaml

        return yaml
    cache[key] = LazyPattern(NON_PRINTABLE)
    try:
        import yaml
    finally:
        cache.pop(key, None)
    return yaml


yaml = _import_yaml()
