"""Shell completion (bash, zsh, fish: `mlstack --install-completion`): the values options complete to.

The shell runs `mlstack` with `_MLSTACK_COMPLETE=complete_<shell>` and the words typed so far; Typer answers
(cli.main sends such a request to it, never to the replay cache). Completing a value must never fail: a stack
that does not load completes to the built-in values.
"""

from __future__ import annotations


def profiles(ctx, incomplete: str) -> list[str]:
    """`--profile`: dev, prod and the profiles of the stack the line names (`--file`, MLSTACK_FILE, ./mlstack.yaml)."""
    from mlstack.cli.environment import process_env
    from mlstack.commands.services import profile_names

    names = profile_names(ctx.params.get("stack_file"), process_env())
    return [name for name in names if name.startswith(incomplete)]


def services(ctx, incomplete: str) -> list[str]:
    """SERVICE arguments: the services of the profile the line names, those already given left out."""
    from mlstack.cli.environment import process_env
    from mlstack.commands.services import service_names

    given = set(ctx.params.get("services") or ())
    names = service_names(ctx.params.get("stack_file"), ctx.params.get("profile"), process_env())
    return [name for name in names if name.startswith(incomplete) and name not in given]
