"""Docker Compose command lines as data, and `run()`: the one place mlstack starts a subprocess.

The builders are pure: each returns an argument list for a `Target` (which compose binary, which
rendered file, which project) and never touches the engine, so they are unit-tested as exact
lists. Nothing here builds a shell string.
"""

from __future__ import annotations

import logging
import os
import shlex

from mlstack.engine.address import engine_address, unreachable_message
from mlstack.errors import EngineError
from mlstack.records import record

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    import subprocess
    from typing import Mapping, Sequence

# `--debug` (or MLSTACK_DEBUG=1): the CLI sends this logger's records to stderr.
log = logging.getLogger("mlstack")

# After Ctrl-C: how long the child gets to finish on its own (it saw the same SIGINT when it shares
# the terminal), then how long after SIGTERM before SIGKILL.
INTERRUPT_GRACE_S = 3.0
TERMINATE_GRACE_S = 10.0


@record(frozen=True)
class Target:
    """One rendered compose project: `<compose> -f FILE -p PROJECT [--profile NAME]...`."""

    compose: tuple[str, ...]            # ("docker", "compose") or ("/path/to/docker-compose",)
    file: str
    project: str
    compose_profiles: tuple[str, ...] = ()

    def base(self) -> list[str]:
        command = [*self.compose, "-f", self.file, "-p", self.project]
        for name in self.compose_profiles:
            command += ["--profile", name]
        return command


def up(target: Target, services: Sequence[str] = (), build: bool = False) -> list[str]:
    # Not `--wait`: it fails on a one-shot container that exits 0 (docker/compose#10596); mlstack
    # follows health itself (lifecycle/health.py).
    command = target.base() + ["up", "--detach"]
    if build:
        command.append("--build")
    return command + list(services)


def down(target: Target, volumes: bool = False) -> list[str]:
    command = target.base() + ["down", "--remove-orphans"]
    if volumes:
        command.append("--volumes")
    return command


def ps(target: Target) -> list[str]:
    """Every container of the project, stopped ones too, one JSON object per line."""
    return target.base() + ["ps", "--all", "--format", "json"]


def logs(target: Target, services: Sequence[str] = (), follow: bool = False, tail: int | None = None,
         color: bool = True) -> list[str]:
    command = target.base() + ["logs"]
    if follow:
        command.append("--follow")
    if tail is not None:
        command += ["--tail", str(tail)]
    if not color:
        command.append("--no-color")
    return command + list(services)


def exec_(target: Target, service: str, argv: Sequence[str], tty: bool = True) -> list[str]:
    command = target.base() + ["exec"]
    if not tty:
        command.append("--no-TTY")
    return command + [service, *argv]


def restart(target: Target, services: Sequence[str] = ()) -> list[str]:
    return target.base() + ["restart"] + list(services)


def pull(target: Target, services: Sequence[str] = ()) -> list[str]:
    # Locally built images (pull_policy: build, or a build: section) are not in any registry.
    return target.base() + ["pull", "--ignore-buildable"] + list(services)


def build(target: Target, services: Sequence[str] = (), pull: bool = False) -> list[str]:
    command = target.base() + ["build"]
    if pull:
        command.append("--pull")
    return command + list(services)


def version(compose: Sequence[str]) -> list[str]:
    return [*compose, "version", "--short"]


@record
class Completed:
    command: list[str]
    returncode: int
    stdout: str = ""
    stderr: str = ""


def run(command: Sequence[str], capture: bool = True, check: bool = True, stdin_closed: bool = False,
        timeout: float | None = None, env: Mapping[str, str] | None = None) -> Completed:
    """Run one command; the only subprocess call in mlstack.

    capture: collect stdout/stderr (else the child shares this terminal: progress, `logs -f`,
    `exec`). stdin_closed: the child can never read an answer (so Compose cannot be told "yes"
    to a prompt). env: the child's environment (the one the CLI read; None: this process's), and
    the engine an "unreachable" message names. Raises EngineError carrying command, exit code,
    stdout and stderr when `check` and the exit code is not 0, or when the program is missing or
    runs past `timeout`.
    """
    command = [str(part) for part in command]
    log.debug("run: %s", shlex.join(command))
    import subprocess   # here, not at import: most commands never start one (~5 ms cold)

    pipe = subprocess.PIPE if capture else None
    try:
        process = subprocess.Popen(command, stdout=pipe, stderr=pipe, text=True, env=None if env is None else dict(env),
                                   stdin=subprocess.DEVNULL if stdin_closed else None)
    except OSError as error:
        raise EngineError(f"cannot run {command[0]}: {error.strerror or error}", command, None) from None
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(process, first_wait=0)
        stdout, stderr = process.communicate()
        raise EngineError(f"{_name(command)} did not finish within {timeout:g} s", command, None,
                          stdout or "", stderr or "") from None
    except KeyboardInterrupt:
        # The child shares the terminal, so it saw the same Ctrl-C: let it finish first.
        _stop(process, first_wait=INTERRUPT_GRACE_S)
        raise
    log.debug("exit %s: %s", process.returncode, _name(command))
    done = Completed(command, process.returncode, stdout or "", stderr or "")
    if check and process.returncode != 0:
        raise failure(done, env or {})
    return done


# How Compose says it could not reach the engine (v2.x, v5.x).
UNREACHABLE = ("cannot connect to the docker daemon", "failed to connect to the docker api")


def failure(done: Completed, env: Mapping[str, str]) -> EngineError:
    """The error for a failed command: its name, exit code and the end of what it said; an
    unreachable engine (the one `env` names) gets the same one-paragraph explanation as the API check."""
    said = (done.stderr.strip() or done.stdout.strip()).splitlines()[-15:]
    if any(text in done.stderr.lower() for text in UNREACHABLE):
        reason = said[-1].rsplit(": ", 1)[-1] if said else "no answer"
        return EngineError(unreachable_message(engine_address(env), reason), done.command,
                           done.returncode, done.stdout, done.stderr)
    message = f"{_name(done.command)} failed (exit {done.returncode})"
    if said:
        message += ":\n  " + "\n  ".join(said)
    return EngineError(message, done.command, done.returncode, done.stdout, done.stderr,
                       hint="run with MLSTACK_DEBUG=1 to see every command mlstack runs")


_VALUED_OPTIONS = ("-f", "-p", "--profile")


def _name(command: Sequence[str]) -> str:
    """`docker compose up`, `docker-compose down`: the program and its verb, without options."""
    words = [os.path.basename(command[0])]
    parts = iter(command[1:])
    for part in parts:
        if part in _VALUED_OPTIONS:
            next(parts, None)
        elif not part.startswith("-"):
            words.append(part)
            if part != "compose":
                break
    return " ".join(words)


def _stop(process: subprocess.Popen, first_wait: float) -> None:
    """Wait for the child to stop on its own, then SIGTERM it, then SIGKILL it."""
    import subprocess

    for wait_s, escalate in ((first_wait, process.terminate), (TERMINATE_GRACE_S, process.kill)):
        try:
            process.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            escalate()
        except KeyboardInterrupt:  # a second Ctrl-C: no more waiting
            process.kill()
            break
    process.wait()
