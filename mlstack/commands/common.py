"""What every command needs: find and load the stack, build a profile's model."""

from __future__ import annotations

import os
from pathlib import Path as FsPath

from mlstack.core.pipeline import Rendered, build
from mlstack.core.stack import PACKAGE_DIR, TEMPLATES_DIR, Stack, find_stack_file, load_stack


def open_stack(stack_file: str | None, cwd: FsPath | None = None) -> Stack:
    cwd = cwd or FsPath.cwd()
    return load_stack(find_stack_file(stack_file, cwd), cwd)


def build_profile(stack_file: str | None, profile: str, gpu: str | None = None) -> Rendered:
    return build(open_stack(stack_file), profile, dict(os.environ), gpu)


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
