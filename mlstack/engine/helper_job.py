"""One run of the seeding helper as data: what it copies, and the files that steer it.

The control files are the script (engine/seed.sh), its settings as a sourced `env`, the
marker it writes last, the paths to copy (`files`) and to remove (`remove`), and for a parallel
copy each worker's entries (`shard-N`) and the directories it descended into (`descended`). They reach the helper
by a bind of a directory on this machine (bind method) or inside the staging directory, in the
same stream as the data (archive method).
"""

from __future__ import annotations

import os
import shlex
import tempfile
from mlstack.records import record

from mlstack.core import seed_marker, seeding
from mlstack.core.seed_copy_plan import CopyPlan
from mlstack.core.seed_marker import Marker
from mlstack.core.seeding import SeedPlan
from mlstack.engine import seed_script
from mlstack.engine.sources import Resolved

CONTROL_PREFIX = "mlstack-seed-"   # + pid: the bind method's control directory on this machine


@record
class HelperJob:
    """One run of the helper container."""

    plan: SeedPlan
    image: str
    seed_id: str
    copy: str = "none"                 # none | check | checksums | tree | parallel | list | archive | streamed
    method: str = "bind"               # bind | archive
    resolved: Resolved | None = None
    files: list[str] | None = None     # UPDATE: volume-relative paths to copy
    remove: bytes = b""
    marker: Marker | None = None       # written last; its size is what was streamed when not known before
    force: bool = False
    probe: str = ""                    # `SIZE PATH`: a file the copy must hold (seed_marker.probe)
    streamed: int = 0                  # bytes sent through the API
    copy_plan: CopyPlan | None = None  # copy "parallel": the workers' shards (core/seed_copy_plan.py)


def control_files(job: HelperJob) -> dict[str, bytes]:
    """The helper's script, its settings (`env`), the marker it writes last, and the lists."""
    resolved = job.resolved
    plan = job.plan
    subpath = resolved.subpath if resolved else plan.subpath
    follow = bool(resolved and resolved.follow_links)
    streamed_owner = job.copy == "streamed" and plan.source.kind in (seeding.DIRECTORY, seeding.HF_MODEL)
    settings = {
        "SEED_ID": job.seed_id, "COPY": job.copy, "FORCE": "1" if job.force else "0",
        "SUBPATH": subpath, "SOURCE_INNER": resolved.inner if resolved else "",
        "CP_FLAGS": "-RpL" if follow else "-a",
        "ARCHIVE_NAME": os.path.basename(resolved.root) if resolved else "",
        "TAR_FLAGS": {"gz": "-z", "bz2": "-j", "xz": "-J"}.get(plan.source.archive_format, ""),
        "PROBE": job.probe,
        "OWNER": plan.owner_text, "CHOWN": "0" if streamed_owner else "1",
    }
    files = {"seed.sh": seed_script.script(),
             "env": "".join(f"{key}={shlex.quote(value)}\n" for key, value in settings.items()).encode(),
             "marker.json": marker_bytes(job), "remove": job.remove}
    prefix = subpath + "/" if subpath else ""
    if job.files is not None:
        listed = [path[len(prefix):] for path in job.files if path.startswith(prefix) and "\n" not in path]
        files["files"] = ("".join(f"{path}\n" for path in listed)).encode("utf-8", "surrogateescape")
    if job.copy_plan is not None and job.copy_plan.parallel:
        files.update(parallel_lists(job.copy_plan))
    if resolved is not None and job.method == "bind":
        for path, content in resolved.extras.items():
            if job.files is None or path in job.files:
                files[f"extra/{path}"] = content
    return files


def parallel_lists(plan: CopyPlan) -> dict[str, bytes]:
    """One line per path, relative to the copy's root (no path has a newline: the plan says so)."""
    def lines(paths) -> bytes:
        return "".join(f"{path}\n" for path in paths).encode("utf-8", "surrogateescape")

    lists = {f"shard-{index}": lines(shard) for index, shard in enumerate(plan.shards, 1)}
    lists["descended"] = lines(plan.descended)
    return lists


def control_place(job: HelperJob) -> str:
    """Where the settings go when they travel through the API: inside the job's staging directory."""
    return f"{seed_marker.STAGING_PREFIX}{job.seed_id}/control"


def control_directory(files: dict[str, bytes]) -> str:
    """The control files in a fresh directory readable by the helper's root (even a remapped one)."""
    directory = tempfile.mkdtemp(prefix=f"{CONTROL_PREFIX}{os.getpid()}-")
    os.chmod(directory, 0o755)
    for name, content in files.items():
        path = os.path.join(directory, name)
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(content)
    return directory


def marker_bytes(job: HelperJob) -> bytes:
    if job.marker is None:
        return b""
    if not job.marker.total_bytes:
        job.marker.total_bytes = job.streamed
    return job.marker.to_json()
