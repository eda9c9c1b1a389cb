"""Relative paths in compose files: which fields hold them, and rebasing between directories.

Compose resolves relative paths against the project directory, except in files reached by
`extends.file` or `include`, whose paths are relative to their own directory. mlstack keeps
paths relative (renders are byte-identical across machines), so it rebases them instead.
"""

from __future__ import annotations

import os
from pathlib import Path as FsPath

from mlstack.core.model import Node, Path, matches, pattern

PATH_FIELDS = [pattern(text) for text in (
    "services.*.build.context",
    "services.*.build.additional_contexts.*",
    "services.*.develop.watch.[].path",
    "services.*.env_file.[]",
    "services.*.env_file.[].path",
    "services.*.label_file.[]",
    "services.*.extends.file",
    "services.*.volumes.[].source",
    "secrets.*.file",
    "configs.*.file",
)]


def is_relative(text: str) -> bool:
    """A local relative path: not absolute, not a URL, a git remote or another service's image."""
    return bool(text) and not (
        text.startswith(("/", "~", "$", "service:")) or "://" in text or text.startswith(("git@", "github.com/"))
    )


def rebase(text: str, from_dir: FsPath, to_dir: FsPath) -> str:
    if not is_relative(text) or from_dir == to_dir:
        return text
    rebased = os.path.relpath(os.path.normpath(from_dir / text), to_dir)
    return rebased if rebased.startswith(".") else f"./{rebased}"


def rebase_tree(root: Node, from_dir: FsPath, to_dir: FsPath) -> None:
    if from_dir == to_dir:
        return
    for path, node in list(root.walk()):
        if node.is_scalar and isinstance(node.value, str) and holds_path(root, path):
            node.value = rebase(node.value, from_dir, to_dir)
            node.raw = None


def holds_path(root: Node, path: Path) -> bool:
    """The value at `path` is a file-system path (a mount's `source` only when the mount is a bind)."""
    if not any(matches(path, want) for want in PATH_FIELDS):
        return False
    if path[-1] != "source":
        return True
    mount = root.find(path[:-1])
    kind = mount.get("type") if mount is not None else None
    return kind is not None and kind.value == "bind"
