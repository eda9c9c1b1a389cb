"""The seeding helper container: create it with the volume (and the source) mounted, follow its
output to the exit line, remove it; wait for, or clean up after, the helpers of an earlier seed.

Every call goes through engine/api.py: `api` without a timeout (a copy is silent for as long as it
takes), `reads` with the short one for looking. Both are the stdlib's client over a local socket
(no Docker SDK import, ~0.2 s); only ssh and tcp engines get the SDK's (docs/seeding.md).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import tempfile
import threading
import time

from mlstack.core import seeding
from mlstack.core.seeding import SeedPlan
from mlstack.engine import seed_script, sources
from mlstack.engine.api import NotFound, Refused, is_not_found
from mlstack.engine.helper_job import CONTROL_PREFIX, HelperJob
from mlstack.engine.sources import Resolved
from mlstack.errors import SeedError
from mlstack.patterns import lazy

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Callable

    Progress = Callable[[int], None]

LABEL = "org.mlstack.seed"
POLL_S = 0.2
EXIT_LINE = lazy(r"mlstack-seed-exit (\d+)\n")
PROGRESS_S = 0.5
SETTLE_WAIT_S = 3600
# The user waits for the helper; the stack's containers do not. With the engine's default weight
# the helper shares one container's CPU with all of them (a cgroup v1 engine puts every container
# under one `docker` group), and a busy stack made a seed 2-4x slower than a `cp -a` on the host,
# which competes as a process of its own. 16 containers' worth (cgroup v2: weight ~626 of 10000).
CPU_SHARES = 16 * 1024



def create(api, image: str, mounts: list, labels: dict[str, str], script: str = "/none", remove: bool = False) -> str:
    """A helper that runs `script` as root, without a network; labelled with its volume and owner."""
    labels = {LABEL: "1", **{f"{LABEL}.{key}": value for key, value in labels.items()},
              f"{LABEL}.volume": mounts[0]["Source"], f"{LABEL}.owner": f"{socket.gethostname()}:{os.getpid()}"}
    config = {"Image": image, "Entrypoint": ["/bin/sh", script], "User": "0:0", "Labels": labels,
              "NetworkDisabled": True, "AttachStdout": True, "AttachStderr": True, "Tty": False,
              "HostConfig": {"Mounts": mounts, "NetworkMode": "none", "AutoRemove": remove, "CpuShares": CPU_SHARES}}
    try:
        created = api.create_container_from_config(config)
    except NotFound:
        raise SeedError(f"helper image {image} is not on the engine; mlstack never pulls implicitly: pull it "
                        "or name a local image with --helper-image") from None
    except Refused as error:
        raise SeedError(f"cannot create the seeding helper from {image}: {error.explanation}") from None
    return created["Id"]


def mount(target: str, source: str, kind: str, read_only: bool = False) -> dict:
    """One entry of HostConfig.Mounts; a volume's content is never copied in from the image."""
    entry = {"Target": target, "Source": source, "Type": kind, "ReadOnly": read_only}
    if kind == "volume":
        entry["VolumeOptions"] = {"NoCopy": True}
    return entry


def volume_mount(plan: SeedPlan) -> dict:
    return mount(seed_script.VOLUME_MOUNT, plan.volume_name, "volume")


def source_mount(resolved: Resolved) -> dict:
    """The source, read-only: a directory as the source mount, an archive file inside it."""
    if resolved.plan.source.kind == seeding.ARCHIVE:
        return mount(f"{seed_script.SOURCE_MOUNT}/{os.path.basename(resolved.root)}", resolved.root, "bind", True)
    return mount(seed_script.SOURCE_MOUNT, resolved.root, "bind", True)


def control_mount(directory: str) -> dict:
    return mount(seed_script.CONTROL_DIR, directory, "bind", True)


def follow(api, container: str, stream, staging: str | None, progress: Progress | None,
           started: Callable[[], None] = lambda: None) -> tuple[int | None, str]:
    """The helper's output up to its exit line, and its exit code. The engine removes the helper
    itself afterwards: its teardown flushes what it wrote to disk (about 0.5 s a GB), which a
    plain `cp` on the host would not wait for either. Meanwhile, a thread measures the copy in
    `staging` (a directory this process can read), when there is one. `started` is called when
    the helper's first output arrives (its script runs)."""
    stop = threading.Event()
    reporting = threading.Lock()
    if progress is not None and staging is not None:
        threading.Thread(target=_watch, args=(staging, progress, stop, reporting), daemon=True).start()
    output = ""
    try:
        for chunk in stream:
            if not output:
                started()
            output += chunk.decode(errors="replace")
            done = EXIT_LINE.search(output, max(0, len(output) - len(chunk) - 40))
            if done:
                stream.close()
                return int(done[1]), output[:done.start()]
    finally:
        with reporting:   # no report after this returns; a walk under way is not waited for (10,000 files: ~0.1 s)
            stop.set()
    return exit_code(api, container), output   # the stream ended without the exit line: stopped


