"""The `catalogs:` of mlstack.yaml: where fragments come from besides the project and the built-ins.

Three kinds of entry (docs/catalogs.md):
  ../platform/stacks                                  a local directory, used as it is
  {git: URL, rev: v1.4.0, path: stacks, name: team}   a git repository pinned to a tag, branch or commit
  {package: team}                                     an installed distribution's `mlstack.catalogs` entry point

A git or package catalog is used only as mlstack.lock pins it, from the cache mlstack fetched it into:
loading the stack never fetches, and every fragment it takes from such a catalog must hash as locked.
"""

from __future__ import annotations

from pathlib import Path as FsPath

from mlstack.core.load import resolve_path
from mlstack.core.model import Node, Origin
from mlstack.errors import CatalogError
from mlstack.records import field, record
from mlstack.report import Diagnostic
from mlstack.patterns import lazy

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing on a render's path
if TYPE_CHECKING:
    from typing import Callable

    from mlstack.core.lockfile import LockedCatalog

FETCH = "run `mlstack catalog fetch`"


@record(frozen=True)
class CatalogEntry:
    name: str
    kind: str                # "directory" | "git" | "package"
    location: str            # the directory as written, the git URL, or the entry point's name
    rev: str = ""
    path: str = ""
    origin: Origin = field(default_factory=Origin)
    where: str = ""          # "catalogs[1]": the entry's place in mlstack.yaml
    rev_origin: Origin = field(default_factory=Origin)   # where `rev:` is written (`catalog update` rewrites it)


@record(frozen=True)
class PackageCatalog:
    """An installed `mlstack.catalogs` entry point: the distribution declaring it and its directory."""

    distribution: str
    version: str
    directory: FsPath


@record(frozen=True)
class CatalogEnvironment:
    """What loading a stack needs from outside the core: the fetch cache and the installed packages."""

    cache_root: FsPath | None = None
    find_package: Callable[[str], PackageCatalog | None] = lambda name: None

    def tree(self, commit: str) -> FsPath | None:
        """Where a fetched commit's files are (read-only); None without a cache."""
        return None if self.cache_root is None else self.cache_root / "trees" / commit


@record(frozen=True)
class Catalog:
    """A catalog ready to search: its directory, how `mlstack services` names it, its pin (if versioned)."""

    entry: CatalogEntry
    directory: FsPath
    label: str
    locked: LockedCatalog | None = None


def parse_entries(node: Node | None, directory: FsPath, display: str) -> list[CatalogEntry]:
    """The schema has checked each entry's shape; names must be unique among the named ones."""
    entries: list[CatalogEntry] = []
    for index, item in enumerate(node.value if node is not None else []):
        where = f"catalogs[{index}]"
        if item.is_scalar:
            entries.append(CatalogEntry("", "directory", item.text(), origin=item.origin, where=where))
            continue
        data = item.to_data()
        kind = "git" if "git" in data else "package"
        location = str(data[kind])
        name = str(data.get("name") or default_name(kind, location))
        rev = item.get("rev")
        entries.append(CatalogEntry(name, kind, location, str(data.get("rev", "")), str(data.get("path", "")).strip("/"),
                                    item.origin, where, rev.origin if rev is not None else item.origin))
        if ".." in entries[-1].path.split("/"):
            _fail(item.get("path").origin, display, f"{where}.path", "must stay inside the repository (no ..)")
        if any(other.name == name for other in entries[:-1]):
            _fail(item.origin, display, where, f"catalog name {name!r} is used twice; give one of them `name:`")
    return entries


def default_name(kind: str, location: str) -> str:
    """A git catalog is named after its repository (`platform-stacks.git` -> platform-stacks)."""
    if kind == "package":
        return location
    last = location.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return last[:-4] if last.endswith(".git") else last


def resolve(entries: list[CatalogEntry], lock: dict[str, LockedCatalog], directory: FsPath, display: str,
            lock_display: str, environment: CatalogEnvironment) -> list[Catalog]:
    """Each entry's directory; a versioned one only as locked and fetched, else a located error saying what to run."""
    catalogs = []
    for entry in entries:
        if entry.kind == "directory":
            catalogs.append(Catalog(entry, resolve_path(directory / entry.location), entry.location))
            continue
        locked = lock.get(entry.name)
        if locked is None or locked.kind != entry.kind:
            _fail(entry.origin, display, entry.where, f"catalog {entry.name!r} is not pinned in {lock_display}: {FETCH}")
        if entry.kind == "git":
            catalogs.append(_git_catalog(entry, locked, display, lock_display, environment))
        else:
            catalogs.append(_package_catalog(entry, locked, display, lock_display, environment))
    return catalogs


