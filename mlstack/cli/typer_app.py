"""The Typer app: options in, one command call, a result or an error out. No logic here.

Two things share the word "profile": `--profile` picks an mlstack profile (a set of override
files such as dev or prod); `--compose-profile` is passed through to Docker Compose's service
`profiles:` feature.
"""

# No `from __future__ import annotations`: Typer reads every parameter's annotation when it builds the
# commands (on each run, for --help all of them), and evaluating them from strings costs ~6 ms.

import sys
from enum import Enum
from typing import List, Optional

import typer

from mlstack.cli.completion import profiles
from mlstack.cli.completion import services as service_names
from mlstack.cli.environment import COMPLETION_VARIABLE, process_env
from mlstack.cli.outcome import failed, printed
from mlstack.errors import ExitCode, UsageError


def _choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    """An option's fixed set of values: anything else is a usage error that lists them."""
    return Enum(name, {value: value for value in values}, type=str)


# Each kept equal to the table it stands for by tests/cli/test_choices.py (lint's by test_lint_cli.py).
GpuPolicy = _choices("GpuPolicy", ("auto", "required", "off"))            # core.gpu.POLICIES
RenderFormat = _choices("RenderFormat", ("yaml", "json"))
LintFormat = _choices("LintFormat", ("text", "json", "sarif"))             # commands.lint.FORMATS
Target = _choices("Target", ("compose", "swarm", "k8s"))                   # targets.TARGETS
SeedMethod = _choices("SeedMethod", ("auto", "bind", "archive"))           # core.seed_decision.METHODS


def _value(choice: Enum | None) -> str | None:
    return None if choice is None else choice.value


app = typer.Typer(
    name="mlstack",
    help="One command for an ML team's development environment, one for its deployable compose file.\n\n"
         "--profile picks an mlstack profile (dev, prod, or one from mlstack.yaml: a set of override files); "
         "--compose-profile is Docker Compose's own service profiles, passed through.\n\n"
         "With any command: --quiet/-q (only errors and the result), --verbose (the commands mlstack runs), "
         "--debug (those and the traceback of an unexpected error); --json errors are a JSON object too. "
         "NO_COLOR turns colour off. MLSTACK_FILE and MLSTACK_PROFILE set --file and --profile's defaults "
         "(docs/cli.md).",
    add_completion=True,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

StackFile = typer.Option(None, "--file", "-f", envvar="MLSTACK_FILE", show_envvar=True,
                         help="Stack definition (default: ./mlstack.yaml, else the built-in default stack).")
Profile = typer.Option("dev", "--profile", "-p", envvar="MLSTACK_PROFILE", show_envvar=True, autocompletion=profiles,
                       help="mlstack profile: dev, prod or one defined in mlstack.yaml.")
# validate and lint check every profile unless told one: MLSTACK_PROFILE does not narrow them
OnlyProfile = typer.Option(None, "--profile", "-p", autocompletion=profiles, help="Only this profile (default: all).")
Json = typer.Option(False, "--json", help="Machine-readable output.")
Gpu = typer.Option(None, "--gpu", case_sensitive=False,
                   help="GPU policy (default: from mlstack.yaml; dev auto, prod required).")


def _emit(result, as_json: bool = False) -> None:
    code = printed(result, as_json)
    if code:
        raise typer.Exit(code)


@app.command()
def render(
    stack_file: Optional[str] = StackFile,
    profile: str = Profile,
    out: Optional[str] = typer.Option(None, "--out", "-o", help="Write here (atomically) instead of standard output; "
                                                                   "a directory for --target k8s."),
    output_format: RenderFormat = typer.Option(RenderFormat.yaml, "--format", case_sensitive=False, help="Output format."),
    gpu: Optional[GpuPolicy] = Gpu,
    target: Target = typer.Option(Target.compose, "--target", "-t", case_sensitive=False,
                                  help="compose (docker compose), swarm (docker stack deploy) or k8s (kubectl apply -k)."),
) -> None:
    """Render one validated, deterministic deploy file (or, for k8s, directory) for a profile."""
    from mlstack.commands import render as command

    # most command lines never get here: cli.arguments reads them without Typer
    _emit(command.run(stack_file, profile, out, output_format.value, _value(gpu), target.value, env=process_env()))


@app.command()
def validate(
    stack_file: Optional[str] = StackFile,
    profile: Optional[str] = OnlyProfile,
    check_secrets: bool = typer.Option(False, "--check-secrets",
                                       help="Also check that this host provides every secret the profile reads."),
    as_json: bool = Json,
) -> None:
    """Check the stack definition, every fragment and override, and each profile's render."""
    from mlstack.commands import validate as command

    _emit(command.run(stack_file, profile, check_secrets, env=process_env()), as_json)


@app.command()
def lint(
    stack_file: Optional[str] = StackFile,
    profile: Optional[str] = OnlyProfile,
    all_profiles: bool = typer.Option(False, "--all-profiles", help="Every profile of the stack (the default)."),
    output_format: LintFormat = typer.Option(LintFormat.text, "--format", case_sensitive=False,
                                             help="text, json, or sarif (GitHub code scanning)."),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="Write the report here (atomically)."),
    strict: bool = typer.Option(False, "--strict", help="Fail on warnings too."),
) -> None:
    """Check the stack against the lint rules (docs/lint.md); exit 1 on an error-level finding."""
    from mlstack.commands import lint as command

    options = command.LintOptions(stack_file, profile, all_profiles, output_format.value, out, strict)
    _emit(command.run(options, process_env()))


