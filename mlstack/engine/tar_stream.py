"""Data into and out of a helper through the Engine API, as tar streams (the archive method).

The helper is created and not started yet: its data (`.mlstack-staging-<id>/data/<subpath>`) and
its control files go in with `put_archive`; it starts only once the stream is complete. The tar
bodies themselves are built in engine/sources.py.
"""

from __future__ import annotations

import io
import tarfile

from mlstack.core import seed_marker, seeding
from mlstack.engine import seed_script, sources
from mlstack.engine.api import NotFound
from mlstack.engine.helper_container import LABEL, discard
from mlstack.engine.helper_job import HelperJob, control_files, control_place
from mlstack.errors import SeedError

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Callable, Iterator

    Progress = Callable[[int], None]



def put_control(api, container: str, job: HelperJob) -> None:
    """The script, its settings, the marker and the lists, into the job's staging directory."""
    place = control_place(job)
    api.put_archive(container, seed_script.VOLUME_MOUNT, sources.files_tar(
        {f"{place}/{name}": content for name, content in control_files(job).items()}))


def stream(api, container: str, job: HelperJob, progress: Progress | None) -> None:
    """Send the data into `.mlstack-staging-<id>/data/<subpath>` while the helper is not started."""
    progress = _counting(job, progress)
    resolved = job.resolved
    assert resolved is not None
    base = f"{seed_marker.STAGING_PREFIX}{job.seed_id}/data"
    kind = job.plan.source.kind
    if kind in (seeding.DIRECTORY, seeding.HF_MODEL):   # the settings ride at the end of the same stream
        place = control_place(job)
        trailer = {f"{place}/{name}": content for name, content in control_files(job).items()}
        api.put_archive(container, seed_script.VOLUME_MOUNT,
                        sources.TarBody(resolved, base, job.files, progress, trailer))
        return
    place = f"{base}/{resolved.subpath}" if resolved.subpath else base
    names = place.split("/")
    api.put_archive(container, seed_script.VOLUME_MOUNT,
                    sources.directory_tar(["/".join(names[:i]) for i in range(1, len(names) + 1)]))
    if kind == seeding.ARCHIVE:
        chunks = sources.archive_chunks(resolved.root, job.plan.source.archive_format, progress)
    else:
        chunks = _image_chunks(api, job, progress)
    api.put_archive(container, f"{seed_script.VOLUME_MOUNT}/{place}", chunks)
    put_control(api, container, job)   # after the stream: the marker records its size


def _image_chunks(api, job: HelperJob, progress: Progress) -> Iterator[bytes]:
    """The image's directory as a tar stream, from a container created from it and never started."""
    source = job.plan.source
    try:
        created = api.create_container_from_config({
            "Image": source.image, "Cmd": ["/mlstack-never-started"],
            "Labels": {LABEL: "1", f"{LABEL}.volume": job.plan.volume_name, f"{LABEL}.purpose": "image-source"}})
    except NotFound:   # removed since it was fingerprinted
        raise sources.missing_image(job.plan) from None
    try:
        try:
            chunks, _ = api.get_archive(created["Id"], source.image_path + "/.")
        except NotFound:
            raise SeedError(f"{job.plan.where}: {source.image_path} does not exist in image {source.image}") from None
        sent = 0
        for chunk in chunks:
            sent += len(chunk)
            progress(sent)
            yield chunk
    finally:
        discard(api, created["Id"])


def get_file(api, container: str, path: str) -> bytes | None:
    """One file's content out of a (created) container; None when it does not exist."""
    try:
        chunks, _ = api.get_archive(container, path)
    except NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
        member = archive.next()
        handle = archive.extractfile(member) if member is not None else None
        return handle.read() if handle is not None else None


def _counting(job: HelperJob, progress: Progress | None) -> Progress:
    """Record on the job how much went through the API (the marker's size when it was not known)."""
    def count(done: int) -> None:
        job.streamed = done
        if progress is not None:
            progress(done)

    return count