def _git_catalog(entry: CatalogEntry, locked: LockedCatalog, display: str, lock_display: str,
                 environment: CatalogEnvironment) -> Catalog:
    asked = (entry.location, entry.rev, entry.path)
    pinned = (locked.source, locked.rev, locked.path)
    if asked != pinned:
        changed = ", ".join(f"{key} {mine!r} (locked {theirs!r})" for key, mine, theirs
                            in zip(("git", "rev", "path"), asked, pinned) if mine != theirs)
        _fail(entry.origin, display, entry.where,
              f"catalog {entry.name!r} differs from {lock_display}: {changed}; {FETCH} to pin it")
    tree = environment.tree(locked.version)
    if tree is None or not tree.is_dir():
        _fail(entry.origin, display, entry.where,
              f"catalog {entry.name!r} {locked.short()} is not in the cache{f' ({tree})' if tree else ''}: {FETCH}")
    return Catalog(entry, tree / locked.path if locked.path else tree, f"{entry.name} {locked.short()}", locked)


def _package_catalog(entry: CatalogEntry, locked: LockedCatalog, display: str, lock_display: str,
                     environment: CatalogEnvironment) -> Catalog:
    found = environment.find_package(entry.location)
    if found is None:
        _fail(entry.origin, display, entry.where,
              f"no installed package declares the mlstack.catalogs entry point {entry.location!r}")
    if (found.distribution, found.version) != (locked.source, locked.version):
        _fail(entry.origin, display, entry.where,
              f"catalog {entry.name!r}: {found.distribution} {found.version} is installed, {lock_display} pins "
              f"{locked.source} {locked.version}: install that version, or run `mlstack catalog update {entry.name}`")
    return Catalog(entry, found.directory, f"{entry.name} {found.distribution} {found.version}", locked)


def qualified(text: str, catalogs: list[Catalog]) -> tuple[Catalog, str] | None:
    """`team/api`: fragment api of the catalog named team (only when a catalog has that name)."""
    if text.count("/") != 1 or text.endswith((".yaml", ".yml")) or text.startswith("."):
        return None
    name, fragment = text.split("/")
    return next(((catalog, fragment) for catalog in catalogs if catalog.entry.name == name and name), None)


def verify_fragment(catalog: Catalog, path: FsPath, item: Node, display: str, where: str) -> None:
    """A fragment from a versioned catalog must be the file the lock hashed."""
    locked = catalog.locked
    if locked is None:
        return
    from mlstack.core.lockfile import digest   # hashlib: only where a versioned catalog is used

    expected = locked.fragments.get(path.name)
    actual = digest(path)
    if expected != actual:
        reason = "is not in the lock" if expected is None else f"has {actual[:19]}..., the lock {expected[:19]}..."
        fix = (f"the cache or the lock was changed; {FETCH} (it checks and repairs the cache)" if locked.kind == "git"
               else f"the installed files were changed; reinstall {locked.source} {locked.version}")
        _fail(item.origin, display, where,
              f"fragment {path.name} of catalog {catalog.label} does not match mlstack.lock ({reason}): {fix}")


VERSION_TAG = lazy(r"^v?(\d+(?:\.\d+)*)(?:[-.+]?(.*))?$")


def version_key(tag: str) -> tuple | None:
    """Semver-ish order: v1.10.0 > v1.9.2 > v1.9.2-rc1; None for a tag that is not a version."""
    match = VERSION_TAG.match(tag)
    if match is None:
        return None
    numbers = tuple(int(part) for part in match.group(1).split("."))
    suffix = match.group(2) or ""
    return numbers, suffix == "", suffix   # a release sorts after its pre-releases


def newest_tag(tags: list[str]) -> str | None:
    versions = [(version_key(tag), tag) for tag in tags if version_key(tag) is not None]
    return max(versions)[1] if versions else None


def entry_error(entry: CatalogEntry, display: str, message: str) -> CatalogError:
    """The error about one `catalogs:` entry, located at it."""
    origin = entry.origin
    return CatalogError(message, [Diagnostic(display, origin.line, origin.column, entry.where, message, "catalog")])


def _fail(origin: Origin, display: str, where: str, message: str):
    raise CatalogError(message, [Diagnostic(display, origin.line, origin.column, where, message, "catalog")])
