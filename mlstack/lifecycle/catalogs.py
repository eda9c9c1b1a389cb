"""Pinning one versioned catalog: fetch a git catalog into the cache (or read an installed package's) and hash it.

Cache (docs/catalogs.md): `<cache>/catalogs/git/<hash of URL>.git`, one bare repository per URL, and
`<cache>/catalogs/trees/<commit>/`, each pinned commit's files, made read-only (lifecycle/catalog_cache.py).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tarfile
import tempfile
from mlstack.records import field, record
from pathlib import Path as FsPath
from typing import Mapping

from mlstack.core.catalogs import CatalogEntry, entry_error, newest_tag
from mlstack.core.lockfile import LockedCatalog, fragment_hashes
from mlstack.engine import git
from mlstack.lifecycle.catalog_cache import ENTRY_POINT_GROUP, cache_root, find_package
from mlstack.errors import EngineError

@record
class Change:
    """What fetching or updating did to one catalog's pin: `mlstack catalog` prints these."""

    name: str
    old: str                 # "" when it was not pinned
    new: str
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def pin(entry: CatalogEntry, locked: LockedCatalog | None, env: Mapping[str, str], display: str,
        newest: bool = False) -> LockedCatalog:
    """The entry pinned: as locked when the lock still matches it (the cache checked and repaired, the network
    used only for what is missing), else resolved anew; `newest` moves the pin to the newest tag or branch head."""
    if entry.kind == "package":
        return _pin_package(entry, locked, display, newest)
    root = cache_root(env)
    if root is None:
        _fail(entry, display, "no cache directory: set MLSTACK_CACHE_DIR or HOME")
    current = locked if locked is not None and not newest and (locked.source, locked.rev, locked.path) == (
        entry.location, entry.rev, entry.path) else None
    if current is not None and _tree_matches(root, current):
        return current
    # a pinned commit the bare repository already holds is re-extracted without the network
    repository = _repository(root, entry, env, display, current.version if current is not None else None)
    rev = _newest_rev(repository, entry, env, display) if newest else entry.rev
    commit = _resolve(repository, rev, env)
    if current is not None:
        if commit != current.version and _is_tag(repository, rev, env):
            _fail(entry, display, f"tag {rev} now names commit {commit[:12]}, mlstack.lock pins {current.version[:12]}: "
                                  f"the tag was moved upstream; `mlstack catalog update {entry.name}` pins it anew")
        commit = current.version
    if commit is None:
        _fail(entry, display, f"{entry.location} has no tag, branch or commit {rev!r}")
    tree = _extract(root, repository, commit, env, display, entry)
    directory = tree / entry.path if entry.path else tree
    if not directory.is_dir():
        _fail(entry, display, f"{entry.location} at {rev} has no directory {entry.path!r}")
    hashes = fragment_hashes(directory)
    if current is not None and hashes != current.fragments:
        _fail(entry, display, f"mlstack.lock's hashes for catalog {entry.name!r} do not match commit {commit[:12]} "
                              f"({', '.join(_differences(current.fragments, hashes))}): the lock was edited; "
                              f"`mlstack catalog update {entry.name}` pins it anew")
    return LockedCatalog(entry.name, "git", entry.location, rev, commit, entry.path, hashes)


def _pin_package(entry: CatalogEntry, locked: LockedCatalog | None, display: str, newest: bool) -> LockedCatalog:
    found = find_package(entry.location)
    if found is None:
        _fail(entry, display, f"no installed package declares the {ENTRY_POINT_GROUP} entry point {entry.location!r}")
    hashes = fragment_hashes(found.directory)
    same = locked is not None and (locked.source, locked.version) == (found.distribution, found.version)
    if same and not newest and hashes != locked.fragments:
        _fail(entry, display, f"the installed {found.distribution} {found.version} does not match mlstack.lock "
                              f"({', '.join(_differences(locked.fragments, hashes))}): reinstall it, or "
                              f"`mlstack catalog update {entry.name}` pins what is installed")
    return LockedCatalog(entry.name, "package", found.distribution, "", found.version, "", hashes)


def change(name: str, old: LockedCatalog | None, new: LockedCatalog) -> Change:
    before, after = (old.fragments if old else {}), new.fragments
    return Change(name, old.short() if old else "", new.short(),
                  sorted(f for f in before.keys() & after.keys() if before[f] != after[f]),
                  sorted(after.keys() - before.keys()), sorted(before.keys() - after.keys()))


