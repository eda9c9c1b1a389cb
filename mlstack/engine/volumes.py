"""Seeding through the Engine API: look into a volume, and run the short-lived helper that fills it.

Two ways to move the data (docs/seeding.md, "Methods"):
- bind (local engine): the source is bind-mounted read-only into the helper, which copies it with
  `cp` inside the engine's machine at disk speed;
- archive (any engine): a tar stream goes through the API (engine/tar_stream.py) into the helper
  while it is created but not started; it starts only once the stream is complete.
Every call goes through engine/api.py (the standard library over a local socket, no Docker SDK).
Either way the helper (engine/helper_container.py) then runs mlstack/engine/seed.sh, which makes
the change atomic. The helper image is never pulled: it must be on the engine already.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading

from mlstack.core import seed_marker
from mlstack.core.seed_decision import Observed
from mlstack.core.seed_marker import Marker
from mlstack.core.seeding import SeedPlan
from mlstack.engine import api as engine_api
from mlstack.engine import helper_container, seed_script, sources, tar_stream
from mlstack.engine.api import NotFound, is_not_found
from mlstack.engine.docker_facts import Engine
from mlstack.engine.helper_job import HelperJob, control_directory, control_files, control_place
from mlstack.engine.seed_timing import SeedTimer
from mlstack.errors import SeedError

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Callable

    Progress = Callable[[int], None]

TRANSFER_TIMEOUT_S = None   # a big copy is silent for as long as it takes



class Volumes:
    """Looks through the engine's connection (`reads`, a short timeout); creates, streams and
    follows through a second one without a timeout (`api`): a big copy is silent for as long as
    it takes. Over a local socket both are the stdlib's (engine/api.py): the Docker SDK is never
    imported. An ssh or tcp engine gets the SDK's client, imported in the background meanwhile."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.local = engine.address.local
        self.reads = engine.api
        self._api = None
        self._importing: threading.Thread | None = None

    @property
    def api(self):
        self._sdk_imported()
        if self._api is None:
            self._api = engine_api.connect(self.engine.address.url, TRANSFER_TIMEOUT_S)
        return self._api

    def prepare_to_copy(self) -> None:
        """A copy is coming: for an engine the SDK speaks to, import it (~0.2 s, more from a cold
        disk) in the background while the source is fingerprinted. Not a daemon: an error meanwhile
        waits for the import to end."""
        if (engine_api.needs_sdk(self.engine.address.url) and self._api is None and self._importing is None
                and "docker" not in sys.modules):
            self._importing = threading.Thread(target=importlib.import_module, args=("docker",),
                                               name="mlstack-sdk-import")
            self._importing.start()

    def _sdk_imported(self) -> None:
        """Wait for the background import before any use of the SDK: two threads importing its
        package at once see each other's half-made modules (its submodules import one another)."""
        if self._importing is not None:
            self._importing.join()
            self._importing = None

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
            marker = _read_marker(_read_file(os.path.join(root, seed_marker.MARKER)), plan)
            foreign = None if marker else sorted(e for e in os.listdir(root) if not e.startswith(".mlstack-"))
            return Observed(True, marker, foreign, os.path.exists(os.path.join(root, seed_marker.READY, "marker.json")))
        container = helper_container.create(self.api, helper(), [helper_container.volume_mount(plan)], {"purpose": "look"})
        try:
            marker = _read_marker(tar_stream.get_file(self.api, container, f"{seed_script.VOLUME_MOUNT}/{seed_marker.MARKER}"),
                                  plan)
            pending = tar_stream.get_file(self.api, container,
                                          f"{seed_script.VOLUME_MOUNT}/{seed_marker.READY}/marker.json") is not None
        finally:
            helper_container.discard(self.api, container)
        return Observed(True, marker, None, pending)

    def image_id(self, reference: str) -> str | None:
        try:
            return self.reads.inspect_image(reference)["Id"]
        except Exception as error:  # the stdlib's and the SDK's own "not found"
            if is_not_found(error):
                return None
            raise

    def local_images(self) -> list[str]:
        return sorted(tag for image in self.reads.images() for tag in image.get("RepoTags") or [] if tag != "<none>:<none>")

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
        """Wait for an earlier seed of this volume to finish; remove helpers that are done or orphaned."""
        helper_container.settle(lambda: self.api, self.reads, plan, say)   # the transfer client only to remove one

    def run(self, job: HelperJob, progress: Progress | None = None, timer: SeedTimer | None = None) -> str:
        """Create the helper, stream data into it when the job says so, start it, wait; its output
        (without the helper's phase lines, which go to `timer`)."""
        self._sdk_imported()
        timer = timer or SeedTimer()
        mounts = [helper_container.volume_mount(job.plan)]
        resolved = job.resolved
        control = None
        if job.method == "bind" and resolved is not None and job.copy in ("tree", "parallel", "list", "archive"):
            mounts.append(helper_container.source_mount(resolved))
            # The engine sees this machine's files: the settings go in by a bind too, which saves an
            # archive call (a chrooted untar in the engine, ~0.15 s).
            control = control_directory(control_files(job))
            mounts.append(helper_container.control_mount(control))
            script = f"{seed_script.CONTROL_DIR}/seed.sh"
            timer.lap("control files")
        else:   # the settings travel with the data, into the staging directory
            script = f"{seed_script.VOLUME_MOUNT}/{control_place(job)}/seed.sh"
        try:
            container = helper_container.create(self.api, job.image, mounts, {"purpose": job.copy, "id": job.seed_id},
                                                script, remove=True)
            timer.lap("helper create")
            code = None
            try:  # on any exit, Ctrl-C included, the helper goes; what it left is finished or cleaned next time
                if job.copy == "streamed":
                    tar_stream.stream(self.api, container, job, progress)
                    timer.lap("stream")
                elif control is None:
                    tar_stream.put_control(self.api, container, job)
                    timer.lap("control files")
                # Attached before the start, the stream has all the output; `logs` would replay what the
                # attachment already carries (the engine subscribes before it answers): lines twice.
                output_stream = self.api.attach(container, stdout=True, stderr=True, stream=True, logs=False)
                self.api.start(container)
                staging = self._staging(job, progress)
                code, output = helper_container.follow(self.api, container, output_stream, staging, progress,
                                                       lambda: timer.lap("helper start"))
                output = timer.helper_phases(output)
                timer.skip()
            except NotFound:   # the helper was removed under us (`docker rm -f`, an engine prune)
                code, output = -1, ""
            finally:
                if code is None:
                    helper_container.discard(self.api, container)
        finally:
            if control is not None:
                import shutil   # here only: shutil imports bz2 and lzma

                shutil.rmtree(control, ignore_errors=True)
        if code != 0:
            raise helper_container.failure(job, code, output)
        return output

    def _staging(self, job: HelperJob, progress: Progress | None) -> str | None:
        """The job's staging directory, when a bind copy's progress can be measured there from here."""
        if progress is None or job.method != "bind":
            return None
        info = self.inspect(job.plan.volume_name)
        root = self.readable_root(info) if info else None
        return os.path.join(root, f"{seed_marker.STAGING_PREFIX}{job.seed_id}") if root is not None else None


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
        raise SeedError(f"volume {plan.volume_name}: its seed marker {seed_marker.MARKER} is unreadable ({error}); "
                        "seed again with --force") from None
