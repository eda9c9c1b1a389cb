"""Volume seeding, the pure part, 2 of 3: what a seed leaves in the volume, and how a source is compared.

The marker (`.mlstack-seed.json`, written last) says what the last complete seed copied; a
source's `Fingerprint` is compared with it. Staging and ready directories are the seed's steps
on the way (engine/seed.sh).
"""

from __future__ import annotations

import json

from mlstack.core.digest import sha256
from mlstack.records import record

MARKER = ".mlstack-seed.json"          # in the volume's root, written last
STAGING_PREFIX = ".mlstack-staging-"   # a seed being copied; removed by the next run when interrupted
READY = ".mlstack-ready"               # a complete copy being moved into place; the next run finishes it
MARKER_VERSION = 1


# A listing maps a path relative to the volume's root to what the quick check compares:
# [size, mtime_ns] for a file, ["link", target] for a symbolic link, ["data", sha256] for a file
# mlstack writes itself (an HF ref).
Listing = dict[str, list]


@record
class Fingerprint:
    identity: str              # the resolved source: a path with its revision, an image id
    files: Listing             # empty for archive and image sources: they are compared whole
    total_bytes: int

    @property
    def digest(self) -> str:
        return fingerprint_digest(self.identity, self.files)


def fingerprint_digest(identity: str, files: Listing) -> str:
    digest = sha256(identity.encode())
    for path in sorted(files):
        digest.update(("\0" + path + "\0" + "\0".join(str(part) for part in files[path])).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


@record
class Marker:
    """`/.mlstack-seed.json`: what the last complete seed put into the volume."""

    volume: str
    source: str                # as declared
    identity: str
    digest: str
    files: Listing
    total_bytes: int
    owner: str
    mode: str
    subpath: str
    seeded_at: str             # ISO 8601, UTC
    seed_id: str
    version: int = MARKER_VERSION

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> "Marker":
        body = json.loads(data)
        if not isinstance(body, dict) or body.get("version") != MARKER_VERSION:
            raise ValueError(f"unknown marker version {body.get('version') if isinstance(body, dict) else body!r}")
        return cls(**{key: body[key] for key in cls.__record_names__})


def changed_paths(old: Listing, new: Listing) -> tuple[list[str], list[str]]:
    """(paths to copy: new or different, paths that the old seed had and the new source lacks)."""
    copy = sorted(path for path, entry in new.items() if old.get(path) != entry)
    removed = sorted(path for path in old if path not in new)
    return copy, removed


def probe(files: Listing, subpath: str) -> str:
    """The file a complete copy must hold, for the helper: `SIZE PATH`, PATH relative to the subpath;
    "" when the source has no regular file. The largest one (ties: the first path): one `stat` in
    the helper tells a copy of the source from the empty directory that an engine in a VM shows for
    a host path it does not share, where counting the copy would walk it a second time."""
    prefix = subpath + "/" if subpath else ""
    sized = [(-entry[0], path) for path, entry in files.items()
             if isinstance(entry[0], int) and path.startswith(prefix) and "\n" not in path]
    if not sized:
        return ""
    size, path = min(sized)
    return f"{-size} {path[len(prefix):]}"


def removal_lines(old: Listing, removed: list[str]) -> bytes:
    """For the helper: `SIZE MTIME_S PATH` per file (removed only if still as seeded), `link - PATH` per link."""
    lines = []
    for path in removed:
        entry = old[path]
        if "\n" in path:
            continue
        if entry[0] == "link":
            lines.append(f"link - {path}")
        elif entry[0] != "data":
            lines.append(f"{entry[0]} {entry[1] // 1_000_000_000} {path}")
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape") if lines else b""
