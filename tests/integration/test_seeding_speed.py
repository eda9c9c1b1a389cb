"""Where a seed's time goes (--debug), and what was taken off its critical path, on the test engine
(docs/seeding.md, "Where the time goes")."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from mlstack.errors import SeedError
from tests.integration.engine import DOCKER_HOST
from tests.integration.test_seeding import client, host_files, make_source, stacks, volume_files  # noqa: F401 (fixture)

pytestmark = pytest.mark.engine

PHASE = re.compile(r"^mlstack: debug: seed: ([a-z ]+) (\d+)$")
HOST_BEFORE = ["settle", "look", "fingerprint", "decide", "volume", "control files", "helper create", "helper start"]
IN_HELPER = ["prepare", "copy", "check", "ownership", "rename", "move", "remove", "marker", "cleanup"]


def phases(stderr: str) -> list[str]:
    return [match[1] for match in map(PHASE.match, stderr.splitlines()) if match]


def test_debug_times_every_phase_of_a_bind_seed_in_the_order_they_run(stacks, tmp_path):
    source = make_source(tmp_path / "models", 12, 2_000)
    stack = stacks(f"{{from: {source}}}")
    done = stack.seed("--method", "bind", env={"MLSTACK_DEBUG": "1"})
    assert done.returncode == 0, done.stderr
    assert phases(done.stderr) == HOST_BEFORE + IN_HELPER + ["done"]
    assert "mlstack-seed-phase" not in done.stdout + done.stderr
    assert done.stdout.startswith(f"hf-cache: seeded from {source}: 24.0 kB in ")
    assert volume_files(stack.volume) == host_files(source)


def test_an_archive_seed_times_its_stream(stacks, tmp_path):
    stack = stacks(f"{{from: {make_source(tmp_path / 'models', 4, 1_000)}}}")
    done = stack.seed("--method", "archive", env={"MLSTACK_DEBUG": "1"})
    assert done.returncode == 0, done.stderr
    assert phases(done.stderr) == ["settle", "look", "fingerprint", "decide", "volume", "helper create", "stream",
                                   "helper start"] + IN_HELPER + ["done"]


def test_a_no_op_seed_runs_no_helper_and_never_imports_the_docker_sdk(stacks, tmp_path):
    stack = stacks(f"{{from: {make_source(tmp_path / 'models', 3, 1_000)}}}")
    assert stack.seed().returncode == 0
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "mlstack", "--debug", "seed"], cwd=stack.dir,
                          env=stack.env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "hf-cache: up to date" in done.stdout, done.stderr
    assert phases(done.stderr) == ["settle", "look", "fingerprint", "decide"]
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "docker" not in imported and "requests" not in imported


@pytest.mark.parametrize("method", ["bind", "archive"])
def test_a_fresh_seed_and_its_update_never_import_the_docker_sdk(stacks, tmp_path, method):
    """Every engine call of a seed goes through the stdlib client over the local socket (engine/api.py)."""
    source = make_source(tmp_path / "models", 3, 1_000)
    stack = stacks(f"{{from: {source}, mode: sync}}")
    for expected in ("hf-cache: seeded from", "hf-cache: updated from"):
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "mlstack", "seed", "--method", method],
                              cwd=stack.dir, env=stack.env(), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and done.stdout.startswith(expected), done.stderr
        imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                    if line.startswith("import time:")}
        assert "docker" not in imported and "requests" not in imported
        (source / "d0" / "new.bin").write_bytes(b"new")
    assert volume_files(stack.volume) == host_files(source)


def test_a_copy_without_the_sources_largest_file_is_refused_and_the_volume_stays_unseeded(stacks, tmp_path,
                                                                                          monkeypatch):
    """What an engine in a VM does with a host path it does not share: it mounts an empty directory."""
    from mlstack.engine import helper_container, seed_script
    from mlstack.lifecycle import running, seeder

    source = make_source(tmp_path / "models", 5, 1_000)
    (source / "d0" / "big.bin").write_bytes(b"x" * 5_000)
    stack = stacks(f"{{from: {source}}}")
    empty = tmp_path / "what-the-vm-sees"
    empty.mkdir()
    monkeypatch.setattr(helper_container, "source_mount",
                        lambda resolved: helper_container.mount(seed_script.SOURCE_MOUNT, str(empty), "bind", True))
    monkeypatch.chdir(stack.dir)
    project = running.render(None, "dev", stack.env())
    options = seeder.SeedOptions(method="bind", helper_image="mlstack-test/busybox:1")
    with pytest.raises(SeedError) as raised:
        seeder.seed_project(project, options)
    assert raised.value.message == (
        f"volume {stack.volume}: seeding failed (exit 19): the copy lacks d0/big.bin (5000 bytes) that the source "
        "has: the engine may not see the host directory (a VM?); use --method archive")
    assert volume_files(stack.volume) == {}
    monkeypatch.undo()
    done = stack.seed("--method", "bind")
    assert done.returncode == 0, done.stderr
    assert len(volume_files(stack.volume)) == 6


def test_the_helper_gets_a_larger_cpu_weight_than_the_stacks_containers():
    from mlstack.engine.api import UnixSocketAPI
    from mlstack.engine.helper_container import CPU_SHARES, create, mount

    api = UnixSocketAPI(DOCKER_HOST, None)
    volume = client().volumes.create()
    try:
        container = create(api, "mlstack-test/busybox:1", [mount("/v", volume.name, "volume")], {"purpose": "test"})
        try:
            assert api.inspect_container(container)["HostConfig"]["CpuShares"] == CPU_SHARES == 16 * 1024
        finally:
            api.remove_container(container, force=True)
    finally:
        volume.remove(force=True)
