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

import glob
import io
import os
import re
import shutil
import socket
import tarfile
import tempfile
import threading
import time
from typing import Callable, Iterator

from mlstack.core import seeding
from mlstack.core.seeding import Marker, Observed, SeedPlan
from mlstack.engine import seed_script, sources
from mlstack.engine.api import is_not_found
from mlstack.engine.docker_facts import Engine
from mlstack.engine.helper_job import CONTROL_PREFIX, HelperJob, control_directory, control_files, control_place
from mlstack.engine.sources import Resolved
from mlstack.errors import SeedError

LABEL = "org.mlstack.seed"
TRANSFER_TIMEOUT_S = None   # a big copy is silent for as long as it takes
POLL_S = 0.2
EXIT_LINE = re.compile(r"mlstack-seed-exit (\d+)\n")
PROGRESS_S = 0.5
SETTLE_WAIT_S = 3600

Progress = Callable[[int], None]


class Volumes:
    """Reads through the engine's cheap read-only API (no Docker SDK import, ~0.2 s, for a volume
    that is up to date); containers and streams through the SDK, loaded on first use."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.local = engine.address.local
        self.reads = engine.api
        self._api = None

    @property
    def api(self):
        """The SDK's low-level client, without a timeout: a big copy is silent for as long as it takes."""
        if self._api is None:
            import docker

            self._api = docker.APIClient(base_url=self.engine.address.url, timeout=TRANSFER_TIMEOUT_S)
        return self._api

    # --- looking ---------------------------------------------------------------------------

    def inspect(self, name: str) -> dict | None:
        found = self.reads.volumes(filters={"name": [name]}).get("Volumes") or []
        return next((volume for volume in found if volume.get("Name") == name), None)

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
        try:
            return self.reads.inspect_image(reference)["Id"]
        except Exception as error:  # the stdlib's and the SDK's own "not found"
            if is_not_found(error):
                return None
            raise

    def local_images(self) -> list[str]:
        return sorted(tag for image in self.api.images() for tag in image.get("RepoTags") or [] if tag != "<none>:<none>")

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
        self.api.create_volume(plan.volume_name, driver=plan.driver or "local",
                                      driver_opts=plan.driver_opts or None, labels=plan.compose_labels())

    def settle(self, plan: SeedPlan, say: Callable[[str], None]) -> None:
        """Wait for a seed of this volume still running (an earlier mlstack that was killed, or another
        one now); remove the helpers that are done, and those whose mlstack is gone."""
        filters = {"label": [f"{LABEL}.volume={plan.volume_name}"]}
        for container in self.reads.containers(all=True, filters=filters):
            labels = container.get("Labels") or {}
            if container.get("State") == "running" or (container.get("State") == "created" and _alive(labels)):
                say(f"{plan.volume}: waiting for an earlier seed of {plan.volume_name} to finish "
                    f"(container {container['Id'][:12]})")
                _wait(self.reads, container["Id"], SETTLE_WAIT_S)
            self._discard(container["Id"])
        self._sweep_control_directories()

    def _sweep_control_directories(self) -> None:
        """Control directories of an mlstack that was killed, once no helper of it runs any more."""
        running = {(c.get("Labels") or {}).get(f"{LABEL}.owner") for c in
                   self.reads.containers(filters={"label": [LABEL], "status": ["running"]})}
        for path in glob.glob(os.path.join(tempfile.gettempdir(), f"{CONTROL_PREFIX}*-*")):
            pid = os.path.basename(path)[len(CONTROL_PREFIX):].split("-", 1)[0]
            owner = f"{socket.gethostname()}:{pid}"
            if pid.isdigit() and owner not in running and not _alive({f"{LABEL}.owner": owner}):
                shutil.rmtree(path, ignore_errors=True)

    def run(self, job: HelperJob, progress: Progress | None = None) -> str:
        """Create the helper, stream data into it when the job says so, start it, wait; its output."""
        mounts = [self._volume_mount(job.plan)]
        resolved = job.resolved
        control = None
        if job.method == "bind" and resolved is not None and job.copy in ("tree", "list", "archive"):
            mounts.append(self._bind_mount(resolved))
            # The engine sees this machine's files: the settings go in by a bind too, which saves an
            # archive call (a chrooted untar in the engine, ~0.15 s).
            from docker.types import Mount

            control = control_directory(control_files(job))
            mounts.append(Mount(seed_script.CONTROL_DIR, control, type="bind", read_only=True))
            script = f"{seed_script.CONTROL_DIR}/seed.sh"
        else:   # the settings travel with the data, into the staging directory
            script = f"{seed_script.VOLUME_MOUNT}/{control_place(job)}/seed.sh"
        try:
            container = self._create(job.image, mounts, {"purpose": job.copy, "id": job.seed_id}, script, remove=True)
            code = None
            try:  # on any exit, Ctrl-C included, the helper goes; what it left is finished or cleaned next time
                if job.copy == "streamed":
                    self._stream(container, job, _counting(job, progress))
                elif control is None:
                    self._put_control(container, job)
                output_stream = self.api.attach(container, stdout=True, stderr=True, stream=True, logs=True)
                self.api.start(container)
                code, output = self._follow(container, output_stream, job, progress)
            finally:
                if code is None:
                    self._discard(container)
        finally:
            if control is not None:
                shutil.rmtree(control, ignore_errors=True)
        if code != 0:
            raise _failure(job, code, output)
        return output

    def _follow(self, container: str, stream, job: HelperJob, progress: Progress | None) -> tuple[int | None, str]:
        """The helper's output up to its exit line, and its exit code. The engine removes the helper
        itself afterwards: its teardown flushes what it wrote to disk (about 0.5 s a GB), which a
        plain `cp` on the host would not wait for either. Meanwhile, a thread measures the copy."""
        stop = threading.Event()
        watcher = None
        if progress is not None and job.method == "bind":
            info = self.inspect(job.plan.volume_name)
            root = self.readable_root(info) if info else None
            if root is not None:
                staging = os.path.join(root, f"{seeding.STAGING_PREFIX}{job.seed_id}")
                watcher = threading.Thread(target=_watch, args=(staging, progress, stop), daemon=True)
                watcher.start()
        output = ""
        try:
            for chunk in stream:
                output += chunk.decode(errors="replace")
                done = EXIT_LINE.search(output, max(0, len(output) - len(chunk) - 40))
                if done:
                    stream.close()
                    return int(done[1]), output[:done.start()]
        finally:
            stop.set()
            if watcher is not None:
                watcher.join(5)
        return self._exit_code(container), output   # the stream ended without the exit line: stopped

    def _exit_code(self, container: str) -> int:
        import docker.errors

        try:
            state = self.api.inspect_container(container)["State"]
        except docker.errors.NotFound:
            return -1
        return int(state.get("ExitCode", -1)) if state.get("Status") in ("exited", "dead") else -1

    def _discard(self, container: str) -> None:
        """Kill and remove a helper, which may be gone already (the engine removes finished ones)."""
        import docker.errors

        try:
            self.api.remove_container(container, force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as error:
            if error.status_code != 409:   # 409: its removal is under way
                raise

    # --- parts -----------------------------------------------------------------------------

    def _create(self, image: str, mounts: list, labels: dict[str, str], script: str = "/none",
                remove: bool = False) -> str:
        import docker.errors

        labels = {LABEL: "1", **{f"{LABEL}.{key}": value for key, value in labels.items()},
                  f"{LABEL}.volume": mounts[0]["Source"], f"{LABEL}.owner": f"{socket.gethostname()}:{os.getpid()}"}
        try:
            created = self.api.create_container(
                image, entrypoint=["/bin/sh", script], user="0:0", labels=labels,
                network_disabled=True,
                host_config=self.api.create_host_config(mounts=mounts, network_mode="none", auto_remove=remove))
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

    def _put_control(self, container: str, job: HelperJob) -> None:
        place = control_place(job)
        self.api.put_archive(container, seed_script.VOLUME_MOUNT, sources.files_tar(
            {f"{place}/{name}": content for name, content in control_files(job).items()}))

    def _stream(self, container: str, job: HelperJob, progress: Progress) -> None:
        """Send the data into `.mlstack-staging-<id>/data/<subpath>` while the helper is not started."""
        resolved = job.resolved
        assert resolved is not None
        base = f"{seeding.STAGING_PREFIX}{job.seed_id}/data"
        kind = job.plan.source.kind
        if kind in (seeding.DIRECTORY, seeding.HF_MODEL):   # the settings ride at the end of the same stream
            place = control_place(job)
            trailer = {f"{place}/{name}": content for name, content in control_files(job).items()}
            self.api.put_archive(container, seed_script.VOLUME_MOUNT,
                                 sources.TarBody(resolved, base, job.files, progress, trailer))
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
        self._put_control(container, job)   # after the stream: the marker records its size

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


def _wait(reads, container: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            details = reads.inspect_container(container)
        except Exception as error:  # noqa: BLE001 - gone (removed by the engine) is done
            if is_not_found(error):
                return
            raise
        status = details["State"].get("Status")
        if status in ("exited", "dead") or (status == "created" and not _alive(details["Config"].get("Labels") or {})):
            return
        time.sleep(POLL_S)
    raise SeedError(f"an earlier seed (container {container[:12]}) did not finish within {timeout:g} s")


def _watch(staging: str, progress: Progress, stop: threading.Event) -> None:
    """Every so often, the bytes copied so far (the walk's own cost keeps it under a tenth of the time)."""
    interval = PROGRESS_S
    while not stop.wait(interval):
        started = time.monotonic()
        progress(sources.tree_size(staging))
        interval = max(PROGRESS_S, 10 * (time.monotonic() - started))


def _failure(job: HelperJob, code: int, output: str) -> SeedError:
    if code < 0 or code >= 128:
        return SeedError(f"volume {job.plan.volume_name}: the seeding helper was stopped before it finished "
                         f"({f'exit {code}' if code > 0 else 'killed, or the engine restarted'}); the volume keeps "
                         "its previous content: run mlstack seed again")
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
