"""The one error tree and the named exit codes (documented in docs/exit-codes.md)."""

from __future__ import annotations

from enum import IntEnum

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing (~3 ms) on a render's path
if TYPE_CHECKING:
    from mlstack.report import Diagnostic


class ExitCode(IntEnum):
    OK = 0
    INVALID_STACK = 1      # the stack definition, a fragment, an override or the render is wrong
    USAGE = 2              # the command line is wrong (unknown profile, service, option)
    ENGINE = 3             # Docker engine unreachable or a docker/compose command failed
    PREFLIGHT = 4          # a check before start failed: port taken, GPU required but unusable, disk
    UNHEALTHY = 5          # services started but did not become healthy
    SEED = 6               # a volume could not be seeded (foreign data, source missing, copy failed)
    FILESYSTEM = 7         # a file or directory mlstack needs cannot be read or written (permissions, full disk)
    CATALOG = 8            # a versioned catalog cannot be fetched, is not fetched, or does not match mlstack.lock
    INTERNAL = 70          # a bug in mlstack (EX_SOFTWARE): one line, --debug shows the traceback
    INTERRUPTED = 130      # Ctrl-C


class MlstackError(Exception):
    """Base of every error mlstack reports; caught once in cli.main."""

    exit_code: ExitCode = ExitCode.INVALID_STACK

    def __init__(self, message: str = "", diagnostics: list[Diagnostic] | None = None, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.diagnostics = list(diagnostics or [])
        self.hint = hint


class StackError(MlstackError):
    """The stack is invalid: one or more located diagnostics."""

    exit_code = ExitCode.INVALID_STACK


class UsageError(MlstackError):
    """The command line is wrong (an unknown service, option value or confirmation missing)."""

    exit_code = ExitCode.USAGE


class ChoiceError(MlstackError):
    """Raised by the core: a choice passed down from the command line does not fit the stack
    (an unknown profile, a port offset that moves a port out of range). Exit USAGE, as UsageError."""

    exit_code = ExitCode.USAGE


class CatalogError(StackError):
    """A git or package catalog is missing from the lock or the cache, cannot be fetched, or its files do
    not match mlstack.lock (docs/catalogs.md): located at the catalog or fragment entry."""

    exit_code = ExitCode.CATALOG


# What the core may raise (tests/unit/test_architecture.py): located stack errors and bad choices.
CORE_ERRORS = ("StackError", "ChoiceError", "CatalogError")


class EngineError(MlstackError):
    """A subprocess or Docker API call failed; carries the command and its output."""

    exit_code = ExitCode.ENGINE

    def __init__(self, message: str, command: list[str] | None = None, returncode: int | None = None,
                 stdout: str = "", stderr: str = "", hint: str = ""):
        super().__init__(message, hint=hint)
        self.command = list(command or [])
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class PreflightError(MlstackError):
    exit_code = ExitCode.PREFLIGHT


class UnhealthyError(MlstackError):
    exit_code = ExitCode.UNHEALTHY


class SeedError(MlstackError):
    exit_code = ExitCode.SEED


class FileSystemError(MlstackError):
    exit_code = ExitCode.FILESYSTEM


class InternalError(MlstackError):
    exit_code = ExitCode.INTERNAL


class Interrupted(MlstackError):
    """Ctrl-C: reported as the other errors are (one line; under --json, its JSON object too)."""

    exit_code = ExitCode.INTERRUPTED


ENGINE_HINT = "check the engine with `docker info`; `mlstack doctor` says what mlstack sees"
# Where an exception that escaped every layer comes from, by the top-level package of its type.
ENGINE_PACKAGES = ("docker", "requests", "urllib3", "paramiko", "http", "websocket")
ENGINE_MODULES = ("mlstack.engine.http_answer",)   # a malformed answer over the engine's socket (ProtocolError)


def from_unexpected(error: BaseException) -> MlstackError:
    """The last resort: an exception no layer translated becomes the error of its kind, in one line."""
    reason = " ".join(str(error).split())[:300] or type(error).__name__
    package = type(error).__module__.split(".")[0]
    if package in ENGINE_PACKAGES or type(error).__module__ in ENGINE_MODULES or isinstance(error, (ConnectionError, TimeoutError)):
        return EngineError(f"the Docker engine failed: {reason}", hint=ENGINE_HINT)
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        return FileSystemError(f"{where}{error.strerror or reason}",
                               hint="check the path's permissions and the free space on its disk")
    return InternalError(f"internal error ({type(error).__name__}: {reason})",
                         hint="this is a bug in mlstack: run again with --debug for the traceback, and report it")
