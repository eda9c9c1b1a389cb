"""`mlstack devcontainer` and `mlstack graph`: tools around the stack (docs/devcontainer.md, docs/graph.md)."""

from __future__ import annotations

from typing import Optional

import typer

from mlstack.cli.environment import process_env
from mlstack.cli.typer_app import Gpu, GpuPolicy, Json, Profile, StackFile, _choices, _emit, _value

GraphFormat = _choices("GraphFormat", ("mermaid", "dot", "svg", "png"))   # commands.graph.FORMATS


def register(app: typer.Typer) -> None:
    @app.command()
    def devcontainer(
        service: str = typer.Option("jupyter", "--service", "-s", help="The service VS Code opens (jupyter, api, ...)."),
        stack_file: Optional[str] = StackFile,
        profile: str = Profile,
        gpu: Optional[GpuPolicy] = Gpu,  # type: ignore[valid-type]
        force: bool = typer.Option(False, "--force", help="Replace an existing .devcontainer/devcontainer.json."),
        as_json: bool = Json,
    ) -> None:
        """Write .devcontainer/devcontainer.json for a service of the rendered dev stack (GPU decided as by up)."""
        from mlstack.commands import devcontainer as command

        _emit(command.run(stack_file, profile, service, force, _value(gpu), env=process_env()), as_json)

    @app.command()
    def graph(
        stack_file: Optional[str] = StackFile,
        profile: str = Profile,
        output_format: Optional[GraphFormat] = typer.Option(  # type: ignore[valid-type]
            None, "--format", case_sensitive=False,
            help="mermaid, dot, svg or png (svg/png need Graphviz); default: from -o's extension, else mermaid."),
        out: Optional[str] = typer.Option(None, "--out", "-o", help="Write here (atomically) instead of standard output."),
    ) -> None:
        """Services, dependencies and their conditions, volumes (caches, seeds) and published ports, as a picture."""
        from mlstack.commands import graph as command

        _emit(command.run(stack_file, profile, _value(output_format), out, env=process_env()))
