"""`mlstack devcontainer` and `mlstack graph`: tools around the stack (docs/devcontainer.md, docs/graph.md).

typer_app imports this module while it registers its commands, so its names are imported inside
`register`, never at the top (importing this module first would otherwise find typer_app half-made).
"""

# No `from __future__ import annotations`: Typer reads the options' types from the annotations, and
# those name classes imported inside `register`, which a string annotation could not find.
from enum import Enum
from typing import Optional

import typer

# Kept equal to commands.graph.FORMATS by tests/cli/test_graph_cli.py.
GraphFormat = Enum("GraphFormat", {value: value for value in ("mermaid", "dot", "svg", "png")}, type=str)


def register(app: typer.Typer) -> None:
    from mlstack.cli.environment import process_env
    from mlstack.cli.typer_app import Gpu, GpuPolicy, Json, Profile, StackFile, _emit, _value

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
