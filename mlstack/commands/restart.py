"""`mlstack restart [SERVICE...]`: restart containers as they are (no re-render, no recreate)."""

from __future__ import annotations

from typing import Mapping

from mlstack.engine import compose
from mlstack.lifecycle import running
from mlstack.report import Result


def run(stack_file: str | None, profile: str, services: list[str], *, env: Mapping[str, str]) -> Result:
    project = running.existing(stack_file, profile, env)
    running.check_services(project, services)
    project.run(compose.restart(project.target, services), capture=False, stdin_closed=True)
    return Result(text=f"{project.name}: restarted {', '.join(services) or 'all services'}",
                  data={"project": project.name, "services": services or project.services})
