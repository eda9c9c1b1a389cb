"""Lifecycle benchmark: `mlstack up` against `docker compose up -d --wait` on the same rendered file,
and `mlstack status` against the two ways it could ask the engine.

    python bench/lifecycle.py [--runs 7] [--status-runs 10] [--json] [--write docs/benchmarks.md]

Needs a Docker engine (DOCKER_HOST). With the hermetic test engine (docs/testing.md) every command
runs inside its network namespace (`nsenter --net=/var/run/netns/mlstack-ci`), where the engine
publishes ports. The stack: six busybox services publishing a port each on 127.0.0.1, each with a
2 s healthcheck, so both sides wait for the same first health probe. Each run times, per side, an
`up` from nothing and then a no-op `up` of the running stack; the sides alternate which goes first;
`down` between them is not timed; a warm-up run writes the byte-code caches. It prints the exact
command lines, DOCKER_HOST and whether the engine answered, the load average before and after, and
the verdict against the target (`up` at most 5 % and 300 ms over `compose up -d --wait`, medians);
--write replaces the "## Lifecycle" section of a markdown file with that report.
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from render import _replace_section, engine_reachable, shown  # bench/render.py: the same probe and printing

REPO = Path(__file__).resolve().parents[1]
NETNS = f"/var/run/netns/{os.environ.get('MLSTACK_TEST_NETNS', 'mlstack-ci')}"
SERVICES = ("api", "jupyter", "mlflow", "postgres", "qdrant", "redis")
TARGET_PCT, TARGET_S = 5.0, 0.300      # issue #12: up at most 5 % and 300 ms over compose up -d --wait
STATUS_TARGET_S = 0.300


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


def verdict(ours: float, theirs: float) -> dict:
    overhead = ours - theirs
    percent = 100 * overhead / theirs
    return {"overhead_s": round(overhead, 3), "overhead_pct": round(percent, 1),
            "met": overhead <= TARGET_S and percent <= TARGET_PCT}


def engine_version(env: dict[str, str]) -> str:
    from mlstack.engine import api
    from mlstack.engine.address import engine_address

    try:
        return str(api.connect(engine_address(env).url, 5).info().get("ServerVersion") or "?")
    except Exception as error:  # noqa: BLE001 - a benchmark note, not a check
        return f"unknown ({type(error).__name__})"


def mlstack_command() -> list[str]:
    """What a user runs: the `mlstack` console script next to this Python (README's `pip install .`), which
    imports this checkout (PYTHONPATH comes first); `python -m mlstack` where there is none."""
    script = Path(sys.executable).with_name("mlstack")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "mlstack"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--status-runs", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--write", help="replace the Lifecycle section of this markdown file with the report")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))
    from mlstack.engine.discovery import discover

    compileall.compile_dir(REPO / "mlstack", quiet=1)
    # As installed by pip: byte-code cached (some CI environments set PYTHONDONTWRITEBYTECODE, which
    # makes every run compile ~30 modules again, +50 ms that no user pays).
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(REPO)
    docker_host = os.environ.get("DOCKER_HOST")
    reachable = engine_reachable(docker_host)
    compose = list(discover(dict(os.environ)).argv)
    compose_version = subprocess.run(compose + ["version", "--short"], capture_output=True, text=True, env=env).stdout.strip()
    mlstack = mlstack_command()
    name = f"bench{uuid.uuid4().hex[:6]}"
    project = f"{name}-dev"
    load_before, started = os.getloadavg(), datetime.datetime.now(datetime.timezone.utc)
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        stack_files(directory, name, 31000 + os.getpid() % 500 * 10)
        rendered = directory / ".mlstack" / "dev" / "compose.yaml"
        sides = {"mlstack": mlstack + ["up"],
                 "compose": compose + ["-f", str(rendered), "-p", project, "up", "--detach", "--wait"]}
        changes = {"DOCKER_HOST": docker_host or "(unset)"}
        commands = [f"{side}: " + shown(prefix() + command, str(directory),
                                         dict(changes, PYTHONPATH=str(REPO)) if side == "mlstack" else changes)
                    for side, command in sides.items()]
        down = mlstack + ["down"]
        timed(mlstack + ["up"], directory, env)   # warm-up: writes the rendered file, caches images
        timed(down, directory, env)
        ups: dict[str, list[float]] = {f"{case} {side}": [] for case in ("up", "no-op") for side in sides}
        for run in range(args.runs):
            for side in list(sides) if run % 2 == 0 else list(reversed(sides)):
                ups[f"up {side}"].append(timed(sides[side], directory, env, f"up {side}"))
                ups[f"no-op {side}"].append(timed(sides[side], directory, env, f"no-op {side}"))
                timed(down, directory, env)
        timed(mlstack + ["up"], directory, env)
        probes = {
            "mlstack status": mlstack + ["status"],
            "compose ps --all --format json (one call)": compose + ["-f", str(rendered), "-p", project, "ps", "--all",
                                                                    "--format", "json"],
            "python: import docker + containers.list(label filter), the SDK alternative": [
                sys.executable, "-c", "import docker; docker.from_env().containers.list(all=True, "
                f"filters={{'label': 'com.docker.compose.project={project}'}})"],
            "python -c 'import mlstack.cli' (startup only)": [sys.executable, "-c", "import mlstack.cli"],
            "python -c pass (interpreter start only)": [sys.executable, "-c", "pass"],
        }
        status = {label: [] for label in probes}
        for _ in range(args.status_runs):   # interleaved, so a burst of load hits every probe alike
            for label, command in probes.items():
                status[label].append(timed(command, directory, env, label))
        timed(mlstack + ["down", "--volumes", "--yes"], directory, env)
    result = {
        "started": f"{started:%Y-%m-%d %H:%M} UTC", "runs": args.runs, "services": len(SERVICES),
        "docker_host": docker_host or "(unset)", "engine": reachable, "engine_version": engine_version(env),
        "compose_version": compose_version, "python": platform.python_version(), "commands": commands,
        "up": {label: summary(samples, label) for label, samples in ups.items()},
        "verdict": {case: verdict(statistics.median(ups[f"{case} mlstack"]), statistics.median(ups[f"{case} compose"]))
                    for case in ("up", "no-op")},
        "status": {label: summary(samples, label) for label, samples in status.items()},
        "cpus": os.cpu_count(), "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    report = json.dumps(result, indent=2) if args.json else markdown(result, args)
    print(report)
    if args.write:
        _replace_section(Path(args.write), "## Lifecycle", markdown(result, args))


def markdown(result: dict, args: argparse.Namespace) -> str:
    up, status = result["up"], result["status"]
    command = f"python bench/lifecycle.py --runs {args.runs} --status-runs {args.status_runs}"

    def cell(numbers: dict) -> str:
        return f"{numbers['median_s']:.2f} s ({numbers['min_s']:.2f}-{numbers['max_s']:.2f})"

    lines = [
        "## Lifecycle", "",
        f"Generated by `{command}` (do not edit by hand: rerun it with `--write docs/benchmarks.md`).", "",
        f"- run: {result['started']}, {result['runs']} runs per side; in each, per side, an `up` from nothing and then "
        "a no-op `up` of the running stack, the sides alternating which goes first, `down` between them not timed",
        f"- machine: {result['cpus']} cores, load average (1, 5, 15 min) "
        + " ".join(f"{x:.2f}" for x in result["load_before"]) + " before and "
        + " ".join(f"{x:.2f}" for x in result["load_after"]) + " after",
        f"- Python {result['python']}, Docker Compose {result['compose_version']}, engine {result['engine_version']}, "
        "this checkout byte-compiled",
        f"- engine: DOCKER_HOST={result['docker_host']}, probed with GET /_ping: {result['engine']}",
        f"- the stack: {result['services']} busybox services, each publishing one port on 127.0.0.1 with a 2 s "
        "healthcheck, so both sides wait for the same first health probe",
        "", "Median (min-max) wall-clock seconds of cold processes; CPU: median user + system seconds of the whole "
        "process tree, which the load of other processes does not inflate.", "",
        "| case | `mlstack up` | `compose up -d --wait` | overhead | CPU mlstack | CPU compose |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for case, label in (("up", "from nothing"), ("no-op", "no-op (all running and healthy)")):
        ours, theirs, judged = up[f"{case} mlstack"], up[f"{case} compose"], result["verdict"][case]
        lines.append(f"| {label} | {cell(ours)} | {cell(theirs)} | {judged['overhead_s']:+.2f} s "
                     f"({judged['overhead_pct']:+.1f} %) | {ours['cpu_median_s']:.2f} s | {theirs['cpu_median_s']:.2f} s |")
    lines += ["", f"Against the target (`up` at most {TARGET_PCT:g} % and {TARGET_S * 1000:.0f} ms over "
              "`compose up -d --wait`, medians), in this run:", ""]
    for case, label in (("up", "from nothing"), ("no-op", "no-op")):
        judged = result["verdict"][case]
        lines.append(f"- {label}: {judged['overhead_s'] * 1000:+.0f} ms, {judged['overhead_pct']:+.1f} %: "
                     f"{'met' if judged['met'] else 'missed'}")
    mlstack_status = status["mlstack status"]["median_s"]
    lines += [f"- `mlstack status` at most {STATUS_TARGET_S * 1000:.0f} ms: {mlstack_status * 1000:.0f} ms: "
              f"{'met' if mlstack_status <= STATUS_TARGET_S else 'missed'}", "",
              f"`mlstack status` and its building blocks, interleaved, {args.status_runs} runs each:", "",
              "| | median | min | max | CPU |", "|---|---:|---:|---:|---:|"]
    for label, numbers in status.items():
        lines.append(f"| {label} | {numbers['median_s'] * 1000:.0f} ms | {numbers['min_s'] * 1000:.0f} ms "
                     f"| {numbers['max_s'] * 1000:.0f} ms | {numbers['cpu_median_s'] * 1000:.0f} ms |")
    lines += ["", "The commands, exactly (the rendered file is the one `mlstack up` wrote):", "", "```",
              *result["commands"], "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
