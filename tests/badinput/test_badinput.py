"""Bad input of every kind, one case file each (tests/badinput/cases, format in corpus.py).

Each case must end with its documented exit code and a located line naming the right file, in
under a second of CPU, with no traceback and nothing written (`render -o out.yaml` leaves no
out.yaml and no temporary file). Every case runs in-process through `mlstack.cli.main`; a sample
also runs as `python -m mlstack`, interpreter start-up included.
"""

import os
import resource
import subprocess
import sys
import time

from pathlib import Path

import pytest

from tests.badinput.corpus import Case, Outcome, all_cases, problems, run_in_process, snapshot

CASES = all_cases()
SUBPROCESS_SAMPLE = list({case.name: case for case in [c for c in CASES if c.name.startswith("bounded-")] + CASES[::25]}.values())
ROOT = Path(__file__).resolve().parents[2]   # the checkout under test, not an installed mlstack


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_the_corpus_is_large():
    assert len(CASES) >= 150
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input(case: Case, tmp_path, monkeypatch):
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    case.write(tmp_path)
    before = snapshot(tmp_path)
    outcome = run_in_process(case.args, tmp_path)
    assert problems(case, outcome, before, snapshot(tmp_path)) == [], f"{case.what}\n{outcome.stderr}"


@pytest.mark.parametrize("case", SUBPROCESS_SAMPLE, ids=[case.name for case in SUBPROCESS_SAMPLE])
def test_bad_input_through_the_command(case: Case, tmp_path):
    case.write(tmp_path)
    before = snapshot(tmp_path)
    environment = {**os.environ, **case.env, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    start, start_cpu = time.perf_counter(), children_cpu_seconds()
    done = subprocess.run([sys.executable, "-m", "mlstack", *case.args], cwd=tmp_path, env=environment,
                          capture_output=True, text=True, timeout=30)
    outcome = Outcome(done.returncode, done.stdout, done.stderr, time.perf_counter() - start,
                      children_cpu_seconds() - start_cpu)   # start-up included
    assert problems(case, outcome, before, snapshot(tmp_path)) == [], f"{case.what}\n{done.stderr}"
