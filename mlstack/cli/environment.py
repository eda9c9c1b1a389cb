"""The one reader of the process environment: the CLI reads it here and passes it down."""

from __future__ import annotations

import os

# Typer's `_<PROG>_COMPLETE`: the shell sets it to ask for completions (cli.completion answers); read by
# cli.main on every run, so it stands here, in a module every run imports anyway
COMPLETION_VARIABLE = "_MLSTACK_COMPLETE"


def process_env() -> dict[str, str]:
    """The process environment, as a plain dict: no other module reads it."""
    return dict(os.environ)
