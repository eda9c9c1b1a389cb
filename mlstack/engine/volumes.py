"""Seeding through the Docker SDK: look into a volume, and run the short-lived helper that fills it.

Two ways to move the data (docs/seeding.md, "Methods"):
- bind (local engine): the source is bind-mounted read-only into the helper, which copies it with
  `cp` inside the engine's machine at disk speed;
- archive (any engine): a tar stream goes through the API (`put_archive`) into the helper while it
  is created but not started; it starts only once the stream is complete.
Either way the helper then runs mlstack/engine/seed_script.py, which makes the change atomic. The
helper image is never pulled: it must be on the engine already.
"""

from __future__ import annotations

import io
import os
import shlex
import socket
import tarfile
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from mlstack.core import seeding
from mlstack.core.seeding import Marker, Observed, SeedPlan
from mlstack.engine import seed_script, sources
from mlstack.engine.docker_facts import Engine
from mlstack.engine.sources import Resolved
from mlstack.errors import SeedError

LABEL = "org.mlstack.seed"
TRANSFER_TIMEOUT_S = 300
POLL_S = 0.2
SETTLE_WAIT_S = 3600

Progress = Callable[[int], None]


@dataclass
class HelperJob:
    """One run of the helper container."""

    plan: SeedPlan
    image: str
    seed_id: str
    copy: str = "none"                 # none | check | checksums | tree | list | archive | streamed
    method: str = "bind"               # bind | archive
    resolved: Resolved | None = None
    files: list[str] | None = None     # UPDATE: volume-relative paths to copy
    remove: bytes = b""
    marker: Marker | None = None       # written last; its size is what was streamed when not known before
    force: bool = False
    expect_files: int | None = None
    streamed: int = 0                  # bytes sent through the API


