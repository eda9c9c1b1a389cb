"""`mlstack catalog fetch` and `update`: pin every versioned catalog of mlstack.yaml and write mlstack.lock.

Both write only when something changed, each file atomically: the lock (and, for `update`, the
`rev:` of each moved git catalog in mlstack.yaml, edited in place so its comments and layout stay).
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Mapping

from mlstack.core.catalogs import CatalogEntry, parse_entries
from mlstack.core.lockfile import LOCK_FILE, read_lock, render_lock
from mlstack.core.model import Origin
from mlstack.core.stack import find_stack_file, load_definition
from mlstack.errors import UsageError
from mlstack.lifecycle.catalogs import Change, change, pin
from mlstack.lifecycle.workspace import write_atomically


def repin(stack_file: str | None, env: Mapping[str, str], names: list[str] | None = None) -> list[Change]:
    """names None: fetch (keep each pin, fetch what the cache lacks, pin what is new);
    names given ([] = all): update those to their newest tag or branch head."""
    cwd = FsPath.cwd()
    path = find_stack_file(stack_file, cwd)
    if path is None:
        raise UsageError("no mlstack.yaml here (or --file): catalogs are declared in the stack definition")
    root, display = load_definition(path, cwd)
    entries = [entry for entry in parse_entries(root.get("catalogs"), path.parent, display) if entry.kind != "directory"]
    lock_path = path.parent / LOCK_FILE
    lock = read_lock(lock_path, str(FsPath(display).parent / LOCK_FILE))
    _check_names(entries, names or [])
    pinned, changes, definition = {}, [], path.read_text(encoding="utf-8")
    for entry in entries:
        newest = names is not None and (not names or entry.name in names)
        locked = lock.get(entry.name)
        pinned[entry.name] = pin(entry, locked, env, display, newest)
        if locked != pinned[entry.name] or newest:
            changes.append(change(entry.name, locked, pinned[entry.name]))
        if pinned[entry.name].rev != entry.rev:
            definition = replace_scalar(definition, entry.rev_origin, entry.rev, pinned[entry.name].rev)
    if definition != path.read_text(encoding="utf-8"):
        write_atomically(path, definition)
    text = render_lock(pinned)
    if (pinned or lock_path.exists()) and (not lock_path.exists() or lock_path.read_text(encoding="utf-8") != text):
        write_atomically(lock_path, text)
    return changes


def _check_names(entries: list[CatalogEntry], names: list[str]) -> None:
    known = [entry.name for entry in entries]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UsageError(f"no versioned catalog named {', '.join(map(repr, unknown))}; mlstack.yaml has: "
                         f"{', '.join(known) or 'none'}")


def replace_scalar(text: str, origin: Origin, old: str, new: str) -> str:
    """The scalar written at `origin` (line and column from 1), plain or quoted, replaced by `new`."""
    lines = text.splitlines(keepends=True)
    line = lines[origin.line - 1]
    start = origin.column - 1
    quote = line[start] if line[start] in "'\"" else ""
    written = f"{quote}{old}{quote}"
    if not line.startswith(written, start):
        raise UsageError(f"{origin.location()}: cannot rewrite rev {old!r}: edit mlstack.yaml to {new!r} by hand")
    lines[origin.line - 1] = line[:start] + f"{quote}{new}{quote}" + line[start + len(written):]
    return "".join(lines)
