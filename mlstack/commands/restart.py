"""`mlstack restart [SERVICE...]`: restart containers as they are (no re-render, no recreate)."""

from __future__ import annotations

from mlstack.commands import running
from mlstack.engine import compose
from mlstack.report import Result


def run(stack_file: str | None, profile: str, services: list[str]) -> Result:
    project = running.existing(stack_file, profile)
    running.check_services(project, services)
    compose.run(compose.restart(project.target, services), capture=False, stdin_closed=True)
    return Result(text=f"{project.name}: restarted {', '.join(services) or 'all services'}")
