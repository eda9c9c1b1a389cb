"""Seeding throughput and the no-op re-seed, against `cp -a` on the host and `docker cp`, in one run.

    DOCKER_HOST=unix:///run/mlstack-ci/docker.sock python bench/seeding.py [--gb 2] [--rounds 3] [--write docs/benchmarks.md]

On the same two sources (generated under /tmp, deleted at the end; one at a time, so disk use
peaks at about twice --gb):
  many files  --gb in files of 100 kB          few files  --gb in 4 files
each copied into a fresh volume by
  cp -a        a plain copy on the host (the ceiling: no engine at all)
  docker cp    into a created container that mounts the volume (what people do by hand)
  bind         mlstack seed, local engine: copy inside a helper from a read-only bind mount (the helper
               image mlstack picks for this stack: the Jupyter stand-in, GNU cp)
  archive      mlstack seed through the API (put_archive): the remote-engine path
plus a no-op re-seed of 10,000 files (fingerprint + one look into the volume), in process and as a
whole `mlstack seed` command. mlstack is timed in process from `Seeder.seed` (fingerprinting, the
look into the volume, the helper's life, the copy, the commit), without Python's start.
Each copy starts after a `sync` (not timed): no copy pays for the previous one's writeback, and none
waits for its own (mlstack returns when the helper has committed; the engine's teardown of the
helper, which flushes what it wrote, goes on in the background like cp's writeback). Machines here
are noisy and shared: rounds are interleaved and the best of each is reported; the ratios count.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HELPER = "mlstack-test/busybox:1"   # the container `docker cp` copies into
STACK = "name: {name}\nfragments: [jupyter]\nimages:\n  quay.io/jupyter/pytorch-notebook:cuda12-pytorch-2.5.1: " \
        "mlstack-test/jupyter:1\nvolumes:\n  hf-cache:\n    seed: {{from: {source}}}\n"


def docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"docker {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def generate(directory: Path, files: int, size: int) -> None:
    block = os.urandom(1 << 20)
    for index in range(files):
        path = directory / f"d{index % 100:02d}" / f"f{index:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(f"{index}\n".encode())
            left = size - len(f"{index}\n")
            while left > 0:
                handle.write(block[:min(left, len(block))])
                left -= min(left, len(block))


def timed(action) -> float:
    subprocess.run(["sync"], check=True)
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


class Seeding:
    """One stack whose hf-cache volume seeds from `source`, driven in process."""

    def __init__(self, work: Path, source: Path, name: str):
        from mlstack.lifecycle import running, seeder

        self.dir = work / name
        self.dir.mkdir()
        (self.dir / "mlstack.yaml").write_text(STACK.format(name=name, source=source))
        previous = os.getcwd()
        os.chdir(self.dir)
        try:
            env = dict(os.environ)
            project = running.render(None, "dev", env)
            document = project.rendered.document()
            [self.plan] = seeder.planned(project.rendered.stack, document, project.name, "dev", [], env)
            # The helper image as `mlstack up` picks it: the cache's service image (the Jupyter stand-in).
            self.seeders = {method: seeder.Seeder(project.rendered.stack, document, seeder.SeedOptions(method=method), env)
                            for method in ("bind", "archive")}
        finally:
            os.chdir(previous)
        self.volume = self.plan.volume_name

    def fresh(self, method: str) -> float:
        self.drop()
        return timed(lambda: self.seeders[method].seed(self.plan))

    def drop(self) -> None:
        """Remove the volume once the engine has removed the last helper (its teardown, which flushes
        what it wrote, goes on after `mlstack seed` returned, as a plain cp's writeback does)."""
        while docker("ps", "-aq", "--filter", f"label=org.mlstack.seed.volume={self.volume}"):
            time.sleep(0.1)
        subprocess.run(["docker", "volume", "rm", "-f", self.volume], capture_output=True)


def copy_rounds(work: Path, source: Path, label: str, rounds: int) -> dict[str, list[float]]:
    seeding = Seeding(work, source, f"bench{label.replace(' ', '')}")
    target = work / "cp-target"
    times: dict[str, list[float]] = {}

    def keep(method: str, seconds: float) -> None:
        times.setdefault(method, []).append(seconds)

    for _ in range(rounds):
        keep("cp -a", timed(lambda: subprocess.run(["cp", "-a", str(source), str(target)], check=True)))
        shutil.rmtree(target)
        docker("volume", "create", "mlstack-bench-dockercp")
        container = docker("create", "-v", "mlstack-bench-dockercp:/v", HELPER)
        keep("docker cp", timed(lambda: docker("cp", f"{source}/.", f"{container}:/v/")))
        docker("rm", "-f", container)
        docker("volume", "rm", "mlstack-bench-dockercp")
        keep("bind", seeding.fresh("bind"))
        keep("archive", seeding.fresh("archive"))
    seeding.drop()
    return times


def noop_rounds(work: Path, rounds: int) -> tuple[float, float, float]:
    source = work / "small"
    generate(source, 10_000, 1_000)
    seeding = Seeding(work, source, "benchnoop")
    seeding.fresh("bind")
    seeder = seeding.seeders["bind"]
    times = []
    for _ in range(rounds * 5):
        started = time.perf_counter()
        outcome = seeder.seed(seeding.plan)
        times.append(time.perf_counter() - started)
        assert outcome.action == "up to date", outcome.line()
    command = []
    for _ in range(rounds):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "mlstack", "seed"], cwd=seeding.dir,
                              capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        command.append(time.perf_counter() - started)
        assert done.returncode == 0 and "up to date" in done.stdout, done.stderr
    seeding.drop()
    shutil.rmtree(source)
    return min(times), statistics.median(times), statistics.median(command)


