"""The arguments of `mlstack render`, `seed`, `status` (`ps`) and `up`, read without importing Typer and click
(~45 ms: more than a render, a fifth of `status`).

The tables are the commands' options as `cli.typer_app` declares them; a test keeps each equal to its
command (names, flags, choices, defaults) and compares this parse with Typer's on a table of command lines. Only what is read here exactly as click reads it is accepted: anything else
(`--help`, an unknown or abbreviated option, a positional argument where the command takes none, `--`, a
short option with its value attached, a value that starts with `-`, a value given to a flag, a value outside
an option's choices) returns None, and Typer parses the line as usual, with its usage errors.
"""

from __future__ import annotations

# (long flag, short flag or "", parameter, default, choices or () for free text, environment variable that
# sets the default or None)
# in the choices column: an option that takes no value (False, True when given); a number (digits, as
# written here: anything else is Typer's to read); a value that may be given again (each one kept)
FLAG, INTEGER, NUMBER, REPEATED = "flag", "integer", "number", "repeated"
ARGUMENTS = "arguments"   # in the flag column: the command's positional arguments, any number

# the options several commands share, as `cli.typer_app` declares them once (StackFile, Profile, Gpu, Json)
FILE = ("--file", "-f", "stack_file", None, (), "MLSTACK_FILE")
PROFILE = ("--profile", "-p", "profile", "dev", (), "MLSTACK_PROFILE")
GPU = ("--gpu", "", "gpu", None, ("auto", "required", "off"), None)
JSON = ("--json", "", "as_json", False, FLAG, None)

# each command's, in the order of the call it makes: `commands.render.run`'s parameters; `lifecycle.seeder.
# SeedOptions`, then --json; `commands.status.run`'s, then --json; `lifecycle.start.UpOptions` (--no-wait and
# --no-seed as given), then --json
OPTIONS = (
    FILE,
    PROFILE,
    ("--out", "-o", "out", None, (), None),
    ("--format", "", "output_format", "yaml", ("yaml", "json"), None),
    GPU,
    ("--target", "-t", "target", "compose", ("compose", "swarm", "k8s"), None),
)
SEED_OPTIONS = (
    FILE,
    PROFILE,
    (ARGUMENTS, "", "volumes", (), (), None),
    ("--force", "", "force", False, FLAG, None),
    ("--dry-run", "", "dry_run", False, FLAG, None),
    ("--checksum", "", "checksum", False, FLAG, None),
    ("--method", "", "method", "auto", ("auto", "bind", "archive"), None),
    ("--helper-image", "", "helper_image", None, (), None),
    JSON,
)
STATUS_OPTIONS = (FILE, PROFILE, JSON)
UP_OPTIONS = (
    FILE,
    PROFILE,
    (ARGUMENTS, "", "services", (), (), None),
    ("--build", "", "build", False, FLAG, None),
    ("--no-wait", "", "no_wait", False, FLAG, None),
    GPU,
    ("--port-offset", "", "port_offset", 0, INTEGER, None),
    ("--compose-profile", "", "compose_profiles", (), REPEATED, None),
    ("--timeout", "", "timeout", 300.0, NUMBER, None),
    ("--no-seed", "", "no_seed", False, FLAG, None),
    JSON,
)
COMMANDS = {"render": OPTIONS, "seed": SEED_OPTIONS, "status": STATUS_OPTIONS, "ps": STATUS_OPTIONS, "up": UP_OPTIONS}


def parse(args: list[str], env: dict[str, str]) -> tuple | None:
    """The arguments of `commands.render.run` for `render ARGS...`, or None: Typer decides.

    An option's environment variable, when set and not empty (click's rule), replaces its default."""
    return parse_command("render", args, env)


def parse_command(name: str, args: list[str], env: dict[str, str]) -> tuple | None:
    """Command `name`'s parameters for `name ARGS...`, in its table's order (positional arguments as a
    tuple), or None: Typer decides."""
    if args[:1] != [name]:
        return None
    table = COMMANDS[name]
    by_flag = {flag: index for index, row in enumerate(table) for flag in row[:2] if flag and flag != ARGUMENTS}
    arguments = next((index for index, row in enumerate(table) if row[0] == ARGUMENTS), None)
    values = [env.get(row[5]) or row[3] if row[5] else row[3] for row in table]
    rest = args[1:]
    position = 0
    while position < len(rest):
        flag, value = rest[position], None
        if not flag.startswith("-") and arguments is not None:   # click takes them between options too
            values[arguments] += (flag,)
            position += 1
            continue
        if flag.startswith("--") and "=" in flag:
            flag, value = flag.split("=", 1)
        index = by_flag.get(flag)
        if index is None:
            return None
        choices = table[index][4]
        if choices == FLAG:
            if value is not None:
                return None
            values[index] = True
            position += 1
            continue
        if value is None:
            position += 1
            if position == len(rest):
                return None
            value = rest[position]
        if value.startswith("-"):
            return None
        if choices == REPEATED:
            value = values[index] + (value,)
        elif choices == INTEGER:
            if not (value.isascii() and value.isdigit()):
                return None
            value = int(value)
        elif choices == NUMBER:
            whole, dot, fraction = value.partition(".")
            if not (value.isascii() and whole.isdigit() and (fraction.isdigit() or not dot)):
                return None
            value = float(value)
        elif choices:   # case-insensitive, as click's Choice(case_sensitive=False): the choice as declared
            value = next((choice for choice in choices if choice.casefold() == value.casefold()), None)
            if value is None:
                return None
        values[index] = value
        position += 1
    return tuple(values)
