"""`mlstack.lock`: what each versioned catalog resolved to, and the sha256 of each of its fragments.

Written whole by `mlstack catalog fetch` / `update` (deterministic: keys sorted, one layout), read
by every command that loads the stack. A directory catalog is never locked: it is the team's own tree.
"""

from __future__ import annotations

import os
from pathlib import Path as FsPath

from mlstack.core.load import load_yaml_file
from mlstack.core.model import Node
from mlstack.errors import CatalogError, StackError
from mlstack.records import field, record
from mlstack.report import Diagnostic
from mlstack.patterns import lazy

LOCK_FILE = "mlstack.lock"
LOCK_VERSION = 1
HEADER = ("# mlstack.lock: the catalogs' pinned versions and fragment hashes (docs/catalogs.md).\n"
          "# Written by `mlstack catalog fetch` and `mlstack catalog update`; commit it.\n")
FRAGMENT_SUFFIXES = (".yaml", ".yml")


@record(frozen=True)
class LockedCatalog:
    """One catalog as pinned: git (url, rev, commit, path) or package (distribution, version)."""

    name: str
    kind: str                        # "git" | "package"
    source: str                      # the git URL, or the distribution that declares the entry point
    rev: str = ""                    # git: the rev mlstack.yaml asked for
    version: str = ""                # git: the resolved commit; package: the distribution's version
    path: str = ""                   # git: the fragments' directory inside the repository
    fragments: dict[str, str] = field(default_factory=dict)   # file name -> "sha256:HEX"
    node: Node | None = field(default=None, compare=False)   # where the lock says it, for messages

    def short(self) -> str:
        """`v1.4.0 (3f2a1c9)` or `0.3.1`: how messages and `mlstack services` name the version."""
        if self.kind == "git":
            return f"{self.rev} ({self.version[:7]})" if self.rev != self.version else self.version[:12]
        return self.version

    def to_data(self) -> dict:
        data = {"fragments": dict(sorted(self.fragments.items()))}
        if self.kind == "git":
            data.update(git=self.source, rev=self.rev, commit=self.version, path=self.path)
        else:
            data.update(package=self.source, version=self.version)
        return data


def digest(path: FsPath) -> str:
    import hashlib   # not on the path of a stack without versioned catalogs (~3 ms)

    with open(path, "rb") as stream:
        return "sha256:" + hashlib.sha256(stream.read()).hexdigest()


def fragment_hashes(directory: FsPath) -> dict[str, str]:
    """Every fragment file directly in a catalog directory (links followed), by file name."""
    if not directory.is_dir():
        return {}
    return {entry.name: digest(FsPath(entry.path)) for entry in sorted(os.scandir(directory), key=lambda e: e.name)
            if entry.name.endswith(FRAGMENT_SUFFIXES) and entry.is_file()}


def render_lock(catalogs: dict[str, LockedCatalog]) -> str:
    """The lock's text: the same catalogs always give the same bytes."""
    import yaml

    body = {"version": LOCK_VERSION, "catalogs": {name: catalogs[name].to_data() for name in sorted(catalogs)}}
    return HEADER + yaml.safe_dump(body, sort_keys=True, default_flow_style=False, width=1000)


COMMIT = lazy(r"[0-9a-f]{40}|[0-9a-f]{64}")
# The lock's shape, as a table: kind -> (its source key, its version key, further required keys).
KINDS = {"git": ("git", "commit", ("rev", "path")), "package": ("package", "version", ())}


def read_lock(path: FsPath, display: str) -> dict[str, LockedCatalog]:
    """The lock next to the stack definition, or {} when there is none; a malformed one is a located error."""
    if not os.path.lexists(path):
        return {}
    try:
        root = load_yaml_file(path, display, what="lock file")
    except StackError as error:   # unreadable, not YAML: still a lock problem, with the lock's exit code
        raise CatalogError(error.message, error.diagnostics, error.hint) from None
    version = root.get("version")
    if version is None or version.value != LOCK_VERSION:
        _fail(version or root, display, "version", f"unsupported lock version (this mlstack writes {LOCK_VERSION})")
    catalogs = root.get("catalogs")
    if catalogs is None or not catalogs.is_map:
        _fail(catalogs or root, display, "catalogs", "expected a mapping of catalog name to its pin")
    return {name: _locked(name, body, display) for name, body in catalogs.value.items()}


def _locked(name: str, body: Node, display: str) -> LockedCatalog:
    where = f"catalogs.{name}"
    if not body.is_map:
        _fail(body, display, where, "expected a mapping")
    kind = next((kind for kind, (key, _, _) in KINDS.items() if body.get(key) is not None), None)
    if kind is None:
        _fail(body, display, where, "expected `git:` or `package:`")
    source_key, version_key, others = KINDS[kind]
    for key in (source_key, version_key, *others):
        if body.get(key) is None or not body.get(key).is_scalar:
            _fail(body, display, f"{where}.{key}" if body.get(key) is not None else where, f"missing `{key}:`")
    fragments = body.get("fragments")
    if fragments is None or not fragments.is_map:
        _fail(fragments or body, display, f"{where}.fragments", "expected a mapping of file name to sha256")
    text = {key: body.get(key).text() for key in (source_key, version_key, *others)}
    if kind == "git" and not COMMIT.fullmatch(text["commit"]):   # it names a directory of the cache
        _fail(body.get("commit"), display, f"{where}.commit", "expected a full commit id (40 or 64 hex digits)")
    return LockedCatalog(name, kind, text[source_key], text.get("rev", ""), text[version_key], text.get("path", ""),
                         {file: value.text() for file, value in fragments.value.items()}, body)


def _fail(node: Node, display: str, where: str, message: str):
    origin = node.origin
    raise CatalogError(message, [Diagnostic(display, origin.line, origin.column, where, message, "catalog")])