def report(results: dict[str, dict[str, list[float]]], gigabytes: float, noop: tuple[float, float, float]) -> str:
    """Rates from the best round of each; ratios from the best rounds, and (in brackets) from the medians."""
    size = gigabytes * 1e9
    lines = ["| source | cp -a (host) | docker cp | mlstack bind | mlstack archive | bind / cp -a (target >= 60%) "
             "| bind vs docker cp (target > 1) | archive vs docker cp (target >= 1) |", "|---|---|---|---|---|---|---|---|"]
    for label, times in results.items():
        best = {method: min(values) for method, values in times.items()}
        middle = {method: statistics.median(values) for method, values in times.items()}
        rate = {method: size / seconds / 1e6 for method, seconds in best.items()}
        lines.append(
            f"| {label} | {rate['cp -a']:.0f} MB/s | {rate['docker cp']:.0f} MB/s | {rate['bind']:.0f} MB/s "
            f"| {rate['archive']:.0f} MB/s | {best['cp -a'] / best['bind']:.0%} ({middle['cp -a'] / middle['bind']:.0%}) "
            f"| {best['docker cp'] / best['bind']:.1f}x ({middle['docker cp'] / middle['bind']:.1f}x) "
            f"| {best['docker cp'] / best['archive']:.2f}x ({middle['docker cp'] / middle['archive']:.2f}x) |")
    best, median, command = noop
    lines += ["", f"No-op re-seed of 10,000 files: {best * 1000:.0f} ms best, {median * 1000:.0f} ms median in "
                  f"process (target < 300 ms); the whole `mlstack seed` command {command:.2f} s (Python start and "
                  "the stack's render included)."]
    return "\n".join(lines)


def write_section(path: Path, body: str, machine: str) -> None:
    """Replace (or add) the `## Seeding` section; other sections stay as they are."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    section = (f"## Seeding\n\n`python bench/seeding.py` on {machine}, {time.strftime('%Y-%m-%d')}. Best of "
               "interleaved rounds (ratios of the medians in brackets); sources in the page cache; `sync` before "
               "each copy, none after. Throughput is source bytes over wall time; mlstack's includes "
               "fingerprinting, the helper container's start and the atomic commit.\n\n{body}\n")
    pattern = re.compile(r"^## Seeding\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda match: section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    path.write_text(text.rstrip() + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gb", type=float, default=2.0, help="size of each source (default 2)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", help="replace the Seeding section of this markdown file")
    options = parser.parse_args()
    os.environ.setdefault("DOCKER_HOST", "unix:///run/mlstack-ci/docker.sock")
    docker("image", "inspect", HELPER)
    size = int(options.gb * 1e9)
    work = Path(tempfile.mkdtemp(prefix="mlstack-bench-seed-", dir="/tmp"))
    results: dict[str, dict[str, float]] = {}
    try:
        for label, files in (("many files (100 kB)", size // 100_000), ("few files (4)", 4)):
            source = work / "source"
            generate(source, files, size // files)
            results[f"{options.gb:g} GB, {label}"] = copy_rounds(work, source, label.split()[0], options.rounds)
            shutil.rmtree(source)
            print(report(results, options.gb, (0, 0, 0)).splitlines()[-3], flush=True)
        noop = noop_rounds(work, options.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    body = report(results, options.gb, noop)
    print(body)
    if options.write:
        cpus = os.cpu_count()
        write_section(Path(options.write), body, f"a shared {cpus}-CPU machine, hermetic Docker engine "
                                                  f"{docker('version', '--format', '{{.Server.Version}}')}")


if __name__ == "__main__":
    main()
