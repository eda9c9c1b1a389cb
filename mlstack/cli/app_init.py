"""`mlstack init`: its options and its prompts (the answers go to commands.init)."""

from __future__ import annotations

from typing import Optional

import typer


def _ask(field: str, question: str, default: str) -> str:
    """One answer from standard input (a terminal or a pipe); Enter keeps the default, a wrong one is asked again."""
    from mlstack.commands import init as command
    from mlstack.errors import MlstackError, UsageError

    def check(answer: str) -> str:
        try:
            return command.checked(field, answer)
        except MlstackError as error:
            raise typer.BadParameter(error.message) from None

    try:
        return typer.prompt(question, default=default, err=True, value_proc=check)
    except typer.Abort:   # end of input: nobody is there to answer
        typer.echo("", err=True)   # end the prompt's line
        raise UsageError("init: no answer on standard input (it ended)",
                         hint="pass --yes to take the defaults, with --services, --name and --gpu to choose") from None


def _answers(directory: str, name: str | None, services: str | None, gpu: str | None, yes: bool) -> tuple[str, str, str]:
    from mlstack.commands import init as command

    defaults = command.defaults(directory)
    if yes:
        return name or defaults["name"], services or defaults["services"], gpu or defaults["gpu"]
    if services is None:
        typer.echo("Services (built-in fragments; what they require is added):", err=True)
        for choice, description in command.choices().items():
            typer.echo(f"  {choice:<9} {description}", err=True)
    return (name or _ask("name", "Stack name", defaults["name"]),
            services or _ask("services", "Services, comma-separated", defaults["services"]),
            gpu or _ask("gpu", "GPU policy (default, auto, required, off; default: dev auto, prod required)", defaults["gpu"]))


def register(app: typer.Typer) -> None:
    @app.command()
    def init(
        directory: str = typer.Argument(".", help="Where to write the project (created when missing)."),
        services: Optional[str] = typer.Option(None, "--services", "-s",
                                               help="Comma-separated fragments, e.g. api,jupyter,mlflow "
                                                    "(what they require is added)."),
        name: Optional[str] = typer.Option(None, "--name", "-n", help="Stack name (default: the directory's name)."),
        gpu: Optional[str] = typer.Option(None, "--gpu", help="GPU policy: default, auto, required or off."),
        yes: bool = typer.Option(False, "--yes", "-y", help="No prompts: the options given, defaults for the rest."),
        force: bool = typer.Option(False, "--force", help="Overwrite files that exist."),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    ) -> None:
        """Start a project: mlstack.yaml, .env.example, a dev .env, .gitignore entries and, with api, an api/ project."""
        from mlstack.cli.environment import process_env
        from mlstack.cli.outcome import printed
        from mlstack.commands import init as command

        answers = _answers(directory, name, services, gpu, yes)
        code = printed(command.run(directory, *answers, force, env=process_env()), as_json)
        if code:
            raise typer.Exit(code)
