"""`mlstack catalog fetch|update`: versioned team catalogs and mlstack.lock (docs/catalogs.md)."""

from __future__ import annotations

from typing import List, Optional

import typer

from mlstack.cli.environment import process_env


def register(app: typer.Typer) -> None:
    from mlstack.cli.typer_app import Json, StackFile, _emit

    catalog = typer.Typer(help="Versioned catalogs: fetch them into the cache, move their pins (mlstack.lock).",
                          no_args_is_help=True, rich_markup_mode=None)
    app.add_typer(catalog, name="catalog")

    @catalog.command()
    def fetch(stack_file: Optional[str] = StackFile, as_json: bool = Json) -> None:
        """Fetch every git and package catalog as mlstack.lock pins it (new ones are pinned); the cache is checked."""
        from mlstack.commands import catalog as command

        _emit(command.fetch(stack_file, env=process_env()), as_json)

    @catalog.command()
    def update(
        names: Optional[List[str]] = typer.Argument(None, help="Catalogs to update (default: all).", show_default=False),
        stack_file: Optional[str] = StackFile,
        as_json: bool = Json,
    ) -> None:
        """Move pins to the newest version tag (or branch head); show the fragments changed, added, removed."""
        from mlstack.commands import catalog as command

        _emit(command.update(stack_file, list(names or []), env=process_env()), as_json)
