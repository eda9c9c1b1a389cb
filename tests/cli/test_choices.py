"""Options with a fixed set of values refuse anything else: exit 2 and the list of valid values."""

import json
from pathlib import Path

import pytest

import mlstack
from mlstack import cli
from mlstack.core import seed_decision

SCHEMA = json.loads((Path(mlstack.__file__).parent / "schemas" / "mlstack.schema.json").read_text())

CASES = [
    (["render", "--gpu", "bogus"], "Invalid value for '--gpu': 'bogus' is not one of 'auto', 'required', 'off'."),
    (["up", "--gpu", "yes"], "Invalid value for '--gpu': 'yes' is not one of 'auto', 'required', 'off'."),
    (["render", "--format", "toml"], "Invalid value for '--format': 'toml' is not one of 'yaml', 'json'."),
    (["seed", "--method", "rsync"], "Invalid value for '--method': 'rsync' is not one of 'auto', 'bind', 'archive'."),
    (["up", "--port-offset", "ten"], "Invalid value for '--port-offset': 'ten' is not a valid integer."),
    (["up", "--timeout", "soon"], "Invalid value for '--timeout': 'soon' is not a valid float."),
    (["logs", "--tail", "all"], "Invalid value for '--tail': 'all' is not a valid integer."),
]


@pytest.mark.parametrize("args, message", CASES, ids=[" ".join(args) for args, _ in CASES])
def test_a_value_outside_the_choices_is_a_usage_error(mlstack, args, message):
    run = mlstack(*args)
    assert run.code == 2
    assert run.err.strip().splitlines()[-1] == f"Error: {message}"
    assert "Traceback" not in run.err


def test_choices_are_case_insensitive(mlstack):
    run = mlstack("render", "--gpu", "OFF", "--format", "JSON")
    assert run.code == 0, run.err
    assert json.loads(run.out[run.out.index("{"):])["services"]


def test_the_choices_are_the_ones_the_stack_definition_knows():
    assert [policy.value for policy in cli.GpuPolicy] == SCHEMA["definitions"]["gpu"]["enum"]
    assert tuple(method.value for method in cli.SeedMethod) == seed_decision.METHODS
