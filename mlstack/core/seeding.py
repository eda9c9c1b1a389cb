"""Volume seeding, the pure part: declarations become plans, fingerprints become decisions.

A seed declaration (`volumes.NAME.seed` in mlstack.yaml, with defaults from a fragment's
`x-mlstack.caches.NAME`) becomes a `SeedPlan`: where the data comes from, whose files they become,
where in the volume they go, and the engine's real name of the volume. What to do with a volume
is decided from what the engine shows (`Observed`) and the source's `Fingerprint` by one table,
`decide`. Nothing here touches the file system or the engine (docs/seeding.md).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from mlstack.core.interpolate import InterpolationError, substitute
from mlstack.core.model import Node

MARKER = ".mlstack-seed.json"          # in the volume's root, written last
STAGING_PREFIX = ".mlstack-staging-"   # a seed being copied; removed by the next run when interrupted
READY = ".mlstack-ready"               # a complete copy being moved into place; the next run finishes it
MARKER_VERSION = 1
MODES = ("once", "sync")
ARCHIVE_SUFFIXES = {".tar": "tar", ".tar.gz": "gz", ".tgz": "gz", ".tar.bz2": "bz2", ".tar.xz": "xz",
                    ".tar.zst": "zst", ".tar.zstd": "zst"}
HF_PREFIX = "hf-cache:"
COMMIT = re.compile(r"[0-9a-f]{40}")

# Source kinds
DIRECTORY, ARCHIVE, IMAGE, HF_MODEL = "directory", "archive", "image", "hf-cache"


class PlanError(Exception):
    """A declaration that cannot be planned; `where` locates it (file:line:col: path)."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass(frozen=True)
class Source:
    kind: str                 # directory | archive | image | hf-cache
    declared: str             # as written (for messages and status)
    path: str = ""            # directory, archive file, or the model's models--ORG--NAME directory
    image: str = ""
    image_path: str = ""
    model: str = ""           # ORG/NAME
    revision: str = "main"    # a ref name or a commit
    archive_format: str = ""  # tar | gz | bz2 | xz | zst


@dataclass(frozen=True)
class SeedPlan:
    volume: str                          # the key under `volumes:` in the compose model
    volume_name: str                     # the engine's name: `<project>_<volume>` unless `name:` is set
    project: str
    source: Source
    owner: tuple[int, int] | None        # None: files keep the uid:gid they have at the source
    mode: str                            # once | sync
    subpath: str                         # where in the volume the content goes ("" = its root)
    where: str                           # the declaration's location, for messages
    external: bool = False
    driver: str | None = None
    driver_opts: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    service: str = ""                    # from x-mlstack.caches: who mounts it, and where
    target: str = ""

    @property
    def owner_text(self) -> str:
        return f"{self.owner[0]}:{self.owner[1]}" if self.owner else ""

    def compose_labels(self) -> dict[str, str]:
        """What Compose would put on the volume, less its config hash (whose absence Compose accepts
        and whose mismatch would make `compose up` offer to delete the volume)."""
        labels = dict(self.labels)
        if not self.external:
            labels.update({"com.docker.compose.project": self.project, "com.docker.compose.volume": self.volume})
        return labels


# --- declarations -> plans -------------------------------------------------------------------

def plan_seeds(declarations: Node | None, document: Mapping[str, Any], project: str, env: Mapping[str, str],
               base_dir: str) -> tuple[list[SeedPlan], list[str]]:
    """Plans for every `volumes.NAME.seed` in the stack definition, and notes on those skipped.

    `document`: the rendered compose model (its `volumes:` give real names, its `x-mlstack.caches`
    give defaults). `env`: interpolation variables and HOME / HF_HOME. `base_dir`: the stack
    definition's directory, which relative paths are relative to.
    """
    plans: list[SeedPlan] = []
    notes: list[str] = []
    if declarations is None or not declarations.is_map:
        return plans, notes
    model_volumes = document.get("volumes") or {}
    caches = ((document.get("x-mlstack") or {}).get("caches") or {})
    for volume, body in declarations.value.items():
        seed = body.get("seed") if body.is_map else None
        if seed is None:
            continue
        where = f"{seed.origin.location()}: volumes.{volume}.seed"
        if volume not in model_volumes:
            notes.append(f"{where}: no volume {volume!r} in this profile; not seeded")
            continue
        declared = seed.to_data()
        cache = caches.get(volume) or {}
        spec = model_volumes.get(volume) or {}
        plans.append(SeedPlan(
            volume=volume,
            volume_name=real_volume_name(project, volume, spec),
            project=project,
            source=parse_source(declared, env, base_dir, where),
            owner=parse_owner(declared.get("owner") or cache.get("owner"), where),
            mode=declared.get("mode", "once"),
            subpath=clean_subpath(_expand(declared.get("subpath", ""), env, where), where),
            where=where,
            external=bool(spec.get("external")),
            driver=spec.get("driver"),
            driver_opts={str(k): str(v) for k, v in (spec.get("driver_opts") or {}).items()},
            labels={str(k): str(v) for k, v in (spec.get("labels") or {}).items()},
            service=str(cache.get("service", "")),
            target=str(cache.get("target", "")),
        ))
    return plans, notes