class Volumes:
    def __init__(self, engine: Engine):
        import docker

        self.local = engine.address.local
        self.client = engine.client
        self.api = docker.APIClient(base_url=engine.address.url, timeout=TRANSFER_TIMEOUT_S,
                                    version=engine.client.api.api_version)

    # --- looking ---------------------------------------------------------------------------

    def inspect(self, name: str) -> dict | None:
        import docker.errors

        try:
            return self.client.api.inspect_volume(name)
        except docker.errors.NotFound:
            return None

    def readable_root(self, info: dict) -> str | None:
        """The volume's directory when this process can read it (local engine, same mount namespace)."""
        path = info.get("Mountpoint") or ""
        if self.local and path and os.path.isdir(path) and os.access(path, os.R_OK | os.X_OK):
            return path
        return None

    def observe(self, plan: SeedPlan, helper: Callable[[], str]) -> Observed:
        """Marker, pending commit and foreign entries: read in place when possible, else through the API."""
        info = self.inspect(plan.volume_name)
        if info is None:
            return Observed(exists=False)
        root = self.readable_root(info)
        if root is not None:
            marker = _read_marker(_read_file(os.path.join(root, seeding.MARKER)), plan)
            foreign = None if marker else sorted(e for e in os.listdir(root) if not e.startswith(".mlstack-"))
            return Observed(True, marker, foreign, os.path.exists(os.path.join(root, seeding.READY, "marker.json")))
        container = self._create(helper(), [self._volume_mount(plan)], {"purpose": "look"})
        try:
            marker = _read_marker(self._get_file(container, f"{seed_script.VOLUME_MOUNT}/{seeding.MARKER}"), plan)
            pending = self._get_file(container, f"{seed_script.VOLUME_MOUNT}/{seeding.READY}/marker.json") is not None
        finally:
            self.api.remove_container(container, force=True)
        return Observed(True, marker, None, pending)

    def image_id(self, reference: str) -> str | None:
        import docker.errors

        try:
            return self.client.api.inspect_image(reference)["Id"]
        except docker.errors.ImageNotFound:
            return None

    def local_images(self) -> list[str]:
        return sorted(tag for image in self.client.api.images() for tag in image.get("RepoTags") or [] if tag != "<none>:<none>")

    def sha256_in_volume(self, plan: SeedPlan, helper: str, paths: list[str]) -> dict[str, str]:
        """Content hashes of the seeded files as they are in the volume (--checksum)."""
        info = self.inspect(plan.volume_name)
        root = self.readable_root(info) if info else None
        if root is not None:
            return {path: sources.sha256_file(os.path.join(root, path)) for path in paths
                    if os.path.isfile(os.path.join(root, path))}
        output = self.run(HelperJob(plan, helper, "check", copy="checksums"))
        found = {}
        for line in output.splitlines():
            digest, _, path = line.partition("  ")
            if path.startswith("./"):
                found[path[2:]] = digest
        return found

    # --- changing --------------------------------------------------------------------------

    def ensure(self, plan: SeedPlan) -> None:
        """Create the volume as Compose would (its labels, driver and options), unless it exists."""
        if self.inspect(plan.volume_name) is not None:
            return
        if plan.external:
            raise SeedError(f"{plan.where}: external volume {plan.volume_name} does not exist; create it first")
        self.client.api.create_volume(plan.volume_name, driver=plan.driver or "local",
                                      driver_opts=plan.driver_opts or None, labels=plan.compose_labels())

    def settle(self, plan: SeedPlan, say: Callable[[str], None]) -> None:
        """Wait for a seed of this volume still running (an earlier mlstack that was killed, or another
        one now); remove the helpers that are done, and those whose mlstack is gone."""
        filters = {"label": [f"{LABEL}.volume={plan.volume_name}"]}
        for container in self.client.api.containers(all=True, filters=filters):
            labels = container.get("Labels") or {}
            if container.get("State") == "running" or (container.get("State") == "created" and _alive(labels)):
                say(f"{plan.volume}: waiting for an earlier seed of {plan.volume_name} to finish "
                    f"(container {container['Id'][:12]})")
                _wait(self.api, container["Id"], SETTLE_WAIT_S)
            self.api.remove_container(container["Id"], force=True)

    def run(self, job: HelperJob, progress: Progress | None = None) -> str:
        """Create the helper, stream data into it when the job says so, start it, wait; its output."""
        mounts = [self._volume_mount(job.plan)]
        resolved = job.resolved
        if job.method == "bind" and resolved is not None and job.copy in ("tree", "list", "archive"):
            mounts.append(self._bind_mount(resolved))
        container = self._create(job.image, mounts, {"purpose": job.copy, "id": job.seed_id})
        try:  # on any exit, Ctrl-C included, the helper goes; what it left is finished or cleaned next time
            if job.copy == "streamed":
                self._stream(container, job, _counting(job, progress))
            self.api.put_archive(container, "/", sources.files_tar(self._control_files(job)))
            self.api.start(container)
            code = self._wait_with_progress(container, job, progress)
            output = self.api.logs(container, stdout=True, stderr=True).decode(errors="replace")
        finally:
            self.api.remove_container(container, force=True)
        if code != 0:
            raise _failure(job, code, output)
        return output

    # --- parts -----------------------------------------------------------------------------

    def _create(self, image: str, mounts: list, labels: dict[str, str]) -> str:
        import docker.errors

        labels = {LABEL: "1", **{f"{LABEL}.{key}": value for key, value in labels.items()},
                  f"{LABEL}.volume": mounts[0]["Source"], f"{LABEL}.owner": f"{socket.gethostname()}:{os.getpid()}"}
        try:
            created = self.api.create_container(
                image, entrypoint=["/bin/sh", f"{seed_script.CONTROL_DIR}/seed.sh"], user="0:0", labels=labels,
                network_disabled=True, host_config=self.api.create_host_config(mounts=mounts, network_mode="none"))
        except docker.errors.ImageNotFound:
            raise SeedError(f"helper image {image} is not on the engine; mlstack never pulls implicitly: pull it "
                            "or name a local image with --helper-image") from None
        except docker.errors.APIError as error:
            raise SeedError(f"cannot create the seeding helper from {image}: {error.explanation or error}") from None
        return created["Id"]

    @staticmethod
    def _volume_mount(plan: SeedPlan):
        from docker.types import Mount

        return Mount(seed_script.VOLUME_MOUNT, plan.volume_name, type="volume", no_copy=True)

    @staticmethod
    def _bind_mount(resolved: Resolved):
        from docker.types import Mount

        if resolved.plan.source.kind == seeding.ARCHIVE:
            target = f"{seed_script.SOURCE_MOUNT}/{os.path.basename(resolved.root)}"
            return Mount(target, resolved.root, type="bind", read_only=True)
        return Mount(seed_script.SOURCE_MOUNT, resolved.root, type="bind", read_only=True)

    def _control_files(self, job: HelperJob) -> dict[str, bytes]:
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
            "EXPECT_FILES": "" if job.expect_files is None else str(job.expect_files),
            "OWNER": plan.owner_text, "CHOWN": "0" if streamed_owner else "1",
        }
        files = {f"mlstack/seed.sh": seed_script.SCRIPT.encode(),
                 "mlstack/env": "".join(f"{key}={shlex.quote(value)}\n" for key, value in settings.items()).encode(),
                 "mlstack/marker.json": _marker_bytes(job), "mlstack/remove": job.remove}
        prefix = subpath + "/" if subpath else ""
        if job.files is not None:
            listed = [path[len(prefix):] for path in job.files if path.startswith(prefix) and "\n" not in path]
            files["mlstack/files"] = ("".join(f"{path}\n" for path in listed)).encode("utf-8", "surrogateescape")
        if resolved is not None and job.method == "bind":
            for path, content in resolved.extras.items():
                if job.files is None or path in job.files:
                    files[f"mlstack/extra/{path}"] = content
        return files

    def _stream(self, container: str, job: HelperJob, progress: Progress) -> None:
        """Send the data into `.mlstack-staging-<id>/data/<subpath>` while the helper is not started."""
        resolved = job.resolved
        assert resolved is not None
        base = f"{seeding.STAGING_PREFIX}{job.seed_id}/data"
        kind = job.plan.source.kind
        if kind in (seeding.DIRECTORY, seeding.HF_MODEL):
            self.api.put_archive(container, seed_script.VOLUME_MOUNT, sources.tar_stream(resolved, base, job.files, progress))
            return
        place = f"{base}/{resolved.subpath}" if resolved.subpath else base
        names = place.split("/")
        self.api.put_archive(container, seed_script.VOLUME_MOUNT,
                             sources.directory_tar(["/".join(names[:i]) for i in range(1, len(names) + 1)]))
        if kind == seeding.ARCHIVE:
            chunks = sources.archive_chunks(resolved.root, job.plan.source.archive_format, progress)
        else:
            chunks = self._image_chunks(job, progress)
        self.api.put_archive(container, f"{seed_script.VOLUME_MOUNT}/{place}", chunks)

    def _image_chunks(self, job: HelperJob, progress: Progress) -> Iterator[bytes]:
        import docker.errors

        source = job.plan.source
        created = self.api.create_container(source.image, command=["/mlstack-never-started"],
                                            labels={LABEL: "1", f"{LABEL}.volume": job.plan.volume_name,
                                                    f"{LABEL}.purpose": "image-source"})
        try:
            try:
                stream, _ = self.api.get_archive(created["Id"], source.image_path + "/.")
            except docker.errors.NotFound:
                raise SeedError(f"{job.plan.where}: {source.image_path} does not exist in image {source.image}") from None
            sent = 0
            for chunk in stream:
                sent += len(chunk)
                progress(sent)
                yield chunk
        finally:
            self.api.remove_container(created["Id"], force=True)

    def _wait_with_progress(self, container: str, job: HelperJob, progress: Progress | None) -> int:
        root = None
        if progress is not None and job.method == "bind":
            info = self.inspect(job.plan.volume_name)
            root = self.readable_root(info) if info else None
        next_look = 0.0
        while True:
            state = self.api.inspect_container(container)["State"]
            if state.get("Status") in ("exited", "dead"):
                return int(state.get("ExitCode", 1))
            if root is not None and time.monotonic() >= next_look:
                started = time.monotonic()
                progress(sources.tree_size(os.path.join(root, f"{seeding.STAGING_PREFIX}{job.seed_id}")))
                next_look = time.monotonic() + max(0.5, 10 * (time.monotonic() - started))
            time.sleep(POLL_S)

    def _get_file(self, container: str, path: str) -> bytes | None:
        import docker.errors

        try:
            stream, _ = self.api.get_archive(container, path)
        except docker.errors.NotFound:
            return None
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
            member = archive.next()
            handle = archive.extractfile(member) if member is not None else None
            return handle.read() if handle is not None else None


