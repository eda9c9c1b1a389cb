"""`mlstack exec SERVICE CMD...`: run a command in a running service; exits with the command's code."""

from __future__ import annotations

from typing import Mapping

from mlstack.engine import compose
from mlstack.lifecycle import running
from mlstack.report import Result


def run(stack_file: str | None, profile: str, service: str, argv: list[str], tty: bool, *,
        env: Mapping[str, str]) -> Result:
    project = running.existing(stack_file, profile, env)
    running.check_services(project, [service])
    done = project.run(compose.exec_(project.target, service, argv, tty=tty), capture=False, check=False)
    return Result(exit_code=done.returncode)
