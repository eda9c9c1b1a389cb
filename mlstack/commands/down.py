"""`mlstack down`: stop and remove the stack's containers and network; volumes only with --volumes.

With --volumes the volumes are listed and the user confirms, unless --yes. Without a terminal to
ask on and without --yes it refuses (exit 2): data is never deleted by accident.
"""

from __future__ import annotations

from typing import Callable, Mapping

from mlstack.engine import compose
from mlstack.engine.docker_facts import Engine
from mlstack.errors import UsageError
from mlstack.lifecycle import running
from mlstack.report import Result


def run(stack_file: str | None, profile: str, volumes: bool, yes: bool, interactive: bool,
        confirm: Callable[[str], bool], *, env: Mapping[str, str]) -> Result:
    project = running.existing(stack_file, profile, env)
    doomed: list[str] = []
    if volumes:
        doomed = Engine(env).project_volumes(project.name)
        if doomed and not yes:
            listing = "\n  ".join(doomed)
            if not interactive:
                raise UsageError(f"down --volumes would delete {len(doomed)} volume(s) of {project.name} and the data "
                                 f"in them:\n  {listing}\nno terminal to confirm on: add --yes")
            if not confirm(f"Delete these volumes of {project.name} and all data in them?\n  {listing}\n"):
                return Result(text="nothing stopped, nothing deleted",
                              data={"project": project.name, "stopped": False, "volumes_removed": []})
    project.run(compose.down(project.target, volumes=volumes), capture=False, stdin_closed=True)
    kept = "" if volumes else " (volumes kept: `mlstack down --volumes` deletes them)"
    return Result(text=f"{project.name}: stopped and removed{kept}",
                  data={"project": project.name, "stopped": True, "volumes_removed": doomed})
