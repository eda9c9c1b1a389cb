"""Bad input of every kind: one located line each, the documented exit code, never a traceback."""

import pytest

from tests.cli.conftest import write

CASES = [
    # (files, args, exit code, exact stderr)
    ({"mlstack.yaml": "name: t\nfragments: [redis\n"}, ["render"], 1,
     "mlstack.yaml:3:1: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence started at line 2, column 12)"),
    ({"mlstack.yaml": "name: t\nfragmnets: [redis]\n"}, ["render"], 1, None),
    ({"mlstack.yaml": "name: t\nfragments: [nosuch]\n"}, ["render"], 1,
     "mlstack.yaml:2:13: fragments[0]: unknown fragment 'nosuch' (built-in: api, jupyter, mlflow, postgres, qdrant, redis; or give a path ending in .yaml)"),
    ({"mlstack.yaml": "name: t\nfragments: [./missing.yaml]\n"}, ["render"], 1,
     "mlstack.yaml:2:13: fragments[0]: fragment file not found: ./missing.yaml"),
    ({"mlstack.yaml": "name: t\nfragments: [./a.yaml]\nprofiles: {bare: {overrides: []}}\n",
      "a.yaml": "services:\n  web:\n    image: x:1\n    environment:\n      A: ${NOPE:?set NOPE}\n"}, ["render", "-p", "bare"], 1,
     "a.yaml:5:10: services.web.environment.A: required variable NOPE is missing a value: set NOPE"),
    ({"mlstack.yaml": "name: t\nfragments: [./a.yaml]\nprofiles: {bare: {overrides: []}}\n",
      "a.yaml": "services:\n  web:\n    image: x:1\n    ports: ['80:80:80:80']\n"}, ["render", "-p", "bare"], 1, None),
    ({"mlstack.yaml": "name: t\nfragments: [./a.yaml]\nprofiles: {bare: {overrides: []}}\n",
      "a.yaml": "services:\n  web:\n    image: x:1\n    image: y:1\n"}, ["render", "-p", "bare"], 1,
     "a.yaml:4:5: duplicate key 'image'"),
    ({"mlstack.yaml": "name: t\nfragments: [./a.yaml]\nprofiles: {bare: {overrides: []}}\n",
      "a.yaml": "- just\n- a list\n"}, ["render", "-p", "bare"], 1,
     "a.yaml:1:1: a compose file must be a YAML mapping, not a list"),
    ({"mlstack.yaml": "name: t\nprofiles: {x: {extends: y}}\n"}, ["render", "-p", "x"], 1, None),
    ({}, ["render", "--format", "toml"], 2, None),
    ({}, ["render", "-f", "nope.yaml"], 2, "mlstack: stack definition not found: nope.yaml"),
    ({}, ["explain", "nosuch"], 2, None),
    ({}, ["render", "--bogus"], 2, None),
]


@pytest.mark.parametrize("files, args, code, message", CASES, ids=[" ".join(c[1]) + f" #{i}" for i, c in enumerate(CASES)])
def test_bad_input(mlstack, tmp_path, files, args, code, message):
    write(tmp_path, files)
    run = mlstack(*args)
    assert run.code == code, run.err
    assert "Traceback" not in run.err
    assert run.err.strip(), "a failure must say why"
    if message is not None:
        assert run.err.strip() == message
