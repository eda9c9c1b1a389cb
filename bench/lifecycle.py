"""Lifecycle benchmark: `mlstack up` against `docker compose up -d --wait` on the same rendered file,
and `mlstack status` against the two ways it could ask the engine.

    python bench/lifecycle.py [--runs 5] [--status-runs 10] [--json]

Needs a Docker engine (DOCKER_HOST). With the hermetic test engine (docs/testing.md) every command
runs inside its network namespace (`nsenter --net=/var/run/netns/mlstack-ci`), where the engine
publishes ports. The stack: six busybox services publishing a port each on 127.0.0.1, each with a
2 s healthcheck, so both sides wait for the same first health probe. Runs alternate which side goes
first; `down` between runs is not timed; a warm-up run writes the byte-code caches. Results go into
docs/benchmarks.md ("Lifecycle").
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NETNS = f"/var/run/netns/{os.environ.get('MLSTACK_TEST_NETNS', 'mlstack-ci')}"
SERVICES = ("api", "jupyter", "mlflow", "postgres", "qdrant", "redis")


def stack_files(directory: Path, name: str, base_port: int) -> None:
    services = "".join(f"""\
  {service}:
    image: mlstack-test/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    ports: ["127.0.0.1:{base_port + index}:8000"]
    healthcheck: {{test: ["CMD", "true"], interval: 2s, timeout: 2s, retries: 3}}
""" for index, service in enumerate(SERVICES))
    (directory / "bench.yaml").write_text(
        "x-mlstack:\n  urls:\n" + "".join(f"    - {{service: {s}, port: 8000, path: /, label: {s}}}\n" for s in SERVICES)
        + "services:\n" + services)
    (directory / "mlstack.yaml").write_text(f"name: {name}\nfragments: [./bench.yaml]\nprofiles:\n  dev:\n    overrides: []\n")


def prefix() -> list[str]:
    in_test_engine = os.path.exists(NETNS) and "mlstack-ci" in os.environ.get("DOCKER_HOST", "")
    return ["nsenter", f"--net={NETNS}"] if in_test_engine else []


CPU_SECONDS: dict[str, list[float]] = {}


def timed(command: list[str], cwd: Path, env: dict[str, str], label: str = "") -> float:
    """Wall-clock seconds; with a label, also the CPU seconds of the whole process tree (user + system),
    which the load of a shared machine does not inflate."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(prefix() + command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    if label:
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        CPU_SECONDS.setdefault(label, []).append(cpu)
    return elapsed


def summary(samples: list[float], label: str = "") -> dict[str, float]:
    numbers = {"median_s": round(statistics.median(samples), 3), "min_s": round(min(samples), 3),
               "max_s": round(max(samples), 3), "runs": len(samples)}
    if CPU_SECONDS.get(label):
        numbers["cpu_median_s"] = round(statistics.median(CPU_SECONDS[label]), 3)
    return numbers


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--status-runs", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))
    from mlstack.engine.discovery import discover

    # As installed by pip: byte-code cached (some CI environments set PYTHONDONTWRITEBYTECODE, which
    # makes every run compile ~30 modules again, +50 ms that no user pays).
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(REPO)
    compose = list(discover(dict(os.environ)).argv)
    mlstack = [sys.executable, "-m", "mlstack"]
    name = f"bench{uuid.uuid4().hex[:6]}"
    project = f"{name}-dev"
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        stack_files(directory, name, 31000 + os.getpid() % 500 * 10)
        rendered = directory / ".mlstack" / "dev" / "compose.yaml"
        compose_up = compose + ["-f", str(rendered), "-p", project, "up", "--detach", "--wait"]
        down = mlstack + ["down"]
        timed(mlstack + ["up"], directory, env)   # warm-up: writes the rendered file, caches images
        timed(down, directory, env)
        ups: dict[str, list[float]] = {"mlstack": [], "compose": []}
        for run in range(args.runs):
            order = [("mlstack", mlstack + ["up"]), ("compose", compose_up)]
            for side, command in order if run % 2 == 0 else reversed(order):
                ups[side].append(timed(command, directory, env, f"up {side}"))
                timed(down, directory, env)
        timed(mlstack + ["up"], directory, env)
        probes = {
            "mlstack status": mlstack + ["status"],
            "compose ps --format json (one call)": compose + ["-f", str(rendered), "-p", project, "ps", "--all",
                                                              "--format", "json"],
            "python: import docker + containers.list(label filter)": [
                sys.executable, "-c", "import docker; docker.from_env().containers.list(all=True, "
                f"filters={{'label': 'com.docker.compose.project={project}'}})"],
            "python: import mlstack.cli (startup only)": [sys.executable, "-c", "import mlstack.cli"],
            "python: interpreter start only": [sys.executable, "-c", "pass"],
        }
        status = {label: [] for label in probes}
        for _ in range(args.status_runs):   # interleaved, so a burst of load hits every probe alike
            for label, command in probes.items():
                status[label].append(timed(command, directory, env, label))
        timed(mlstack + ["down", "--volumes", "--yes"], directory, env)
    up_mlstack, up_compose = statistics.median(ups["mlstack"]), statistics.median(ups["compose"])
    result = {
        "services": len(SERVICES),
        "compose": " ".join(compose),
        "up": {side: summary(samples, f"up {side}") for side, samples in ups.items()},
        "up_overhead_s": round(up_mlstack - up_compose, 3),
        "up_overhead_pct": round(100 * (up_mlstack - up_compose) / up_compose, 1),
        "status": {label: summary(samples, label) for label, samples in status.items()},
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"up, {len(SERVICES)} services, median of {args.runs}: mlstack {up_mlstack:.2f} s, "
          f"compose up -d --wait {up_compose:.2f} s, overhead {result['up_overhead_s']:+.2f} s ({result['up_overhead_pct']:+.1f} %)")
    for label, numbers in result["status"].items():
        print(f"{label}: median {numbers['median_s'] * 1000:.0f} ms (min {numbers['min_s'] * 1000:.0f}, "
              f"max {numbers['max_s'] * 1000:.0f}), CPU {numbers['cpu_median_s'] * 1000:.0f} ms")
    print(f"cpus {result['cpus']}, load average {result['load_average_1m']}")


if __name__ == "__main__":
    main()
