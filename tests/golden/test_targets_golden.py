"""Golden files: the default stack's prod render for each deploy target, byte for byte.

A change to a target's mapping shows up here as a reviewable diff of the files. To accept one:
`MLSTACK_UPDATE_GOLDEN=1 python -m pytest tests/golden/test_targets_golden.py` and read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlstack.core.pipeline import build
from mlstack.core.stack import load_stack
from mlstack.targets import convert

HERE = Path(__file__).parent / "targets"
UPDATE = os.environ.get("MLSTACK_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("target, profile", [("swarm", "prod"), ("k8s", "prod"), ("k8s", "dev")])
def test_default_stack_render_matches_its_golden_files(tmp_path, target, profile):
    rendered = build(load_stack(None, tmp_path), profile, {})     # no secret, no variable set
    files = convert(target, rendered).files
    golden = HERE / f"{target}-{profile}"
    if UPDATE:
        golden.mkdir(parents=True, exist_ok=True)
        for stale in golden.iterdir():
            stale.unlink()
        for name, text in files.items():
            (golden / name).write_text(text)
    assert sorted(path.name for path in golden.iterdir()) == sorted(files)
    for name, text in files.items():
        assert (golden / name).read_text() == text, f"{golden.name}/{name} differs (MLSTACK_UPDATE_GOLDEN=1 to accept)"
