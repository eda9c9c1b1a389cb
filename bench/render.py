"""Render speed, side by side with `docker compose config` on the same files, in one run.

    python bench/render.py [--rounds N] [--write docs/benchmarks.md]

Measures wall time of cold processes (each a fresh interpreter/binary):
  1. default stack, dev profile: `mlstack render --profile dev` vs `docker-compose -f <6 fragments> -f dev.yaml config`
  2. a synthetic 300-service stack: `mlstack render` vs `docker-compose config` on the same fragment files
  3. `mlstack --help`
Machines here are noisy: the medians of interleaved rounds and their ratio are what count.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRAGMENTS = ["api", "qdrant", "redis", "postgres", "mlflow", "jupyter"]


def mlstack_command() -> list[str]:
    found = shutil.which("mlstack")
    return [found] if found else [sys.executable, "-m", "mlstack"]


def timed(command: list[str], cwd: Path, env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(command)}\n{done.stderr.decode()[-2000:]}")
    return elapsed


def synthetic_stack(directory: Path, services: int) -> None:
    per_file = 30
    names = []
    for index in range(0, services, per_file):
        name = f"frag{index // per_file:02d}.yaml"
        names.append(f"./{name}")
        lines = ["services:"]
        for number in range(index, min(index + per_file, services)):
            lines += [
                f"  svc{number:03d}:",
                f"    image: registry.example/team/svc{number:03d}:1.{number}",
                "    environment:",
                f"      SERVICE_ID: '{number}'",
                "      LOG_LEVEL: ${LOG_LEVEL:-info}",
                f"    ports: ['127.0.0.1:{20000 + number}:8000']",
                f"    volumes: ['data{number:03d}:/data', './conf:/conf:ro']",
                "    healthcheck: {test: [CMD, /bin/true], interval: 10s}",
                f"    labels: [team=ml, svc={number}]",
            ]
            if number:
                lines.append(f"    depends_on: [svc{number - 1:03d}]")
        lines.append("volumes:")
        lines += [f"  data{number:03d}: {{}}" for number in range(index, min(index + per_file, services))]
        (directory / name).write_text("\n".join(lines) + "\n")
    (directory / "override.yaml").write_text(
        "services:\n" + "".join(f"  svc{n:03d}:\n    environment: [LOG_LEVEL=debug]\n" for n in range(0, services, 7))
    )
    fragment_list = ", ".join(names)
    (directory / "mlstack.yaml").write_text(
        f"name: big\nfragments: [{fragment_list}]\nprofiles:\n  dev: {{overrides: [./override.yaml]}}\n"
    )


def compose_args(files: list[Path]) -> list[str]:
    args = ["docker-compose", "-p", "bench"]
    for path in files:
        args += ["-f", str(path)]
    return args + ["config"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--write", help="append a results table to this markdown file's Render section")
    options = parser.parse_args()
    from mlstack.core.stack import builtin_dir

    env = {key: value for key, value in os.environ.items() if not key.startswith("MLSTACK_")}
    compose_env = dict(env, MLSTACK_TEMPLATES="./.mlstack/templates", MLSTACK_API_CONTEXT="./.mlstack/templates/api",
                       MLSTACK_STACK="mlstack", MLSTACK_PROJECT_DIR=".")
    mlstack = mlstack_command()
    results = []
    with tempfile.TemporaryDirectory() as empty, tempfile.TemporaryDirectory() as big:
        empty_dir, big_dir = Path(empty), Path(big)
        synthetic_stack(big_dir, 300)
        default_files = [builtin_dir("stacks") / f"{name}.yaml" for name in FRAGMENTS] + [builtin_dir("overrides") / "dev.yaml"]
        big_files = sorted(big_dir.glob("frag*.yaml")) + [big_dir / "override.yaml"]
        cases = [
            ("default stack, dev", mlstack + ["render", "--profile", "dev"], empty_dir, compose_args(default_files), empty_dir),
            ("300 services", mlstack + ["render", "--profile", "dev"], big_dir, compose_args(big_files), big_dir),
        ]
        for label, ours, our_dir, theirs, their_dir in cases:
            mine, peer = [], []
            timed(ours, our_dir, env), timed(theirs, their_dir, compose_env)  # warm the page cache
            for _ in range(options.rounds):
                mine.append(timed(ours, our_dir, env))
                peer.append(timed(theirs, their_dir, compose_env))
            results.append((label, statistics.median(mine), statistics.median(peer)))
        helps = [timed(mlstack + ["--help"], empty_dir, env) for _ in range(options.rounds)]
    lines = ["| case | mlstack median | docker compose config median | ratio (mlstack / compose) |", "|---|---:|---:|---:|"]
    for label, mine, peer in results:
        lines.append(f"| {label} | {mine * 1000:.0f} ms | {peer * 1000:.0f} ms | {mine / peer:.2f} |")
    lines.append(f"| `mlstack --help` | {statistics.median(helps) * 1000:.0f} ms | | |")
    table = "\n".join(lines)
    print(table)
    if options.write:
        print(f"(rounds: {options.rounds}, python {sys.version.split()[0]}, {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
