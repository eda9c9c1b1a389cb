"""Where versioned catalogs are on this machine: the fetch cache and the installed packages' entry points.

`<cache>` is MLSTACK_CACHE_DIR, else $XDG_CACHE_HOME/mlstack, else ~/.cache/mlstack (as the render
cache's, cli/replay.py); catalogs live in `<cache>/catalogs/`. Nothing here runs git: every command
that loads a stack uses this, and only `mlstack catalog` fetches.
"""

from __future__ import annotations

import os
from pathlib import Path as FsPath

from mlstack.core.catalogs import CatalogEnvironment, PackageCatalog

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms) on a render's path
if TYPE_CHECKING:
    from typing import Mapping

ENTRY_POINT_GROUP = "mlstack.catalogs"


def cache_root(env: Mapping[str, str]) -> FsPath | None:
    configured = env.get("MLSTACK_CACHE_DIR")
    if configured and configured != "off":   # "off" turns the render cache off; fetched catalogs stay needed
        return FsPath(configured) / "catalogs"
    base = env.get("XDG_CACHE_HOME") or (os.path.join(env["HOME"], ".cache") if env.get("HOME") else "")
    return FsPath(base) / "mlstack" / "catalogs" if base else None


def find_package(name: str) -> PackageCatalog | None:
    """The directory an installed distribution's `mlstack.catalogs` entry point names, without importing it:
    `team = "team_stacks:stacks"` is the directory `stacks` inside the package team_stacks."""
    from importlib.metadata import entry_points
    from importlib.util import find_spec

    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name != name or point.dist is None:
            continue
        spec = find_spec(point.module)
        if spec is None or not spec.submodule_search_locations:
            return None
        directory = FsPath(list(spec.submodule_search_locations)[0])
        return PackageCatalog(point.dist.metadata["Name"], point.dist.version,
                              directory / point.attr if point.attr else directory)
    return None


def environment(env: Mapping[str, str]) -> CatalogEnvironment:
    return CatalogEnvironment(cache_root(env), find_package)