@app.command()
def explain(
    target: str = typer.Argument(..., help="SERVICE or SERVICE.dotted.path, e.g. jupyter.shm_size or mlflow.ports[0]."),
    stack_file: Optional[str] = StackFile,
    profile: str = Profile,
    as_json: bool = Json,
) -> None:
    """Show where each rendered value came from: file, line, profile and merge rule."""
    from mlstack.commands import explain as command

    _emit(command.run(stack_file, target, profile, env=process_env()), as_json)


@app.command()
def diff(
    first: str = typer.Argument(..., help="mlstack profile A", autocompletion=profiles),
    second: str = typer.Argument(..., help="mlstack profile B", autocompletion=profiles),
    stack_file: Optional[str] = StackFile,
    as_json: bool = Json,
) -> None:
    """Unified diff of two profiles' renders."""
    from mlstack.commands import diff as command

    _emit(command.run(stack_file, first, second, env=process_env()), as_json)


@app.command()
def services(stack_file: Optional[str] = StackFile, as_json: bool = Json) -> None:
    """List the fragment catalog with one-line descriptions (* = in this stack)."""
    from mlstack.commands import services as command

    _emit(command.run(stack_file, env=process_env()), as_json)


# --- lifecycle on an engine (docs/lifecycle.md) ---------------------------------------------

Services = typer.Argument(None, help="Services (default: all).", show_default=False, autocompletion=service_names)
ComposeProfiles = typer.Option([], "--compose-profile", help="Docker Compose service profile to enable (repeatable).")


@app.command()
def up(
    services: Optional[List[str]] = Services,
    stack_file: Optional[str] = StackFile,
    profile: str = Profile,
    build: bool = typer.Option(False, "--build", help="Build images before starting."),
    no_wait: bool = typer.Option(False, "--no-wait", help="Do not wait for the services to become healthy."),
    gpu: Optional[GpuPolicy] = Gpu,
    port_offset: int = typer.Option(0, "--port-offset", help="Add N to every published host port."),
    compose_profiles: List[str] = ComposeProfiles,
    timeout: float = typer.Option(300.0, "--timeout", help="Seconds to wait for the services to become healthy."),
    no_seed: bool = typer.Option(False, "--no-seed", help="Skip seeding volumes before the first start."),
    as_json: bool = Json,
) -> None:
    """Start the stack: preflight, write .mlstack/<profile>/compose.yaml, start, wait until healthy, show ports and URLs."""
    from mlstack.commands import up as command

    options = command.UpOptions(stack_file, profile, list(services or []), build, not no_wait, _value(gpu), port_offset,
                                tuple(compose_profiles), timeout, not no_seed)
    _emit(command.run(options, env=process_env()), as_json)


@app.command()
def seed(
    volumes: Optional[List[str]] = typer.Argument(None, help="Volumes (default: every one with a seed declaration).",
                                                  show_default=False),
    stack_file: Optional[str] = StackFile,
    profile: str = Profile,
    force: bool = typer.Option(False, "--force", help="Copy again; copy into a volume that holds data mlstack did not put there."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be copied; change nothing."),
    checksum: bool = typer.Option(False, "--checksum", help="Compare file contents (sha256), not only sizes and times."),
    method: SeedMethod = typer.Option(SeedMethod.auto, "--method", case_sensitive=False,
                                      help="bind (local engine: copy inside it) or archive (stream through the API)."),
    helper_image: Optional[str] = typer.Option(None, "--helper-image", help="Local image that runs the copy (never pulled)."),
    as_json: bool = Json,
) -> None:
    """Seed named volumes (model caches) from a directory, an archive, an image or the local HF cache."""
    from mlstack.commands import seed as command

    options = command.SeedOptions(stack_file, profile, list(volumes or []), force, dry_run, checksum, method.value,
                                  helper_image)
    _emit(command.run(options, env=process_env()), as_json)


@app.command()
def down(
    stack_file: Optional[str] = StackFile,
    profile: str = Profile,
    volumes: bool = typer.Option(False, "--volumes", "-v", help="Also delete the stack's volumes (asks first)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before deleting volumes."),
    as_json: bool = Json,
) -> None:
    """Stop and remove the stack's containers; volumes are kept unless --volumes."""
    from mlstack.commands import down as command

    _emit(command.run(stack_file, profile, volumes, yes, sys.stdin.isatty(), typer.confirm, env=process_env()), as_json)


@app.command()
def status(stack_file: Optional[str] = StackFile, profile: str = Profile, as_json: bool = Json) -> None:
    """Service, state, health, published ports and URLs of the running stack."""
    from mlstack.commands import status as command

    _emit(command.run(stack_file, profile, env=process_env()), as_json)


@app.command("ps")
def ps(stack_file: Optional[str] = StackFile, profile: str = Profile, as_json: bool = Json) -> None:
    """Same as status."""
    status(stack_file, profile, as_json)


@app.command()
def logs(
    services: Optional[List[str]] = Services,
    # -f is --follow here, as in docker compose logs
    stack_file: Optional[str] = typer.Option(None, "--file", envvar="MLSTACK_FILE", show_envvar=True,
                                             help="Stack definition (default: ./mlstack.yaml)."),
    profile: str = Profile,
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep following new output."),
    tail: Optional[int] = typer.Option(None, "--tail", help="Only the last N lines per service."),
) -> None:
    """Show the services' logs."""
    from mlstack.commands import logs as command

    _emit(command.run(stack_file, profile, list(services or []), follow, tail, env=process_env()))


@app.command("exec", context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True})
def exec_(
    service: str = typer.Argument(..., help="A running service.", autocompletion=service_names),
    argv: List[str] = typer.Argument(..., help="The command and its arguments."),
    stack_file: Optional[str] = StackFile,
    profile: str = Profile,
) -> None:
    """Run a command in a running service (options go before SERVICE)."""
    from mlstack.commands import exec as command

    _emit(command.run(stack_file, profile, service, argv, sys.stdin.isatty() and sys.stdout.isatty(), env=process_env()))


