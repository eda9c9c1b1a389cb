"""PyYAML, imported without compiling the patterns it compiles at import.

`import yaml` compiles ~20 patterns (the Python reader's NON_PRINTABLE, a class spanning all of
Unicode; the implicit resolvers; the constructor's timestamp; ...): ~4 ms of a cold render, which
reads and writes YAML through libyaml (CSafeLoader, CSafeDumper), resolves plain scalars itself
(core.load) and needs only the resolvers the dumper asks for a string it writes. The import runs
with `re.compile` answering stand-ins that compile when first used (`mlstack.patterns`): every use
gets the real pattern, so nothing differs but the import time. tests/unit/test_pyyaml.py holds it.
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
