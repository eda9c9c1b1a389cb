"""The stack on disk: find and load it, build a profile's model, and write next to it.

mlstack writes under `<stack dir>/.mlstack/`: the shipped build contexts (`templates/`) and each
profile's rendered file (`<profile>/compose.yaml`), always atomically.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Any, Mapping

from mlstack.core.load import load_yaml_file
from mlstack.core.stack import PACKAGE_DIR, TEMPLATES_DIR, Stack, builtin_dir, find_stack_file, load_stack

if TYPE_CHECKING:  # the render pipeline costs ~100 ms to import; `status` never needs it
    from mlstack.core.pipeline import Rendered

RENDER_DIR = ".mlstack"


def open_stack(stack_file: str | None) -> Stack:
    """The stack of `--file`, else of ./mlstack.yaml, else the built-in default stack."""
    cwd = FsPath.cwd()
    return load_stack(find_stack_file(stack_file, cwd), cwd)


def build_profile(stack_file: str | None, profile: str, env: Mapping[str, str], gpu: str | None = None) -> Rendered:
    from mlstack.core.pipeline import build

    return build(open_stack(stack_file), profile, dict(env), gpu)


def catalog(stack: Stack) -> list[dict[str, Any]]:
    """Every fragment the stack could use (its catalogs, then the built-in ones), the first of a name
    winning: name, description, source, services, whether the stack uses it, which ones it shadows."""
    in_use = {ref.path.resolve() for ref in stack.fragments}
    seen: dict[str, dict] = {}
    sources = [(catalog, str(catalog)) for catalog in stack.catalogs] + [(builtin_dir("stacks"), "built-in")]
    for directory, label in sources:
        for path in sorted(FsPath(directory).glob("*.yaml")) if FsPath(directory).is_dir() else []:
            if path.stem in seen:
                seen[path.stem].setdefault("shadows", []).append(label)
                continue
            node = load_yaml_file(path, str(path), what="fragment")
            meta = node.get("x-mlstack")
            description = meta.get("description").text() if meta is not None and meta.get("description") is not None else ""
            services = sorted(node.get("services").value) if node.get("services") is not None else []
            seen[path.stem] = {"name": path.stem, "description": description, "source": label,
                               "services": services, "in_stack": path.resolve() in in_use}
    return list(seen.values())


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