def exit_code(api, container: str) -> int:
    try:
        state = api.inspect_container(container)["State"]
    except NotFound:
        return -1
    return int(state.get("ExitCode", -1)) if state.get("Status") in ("exited", "dead") else -1


def discard(api, container: str) -> None:
    """Kill and remove a helper, which may be gone already (the engine removes finished ones)."""
    try:
        api.remove_container(container, force=True)
    except NotFound:
        pass
    except Refused as error:
        if error.status != 409:   # 409: its removal is under way
            raise


def settle(api: Callable[[], object], reads, plan: SeedPlan, say: Callable[[str], None]) -> None:
    """Wait for a seed of this volume still running (an earlier mlstack that was killed, or another
    one now); remove the helpers that are done, and those whose mlstack is gone. `api` gives the
    transfer client, made only when there is a helper to remove."""
    filters = {"label": [f"{LABEL}.volume={plan.volume_name}"]}
    for container in reads.containers(all=True, filters=filters):
        labels = container.get("Labels") or {}
        if container.get("State") == "running" or (container.get("State") == "created" and alive(labels)):
            say(f"{plan.volume}: waiting for an earlier seed of {plan.volume_name} to finish "
                f"(container {container['Id'][:12]})")
            wait_for(reads, container["Id"], SETTLE_WAIT_S)
        discard(api(), container["Id"])
    _sweep_control_directories(reads)


def _sweep_control_directories(reads) -> None:
    """Control directories of an mlstack that was killed, once no helper of it runs any more."""
    running = {(c.get("Labels") or {}).get(f"{LABEL}.owner") for c in
               reads.containers(filters={"label": [LABEL], "status": ["running"]})}
    for path in glob.glob(os.path.join(tempfile.gettempdir(), f"{CONTROL_PREFIX}*-*")):
        pid = os.path.basename(path)[len(CONTROL_PREFIX):].split("-", 1)[0]
        owner = f"{socket.gethostname()}:{pid}"
        if pid.isdigit() and owner not in running and not alive({f"{LABEL}.owner": owner}):
            shutil.rmtree(path, ignore_errors=True)


def alive(labels: dict[str, str]) -> bool:
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


def wait_for(reads, container: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            details = reads.inspect_container(container)
        except Exception as error:  # noqa: BLE001 - gone (removed by the engine) is done
            if is_not_found(error):
                return
            raise
        status = details["State"].get("Status")
        if status in ("exited", "dead") or (status == "created" and not alive(details["Config"].get("Labels") or {})):
            return
        time.sleep(POLL_S)
    raise SeedError(f"an earlier seed (container {container[:12]}) did not finish within {timeout:g} s")


def _watch(staging: str, progress: Progress, stop: threading.Event, reporting: threading.Lock) -> None:
    """Every so often, the bytes copied so far (the walk's own cost keeps it under a tenth of the time),
    until `stop`: a walk that ends after it is not reported."""
    interval = PROGRESS_S
    while not stop.wait(interval):
        started = time.monotonic()
        size = sources.tree_size(staging)
        with reporting:
            if stop.is_set():
                return
            progress(size)
        interval = max(PROGRESS_S, 10 * (time.monotonic() - started))


def failure(job: HelperJob, code: int, output: str) -> SeedError:
    """What went wrong, from the helper's exit code and its last `mlstack-seed:` line."""
    if code < 0 or code >= 128:
        return SeedError(f"volume {job.plan.volume_name}: the seeding helper was stopped before it finished "
                         f"({f'exit {code}' if code > 0 else 'killed, or the engine restarted'}); the volume keeps "
                         "its previous content: run mlstack seed again")
    said = [line[len("mlstack-seed: "):] for line in output.splitlines() if line.startswith("mlstack-seed: ")]
    last = said[-1] if said else (output.strip().splitlines() or [f"exit {code}"])[-1]
    if job.method == "bind" and job.resolved is not None and job.resolved.plan.source.kind != seeding.ARCHIVE:
        last = last.replace(seed_script.SOURCE_MOUNT, job.resolved.root)   # a cp's message names the host's path
    name = job.plan.volume_name
    if code == seed_script.FOREIGN:
        return SeedError(f"volume {name}: {last}; mlstack seeds only empty volumes or volumes it seeded itself: "
                         f"rerun with --force to copy into it anyway (nothing in it is deleted)")
    if code == 127 or "not found" in last:
        return SeedError(f"volume {name}: the helper image {job.image} lacks a tool the seed needs ({last}); "
                         "name an image with sh, cp, tar, chown, mv and find with --helper-image")
    return SeedError(f"volume {name}: seeding failed (exit {code}): {last}")