@app.command()
def restart(services: Optional[List[str]] = Services, stack_file: Optional[str] = StackFile, profile: str = Profile,
            as_json: bool = Json) -> None:
    """Restart services as they are."""
    from mlstack.commands import restart as command

    _emit(command.run(stack_file, profile, list(services or []), env=process_env()), as_json)


@app.command()
def pull(services: Optional[List[str]] = Services, stack_file: Optional[str] = StackFile, profile: str = Profile,
         as_json: bool = Json) -> None:
    """Pull the profile's images."""
    from mlstack.commands import pull as command

    _emit(command.run(stack_file, profile, list(services or []), env=process_env()), as_json)


@app.command()
def build(
    services: Optional[List[str]] = Services,
    stack_file: Optional[str] = StackFile,
    profile: str = Profile,
    pull_base: bool = typer.Option(False, "--pull", help="Pull newer base images first."),
    as_json: bool = Json,
) -> None:
    """Build the profile's locally built images."""
    from mlstack.commands import build as command

    _emit(command.run(stack_file, profile, list(services or []), pull_base, env=process_env()), as_json)


@app.command()
def config(
    services: Optional[List[str]] = Services,
    stack_file: Optional[str] = StackFile,
    profile: str = Profile,
    build: bool = typer.Option(False, "--build", help="Show `up` with --build."),
    compose_profiles: List[str] = ComposeProfiles,
    as_json: bool = Json,
) -> None:
    """The rendered file's path and the Compose command lines mlstack would run."""
    from mlstack.commands import config as command

    _emit(command.run(stack_file, profile, list(services or []), build, tuple(compose_profiles), env=process_env()), as_json)


@app.command()
def doctor(stack_file: Optional[str] = StackFile, profile: str = Profile, as_json: bool = Json) -> None:
    """Check the engine, Compose, GPU, disk and the profile's ports."""
    from mlstack.commands import doctor as command

    _emit(command.run(stack_file, profile, env=process_env()), as_json)


# Commands defined in modules of their own (each has `register(app)`), in the order --help lists them.
MORE_COMMANDS: tuple[str, ...] = (
    "app_init",       # init
    "app_catalog",    # catalog fetch, catalog update
    "app_tools",      # devcontainer, graph
)


def _register_more() -> None:
    import importlib

    for name in MORE_COMMANDS:
        importlib.import_module(f"mlstack.cli.{name}").register(app)


_register_more()


def run(args: list[str], debug: bool) -> None:
    """Run the app on `args`; every error becomes one message and its exit code (`sys.exit` always)."""
    try:  # typer >= 0.20 vendors click
        from typer._click.exceptions import ClickException
    except ImportError:  # pragma: no cover
        from click import ClickException

    as_json = "--json" in (args[:args.index("exec")] if "exec" in args else args)
    command = app
    # the listing reads each command's name and docstring, not its options (a shell's completion asks for them)
    if args in ([], ["--help"]) and not process_env().get(COMPLETION_VARIABLE):
        from mlstack.cli.listing import listing_app

        command = listing_app(app)
    try:
        # the name completion scripts and usage lines give, also when run as `python -m mlstack`
        code = command(args=args, prog_name="mlstack", complete_var=COMPLETION_VARIABLE, standalone_mode=False)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        failed(KeyboardInterrupt(), debug, as_json)
    except ClickException as error:
        error.show()
        if as_json:
            from mlstack.report import emit_error_document

            emit_error_document(UsageError(error.format_message()))
        sys.exit(int(ExitCode.USAGE))
    except (Exception, KeyboardInterrupt) as error:  # noqa: BLE001 - mlstack's errors and the last resort
        failed(error, debug, as_json)
    sys.exit(code if isinstance(code, int) else 0)
