"""mlstack.core.pyyaml: PyYAML imported without compiling its patterns, which behave as compiled.

Each check runs in a fresh interpreter: the point is what `import yaml` does, and this one has imported it.
"""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# What the Python reader (no libyaml) makes of printable and non-printable text, and the pattern's own answers
PROBE = r"""
import json, sys
IMPORT
import yaml
pattern = yaml.reader.Reader.NON_PRINTABLE
before = type(pattern).__name__, getattr(pattern, "_compiled", "") is None
answers = {}
for text in ["a: 1\n", "a: caf\u00e9 \U0001F600\n", "a: \x07\n", "a: \x1b[0m\n", "b: \ufffe\n", "c: \x85ok\n"]:
    try:
        answers[repr(text)] = repr(yaml.load(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as error:
        answers[repr(text)] = f"{type(error).__name__}: {error}"
found = [pattern.search(text) for text in ["ok", "\x00", "tab\there", "\ud800", "\U0010ffff"]]
resolved = [yaml.safe_load(text) for text in ["1", "1.5", "0x1f", "yes", "~", "2024-01-02", "2024-01-02T03:04:05Z", "+1_000", "0b101", "NULL", ".inf"]]
emitted = yaml.safe_dump(["1", "yes", "null", "2024-01-02", "1e3", "plain", 1.5, True, None])
print(json.dumps({"before": before, "answers": answers, "pattern": pattern.pattern, "emitted": emitted,
                  "resolved": repr(resolved), "restored": __import__("re").compile("x").__class__.__name__,
                  "found": [None if match is None else [match.start(), match.group()] for match in found]}))
"""


def probe(first_import: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE.replace("IMPORT", first_import)], capture_output=True,
                          text=True, env={"PYTHONPATH": str(REPO)}, timeout=60, check=True)
    return json.loads(done.stdout)


def test_the_pattern_is_compiled_only_when_the_python_reader_first_uses_it():
    through_mlstack = probe("import mlstack.core.load")

    assert through_mlstack["before"] == ["LazyPattern", True]
    assert through_mlstack["restored"] == "Pattern"   # re.compile is itself again after the import


def test_pyyaml_resolves_and_emits_as_when_imported_plainly():
    """The implicit resolvers and the constructor's timestamp pattern were deferred too."""
    plain, through_mlstack = probe(""), probe("import mlstack.core.load")

    assert through_mlstack["resolved"] == plain["resolved"]
    assert through_mlstack["emitted"] == plain["emitted"]
    assert "'1'" in plain["emitted"] and "'yes'" in plain["emitted"]   # the resolvers did quote them


def test_the_python_reader_answers_as_with_pyyaml_imported_plainly():
    plain, through_mlstack = probe(""), probe("import mlstack.core.load")

    assert plain["before"] == ["Pattern", False]
    assert through_mlstack["answers"] == plain["answers"]
    assert through_mlstack["found"] == plain["found"]
    assert "ReaderError" in plain["answers"][repr("a: \x07\n")]   # the probe does reach the check


def test_the_stand_in_is_pyyaml_s_own_pattern():
    assert probe("")["pattern"] == probe("import mlstack.core.load")["pattern"]
