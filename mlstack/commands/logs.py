"""`mlstack logs [-f] [SERVICE...]`: the services' output, through Compose."""

from __future__ import annotations

from mlstack.commands import running
from mlstack.engine import compose
from mlstack.report import Result


def run(stack_file: str | None, profile: str, services: list[str], follow: bool, tail: int | None) -> Result:
    project = running.existing(stack_file, profile)
    running.check_services(project, services)
    compose.run(compose.logs(project.target, services, follow=follow, tail=tail), capture=False)
    return Result()
