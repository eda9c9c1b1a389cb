"""`mlstack logs [-f] [SERVICE...]`: the services' output, through Compose."""

from __future__ import annotations

from typing import Mapping

from mlstack.engine import compose
from mlstack.lifecycle import running
from mlstack.report import OUTPUT, Result


def run(stack_file: str | None, profile: str, services: list[str], follow: bool, tail: int | None, *,
        env: Mapping[str, str]) -> Result:
    project = running.existing(stack_file, profile, env)
    running.check_services(project, services)
    # NO_COLOR (cli): Compose's own service colours off too
    project.run(compose.logs(project.target, services, follow=follow, tail=tail, color=OUTPUT.color), capture=False)
    return Result()
