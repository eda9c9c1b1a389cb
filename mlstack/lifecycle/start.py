"""Starting the stack: render, preflight, write, start, wait until healthy.

Step by step (docs/lifecycle.md): render the profile; reach the engine; preflight (GPU policy,
port offset, published ports, disk: nothing starts when it fails); write
`.mlstack/<profile>/compose.yaml`; run the BEFORE_START hooks; `compose up --detach` (stdin
closed, so Compose can never be told yes to recreating a volume); follow health through the
engine's events, opened before `compose up` (lifecycle/health.py `wait`).
"""

from __future__ import annotations

import time
from mlstack.records import field, record

from mlstack.engine import compose
from mlstack.engine.docker_facts import Engine
from mlstack.errors import EngineError, UnhealthyError
from mlstack.lifecycle import health, preflight, running, seeder, status_table
from mlstack.lifecycle.running import Project, say
from mlstack.lifecycle.workspace import compose_environment, require_secrets

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any, Callable, Mapping


@record
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


def seed_volumes(project: Project, options: UpOptions) -> None:
    """Seed the declared volumes of the services about to start (lifecycle/seeder.py)."""
    if options.seed:
        wanted = running.expected_services(project.document, options.services, project.target.compose_profiles,
                                           project.env)
        seeder.before_start(project, wanted, seeder.SeedOptions(options.stack_file, options.profile))


# Steps between the written file and `compose up`, in order.
BEFORE_START: list[Callable[[Project, UpOptions], None]] = [seed_volumes]


def start(options: UpOptions, env: Mapping[str, str]) -> tuple[Project, list[dict[str, Any]]]:
    """Start the stack; returns it and its status table rows. PreflightError, UnhealthyError."""
    started = time.monotonic()
    # Connecting (a ping and `docker info`, which engines answer slowly) overlaps with the render;
    # a bad stack still fails first, as a render error, and nothing starts before both are done.
    connected = running.background(Engine, env)
    project = running.render(options.stack_file, options.profile, env, options.gpu, options.compose_profiles,
                             create_dev_secrets=True)
    assert project.rendered is not None
    require_secrets(project.rendered)      # nothing starts without them
    running.check_services(project, options.services)
    engine = connected()
    for line in preflight.run(project, engine, options.port_offset):
        say(line)
    running.write(project)
    for hook in BEFORE_START:
        hook(project, options)
    wanted = running.expected_services(project.document, options.services, project.target.compose_profiles, env)
    latest: list[health.Container] = []

    def snapshot() -> list[health.Container]:   # over the engine's socket: a few ms per container
        latest[:] = [health.from_inspect(attrs) for attrs in engine.project_containers(project.name)]
        return list(latest)

    # Opened before `compose up`, so no transition is missed; without it the wait polls.
    changes = engine.follow(project.name) if options.wait else None
    try:
        try:
            compose.run(compose.up(project.target, options.services, build=options.build), capture=False,
                        stdin_closed=True, timeout=options.timeout, env=compose_environment(project.rendered, env))
        except EngineError:
            # `compose up` fails when a dependency's healthcheck fails, or runs past the timeout:
            # both are UNHEALTHY, reported with the services' logs.
            states = health.by_service(snapshot(), wanted)
            failing = [name for name, state in states.items() if state[0] == health.FAILED]
            if failing:
                raise UnhealthyError(health.failure_report(project.target, states, failing, env=env)) from None
            if time.monotonic() - started >= options.timeout:
                waiting = [name for name, state in states.items() if state[0] == health.WAITING]
                raise UnhealthyError(health.failure_report(project.target, states, waiting,
                                                           f"not ready within {options.timeout:g} s", env)) from None
            raise
        if options.wait:
            progress = health.Progress()
            try:
                remaining = max(1.0, options.timeout - (time.monotonic() - started))
                health.wait(project.target, wanted, remaining, progress, snapshot, env=env, changes=changes)
            finally:
                progress.close()
    finally:
        if changes is not None:
            changes.close()
    # the wait's last answer from the engine (it ends on one); the status table's URL variables: generated dev tokens too
    return project, status_table.table(project.document, list(latest) if options.wait else snapshot(), wanted,
                                       project.rendered.env)
