"""Relative paths in compose files: which fields hold them, and rebasing between directories.

Compose resolves relative paths against the project directory, except in files reached by
`extends.file` or `include`, whose paths are relative to their own directory. mlstack keeps
paths relative (renders are byte-identical across machines), so it rebases them instead.
"""

from __future__ import annotations

import os
from mlstack.records import record
from pathlib import Path as FsPath

from mlstack.core.model import Node, Path, matches, pattern
from mlstack.patterns import lazy

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms) on a render's path
if TYPE_CHECKING:
    from typing import Callable


def _bind_mount(root: Node, path: Path) -> bool:
    mount = root.find(path[:-1])
    kind = mount.get("type") if mount is not None else None
    return kind is not None and kind.value == "bind"


def _local_bind_volume(root: Node, path: Path) -> bool:
    """Compose resolves a volume's `device` only for `driver: local` with `o: bind`, exactly."""
    volume = root.find(path[:-2])
    driver = volume.get("driver") if volume is not None else None
    options = root.find(path[:-1])
    bind = options.get("o") if options is not None else None
    return driver is not None and driver.value == "local" and bind is not None and bind.value == "bind"


@record(frozen=True)
class PathField:
    pattern: tuple[str, ...]
    windows_aware: bool = False  # Compose keeps `C:\x` and `\\server\share` here; elsewhere it joins them
    when: Callable[[Node, Path], bool] | None = None


def _field(text: str, **options) -> PathField:
    return PathField(pattern(text), **options)


# Read top to bottom; the first pattern that matches decides.
PATH_FIELDS = [
    _field("services.*.build.context"),
    _field("services.*.build.additional_contexts.*"),
    _field("services.*.build.ssh.*", windows_aware=True),
    _field("services.*.develop.watch.[].path"),
    _field("services.*.env_file.[]"),
    _field("services.*.env_file.[].path"),
    _field("services.*.label_file.[]"),
    _field("services.*.extends.file"),
    _field("services.*.volumes.[].source", windows_aware=True, when=_bind_mount),
    _field("secrets.*.file", windows_aware=True),
    _field("configs.*.file", windows_aware=True),
    _field("volumes.*.driver_opts.device", windows_aware=True, when=_local_bind_volume),
]

_WINDOWS_ABSOLUTE = lazy(r"^(?:[A-Za-z]:[\\/]|\\\\)")


def is_relative(text: str, windows_aware: bool = False) -> bool:
    """A local relative path: not absolute, not a URL, a git remote or another service's image."""
    return bool(text) and not (
        text.startswith(("/", "~", "$", "service:")) or "://" in text or text.startswith(("git@", "github.com/"))
        or (windows_aware and _WINDOWS_ABSOLUTE.match(text) is not None)
    )


def rebase(text: str, from_dir: FsPath, to_dir: FsPath, windows_aware: bool = False) -> str:
    if not is_relative(text, windows_aware) or from_dir == to_dir:
        return text
    rebased = os.path.relpath(os.path.normpath(from_dir / text), to_dir)
    return rebased if rebased.startswith(".") else f"./{rebased}"


def path_field(root: Node, path: Path) -> PathField | None:
    """The field the value at `path` is, when that value is a file-system path."""
    for field in PATH_FIELDS:
        if matches(path, field.pattern):
            return field if field.when is None or field.when(root, path) else None
    return None


def rebase_at(root: Node, path: Path, text: str, from_dir: FsPath, to_dir: FsPath) -> str:
    """`text`, the value at `path`, rebased from one directory to another if it is a relative path."""
    field = path_field(root, path)
    if field is None:
        return text
    return rebase(text, from_dir, to_dir, field.windows_aware)


def rebase_tree(root: Node, from_dir: FsPath, to_dir: FsPath) -> None:
    if from_dir == to_dir:
        return
    for path, node in list(root.walk()):
        if node.is_scalar and isinstance(node.value, str):
            rebased = rebase_at(root, path, node.value, from_dir, to_dir)
            if rebased != node.value:
                node.value, node.raw = rebased, None
