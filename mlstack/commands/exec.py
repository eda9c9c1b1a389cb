"""`mlstack exec SERVICE CMD...`: run a command in a running service; exits with the command's code."""

from __future__ import annotations

from mlstack.commands import running
from mlstack.engine import compose
from mlstack.report import Result


def run(stack_file: str | None, profile: str, service: str, argv: list[str], tty: bool,
        user: str | None = None, workdir: str | None = None) -> Result:
    project = running.existing(stack_file, profile)
    running.check_services(project, [service])
    done = compose.run(compose.exec_(project.target, service, argv, tty=tty, user=user, workdir=workdir),
                       capture=False, check=False)
    return Result(exit_code=done.returncode)
