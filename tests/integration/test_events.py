"""The event stream `up` follows, from the real test engine: opened before `compose up`, it sees
every transition of the project's containers and none of another project's."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from mlstack.engine import compose
from mlstack.engine.discovery import discover
from mlstack.engine.docker_facts import Engine
from tests.integration.engine import DOCKER_HOST

pytestmark = [pytest.mark.engine, pytest.mark.compose]

STACK = """\
services:
  db:
    image: mlstack-test/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    healthcheck: {test: ["CMD", "true"], interval: 1s, timeout: 2s, retries: 3}
  init:
    image: mlstack-test/busybox:1
    command: ["true"]
  crash:
    image: mlstack-test/busybox:1
    command: ["sh", "-c", "exit 3"]
"""


def test_a_follower_opened_before_compose_up_sees_starts_health_and_exits_of_its_project_only(tmp_path):
    env = {**os.environ, "DOCKER_HOST": DOCKER_HOST}
    (tmp_path / "compose.yaml").write_text(STACK)
    project, other = f"ev{uuid.uuid4().hex[:8]}", f"ev{uuid.uuid4().hex[:8]}"
    target = compose.Target(discover(env).argv, str(tmp_path / "compose.yaml"), project)
    neighbour = compose.Target(discover(env).argv, str(tmp_path / "compose.yaml"), other)
    follower = Engine(env).follow(project)
    try:
        assert follower.open
        compose.run(compose.up(target, ["init", "crash"]), env=env)
        compose.run(compose.up(neighbour, ["init"]), env=env)
        compose.run(compose.up(target, ["db"]), env=env)
        seen: list[tuple[str, str, str, int]] = []
        deadline = time.monotonic() + 60
        while ("db", "health_status", "healthy", 0) not in seen and time.monotonic() < deadline:
            seen += [(e.service, e.action, e.health, e.exit_code) for e in follower.take(1)]
        assert follower.open
    finally:
        follower.close()
        for each in (target, neighbour):
            compose.run(each.base() + ["down", "--volumes", "--timeout", "1"], env=env, check=False)
    assert {name for name in (e[0] for e in seen)} == {"db", "init", "crash"}   # nothing of the other project
    for transition in [("init", "start", "", 0), ("init", "die", "", 0), ("crash", "start", "", 0),
                       ("crash", "die", "", 3), ("db", "start", "", 0), ("db", "health_status", "healthy", 0)]:
        assert transition in seen
    assert seen.index(("db", "start", "", 0)) < seen.index(("db", "health_status", "healthy", 0))