def real_volume_name(project: str, volume: str, spec: Mapping[str, Any]) -> str:
    """Compose's rule: `name:` as given, else `<project>_<key>` (an external volume without a name is the key)."""
    if spec.get("name"):
        return str(spec["name"])
    if spec.get("external"):
        return volume
    return f"{project}_{volume}"


def parse_source(declared: Mapping[str, Any], env: Mapping[str, str], base_dir: str, where: str) -> Source:
    if "image" in declared:
        path = posixpath.normpath(str(declared.get("path", "")))
        if not path.startswith("/") or path == "/":
            raise PlanError(where, f"path must be an absolute directory inside the image, not {declared.get('path')!r}")
        return Source(IMAGE, f"{declared['image']}:{path}", image=_expand(str(declared["image"]), env, where),
                      image_path=path)
    text = str(declared.get("from", ""))
    if text.startswith(HF_PREFIX):
        return hf_source(text, env, where)
    path = host_path(_expand(text, env, where), env, base_dir)
    for suffix, archive_format in ARCHIVE_SUFFIXES.items():
        if path.endswith(suffix):
            return Source(ARCHIVE, text, path=path, archive_format=archive_format)
    return Source(DIRECTORY, text, path=path)


def hf_source(text: str, env: Mapping[str, str], where: str) -> Source:
    """`hf-cache:ORG/NAME[@REVISION]`: the model's snapshot in the user's local Hugging Face cache."""
    model, _, revision = text[len(HF_PREFIX):].partition("@")
    if not re.fullmatch(r"[\w.\-]+(/[\w.\-]+)?", model):
        raise PlanError(where, f"{text!r}: expected hf-cache:ORG/NAME or hf-cache:ORG/NAME@REVISION")
    models_dir = posixpath.join(hf_hub_dir(env), "models--" + model.replace("/", "--"))
    return Source(HF_MODEL, text, path=models_dir, model=model, revision=revision or "main")


def hf_hub_dir(env: Mapping[str, str]) -> str:
    """Where huggingface_hub keeps downloads: HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub."""
    home = env.get("HOME", "/root")
    if env.get("HF_HUB_CACHE"):
        return host_path(env["HF_HUB_CACHE"], env, home)
    if env.get("HF_HOME"):
        return posixpath.join(host_path(env["HF_HOME"], env, home), "hub")
    cache = env.get("XDG_CACHE_HOME") or posixpath.join(home, ".cache")
    return posixpath.join(host_path(cache, env, home), "huggingface", "hub")


def hf_snapshot_subpath(source: Source, commit: str) -> str:
    """Where a model's snapshot lives inside an HF cache: the default subpath of an hf-cache seed."""
    return f"hub/models--{source.model.replace('/', '--')}/snapshots/{commit}"


def hf_ref_file(source: Source, commit: str) -> dict[str, bytes]:
    """The `refs/<name>` file that lets `from_pretrained(ORG/NAME)` find the snapshot offline."""
    if COMMIT.fullmatch(source.revision):
        return {}
    return {f"hub/models--{source.model.replace('/', '--')}/refs/{source.revision}": commit.encode()}


def host_path(text: str, env: Mapping[str, str], base_dir: str) -> str:
    if text == "~" or text.startswith("~/"):
        text = env.get("HOME", "/root") + text[1:]
    return posixpath.normpath(posixpath.join(base_dir, text))


def parse_owner(value: Any, where: str) -> tuple[int, int] | None:
    if value in (None, ""):
        return None
    match = re.fullmatch(r"(\d+)(?::(\d+))?", str(value))
    if match is None:
        raise PlanError(where, f"owner must be UID or UID:GID, not {value!r}")
    uid = int(match[1])
    return uid, int(match[2]) if match[2] is not None else uid


def clean_subpath(text: str, where: str) -> str:
    normal = posixpath.normpath(text.strip("/")) if text.strip("/") else ""
    if normal == ".":
        return ""
    if normal.startswith("..") or any(part.startswith(".mlstack-") for part in normal.split("/")):
        raise PlanError(where, f"subpath must stay inside the volume, not {text!r}")
    return normal


def _expand(text: str, env: Mapping[str, str], where: str) -> str:
    try:
        return substitute(str(text), env)
    except InterpolationError as error:
        raise PlanError(where, str(error)) from None


def volumes_used_by(document: Mapping[str, Any], services: list[str]) -> set[str]:
    """The named volumes (model keys) that these services mount."""
    used: set[str] = set()
    for name in services:
        for mount in ((document.get("services") or {}).get(name) or {}).get("volumes") or []:
            if isinstance(mount, dict) and mount.get("type", "volume") == "volume" and mount.get("source"):
                used.add(str(mount["source"]))
            elif isinstance(mount, str) and ":" in mount and not mount.startswith((".", "/", "~")):
                used.add(mount.split(":", 1)[0])
    return used


# --- fingerprints and markers ----------------------------------------------------------------

