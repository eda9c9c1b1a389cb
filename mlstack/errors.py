"""The one error tree and the named exit codes (documented in docs/exit-codes.md)."""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

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
    exit_code = ExitCode.USAGE


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
