"""`mlstack catalog fetch` and `mlstack catalog update [NAME]...`: pin versioned catalogs in mlstack.lock."""

from __future__ import annotations

from mlstack.records import asdict
from typing import Mapping

from mlstack.lifecycle.catalog_lock import repin
from mlstack.lifecycle.catalogs import Change
from mlstack.report import Result


def fetch(stack_file: str | None, *, env: Mapping[str, str]) -> Result:
    changes = repin(stack_file, env)
    lines = [f"{c.name}: pinned {c.new}" if not c.old else f"{c.name}: {c.old} -> {c.new}" for c in changes]
    return Result(text="\n".join(lines or ["every catalog is fetched and matches mlstack.lock"]),
                  data=[asdict(c) for c in changes])


def update(stack_file: str | None, names: list[str], *, env: Mapping[str, str]) -> Result:
    """Like `pre-commit autoupdate`: each pin moved to the newest tag (or branch head), and what that changed."""
    changes = repin(stack_file, env, names)
    return Result(text="\n".join(line for c in changes for line in _described(c)) or "no versioned catalog",
                  data=[asdict(c) for c in changes])


def _described(change: Change) -> list[str]:
    if change.old == change.new:
        return [f"{change.name}: {change.new} is the newest"]
    lines = [f"{change.name}: {change.old or '(not pinned)'} -> {change.new}"]
    for word in ("changed", "added", "removed"):
        if getattr(change, word):
            lines.append(f"  {word}: {', '.join(getattr(change, word))}")
    return lines
