"""The command line: options in, one command call, a result or an error out. No logic here.

Two things share the word "profile": `--profile` picks an mlstack profile (a set of override
files such as dev or prod); `--compose-profile` is passed through to Docker Compose's service
`profiles:` feature.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

import typer

from mlstack.errors import ExitCode, MlstackError

app = typer.Typer(
    name="mlstack",
    help="One command for an ML team's development environment, one for its deployable compose file.\n\n"
         "--profile picks an mlstack profile (dev, prod, or one from mlstack.yaml: a set of override files); "
         "--compose-profile is Docker Compose's own service profiles, passed through.",
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

StackFile = typer.Option(None, "--file", "-f", help="Stack definition (default: ./mlstack.yaml, else the built-in default stack).")
Profile = typer.Option("dev", "--profile", "-p", help="mlstack profile: dev, prod or one defined in mlstack.yaml.")
Json = typer.Option(False, "--json", help="Machine-readable output.")
Gpu = typer.Option(None, "--gpu", help="GPU policy: auto, required or off (default: from mlstack.yaml; dev auto, prod required).")


def _emit(result, as_json: bool = False) -> None:
    from mlstack.report import emit

    emit(result, as_json)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


@app.command()
def render(
    stack_file: Optional[str] = StackFile,
    profile: str = Profile,
    out: Optional[str] = typer.Option(None, "--out", "-o", help="Write here (atomically) instead of standard output."),
    output_format: str = typer.Option("yaml", "--format", help="yaml or json."),
    gpu: Optional[str] = Gpu,
) -> None:
    """Render one validated, deterministic compose file for a profile."""
    from mlstack.commands import render as command

    _emit(command.run(stack_file, profile, out, output_format, gpu))


@app.command()
def validate(
    stack_file: Optional[str] = StackFile,
    profile: Optional[str] = typer.Option(None, "--profile", "-p", help="Only this profile (default: all)."),
    as_json: bool = Json,
) -> None:
    """Check the stack definition, every fragment and override, and each profile's render."""
    from mlstack.commands import validate as command

    _emit(command.run(stack_file, profile, dict(os.environ)), as_json)


@app.command()
def explain(
    target: str = typer.Argument(..., help="SERVICE or SERVICE.dotted.path, e.g. jupyter.shm_size or mlflow.ports[0]."),
    stack_file: Optional[str] = StackFile,
    profile: str = Profile,
    as_json: bool = Json,
) -> None:
    """Show where each rendered value came from: file, line, profile and merge rule."""
    from mlstack.commands import explain as command

    _emit(command.run(stack_file, target, profile), as_json)


@app.command()
def diff(
    first: str = typer.Argument(..., help="mlstack profile A"),
    second: str = typer.Argument(..., help="mlstack profile B"),
    stack_file: Optional[str] = StackFile,
) -> None:
    """Unified diff of two profiles' renders."""
    from mlstack.commands import diff as command

    _emit(command.run(stack_file, first, second))


@app.command()
def services(stack_file: Optional[str] = StackFile, as_json: bool = Json) -> None:
    """List the fragment catalog with one-line descriptions (* = in this stack)."""
    from mlstack.commands import services as command

    _emit(command.run(stack_file), as_json)


def main(argv: List[str] | None = None) -> None:
    """Entry point: run the app, turn every mlstack error into its message and exit code."""
    import click

    from mlstack.report import emit_error

    try:
        code = app(args=argv, standalone_mode=False)
    except MlstackError as error:
        lines = [str(d) for d in error.diagnostics] or [f"mlstack: {error.message}"]
        emit_error(lines, error.hint)
        sys.exit(int(error.exit_code))
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.exceptions.Abort:
        sys.stderr.write("mlstack: interrupted\n")
        sys.exit(int(ExitCode.INTERRUPTED))
    except click.ClickException as error:
        error.show()
        sys.exit(int(ExitCode.USAGE))
    except KeyboardInterrupt:
        sys.stderr.write("mlstack: interrupted\n")
        sys.exit(int(ExitCode.INTERRUPTED))
    sys.exit(code if isinstance(code, int) else 0)