def _counting(job: HelperJob, progress: Progress | None) -> Progress:
    def count(done: int) -> None:
        job.streamed = done
        if progress is not None:
            progress(done)

    return count


def _marker_bytes(job: HelperJob) -> bytes:
    if job.marker is None:
        return b""
    if not job.marker.total_bytes:
        job.marker.total_bytes = job.streamed
    return job.marker.to_json()


def _read_file(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _read_marker(data: bytes | None, plan: SeedPlan) -> Marker | None:
    if data is None:
        return None
    try:
        return Marker.from_json(data)
    except (ValueError, TypeError, KeyError) as error:
        raise SeedError(f"volume {plan.volume_name}: its seed marker {seeding.MARKER} is unreadable ({error}); "
                        "seed again with --force") from None


def _alive(labels: dict[str, str]) -> bool:
    """The mlstack that created a helper still runs (on this machine)."""
    host, _, pid = labels.get(f"{LABEL}.owner", "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait(api, container: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        details = api.inspect_container(container)
        status = details["State"].get("Status")
        if status in ("exited", "dead") or (status == "created" and not _alive(details["Config"].get("Labels") or {})):
            return
        time.sleep(POLL_S)
    raise SeedError(f"an earlier seed (container {container[:12]}) did not finish within {timeout:g} s")


def _failure(job: HelperJob, code: int, output: str) -> SeedError:
    said = [line[len("mlstack-seed: "):] for line in output.splitlines() if line.startswith("mlstack-seed: ")]
    last = said[-1] if said else (output.strip().splitlines() or [f"exit {code}"])[-1]
    name = job.plan.volume_name
    if code == seed_script.FOREIGN:
        return SeedError(f"volume {name}: {last}; mlstack seeds only empty volumes or volumes it seeded itself: "
                         f"rerun with --force to copy into it anyway (nothing in it is deleted)")
    if code == 127 or "not found" in last:
        return SeedError(f"volume {name}: the helper image {job.image} lacks a tool the seed needs ({last}); "
                         "name an image with sh, cp, tar, chown, mv and find with --helper-image")
    return SeedError(f"volume {name}: seeding failed (exit {code}): {last}")
