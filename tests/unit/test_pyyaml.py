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


# --- implicit_tag: the dumper's question, answered as PyYAML's resolver answers it -------------------
def _texts() -> list[str]:
    """Texts near every YAML 1.1 pattern's edges, and a dense sample of short texts over their characters."""
    import itertools
    import random

    words = ["", "~", "null", "Null", "NULL", "nULL", "yes", "Yes", "YES", "yEs", "y", "n", "no", "on", "off", "Off", "OFF",
             "true", "false", "True", "<<", "<", "=", "==", "!", "&", "*", "**", ".inf", "-.Inf", "+.INF", ".nan", ".NaN",
             "-.nan", ".inf\n", "true\n", "1\n", "null\n", "\n", "0", "00", "07", "08", "089", "0_7", "-0", "+0", "+", "-",
             ".", "1_000", "0x1F", "0x", "0b101", "0b2", "0o17", "1:30", "1:60", "190:20:30", "1:30.5", "1.5", "1.", ".5",
             "1e3", "1.0e+3", "1.0e3", "6.8523015e+5", "685.230_15e+03", "127.0.0.1", "0.0.0.0", "8888", "8888:8888",
             "2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "2002-1-2", "2024-02-30",
             "1234-", "12345", "1g", "16gb", "10s", "1m30s", "-1", "+12", "0777", "1__", "_1", "1e", "٣", "１２", "²",
             "1.2.3", "--", "-.", "+.", "0.", "a:b", "plain", "Y", "N", "T", "F", "O", "o", "ok", "nan", "inf", "NaN",
             "-c", "-ec", "-d", "1000:100", "10001:10001", "1:3:5", "1:30:", ":30", "1::2", "1:2.5.", "+-1", "-+1",
             "1:2:3.4", "1:2:3.", "-1:59", "+1:60.5", "1:5_", "1:2e3"]
    alphabet = "0129._:-+eExabfinNT tZ\n"
    short = ["".join(chars) for length in range(1, 4) for chars in itertools.product("019.:-+eEx_", repeat=length)]
    sampler = random.Random(12)
    sampled = ["".join(sampler.choice(alphabet) for _ in range(sampler.randint(1, 12))) for _ in range(20000)]
    dated = [f"{sampler.randint(0, 9999):04d}-{sampler.randint(0, 19)}-{sampler.randint(0, 39)}"
             + sampler.choice(["", "T1:02:03", " 1:02:03.5 Z", "t10:20:30+01:00", "x"]) for _ in range(2000)]
    return words + short + sampled + dated


def test_implicit_tag_answers_as_pyyaml_s_resolver_or_leaves_the_text_to_it():
    import yaml

    from mlstack.core.pyyaml import NUMBER_FIRSTS, WORD_FIRSTS, implicit_tag

    resolver = yaml.resolver.Resolver()
    answered = 0
    for text in _texts():
        tag = implicit_tag(text)
        if tag is not None:
            answered += 1
            assert tag == resolver.resolve(yaml.ScalarNode, text, (True, False)), repr(text)
    assert answered > 10000   # most texts need no pattern at all
    # every first character PyYAML has patterns for is one implicit_tag knows about
    assert set(yaml.resolver.Resolver.yaml_implicit_resolvers) - {""} <= WORD_FIRSTS | NUMBER_FIRSTS


def test_a_render_dumps_and_loads_without_compiling_pyyaml_s_patterns(tmp_path):
    """The loader types no plain scalar (mlstack does); the dumper asks its patterns only of number-like text."""
    probe = ("import sys\n"
             "from mlstack.cli import main\n"
             "try:\n    main(['render', '--profile', 'dev'])\nexcept SystemExit:\n    pass\n"
             "import yaml\n"
             "pending = [tag for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()\n"
             "           for tag, pattern in resolvers if getattr(pattern, '_compiled', 1) is not None]\n"
             "print(sorted(set(pending)))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={"PYTHONPATH": str(REPO), "MLSTACK_CACHE_DIR": "off", "PATH": "/usr/bin:/bin"})

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
