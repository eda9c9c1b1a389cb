"""Volume seeding, the pure part, 3 of 3: what to do with a volume (one table), and how to copy.

What the engine shows (`Observed`) and the source's `Fingerprint` decide the action (`decide`,
docs/seeding.md); the method and the helper image are chosen here too.
"""

from __future__ import annotations

from mlstack.core.seed_marker import Fingerprint, Marker, changed_paths
from mlstack.core.seeding import ARCHIVE, IMAGE, PlanError, SeedPlan, Source
from mlstack.records import field, record

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms)
if TYPE_CHECKING:
    from typing import Any, Mapping

NOTHING, SEED, UPDATE, STALE, REFUSE = "up to date", "seed", "update", "stale", "refuse"


@record
class Observed:
    """What the volume holds, as far as it could be seen cheaply."""

    exists: bool
    marker: Marker | None = None
    foreign: list[str] | None = None   # entries mlstack did not put there (no marker); None: not known
    pending: bool = False              # a complete copy waits to be moved into place (.mlstack-ready)


@record
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