# A listing maps a path relative to the volume's root to what the quick check compares:
# [size, mtime_ns] for a file, ["link", target] for a symbolic link, ["data", sha256] for a file
# mlstack writes itself (an HF ref).
Listing = dict[str, list]


@dataclass
class Fingerprint:
    identity: str              # the resolved source: a path with its revision, an image id
    files: Listing             # empty for archive and image sources: they are compared whole
    total_bytes: int

    @property
    def digest(self) -> str:
        return fingerprint_digest(self.identity, self.files)


def fingerprint_digest(identity: str, files: Listing) -> str:
    digest = hashlib.sha256(identity.encode())
    for path in sorted(files):
        digest.update(("\0" + path + "\0" + "\0".join(str(part) for part in files[path])).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


@dataclass
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
        return cls(**{key: body[key] for key in cls.__dataclass_fields__})


def changed_paths(old: Listing, new: Listing) -> tuple[list[str], list[str]]:
    """(paths to copy: new or different, paths that the old seed had and the new source lacks)."""
    copy = sorted(path for path, entry in new.items() if old.get(path) != entry)
    removed = sorted(path for path in old if path not in new)
    return copy, removed


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


# --- what to do ------------------------------------------------------------------------------

NOTHING, SEED, UPDATE, STALE, REFUSE = "up to date", "seed", "update", "stale", "refuse"


@dataclass
class Observed:
    """What the volume holds, as far as it could be seen cheaply."""

    exists: bool
    marker: Marker | None = None
    foreign: list[str] | None = None   # entries mlstack did not put there (no marker); None: not known
    pending: bool = False              # a complete copy waits to be moved into place (.mlstack-ready)


@dataclass
class Decision:
    action: str                        # NOTHING | SEED | UPDATE | STALE | REFUSE
    reason: str
    copy: list[str] | None = None      # UPDATE: the paths to copy (None: everything)
    remove: list[str] = field(default_factory=list)


def decide(plan: SeedPlan, observed: Observed, source: Fingerprint, force: bool,
           differing: list[str] | None = None) -> Decision:
    """The table of docs/seeding.md, top to bottom; `differing`: files whose content differs (--checksum)."""
    marker = observed.marker
    if marker is None:
        if observed.foreign and not force:
            return Decision(REFUSE, f"holds data mlstack did not put there ({', '.join(observed.foreign[:3])}"
                                    f"{', ...' if len(observed.foreign) > 3 else ''})")
        if observed.foreign:
            return Decision(SEED, "--force: seeding over data mlstack did not put there (nothing of it is deleted)")
        return Decision(SEED, "not seeded yet" if observed.exists else "new volume")
    same = marker.digest == source.digest and not differing
    old_files = marker.files
    if force:
        return Decision(SEED, "--force", remove=changed_paths(old_files, source.files)[1])
    if same:
        return Decision(NOTHING, "source unchanged since " + marker.seeded_at)
    what = f"{len(differing)} file(s) differ in content" if differing and marker.digest == source.digest else "source changed"
    if plan.mode == "once":
        return Decision(STALE, f"{what} since {marker.seeded_at}; mode once keeps the seeded content (--force re-seeds)")
    if not source.files or not old_files:
        return Decision(SEED, f"{what}: copied again whole (mode sync)")
    copy, removed = changed_paths(old_files, source.files)
    copy = sorted(set(copy) | set(differing or []))
    return Decision(UPDATE, f"{what}: {len(copy)} to copy, {len(removed)} to remove (mode sync)", copy, removed)


# --- how -------------------------------------------------------------------------------------

METHODS = ("auto", "bind", "archive")
HELPER_FALLBACKS = ("busybox", "alpine", "debian", "ubuntu")   # local images worth trying last


def choose_method(requested: str, local_engine: bool, source: Source) -> str:
    """bind: cp inside the engine's machine from a read-only bind mount (a local engine only);
    archive: a tar stream through the API. Images always stream; archive files stream in auto."""
    if source.kind == IMAGE:
        return "archive"
    if requested == "auto":
        return "bind" if local_engine and source.kind != ARCHIVE else "archive"
    if requested == "bind" and not local_engine:
        raise PlanError("--method bind", "needs the Docker engine on this machine (a unix socket); use archive")
    if requested == "bind" and source.archive_format == "zst":
        raise PlanError("--method bind", "cannot unpack .tar.zst inside the helper; use archive")
    return requested


def helper_candidates(plan: SeedPlan, document: Mapping[str, Any]) -> list[str]:
    """Images the stack already uses, the cache's own service first: one of them is likely local."""
    services = document.get("services") or {}
    first = [services[plan.service].get("image")] if plan.service in services else []
    rest = [body.get("image") for _, body in sorted(services.items())]
    found: list[str] = []
    for image in first + rest:
        if image and image not in found:
            found.append(str(image))
    return found


def fallback_helper(local_images: list[str]) -> str | None:
    """A local image named like busybox, alpine, debian or ubuntu (any registry, any tag)."""
    for name in HELPER_FALLBACKS:
        for reference in local_images:
            repository = reference.rsplit(":", 1)[0]
            if repository.rsplit("/", 1)[-1] == name:
                return reference
    return None
