"""`cli.arguments` reads a render's command line without Typer: it must read it exactly as Typer does,
or not at all (None: Typer parses it, with its usage errors). Typer's own parse is the oracle."""

from __future__ import annotations

from enum import Enum

import click
import pytest
import typer.main

from mlstack.cli import arguments
from mlstack.cli.typer_app import app

GROUP = typer.main.get_command(app)
RENDER = GROUP.commands["render"]


def typer_parse(args: list[str], env: dict[str, str] | None = None) -> tuple | str:
    """The call Typer's render makes for ARGS (in `commands.render.run`'s order), or the usage error's text."""
    if env is not None:   # click reads an option's envvar from the process environment
        with pytest.MonkeyPatch.context() as patch:
            for name in ("MLSTACK_FILE", "MLSTACK_PROFILE"):
                patch.delenv(name, raising=False)
            for name, value in env.items():
                patch.setenv(name, value)
            return typer_parse(args)
    try:
        context = GROUP.make_context("mlstack", list(args))
        name, command, rest = GROUP.resolve_command(context, list(args))
        values = command.make_context(name, rest, parent=context).params
    except click.exceptions.Exit:
        return "exit"   # --help
    except click.ClickException as error:
        return f"usage error: {error.format_message()}"
    if name != "render":
        return f"the {name} command"
    return tuple(plain(values[row[2]]) for row in arguments.OPTIONS)


def plain(value):
    return value.value if isinstance(value, Enum) else value


def test_the_table_is_the_typer_commands_options():
    declared = [(parameter.opts, parameter.secondary_opts, parameter.name, plain(parameter.default),
                 tuple(getattr(parameter.type, "choices", ())), getattr(parameter.type, "case_sensitive", False),
                 parameter.multiple, parameter.nargs, parameter.is_flag, parameter.envvar)
                for parameter in RENDER.params]
    table = [([flag for flag in row[:2] if flag], [], row[2], row[3], row[4], False, False, 1, False, row[5])
             for row in arguments.OPTIONS]
    assert sorted(declared, key=repr) == sorted(table, key=repr)
    assert not RENDER.context_settings and not GROUP.context_settings.get("token_normalize_func")


READ = [   # command lines read without Typer: the same call as Typer's
    ["render"],
    ["render", "--profile", "dev"],
    ["render", "-p", "prod", "-f", "stack.yaml", "-o", "out.yaml", "-t", "swarm"],
    ["render", "--profile=prod", "--file=a b.yaml", "--out=", "--format=JSON", "--gpu=Off", "--target=K8S"],
    ["render", "--format", "json", "--format", "yaml"],           # the last one counts
    ["render", "-p", "dev", "--profile", "prod", "-p", "staging"],
    ["render", "--gpu", "REQUIRED", "--target", "compose"],
    ["render", "--file", "", "--profile", ""],
    ["render", "--file", "x=y.yaml", "--out", "dir/with=sign"],
    ["render", "-p", "render", "-f", "render"],
]
REFUSED_OR_TYPERS = [   # anything else: Typer decides (its usage error, its help, or a parse this does not try)
    ["render", "--help"],
    ["render", "-p"],
    ["render", "--profile"],
    ["render", "--prof", "dev"],
    ["render", "--format", "toml"],
    ["render", "--gpu", "yes"],
    ["render", "--target", "helm"],
    ["render", "extra"],
    ["render", "--", "-p"],
    ["render", "-pdev"],
    ["render", "-p=dev"],
    ["render", "-o", "-"],
    ["render", "--out=-"],
    ["render", "--profile", "--json"],
    ["render", "--json"],
    ["render", "-x"],
    ["render", "--format=ＹＡＭＬ"],
    ["render", "--gpu", "auto", "--debug"],
    ["validate"],
    ["--help"],
    [],
]


@pytest.mark.parametrize("args", READ, ids=[" ".join(args) for args in READ])
def test_a_line_read_without_typer_is_the_call_typer_makes(args):
    call = arguments.parse(args, {})
    assert call is not None
    assert call == typer_parse(args)


@pytest.mark.parametrize("args", REFUSED_OR_TYPERS, ids=[" ".join(args) or "(none)" for args in REFUSED_OR_TYPERS])
def test_anything_else_is_left_to_typer(args):
    assert arguments.parse(args, {}) is None


@pytest.mark.parametrize("args", READ + REFUSED_OR_TYPERS, ids=[" ".join(args) or "(none)" for args in READ + REFUSED_OR_TYPERS])
def test_never_accepts_what_typer_refuses_nor_reads_it_otherwise(args):
    call, typers = arguments.parse(args, {}), typer_parse(args, {})
    assert call is None or call == typers


ENVIRONMENTS = [
    {"MLSTACK_PROFILE": "prod"},
    {"MLSTACK_FILE": "team.yaml", "MLSTACK_PROFILE": "staging"},
    {"MLSTACK_PROFILE": ""},                      # set but empty: the default, as click has it
    {"MLSTACK_FILE": "", "MLSTACK_PROFILE": "-p"},  # a value from the environment is never an option
]


@pytest.mark.parametrize("env", ENVIRONMENTS, ids=[repr(env) for env in ENVIRONMENTS])
@pytest.mark.parametrize("args", [["render"], ["render", "-p", "dev"], ["render", "--file", "x.yaml"]],
                         ids=["render", "render -p dev", "render --file x.yaml"])
def test_mlstack_file_and_mlstack_profile_set_the_defaults_as_typer_reads_them(args, env):
    assert arguments.parse(args, env) == typer_parse(args, env)


# --- seed, status (ps), up: positional arguments, flags, numbers and repeated options besides ----------

