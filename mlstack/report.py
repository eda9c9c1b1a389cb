"""Diagnostics and the one printer of results (human or --json)."""

from __future__ import annotations

import sys

from mlstack.records import asdict, field, record

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms) on a render's path
if TYPE_CHECKING:
    from typing import Any, Protocol

    class Located(Protocol):
        """A node of the model (core.model.Node): it knows where it was set."""

        origin: Any    # core.model.Origin: file, line, column


def path_str(path: tuple[str | int, ...]) -> str:
    """`("services", "web", "ports", 0)` -> `services.web.ports[0]`: how every message names a place."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif text:
            text += f".{part}"
        else:
            text = str(part)
    return text


@record(frozen=True, order=True)
class Diagnostic:
    """One problem, located: `file:line:col: path: message`."""

    file: str
    line: int
    column: int
    path: str
    message: str
    rule: str = ""
    severity: str = "error"

    @classmethod
    def at(cls, node: Located | Any, path: tuple[str | int, ...] | str, message: str, rule: str = "",
           severity: str = "error") -> "Diagnostic":
        """The diagnostic about a node of the model (or an origin itself), located where it was set."""
        origin = getattr(node, "origin", node)
        return cls(origin.file, origin.line, origin.column, path if isinstance(path, str) else path_str(path),
                   message, rule, severity)

    def __str__(self) -> str:
        where = self.file or "<stack>"
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        subject = f" {self.path}:" if self.path else ""
        severity = "" if self.severity == "error" else f" {self.severity}:"
        return f"{where}:{subject}{severity} {self.message}"


@record
class Output:
    """How much mlstack tells the person at the terminal, set once by the CLI from its options and environment:
    --quiet keeps only errors and the result; NO_COLOR (present and not empty, no-color.org) turns colour off."""

    quiet: bool = False
    color: bool = True


OUTPUT = Output()


def say(line: str) -> None:
    """A progress or decision line for the person at the terminal: stderr (results go to stdout); none with --quiet."""
    if not OUTPUT.quiet:
        sys.stderr.write(f"mlstack: {line}\n")
        sys.stderr.flush()


@record
class Result:
    """What a command returns; `text` for humans, `data` for --json."""

    text: str = ""
    data: Any = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    exit_code: int = 0
    notes: list[str] = field(default_factory=list)   # for humans, on standard error after the diagnostics
    # what was written is a function of the invocation and the files read (a render to standard output):
    # the CLI may replay it while none of them changes (cli/replay.py)
    replayable: bool = False


def emit(result: Result, as_json: bool = False) -> None:
    if as_json:
        payload = result.data if result.data is not None else {"text": result.text}
        if result.diagnostics:
            payload = {"result": payload, "diagnostics": [asdict(d) for d in result.diagnostics]}
        import json

        sys.stdout.write(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
        return
    for diagnostic in result.diagnostics:
        sys.stderr.write(f"{diagnostic}\n")
    for note in [] if OUTPUT.quiet else result.notes:
        sys.stderr.write(f"{note}\n")
    if result.text:
        sys.stdout.write(result.text if result.text.endswith("\n") else result.text + "\n")


def emit_error(lines: list[str], hint: str = "", error: Any = None) -> None:
    """An error for the person at the terminal: its located lines and a hint, on stderr. Given the error
    (under --json), also its JSON document on stdout."""
    for line in lines:
        sys.stderr.write(f"{line}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
    if error is not None:
        emit_error_document(error)


def emit_error_document(error: Any) -> None:
    """An MlstackError as one JSON object on stdout, where a script reading --json output looks (docs/cli.md#json)."""
    import json

    document = {"error": {"exit_code": int(error.exit_code), "name": error.exit_code.name, "message": error.message,
                          "hint": error.hint, "diagnostics": [asdict(d) for d in error.diagnostics]}}
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
