"""`mlstack --help` is built from the listing app (mlstack/cli/listing.py): the same text as the full app's."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from mlstack.cli.listing import listing_app
from mlstack.cli.typer_app import app

REPO = Path(__file__).resolve().parents[2]


def help_of(application, args: list[str], columns: str) -> tuple[int, str]:
    done = CliRunner().invoke(application, args, prog_name="mlstack", env={"COLUMNS": columns})
    return done.exit_code, done.output


@pytest.mark.parametrize("columns", ["40", "60", "80", "200"])
@pytest.mark.parametrize("args", [["--help"], []], ids=["--help", "no arguments"])
def test_the_listing_reads_as_the_full_apps_help(args, columns):
    full = help_of(app, args, columns)

    assert "render" in full[1] and "--install-completion" in full[1]   # commands and root options are listed
    assert help_of(listing_app(app), args, columns) == full


def test_the_listed_commands_are_built_without_their_options():
    listed = typer.main.get_command(listing_app(app)).commands
    full = typer.main.get_command(app).commands

    assert list(listed) == list(full)
    assert listed["render"].params == [] and full["render"].params != []
    assert listed["catalog"].commands.keys() == full["catalog"].commands.keys()   # groups stay as they are


def test_mlstack_help_prints_the_full_apps_help_and_the_commands_keep_their_options(mlstack):
    environment = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "80"}
    full = subprocess.run([sys.executable, "-c", "from mlstack.cli.typer_app import app; app(['--help'], prog_name='mlstack')"],
                          env=environment, capture_output=True, text=True, timeout=60)

    assert mlstack("--help", env={"MLSTACK_CACHE_DIR": "off", "COLUMNS": "80"}).out == full.stdout

    done = mlstack("validate", "--profile", "dev", env={"MLSTACK_CACHE_DIR": "off"})

    assert done.code == 0, done.err
