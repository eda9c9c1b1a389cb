"""`mlstack config`: which Compose runs, the file `up` writes, and the command lines it would run.

Nothing is written and the engine is not contacted (GPU reservations are decided by `up`).
"""

from __future__ import annotations

import os
import shlex
from typing import Mapping

from mlstack.engine import compose
from mlstack.lifecycle import running
from mlstack.report import Result


def run(stack_file: str | None, profile: str, services: list[str], build: bool,
        compose_profiles: tuple[str, ...], *, env: Mapping[str, str]) -> Result:
    project = running.render(stack_file, profile, env, compose_profiles=compose_profiles)
    running.check_services(project, services)
    target = project.target
    commands = {
        "up": compose.up(target, services, build=build),
        "status": compose.ps(target),
        "down": compose.down(target),
        "down --volumes": compose.down(target, volumes=True),
        "logs": compose.logs(target, services),
    }
    state = "written by the last `mlstack up`" if project.path.is_file() else "not written yet"
    lines = [f"file:    {os.path.relpath(project.path)} ({state})",
             f"project: {project.name}",
             f"compose: {' '.join(project.cli.argv)} {project.cli.version_text} ({project.cli.why})"]
    lines += [f"{name + ':':<15} {shlex.join(argv)}" for name, argv in commands.items()]
    return Result(text="\n".join(lines), data={"file": str(project.path), "project": project.name,
                                                "compose": {"argv": list(project.cli.argv), "version": project.cli.version_text,
                                                            "why": project.cli.why},
                                                "commands": commands})