def typer_call(args: list[str], env: dict[str, str] | None = None) -> tuple | str:
    """The parameters Typer's command receives for ARGS (in its arguments table's order), or the usage error."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("MLSTACK_FILE", "MLSTACK_PROFILE"):
            patch.delenv(name, raising=False)
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        try:
            context = GROUP.make_context("mlstack", list(args))
            name, command, rest = GROUP.resolve_command(context, list(args))
            values = command.make_context(name, rest, parent=context).params
        except click.exceptions.Exit:
            return "exit"
        except click.ClickException as error:
            return f"usage error: {error.format_message()}"
    table = arguments.COMMANDS[args[0]]
    return tuple(tuple(values[row[2]] or ()) if row[0] == arguments.ARGUMENTS or row[4] == arguments.REPEATED
                 else plain(values[row[2]]) for row in table)


KINDS = {arguments.FLAG: "flag", arguments.INTEGER: "integer", arguments.NUMBER: "float", arguments.REPEATED: "text"}


def declared_parameters(name: str) -> list:
    rows = []
    for parameter in GROUP.commands[name].params:
        if getattr(parameter, "is_flag", False):
            kind = "flag"
        elif parameter.type.name in ("integer", "float"):
            kind = parameter.type.name
        else:
            kind = tuple(getattr(parameter.type, "choices", ())) or "text"
        default = plain(parameter.default)
        default = tuple(default) if isinstance(default, list) else default
        rows.append((parameter.opts if parameter.param_type_name == "option" else [arguments.ARGUMENTS],
                     parameter.name, None if parameter.param_type_name == "argument" else default, kind,
                     bool(parameter.multiple) and parameter.param_type_name == "option", parameter.envvar))
    return sorted(rows, key=repr)


@pytest.mark.parametrize("name", ["seed", "status", "ps", "up"])
def test_each_table_is_the_typer_commands_parameters(name):
    table = sorted(([flag for flag in row[:2] if flag], row[2], None if row[0] == arguments.ARGUMENTS else row[3],
                    KINDS.get(row[4], row[4] or "text"), row[4] == arguments.REPEATED, row[5])
                   for row in arguments.COMMANDS[name])
    assert declared_parameters(name) == sorted(table, key=repr)
    for parameter in GROUP.commands[name].params:   # choices are read case-insensitively, as declared
        assert getattr(parameter.type, "case_sensitive", False) is False


LINES_READ = [
    ["seed"],
    ["seed", "hf-cache"],
    ["seed", "hf-cache", "torch-cache", "--force"],
    ["seed", "--force", "hf-cache", "--dry-run", "torch-cache", "--checksum"],   # arguments between options
    ["seed", "-p", "prod", "-f", "team.yaml", "--method", "ARCHIVE", "--helper-image", "busybox:1", "--json"],
    ["seed", "--method=bind", "--profile=dev", "--file=a b.yaml", "--helper-image="],
    ["seed", "--force", "--force", "--method", "auto", "--method", "bind"],
    ["seed", "", "seed", "render"],
    ["status"],
    ["status", "--json", "-p", "prod", "--file", "x.yaml"],
    ["ps", "--profile=staging"],
    ["up"],
    ["up", "api", "jupyter", "--build", "--no-wait", "--gpu", "OFF"],
    ["up", "--port-offset", "100", "--timeout", "12.5", "--compose-profile", "debug", "--compose-profile=tools"],
    ["up", "--timeout=600", "--port-offset=0", "--no-seed", "--json", "-p", "prod", "api"],
    ["up", "--gpu", "auto", "--gpu", "required"],
]
LINES_LEFT_TO_TYPER = [
    ["seed", "--help"],
    ["seed", "--force=true"],
    ["seed", "--method", "copy"],
    ["seed", "--method"],
    ["seed", "--", "-x"],
    ["seed", "-"],
    ["seed", "--forc"],
    ["seed", "-p", "--force"],
    ["seed", "-x"],
    ["status", "api"],
    ["status", "--json=1"],
    ["ps", "-q"],
    ["up", "--port-offset", "-5"],
    ["up", "--port-offset", "+5"],
    ["up", "--port-offset", "1e3"],
    ["up", "--port-offset", "٣"],
    ["up", "--timeout", "1e3"],
    ["up", "--timeout", "5."],
    ["up", "--timeout", "inf"],
    ["up", "--timeout", "nan"],
    ["up", "--gpu", "yes"],
    ["up", "--compose-profile"],
    ["up", "--no-wait=false"],
    ["up", "--build", "--", "api"],
]


@pytest.mark.parametrize("args", LINES_READ, ids=[" ".join(args) for args in LINES_READ])
def test_a_line_read_without_typer_is_the_call_typer_makes_for_each_command(args):
    call = arguments.parse_command(args[0], args, {})
    assert call is not None
    assert call == typer_call(args)


@pytest.mark.parametrize("args", LINES_READ + LINES_LEFT_TO_TYPER, ids=[" ".join(args) for args in LINES_READ + LINES_LEFT_TO_TYPER])
def test_a_line_is_read_as_typer_reads_it_or_left_to_typer(args):
    call = arguments.parse_command(args[0], args, {})
    assert call is None or call == typer_call(args)
    if args in LINES_LEFT_TO_TYPER:
        assert call is None


@pytest.mark.parametrize("env", ENVIRONMENTS, ids=[repr(env) for env in ENVIRONMENTS])
@pytest.mark.parametrize("name", ["seed", "status", "up"])
def test_mlstack_file_and_mlstack_profile_are_read_as_typer_reads_them(env, name):
    for args in ([name], [name, "-p", "dev"], [name, "--file", "x.yaml"]):
        assert arguments.parse_command(name, args, env) == typer_call(args, env)
