"""`mlstack build [SERVICE...]`: build the profile's locally built images."""

from __future__ import annotations

from typing import Mapping

from mlstack.engine import compose
from mlstack.engine.docker_facts import Engine
from mlstack.lifecycle import preflight, running
from mlstack.report import Result


def run(stack_file: str | None, profile: str, services: list[str], pull: bool, *, env: Mapping[str, str]) -> Result:
    project = running.render(stack_file, profile, env)
    running.check_services(project, services)
    preflight.adjust_for_host(project, Engine(env))
    running.write(project)
    project.run(compose.build(project.target, services, pull=pull), capture=False, stdin_closed=True)
    return Result(text=f"{project.name}: images built",
                  data={"project": project.name, "file": str(project.path), "services": services or project.services})
