"""A bind seed's full copy by parallel cp workers in the helper, on the test engine (docs/seeding.md, "How the copy runs").

The result must be what one `cp -a` of the source gives: it is compared, entry by entry, with a host
`cp -a` of the same tree (type, mode, size, mtime, link target, content).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import uuid
from pathlib import Path

import pytest

from mlstack.core.seed_copy_plan import WORKERS
from tests.integration.test_seeding import BUSYBOX, JUPYTER, host_files, make_source, staging, stacks, volume_files  # noqa: F401 (fixture)

pytestmark = pytest.mark.engine

DEBUG = {"MLSTACK_DEBUG": "1"}
PARALLEL = f"mlstack: debug: seed copy: {WORKERS} workers, "


def awkward_tree(root: Path) -> Path:
    """Enough files for a parallel copy, and what a copy gets wrong first: modes, times, links, odd names."""
    make_source(root, 400, 3_000)
    (root / "d1" / "with space.bin").write_bytes(b"space")
    (root / "-leading-dash").write_bytes(b"dash")
    (root / "d2" / "-dash dir").mkdir()
    (root / "d2" / "-dash dir" / "--x").write_bytes(b"x")
    (root / ".hidden").write_bytes(b"dot")
    (root / "d3" / ".dotdir").mkdir()
    (root / "empty" / "inside").mkdir(parents=True)
    (root / "d4" / "empty").mkdir()
    (root / "relative").symlink_to("d0/f0.bin")
    (root / "d5" / "up").symlink_to("../d6/f6.bin")
    (root / "dangling").symlink_to("nowhere/at/all")
    (root / "d7" / "f7.bin").chmod(0o600)
    (root / "d8" / "f8.bin").chmod(0o755)
    for index, directory in enumerate(["d0", "d3", "d4/empty", "empty", "empty/inside", "d2/-dash dir"]):
        (root / directory).chmod(0o700 + index * 0o11)
    for index, path in enumerate(sorted(root.rglob("*"), reverse=True)):   # children before parents: kept
        os.utime(path, ns=(1_600_000_000_000_000_000 + index * 1_234_567, 1_500_000_000_000_000_000 + index * 7_654_321),
                 follow_symlinks=False)
    return root


def entries(root: Path, whole_seconds: bool, link_times: bool) -> dict[str, tuple]:
    """Every entry below root (root itself and the seed marker aside): what `cp -a` keeps."""
    found = {}
    for path in sorted(root.rglob("*")):
        relative = str(path.relative_to(root))
        if relative.startswith(".mlstack-"):
            continue
        info = path.lstat()
        mtime = info.st_mtime_ns // 1_000_000_000 if whole_seconds else info.st_mtime_ns
        kind = stat.S_IFMT(info.st_mode)
        if stat.S_ISLNK(info.st_mode):
            found[relative] = (kind, os.readlink(path), mtime if link_times else None)
        elif stat.S_ISDIR(info.st_mode):
            found[relative] = (kind, stat.S_IMODE(info.st_mode), mtime)
        else:
            found[relative] = (kind, stat.S_IMODE(info.st_mode), mtime, info.st_size,
                               hashlib.sha256(path.read_bytes()).hexdigest())
    return found


# busybox's cp keeps whole seconds and leaves links' own times; GNU cp keeps nanoseconds and links' times
@pytest.mark.parametrize("helper, whole_seconds", [(BUSYBOX, True), (JUPYTER, False)])
def test_a_parallel_seed_gives_what_one_cp_a_gives(stacks, tmp_path, helper, whole_seconds):
    source = awkward_tree(tmp_path / "models")
    reference = tmp_path / "reference"
    subprocess.run(["cp", "-a", str(source), str(reference)], check=True)
    stack = stacks(f"{{from: {source}}}")
    done = stack.seed("--method", "bind", helper=helper, env=DEBUG)
    assert done.returncode == 0, done.stderr
    assert PARALLEL in done.stderr
    seeded = entries(stack.mountpoint, whole_seconds, link_times=not whole_seconds)
    assert seeded == entries(reference, whole_seconds, link_times=not whole_seconds)
    owners = {(info.st_uid, info.st_gid) for info in map(os.lstat, stack.mountpoint.rglob("*"))
              if not info.st_ino == (stack.mountpoint / ".mlstack-seed.json").stat().st_ino}
    assert owners == {(1000, 100)}                      # the cache's owner (the jupyter fragment's), everywhere
    assert staging(stack) == []


def test_hard_links_are_copied_by_one_cp_which_keeps_them(stacks, tmp_path):
    source = make_source(tmp_path / "models", 400, 3_000)
    os.link(source / "d0" / "f0.bin", source / "d1" / "same-as-f0.bin")
    stack = stacks(f"{{from: {source}}}")
    done = stack.seed("--method", "bind", env=DEBUG)
    assert done.returncode == 0, done.stderr
    assert "mlstack: debug: seed copy: one cp (hard links)\n" in done.stderr
    first, second = (stack.mountpoint / "d0" / "f0.bin").stat(), (stack.mountpoint / "d1" / "same-as-f0.bin").stat()
    assert (first.st_ino, first.st_nlink) == (second.st_ino, 2)
    assert volume_files(stack.volume) == host_files(source)


def test_a_failed_worker_fails_the_seed_and_the_volume_keeps_its_content(stacks):
    # One entry whose path fits the host and the source mount but not the staging directory: the cp of
    # the worker that has it fails (File name too long); the other workers' copies succeed.
    source = Path(f"/tmp/ml{uuid.uuid4().hex[:6]}")
    try:
        make_source(source, 400, 3_000)
        stack = stacks(f"{{from: {source}}}")
        assert stack.seed("--method", "bind").returncode == 0
        v1 = volume_files(stack.volume)
        (source / "d0" / "f0.bin").write_bytes(b"changed")
        relative = "deep/" + "/".join(["x" * 200] * 19) + "/" + "y" * 230 + "/file.bin"   # 4,065 characters
        (source / relative).parent.mkdir(parents=True)
        (source / relative).write_bytes(b"deep")
        staged = "/mlstack-volume/.mlstack-staging-123456789012/data/"
        assert max(len(f"/mlstack-source/{relative}"), len(f"{source}/{relative}")) < 4096 < len(staged + relative)
        done = stack.seed("--method", "bind", "--force", env=DEBUG)
        assert done.returncode == 6, done.stderr
        assert PARALLEL in done.stderr
        [message] = [line for line in done.stderr.splitlines() if not line.startswith("mlstack: debug:")]
        assert message.startswith(f"mlstack: volume {stack.volume}: seeding failed (exit 1): cp: ")
        assert "File name too long" in message or "Filename too long" in message, message
        assert volume_files(stack.volume) == v1
        shutil.rmtree(source / "deep")
        again = stack.seed("--method", "bind", "--force")
        assert again.returncode == 0, again.stderr
        assert volume_files(stack.volume) == host_files(source)
        assert staging(stack) == []
    finally:
        shutil.rmtree(source, ignore_errors=True)


def test_a_parallel_seed_into_a_subpath_puts_the_tree_there(stacks, tmp_path):
    source = make_source(tmp_path / "models", 400, 3_000)
    (source / "d0").chmod(0o750)
    stack = stacks(f"{{from: {source}, subpath: hub/org}}")
    done = stack.seed("--method", "bind", env=DEBUG)
    assert done.returncode == 0, done.stderr
    assert PARALLEL in done.stderr
    assert volume_files(stack.volume) == {f"hub/org/{path}": digest for path, digest in host_files(source).items()}
    assert stat.S_IMODE((stack.mountpoint / "hub" / "org" / "d0").stat().st_mode) == 0o750
    assert (stack.mountpoint / "hub" / "org").stat().st_mtime_ns // 10**9 == source.stat().st_mtime_ns // 10**9
