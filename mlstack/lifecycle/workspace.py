"""The stack on disk: find and load it, build a profile's model, and write next to it.

mlstack writes under `<stack dir>/.mlstack/`: the shipped build contexts (`templates/`) and each
profile's rendered file (`<profile>/compose.yaml`), always atomically.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Mapping

from mlstack.core.stack import PACKAGE_DIR, TEMPLATES_DIR, Stack, find_stack_file, load_stack

if TYPE_CHECKING:  # the render pipeline costs ~100 ms to import; `status` never needs it
    from mlstack.core.pipeline import Rendered

RENDER_DIR = ".mlstack"


def open_stack(stack_file: str | None, cwd: FsPath | None = None) -> Stack:
    cwd = cwd or FsPath.cwd()
    return load_stack(find_stack_file(stack_file, cwd), cwd)


def build_profile(stack_file: str | None, profile: str, env: Mapping[str, str], gpu: str | None = None) -> Rendered:
    from mlstack.core.pipeline import build

    return build(open_stack(stack_file), profile, dict(env), gpu)


def ensure_templates(stack_dir: FsPath) -> None:
    """Copy the shipped build contexts (API template, MLflow image) to `.mlstack/templates/`.

    Renders name them by that relative path, so a render is the same on every machine; files
    are rewritten only when the installed mlstack ships different ones.
    """
    import shutil

    source_root = PACKAGE_DIR / "templates"
    target_root = stack_dir / TEMPLATES_DIR
    for source in sorted(source_root.rglob("*")):
        if source.is_dir() or "__pycache__" in source.parts or source.name == "__init__.py" and source.parent == source_root:
            continue
        target = target_root / source.relative_to(source_root)
        data = source.read_bytes()
        if target.is_file() and target.read_bytes() == data:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_bytes(data)
        shutil.copymode(source, temporary)
        os.replace(temporary, target)


def write_atomically(target: FsPath, text: str) -> None:
    """Temp file in the same directory, fsync, rename: an existing file is replaced whole or not at all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