def _differences(locked: dict[str, str], found: dict[str, str]) -> list[str]:
    return [f"{name} {'differs' if name in locked and name in found else 'not locked' if name in found else 'missing'}"
            for name in sorted(locked.keys() | found.keys()) if locked.get(name) != found.get(name)]


def _tree_matches(root: FsPath, locked: LockedCatalog) -> bool:
    tree = root / "trees" / locked.version
    return tree.is_dir() and fragment_hashes(tree / locked.path if locked.path else tree) == locked.fragments


def _repository(root: FsPath, entry: CatalogEntry, env: Mapping[str, str], display: str, held: str | None) -> str:
    """The URL's bare repository in the cache, fetched now (every branch and tag) unless it holds commit `held`."""
    repository = root / "git" / (hashlib.sha256(entry.location.encode()).hexdigest()[:20] + ".git")
    if held is not None and (repository / "HEAD").is_file() and _resolve(str(repository), held, env) == held:
        return str(repository)
    try:
        if not (repository / "HEAD").is_file():
            repository.parent.mkdir(parents=True, exist_ok=True)
            git.git(git.init_bare(str(repository)), env)
        git.git(git.fetch(str(repository), entry.location), env)
    except EngineError as error:
        said = (error.stderr.strip() or error.message).splitlines()
        _fail(entry, display, f"cannot fetch {entry.location}: {said[-1] if said else 'git failed'}")
    return str(repository)


def _resolve(repository: str, rev: str, env: Mapping[str, str]) -> str | None:
    done = git.git(git.resolve(repository, rev), env, check=False)
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def _refs(repository: str, env: Mapping[str, str]) -> dict[str, str]:
    lines = git.git(git.refs(repository), env).stdout.splitlines()
    return {words[0]: words[-1] for words in (line.split() for line in lines) if len(words) >= 2}


def _is_tag(repository: str, rev: str, env: Mapping[str, str]) -> bool:
    return f"refs/tags/{rev}" in _refs(repository, env)


def _newest_rev(repository: str, entry: CatalogEntry, env: Mapping[str, str], display: str) -> str:
    """A branch stays that branch (its head moves); anything else moves to the newest version tag."""
    refs = _refs(repository, env)
    if f"refs/heads/{entry.rev}" in refs:
        return entry.rev
    tag = newest_tag([ref[len("refs/tags/"):] for ref in refs if ref.startswith("refs/tags/")])
    if tag is None:
        _fail(entry, display, f"{entry.location} has no version tag (v1.2.3) to update {entry.rev!r} to")
    return tag


def _extract(root: FsPath, repository: str, commit: str, env: Mapping[str, str], display: str,
             entry: CatalogEntry) -> FsPath:
    """The commit's files under trees/COMMIT, read-only, extracted anew (a tree that was there may have been changed)."""
    tree = root / "trees" / commit
    tree.parent.mkdir(parents=True, exist_ok=True)
    staging = FsPath(tempfile.mkdtemp(prefix=f".{commit[:12]}.", dir=tree.parent))
    try:
        archive = staging / "tree.tar"
        git.git(git.archive(repository, commit, str(archive)), env)
        with tarfile.open(archive) as stream:
            stream.extractall(staging / "tree", filter="data")
        _read_only(staging / "tree")
        if tree.is_dir():
            _remove(tree)
        os.replace(staging / "tree", tree)
    except EngineError as error:
        _fail(entry, display, f"cannot read commit {commit[:12]} of {entry.location}: {error.stderr.strip() or error.message}")
    except tarfile.TarError as error:   # a link out of the tree, an absolute path: refused, not extracted
        _fail(entry, display, f"commit {commit[:12]} of {entry.location} holds a file mlstack does not extract: {error}")
    finally:
        _remove(staging)
    return tree


def _read_only(directory: FsPath) -> None:
    for path in [directory, *directory.rglob("*")]:
        if not path.is_symlink():
            mode = path.stat().st_mode
            path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _remove(directory: FsPath) -> None:
    """Delete a read-only tree: each directory made writable first."""
    if not directory.exists():
        return
    for path in [directory, *directory.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    shutil.rmtree(directory)


def _fail(entry: CatalogEntry, display: str, message: str):
    raise entry_error(entry, display, message)
