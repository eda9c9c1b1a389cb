"""`mlstack up`: render, preflight, write, start, wait until healthy, show the URL table.

Step by step (docs/lifecycle.md): render the profile; reach the engine; preflight (GPU policy,
port offset, published ports, disk: nothing starts when it fails); write
`.mlstack/<profile>/compose.yaml`; run the BEFORE_START hooks; `compose up --detach` (stdin
closed, so Compose can never be told yes to recreating a volume); poll health; print the table.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable

from mlstack.commands import health, preflight, running, seed, urls
from mlstack.commands.common import compose_environment, require_secrets
from mlstack.commands.running import Project, say
from mlstack.core.gpu import POLICIES
from mlstack.engine import compose
from mlstack.engine.docker_facts import Engine
from mlstack.errors import EngineError, UnhealthyError, UsageError
from mlstack.report import Result

@dataclass
class UpOptions:
    stack_file: str | None = None
    profile: str = "dev"
    services: list[str] = field(default_factory=list)
    build: bool = False
    wait: bool = True
    gpu: str | None = None
    port_offset: int = 0
    compose_profiles: tuple[str, ...] = ()
    timeout: float = 300.0
    seed: bool = True      # --no-seed: BEFORE_START hooks that seed volumes skip themselves


# Steps between the written file and `compose up`, in order. Seeding (mlstack/commands/seed.py)
# honours `options.seed` (--no-seed).
BEFORE_START: list[Callable[[Project, UpOptions], None]] = [seed.before_start]


def run(options: UpOptions) -> Result:
    if options.gpu is not None and options.gpu not in POLICIES:
        raise UsageError(f"unknown --gpu {options.gpu!r}: use auto, required or off")
    started = time.monotonic()
    project = running.render(options.stack_file, options.profile, options.gpu, options.compose_profiles,
                             create_dev_secrets=True)
    assert project.rendered is not None
    require_secrets(project.rendered)      # before the engine is even asked: nothing starts without them
    running.check_services(project, options.services)
    engine = Engine()
    for line in preflight.run(project, engine, options.port_offset):
        say(line)
    running.write(project)
    for hook in BEFORE_START:
        hook(project, options)
    wanted = expected_services(project.document, options.services, options.compose_profiles)

    def snapshot() -> list[health.Container]:   # through the SDK already loaded: a few ms per poll
        return [health.from_inspect(attrs) for attrs in engine.project_containers(project.name)]

    try:
        compose.run(compose.up(project.target, options.services, build=options.build), capture=False,
                    stdin_closed=True, timeout=options.timeout, env=compose_environment(project.rendered))
    except EngineError:
        # `compose up` fails when a dependency's healthcheck fails, or runs past the timeout:
        # both are UNHEALTHY, reported with the services' logs.
        states = health.by_service(snapshot(), wanted)
        failing = [name for name, state in states.items() if state[0] == health.FAILED]
        if failing:
            raise UnhealthyError(health.failure_report(project.target, states, failing)) from None
        if time.monotonic() - started >= options.timeout:
            waiting = [name for name, state in states.items() if state[0] == health.WAITING]
            raise UnhealthyError(health.failure_report(project.target, states, waiting,
                                                       f"not ready within {options.timeout:g} s")) from None
        raise
    if options.wait:
        progress = health.Progress()
        try:
            remaining = max(1.0, options.timeout - (time.monotonic() - started))
            health.wait(project.target, wanted, remaining, progress, snapshot)
        finally:
            progress.close()
    rows = urls.table(project.document, snapshot(), wanted, project.rendered.env)   # dev tokens: generated ones too
    return Result(text=urls.format_table(rows), data={"project": project.name, "file": str(project.path), "services": rows})


def expected_services(document: dict, selected: list[str], compose_profiles: tuple[str, ...]) -> list[str]:
    """What `compose up` starts: the selected services (all, without a selection) and what they depend on.

    Services with `profiles:` start only when one of them is active (--compose-profile), unless
    selected by name, as in Compose.
    """
    services = document.get("services") or {}
    active = set(compose_profiles) | set(filter(None, os.environ.get("COMPOSE_PROFILES", "").split(",")))
    if selected:
        pending = list(selected)
    else:
        pending = [name for name, body in services.items()
                   if not body.get("profiles") or "*" in active or active & set(body["profiles"])]
    wanted: list[str] = []
    while pending:
        name = pending.pop(0)
        if name in wanted or name not in services:
            continue
        wanted.append(name)
        depends = services[name].get("depends_on") or {}
        pending += list(depends) if isinstance(depends, (dict, list)) else []
    return sorted(wanted)
