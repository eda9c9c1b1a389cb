"""core.init_plan: the decisions of `mlstack init`, as (input, expected) tables."""

from __future__ import annotations

import pytest

from mlstack.core.init_plan import check_name, default_name, gitignore, parse_services, variables_in, with_requirements
from mlstack.errors import ChoiceError

REQUIRES = {"api": ["redis", "qdrant", "mlflow"], "mlflow": ["postgres"], "jupyter": [], "redis": [], "qdrant": [],
            "postgres": []}


@pytest.mark.parametrize("chosen, fragments, added", [
    (("jupyter",), ["jupyter"], []),
    (("api",), ["api", "redis", "qdrant", "mlflow", "postgres"],
     [("redis", "api"), ("qdrant", "api"), ("mlflow", "api"), ("postgres", "mlflow")]),
    (("mlflow", "postgres"), ["mlflow", "postgres"], []),
    (("api", "jupyter", "mlflow"), ["api", "jupyter", "mlflow", "redis", "qdrant", "postgres"],
     [("redis", "api"), ("qdrant", "api"), ("postgres", "mlflow")]),
])
def test_required_fragments_are_added_transitively_and_named(chosen, fragments, added):
    assert with_requirements(chosen, REQUIRES) == (fragments, added)


@pytest.mark.parametrize("data, expected", [
    ("${A}", {"A": ""}),
    ("127.0.0.1:${API_PORT:-8000}:8000", {"API_PORT": "8000"}),
    ("${B-x} ${C:?set C}", {"B": "x", "C": ""}),
    ("$${ESCAPED} ${REAL:-1}", {"REAL": "1"}),
    ("${API_IMAGE:-${STACK:-m}-api:1}", {"API_IMAGE": "", "STACK": "m"}),
    ({"a": ["${X:-1}", {"b": "${X:-2}"}], "c": 3}, {"X": "1"}),
])
def test_variables_and_their_defaults_are_found_in_any_string(data, expected):
    assert variables_in(data, {}) == expected


@pytest.mark.parametrize("directory, name", [
    ("fraud", "fraud"), ("My Project", "my-project"), ("__x__", "x"), ("ÄÖ", "mlstack"), ("team.api_v2", "team-api_v2")])
def test_the_default_name_is_the_directory_made_a_stack_name(directory, name):
    assert default_name(directory) == name == check_name(name)


@pytest.mark.parametrize("existing, expected", [
    ("", "# added by mlstack init: dev settings and secrets stay out of git\n.env\n.env.*\n!.env.example\n.mlstack/\n"
         "__pycache__/\n.venv/\n.ipynb_checkpoints/\n"),
    ("data/", "data/\n# added by mlstack init: dev settings and secrets stay out of git\n.env\n.env.*\n!.env.example\n"
              ".mlstack/\n__pycache__/\n.venv/\n.ipynb_checkpoints/\n"),
    (".env\n.env.*\n!.env.example\n.mlstack/\n__pycache__/\n.venv/\n.ipynb_checkpoints/\n", None),
])
def test_gitignore_gets_only_the_missing_entries(existing, expected):
    assert gitignore(existing) == expected


@pytest.mark.parametrize("text, message", [
    ("api,,nope", "services: unknown service nope; choose from api, jupyter, mlflow, postgres, qdrant, redis"),
    (" , ", "services: none named; choose from api, jupyter, mlflow, postgres, qdrant, redis"),
])
def test_unknown_or_missing_services_are_choice_errors(text, message):
    with pytest.raises(ChoiceError) as raised:
        parse_services(text, REQUIRES)
    assert raised.value.message == message


def test_services_are_kept_in_order_once_each():
    assert parse_services(" redis, api ,redis", REQUIRES) == ("redis", "api")
