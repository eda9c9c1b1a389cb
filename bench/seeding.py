"""Seeding against a host `cp -a` and `docker cp`, from cold caches, every round reported.

    DOCKER_HOST=unix:///run/mlstack-ci/docker.sock python bench/seeding.py [--gb 1] [--rounds 3] [--write docs/benchmarks.md]

Two sources, generated under /tmp and deleted at the end (one at a time: disk use peaks at about
three times --gb):
  mixed        the shape and size of issue #12: 8 large files and 2,000 files of 25 kB, --gb GiB in all
  many small   --gb GiB in files of 50 kB (21,474 at 1 GiB)
Four sides copy each source, each into a fresh target, in every round; the order rotates from
round to round. Before each copy (not timed): `sync`, then `echo 3 > /proc/sys/vm/drop_caches`
when this process may write it (the report says whether it could), so every side reads the
source, and starts, cold:
  cp -a        cp -a SOURCE DIR on the host (the ceiling: no engine at all)
  docker cp    docker cp SOURCE/. CONTAINER:/v/ into a created busybox container that mounts a new volume
  bind         `mlstack --debug seed --method bind`, the whole command (Python's start and the stack's
               render included), into a volume that does not exist yet
  archive      the same with --method archive (the remote-engine path)
A round's ratio is the other side's time over mlstack's, both from that round: 0.90x means mlstack
ran at 90% of its speed. Targets: bind >= 0.85x cp -a and archive >= 1.0x docker cp on many small
files, in every round. mlstack's `seed: <phase> <ms>` lines (--debug) give each phase's median;
"seed's own" is their sum (the command without Python's start and the render).
--write replaces the "## Seeding" section of a markdown file with the report; nothing else.
"""

from __future__ import annotations

import argparse
import compileall
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# what a user runs: the `mlstack` console script next to this Python (README's install; PYTHONPATH puts this
# checkout first), `python -m mlstack` where there is none
MLSTACK = [str(Path(PYTHON).with_name("mlstack"))] if Path(PYTHON).with_name("mlstack").is_file() else [PYTHON, "-m", "mlstack"]
HELPER = "mlstack-test/busybox:1"   # the container `docker cp` copies into
STACK = ("name: {name}\nfragments: [jupyter]\nimages:\n  quay.io/jupyter/pytorch-notebook:cuda12-pytorch-2.5.1: "
         "mlstack-test/jupyter:1\nvolumes:\n  hf-cache:\n    seed: {{from: {source}}}\n")
SIDES = ("cp -a", "docker cp", "bind", "archive")
TARGETS = {"bind": ("cp -a", 0.85), "archive": ("docker cp", 1.0)}   # mlstack side: (the other side, least ratio)
PHASE = re.compile(r"^mlstack: debug: seed: (.+) (\d+)$", re.M)


def docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"docker {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def write_file(path: Path, size: int, block: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        head = f"{path.name}\n".encode()   # no two files alike
        handle.write(head)
        left = size - len(head)
        while left > 0:
            handle.write(block[:min(left, len(block))])
            left -= min(left, len(block))


