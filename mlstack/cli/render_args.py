"""`mlstack render`'s arguments, read without importing Typer and click (~45 ms, more than the render).

The table is the render command's options as `cli.typer_app.render` declares them; a test keeps the two
equal (names, flags, choices, defaults) and compares this parse with Typer's on a table of command lines.
Only what is read here exactly as click reads it is accepted: anything else (`--help`, an unknown or
abbreviated option, a positional argument, `--`, a short option with its value attached, a value that
starts with `-`, a value outside an option's choices) returns None, and Typer parses the line as usual,
with its usage errors.
"""

from __future__ import annotations

# (long flag, short flag or "", parameter, default, choices or () for free text, environment variable that
# sets the default or None); in the order of `commands.render.run`'s parameters, the order of the parsed call
OPTIONS = (
    ("--file", "-f", "stack_file", None, (), "MLSTACK_FILE"),
    ("--profile", "-p", "profile", "dev", (), "MLSTACK_PROFILE"),
    ("--out", "-o", "out", None, (), None),
    ("--format", "", "output_format", "yaml", ("yaml", "json"), None),
    ("--gpu", "", "gpu", None, ("auto", "required", "off"), None),
    ("--target", "-t", "target", "compose", ("compose", "swarm", "k8s"), None),
)
_BY_FLAG = {flag: index for index, row in enumerate(OPTIONS) for flag in row[:2] if flag}


def parse(args: list[str], env: dict[str, str]) -> tuple | None:
    """The arguments of `commands.render.run` for `render ARGS...`, or None: Typer decides.

    An option's environment variable, when set and not empty (click's rule), replaces its default."""
    if args[:1] != ["render"]:
        return None
    values = [env.get(row[5]) or row[3] if row[5] else row[3] for row in OPTIONS]
    rest = args[1:]
    position = 0
    while position < len(rest):
        flag, value = rest[position], None
        if flag.startswith("--") and "=" in flag:
            flag, value = flag.split("=", 1)
        index = _BY_FLAG.get(flag)
        if index is None:
            return None
        if value is None:
            position += 1
            if position == len(rest):
                return None
            value = rest[position]
        if value.startswith("-"):
            return None
        choices = OPTIONS[index][4]
        if choices:   # case-insensitive, as click's Choice(case_sensitive=False): the choice as declared
            value = next((choice for choice in choices if choice.casefold() == value.casefold()), None)
            if value is None:
                return None
        values[index] = value
        position += 1
    return tuple(values)
