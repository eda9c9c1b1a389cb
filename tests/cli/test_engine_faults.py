"""An engine that fails in any way gives exit 3 and a message, never a traceback or a hang.

A fake engine (tests/fakes/engine.py) answers 500, closes mid-response, never answers, or
answers with broken JSON: on every request, or on every request after a good `/_ping`.
"""

from __future__ import annotations

import time

import pytest

from tests import needs
from tests.cli.conftest import write
from tests.fakes.engine import FakeEngine

STACK = {
    "mlstack.yaml": "name: faults\nfragments: [jupyter]\nvolumes:\n  hf-cache:\n    seed: {from: ./models}\n",
    "models/config.json": "{}\n",
}
COMMANDS = [["up", "--no-seed"], ["status"], ["doctor"], ["seed"], ["down"]]
MODES = [("500", False), ("500", True), ("close", False), ("close", True), ("badjson", True), ("hang", False),
         ("hang", True)]
# A request that is never answered costs the connect timeout (5 s), once per command.
LIMIT_S = {"hang": 15.0}


@pytest.mark.compose  # status and down run Compose (which would wait forever on the hanging engine)
@pytest.mark.parametrize("mode, after_ping", MODES, ids=[f"{m}{'-after-ping' if a else ''}" for m, a in MODES])
@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_a_failing_engine_is_an_engine_error(mlstack, tmp_path, mode, after_ping, command):
    write(tmp_path, STACK)
    with FakeEngine(tmp_path, mode, after_ping) as engine:
        started = time.monotonic()
        run = mlstack(*command, env={"DOCKER_HOST": engine.url, "MLSTACK_COMPOSE": " ".join(needs.compose_argv()),
                                     "XDG_CACHE_HOME": str(tmp_path / "cache")})
        took = time.monotonic() - started
    assert run.code == 3, f"exit {run.code}\n{run.out}\n{run.err}"
    assert "Traceback" not in run.err + run.out
    assert "mlstack: " in run.err or "engine" in run.out, run.err
    assert took < LIMIT_S.get(mode, 10.0)
