"""How a command run ends, whether Typer parsed its arguments or `cli.arguments` read them without it:
its result printed, or its error as one message, and the exit code (`sys.exit` always)."""

from __future__ import annotations

import sys

from mlstack.errors import Interrupted, MlstackError, from_unexpected


def printed(result, as_json: bool = False) -> int:
    """Print a command's result; its exit code. A replayable result may be stored (cli.replay)."""
    from mlstack.cli.replay import replayable
    from mlstack.report import emit

    emit(result, as_json)
    if result.replayable:
        replayable()
    return result.exit_code


def failed(error: BaseException, debug: bool, as_json: bool = False) -> None:
    """An error no command turned into a result: one message and its exit code; --debug adds the traceback.

    Under --json the same error is also one JSON object on standard output (docs/cli.md#json)."""
    from mlstack.report import emit_error

    if isinstance(error, KeyboardInterrupt):
        error = Interrupted("interrupted")
    if not isinstance(error, MlstackError):   # the last resort: one line, never a traceback
        if debug:
            import traceback

            traceback.print_exception(error)
        error = from_unexpected(error)
    lines = [str(d) for d in error.diagnostics] or [f"mlstack: {error.message}"]
    emit_error(lines, error.hint, error if as_json else None)
    sys.exit(int(error.exit_code))


def _run(command_run, as_json: bool, debug: bool) -> None:
    """Run a command read without Typer: its result printed, or its error as one message; exit with its code."""
    try:
        code = printed(command_run(), as_json)
    except Exception as error:  # noqa: BLE001 - every error ends as one message and its exit code
        failed(error, debug, as_json)
    except KeyboardInterrupt as error:
        failed(error, debug, as_json)
    sys.exit(code)


def render(call: tuple, env: dict[str, str], debug: bool) -> None:
    """`mlstack render` with the arguments `cli.arguments` read, exactly as Typer would have."""

    def run():
        from mlstack.commands import render as command

        return command.run(*call, env=env)

    _run(run, False, debug)


def seed(call: tuple, env: dict[str, str], debug: bool) -> None:
    """`mlstack seed` with the arguments `cli.arguments` read, exactly as Typer would have."""
    *options, as_json = call

    def run():
        from mlstack.commands import seed as command

        stack_file, profile, volumes, force, dry_run, checksum, method, helper_image = options
        return command.run(command.SeedOptions(stack_file, profile, list(volumes), force, dry_run, checksum, method,
                                               helper_image), env=env)

    _run(run, as_json, debug)


def status(call: tuple, env: dict[str, str], debug: bool) -> None:
    """`mlstack status` (`ps`) with the arguments `cli.arguments` read."""
    stack_file, profile, as_json = call

    def run():
        from mlstack.commands import status as command

        return command.run(stack_file, profile, env=env)

    _run(run, as_json, debug)


def up(call: tuple, env: dict[str, str], debug: bool) -> None:
    """`mlstack up` with the arguments `cli.arguments` read."""
    stack_file, profile, services, build, no_wait, gpu, port_offset, compose_profiles, timeout, no_seed, as_json = call

    def run():
        from mlstack.commands import up as command

        return command.run(command.UpOptions(stack_file, profile, list(services), build, not no_wait, gpu, port_offset,
                                             tuple(compose_profiles), timeout, not no_seed), env=env)

    _run(run, as_json, debug)


WITHOUT_TYPER = {"render": render, "seed": seed, "status": status, "ps": status, "up": up}