def generate(directory: Path, shape: str, size: int) -> int:
    """The source; its number of files."""
    block = os.urandom(1 << 20)
    if shape == "mixed":
        small, small_size = 2_000, 25_000
        for index in range(small):
            write_file(directory / "small" / f"d{index % 40:02d}" / f"f{index:05d}.bin", small_size, block)
        for index in range(8):
            write_file(directory / f"model-{index}.safetensors", (size - small * small_size) // 8, block)
        return small + 8
    count = size // 50_000
    for index in range(count):
        write_file(directory / f"d{index % 100:02d}" / f"f{index:05d}.bin", 50_000, block)
    return count


def cold() -> bool:
    """Write back, then drop the page, dentry and inode caches when permitted; whether they were."""
    subprocess.run(["sync"], check=True)
    try:
        with open("/proc/sys/vm/drop_caches", "w") as handle:
            handle.write("3\n")
        return True
    except OSError:
        return False


class Bench:
    def __init__(self, work: Path, source: Path):
        self.work, self.source = work, source
        self.stack = work / "stack"
        self.stack.mkdir()
        (self.stack / "mlstack.yaml").write_text(STACK.format(name="benchseed", source=source))
        self.env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.volume = "benchseed-dev_hf-cache"
        self.dropped = True
        self.commands: dict[str, str] = {}
        self.phases: dict[str, dict[str, list[float]]] = {"bind": {}, "archive": {}}

    def time(self, side: str) -> float:
        command, cwd, finish = getattr(self, "_" + side.replace(" ", "_").replace("-", ""))()
        self.dropped = cold() and self.dropped
        started = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, env=self.env, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{shlex.join(command)} failed ({done.returncode}): {done.stderr[-2000:]}")
        finish(done)
        return seconds

    def _cp_a(self):
        target = self.work / "cp-target"
        shutil.rmtree(target, ignore_errors=True)
        command = ["cp", "-a", str(self.source), str(target)]
        self.commands["cp -a"] = shlex.join(command)
        return command, None, lambda done: shutil.rmtree(target)

    def _docker_cp(self):
        docker("volume", "create", "mlstack-bench-dockercp")
        container = docker("create", "-v", "mlstack-bench-dockercp:/v", HELPER)
        command = ["docker", "cp", f"{self.source}/.", f"{container}:/v/"]
        self.commands["docker cp"] = (f"docker volume create mlstack-bench-dockercp; C=$(docker create -v "
                                      f"mlstack-bench-dockercp:/v {HELPER}); docker cp {self.source}/. $C:/v/")

        def finish(done) -> None:
            docker("rm", "-f", container)
            docker("volume", "rm", "mlstack-bench-dockercp")
        return command, None, finish

    def _mlstack(self, method: str):
        self.drop()
        command = MLSTACK + ["--debug", "seed", "--method", method]
        self.commands[method] = (f"(cd {self.stack} && PYTHONPATH={ROOT} DOCKER_HOST={self.env.get('DOCKER_HOST', '')} "
                                 f"{shlex.join(command)})")

        def finish(done) -> None:
            assert f"({method}; new volume)" in done.stdout, done.stdout + done.stderr
            phases: dict[str, float] = {}
            for name, ms in PHASE.findall(done.stderr):
                phases[name] = phases.get(name, 0.0) + int(ms) / 1000
            for name, seconds in phases.items():
                self.phases[method].setdefault(name, []).append(seconds)
            self.phases[method].setdefault("seed's own", []).append(sum(phases.values()))
        return command, self.stack, finish

    def _bind(self):
        return self._mlstack("bind")

    def _archive(self):
        return self._mlstack("archive")

    def drop(self) -> None:
        """Remove the volume once the engine has removed the last helper (its teardown flushes what it
        wrote after `mlstack seed` returned, as a plain cp's writeback goes on after cp)."""
        while docker("ps", "-aq", "--filter", f"label=org.mlstack.seed.volume={self.volume}"):
            time.sleep(0.1)
        subprocess.run(["docker", "volume", "rm", "-f", self.volume], capture_output=True)


def rounds_of(bench: Bench, rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {side: [] for side in SIDES}
    subprocess.run(MLSTACK + ["render"], cwd=bench.stack, env=bench.env, capture_output=True)
    for round_index in range(rounds):
        for offset in range(len(SIDES)):
            side = SIDES[(round_index + offset) % len(SIDES)]
            times[side].append(bench.time(side))
            print(f"  round {round_index + 1}: {side} {times[side][-1]:.2f} s", flush=True)
    return times


def no_op(bench: Bench, rounds: int) -> tuple[list[float], list[float]]:
    """A second `mlstack seed` of the seeded volume (warm caches): the whole command and seed's own."""
    commands, own = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        done = subprocess.run(MLSTACK + ["--debug", "seed"], cwd=bench.stack, env=bench.env,
                              capture_output=True, text=True)
        commands.append(time.perf_counter() - started)
        assert "up to date" in done.stdout, done.stdout + done.stderr
        own.append(sum(int(ms) for _, ms in PHASE.findall(done.stderr)) / 1000)
    bench.drop()
    return commands, own


def spread(values: list[float], unit: str = "s") -> str:
    return (f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f} {unit}" if unit == "s" else
            f"{min(values) * 1000:.0f} / {statistics.median(values) * 1000:.0f} / {max(values) * 1000:.0f} ms")


def report(results: list[dict], rounds: int, started: datetime, dropped: bool, commands: dict[str, str]) -> str:
    lines = [
        "## Seeding", "",
        "Generated by `python bench/seeding.py` (do not edit by hand: rerun it with `--write docs/benchmarks.md`).", "",
        f"- run: {started:%Y-%m-%d %H:%M} UTC, {rounds} rounds, the four sides in a rotating order in each",
        "- cold: `sync` before every copy, then "
        + ("the page, dentry and inode caches dropped (`echo 3 > /proc/sys/vm/drop_caches`)" if dropped else
           "NO cache drop (/proc/sys/vm/drop_caches is not writable here: the sources were partly cached)"),
        f"- machine: {os.cpu_count()} cores, shared; Python {platform.python_version()}, Docker engine "
        f"{docker('version', '--format', '{{.Server.Version}}')}, helper image the stack's (the Jupyter stand-in, GNU cp)",
        "- times are wall seconds of the whole command, min / median / max over the rounds; a ratio is the other "
        "side's time over mlstack's in the same round (above 1: mlstack was faster)", "",
    ]
    for result in results:
        times = result["times"]
        lines += [f"### {result['label']}", "",
                  f"Load average (1, 5, 15 min): {result['load before']} before, {result['load after']} after.", "",
                  "| side | min / median / max |", "|---|---:|"]
        lines += [f"| {side} | {spread(times[side])} |" for side in SIDES]
        for method in ("bind", "archive"):
            own = result["phases"][method].get("seed's own")
            if own:
                lines.append(f"| {method}: seed's own (no Python start, no render) | {spread(own)} |")
        lines.append("")
        for method in ("bind", "archive"):
            own = result["phases"][method].get("seed's own", [])
            if len(own) == len(times[method]):
                outside = [whole - mine for whole, mine in zip(times[method], own)]
                lines.append(f"- {method}: outside the seed's own time (Python's start, mlstack's imports, the "
                             f"render): {spread(outside)}")
        whole, own = result["no-op"]
        lines += [f"- no-op re-seed (the source unchanged, warm caches): {spread(whole, 'ms')} the whole command, "
                  f"{spread(own, 'ms')} seed's own.", ""]
        for method, (other, least) in TARGETS.items():
            ratios = [theirs / ours for theirs, ours in zip(times[other], times[method])]
            every = all(ratio >= least for ratio in ratios)
            applies = method == "bind" or result["many small"]
            verdict = ("met in every round" if every else "missed") if applies else "no target for this source"
            lines.append(f"- {method} vs {other} (target >= {least:.2f}x every round): "
                         f"{', '.join(f'{ratio:.2f}x' for ratio in ratios)}: {verdict}")
            own = result["phases"][method].get("seed's own", [])
            if applies and len(own) == len(times[other]):
                mine = [theirs / ours for theirs, ours in zip(times[other], own)]
                lines.append(f"  - the seed's own time (no Python start, no render) vs {other}: "
                             f"{', '.join(f'{ratio:.2f}x' for ratio in mine)}")
        lines += ["", "Phases of the mlstack commands (`--debug`), median ms (bind / archive):", "",
                  "| phase | bind | archive |", "|---|---:|---:|"]
        names = list(dict.fromkeys([*result["phases"]["bind"], *result["phases"]["archive"]]))
        for name in names:
            cells = [f"{statistics.median(result['phases'][m][name]) * 1000:.0f}" if name in result["phases"][m]
                     else "" for m in ("bind", "archive")]
            lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
        lines += [""]
    lines += ["The commands, exactly (SOURCE generated anew for each source):", "", "```"]
    lines += [f"{side}: {commands[side]}" for side in SIDES if side in commands] + ["```", ""]
    return "\n".join(lines)


def replace_section(path: Path, heading: str, section: str) -> None:
    """`section` in place of the one under `heading` (up to the next `## `), or at the end."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start = text.find(heading + "\n")
    if start == -1:
        path.write_text(text.rstrip("\n") + "\n\n" + section)
        return
    after = text.find("\n## ", start + len(heading))
    path.write_text(text[:start] + section + (text[after + 1:] if after != -1 else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gb", type=float, default=1.0, help="size of each source in GiB (default 1: the issue's seed)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", help="replace the Seeding section of this markdown file with the report")
    options = parser.parse_args()
    os.environ.setdefault("DOCKER_HOST", "unix:///run/mlstack-ci/docker.sock")
    # as `pip install` leaves it: byte-compiled (PYTHONDONTWRITEBYTECODE would otherwise make every
    # command compile mlstack's modules again)
    compileall.compile_dir(ROOT / "mlstack", quiet=1)
    docker("image", "inspect", HELPER)
    size = int(options.gb * 2**30)
    started = datetime.now(timezone.utc)
    results, commands, dropped = [], {}, True
    for shape in ("mixed", "many small"):
        work = Path(tempfile.mkdtemp(prefix="mlstack-bench-seed-", dir="/tmp"))
        try:
            source = work / "source"
            files = generate(source, shape, size)
            label = (f"{options.gb:g} GiB, 8 large files and 2,000 of 25 kB" if shape == "mixed" else
                     f"{options.gb:g} GiB, many small files: {files:,} of 50 kB")
            print(label, flush=True)
            bench = Bench(work, source)
            load_before = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
            times = rounds_of(bench, options.rounds)
            noop = no_op(bench, options.rounds)
            results.append({"label": label, "times": times, "phases": bench.phases, "many small": shape != "mixed", "no-op": noop,
                            "load before": load_before, "load after": "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())})
            commands.update({side: command.replace(str(source), "SOURCE") for side, command in bench.commands.items()})
            dropped = dropped and bench.dropped
        finally:
            shutil.rmtree(work, ignore_errors=True)
    text = report(results, options.rounds, started, dropped, commands)
    print(text)
    if options.write:
        replace_section(Path(options.write), "## Seeding", text)


if __name__ == "__main__":
    main()
