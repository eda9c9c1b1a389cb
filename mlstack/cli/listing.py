"""`mlstack --help` without building every command's options.

Typer builds the whole click tree before click prints a help text: for the top-level listing it
reads the signature and type hints of each of ~20 commands (~7 ms) to show one line per command,
its name and the start of its docstring. `listing_app` is the same app with each top-level
command's function stood in for by one that takes nothing and carries the same name and
docstring: Typer builds the root (its options, the completion options) and every listed line as
it always does. tests/cli/test_listing.py holds its help text to the full app's, width by width.
"""

from __future__ import annotations

import copy


def listing_app(app):
    """A copy of `app` for its own --help: commands without parameters; groups as they are (few)."""
    listing = copy.copy(app)
    listing.registered_commands = [_without_parameters(info) for info in app.registered_commands]
    return listing


def _without_parameters(info):
    original = info.callback

    def stand_in() -> None:
        raise AssertionError("only listed, never run")   # the listing app prints its help and exits

    stand_in.__name__, stand_in.__qualname__, stand_in.__doc__ = original.__name__, original.__qualname__, original.__doc__
    listed = copy.copy(info)
    listed.callback = stand_in
    return listed
