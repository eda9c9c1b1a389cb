"""The bad-input corpus: one `cases/*.case` file per broken input, and the one way to run it.

A case file is a few header lines, then the files of the case, txtar style:

    what: a tab used for indentation              (why the case exists)
    exit: 1                                       (the documented exit code, docs/exit-codes.md)
    error: a.yaml:3:1: found character '\\t'       (FILE:LINE[:COL]: a fragment of that line)
    args: render -p bare -o out.yaml              (optional; this is the default)
    -- a.yaml --
    services:
    	web: {}

A section name may carry a kind: `-- l1.yaml -> l2.yaml --` is a symbolic link, `-- p.yaml (fifo) --`
a named pipe, `-- d.yaml/ --` a directory, `-- b.yaml (bytes) --` text with Python escapes
(`\\xff`, `\\x00`) written as bytes, `-- big.yaml (repeat 40000) --` the text written that many times.
Without an `mlstack.yaml` section the case gets DEFAULT_STACK: one fragment, a.yaml, and a `bare`
profile that adds no override.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import re
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

CASES_DIR = Path(__file__).parent / "cases"
DEFAULT_STACK = "name: t\nfragments: [./a.yaml]\nprofiles: {bare: {overrides: []}}\n"
DEFAULT_ARGS = "render -p bare -o out.yaml"
SECTION = re.compile(r"^-- (?P<name>.+?)(?: -> (?P<link>.+?)| \((?P<kind>fifo|bytes|repeat \d+)\))? --$")
ERROR = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+)(?::(?P<column>\d+))?: (?P<fragment>.+)$")
LOCATED = re.compile(r"^[^\s:][^:]*:\d+(:\d+)?: \S")   # every line of a failure starts with a location
# mlstack's own work (CPU time) must stay under a second; the wall clock, which other processes on
# a busy CI machine stretch, gets headroom but still catches a read that blocks (a FIFO uses no CPU)
CPU_LIMIT_S = 1.0
WALL_LIMIT_S = 3.0


@dataclass
class Case:
    name: str
    what: str
    exit: int
    error: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    sections: list[tuple[str, str | None, str | None, str]] = field(default_factory=list)  # name, link, kind, text

    @classmethod
    def read(cls, path: Path) -> "Case":
        header, _, body = path.read_text(encoding="utf-8").partition("\n-- ")
        fields = dict(line.split(": ", 1) for line in header.splitlines() if line.strip())
        case = cls(path.stem, fields["what"], int(fields["exit"]), fields["error"],
                   shlex.split(fields.get("args", DEFAULT_ARGS)),
                   dict(item.split("=", 1) for item in shlex.split(fields.get("env", ""))))
        current = None
        for line in ("-- " + body).splitlines(keepends=True) if body else []:
            match = SECTION.match(line.rstrip("\n"))
            if match:
                current = [match["name"], match["link"], match["kind"], ""]
                case.sections.append(current)
            else:
                current[3] += line
        case.sections = [tuple(section) for section in case.sections]
        return case

    def write(self, directory: Path) -> None:
        names = [name.rstrip("/") for name, *_ in self.sections]
        if "mlstack.yaml" not in names:
            (directory / "mlstack.yaml").write_text(DEFAULT_STACK)
        for name, link, kind, text in self.sections:
            path = directory / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if link:
                path.symlink_to(link)
            elif name.endswith("/"):
                path.mkdir(exist_ok=True)
            elif kind == "fifo":
                os.mkfifo(path)
            elif kind == "bytes":
                path.write_bytes(codecs.escape_decode(text.encode("utf-8"))[0])
            elif kind and kind.startswith("repeat"):
                path.write_text(text * int(kind.split()[1]), encoding="utf-8")
            else:
                path.write_text(text, encoding="utf-8")


def all_cases() -> list[Case]:
    return [Case.read(path) for path in sorted(CASES_DIR.glob("*.case"))]


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float       # wall clock
    cpu_seconds: float   # user + system time of the run


def run_in_process(args: list[str], cwd: Path) -> Outcome:
    """`mlstack ARGS` through the real entry point, in this process (no interpreter start-up)."""
    from mlstack.cli import main

    out, err = io.StringIO(), io.StringIO()
    start, start_cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), contextlib.chdir(cwd):
        try:
            main(args)
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
    return Outcome(code, out.getvalue(), err.getvalue(), time.perf_counter() - start, time.process_time() - start_cpu)


def snapshot(directory: Path) -> set[str]:
    """Every path under `directory`, hidden ones included, to prove nothing was written."""
    return {os.path.relpath(os.path.join(folder, name), directory)
            for folder, folders, files in os.walk(directory) for name in folders + files}


def problems(case: Case, outcome: Outcome, before: set[str], after: set[str]) -> list[str]:
    """What is wrong with how mlstack answered `case`: an empty list when it answered as documented."""
    found = []
    if outcome.code != case.exit:
        found.append(f"exit code {outcome.code}, expected {case.exit}")
    if "Traceback" in outcome.stderr or "Traceback" in outcome.stdout:
        found.append("a traceback was printed")
    lines = [line for line in outcome.stderr.splitlines() if line.strip() and not line.startswith("hint: ")]
    if not lines:
        found.append("nothing said on standard error")
    unlocated = [line for line in lines if not LOCATED.match(line)]
    if unlocated:
        found.append(f"lines without a location: {unlocated}")
    expected = ERROR.match(case.error)
    where = f"{expected['file']}:{expected['line']}" + (f":{expected['column']}" if expected["column"] else "")
    if not any(line.startswith(where + ":") and expected["fragment"] in line for line in lines):
        found.append(f"no line starts with {where}: and contains {expected['fragment']!r}")
    if after != before:
        found.append(f"files written: {sorted(after - before)}")
    if outcome.cpu_seconds > CPU_LIMIT_S:
        found.append(f"used {outcome.cpu_seconds:.2f} s of CPU (limit {CPU_LIMIT_S} s)")
    if outcome.seconds > WALL_LIMIT_S:
        found.append(f"took {outcome.seconds:.2f} s (limit {WALL_LIMIT_S} s)")
    return found
