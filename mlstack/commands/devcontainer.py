"""`mlstack devcontainer`: `.devcontainer/devcontainer.json` for one service of the dev stack.

It writes what `up` writes first (render, GPU plan and the other preflight checks, then
`.mlstack/<profile>/compose.yaml`), then a devcontainer.json that points VS Code or the Dev
Containers CLI at that file and the service (core/devcontainer.py, docs/devcontainer.md).
"""

from __future__ import annotations

import json
import os
from pathlib import Path as FsPath
from typing import Mapping

from mlstack.core.devcontainer import devcontainer, refresh_command
from mlstack.core.stack import STACK_FILE
from mlstack.engine.docker_facts import Engine
from mlstack.errors import UsageError
from mlstack.lifecycle import preflight, running
from mlstack.lifecycle.workspace import require_secrets, write_atomically
from mlstack.report import Result

CONFIG = FsPath(".devcontainer") / "devcontainer.json"


def run(stack_file: str | None, profile: str, service: str, force: bool, gpu: str | None = None, *,
        env: Mapping[str, str]) -> Result:
    project = running.render(stack_file, profile, env, gpu, create_dev_secrets=True)
    assert project.rendered is not None
    if service not in project.services:
        raise UsageError(f"--service {service}: no such service in profile {profile}; "
                         f"this stack has: {', '.join(project.services) or 'none'}")
    target = project.rendered.stack.directory / CONFIG
    if target.exists() and not force:
        raise UsageError(f"{os.path.relpath(target)} exists: mlstack does not overwrite it",
                         hint="--force replaces it (the compose file it points at is rewritten either way by `up`)")
    require_secrets(project.rendered)
    notices = preflight.run(project, Engine(env))   # the GPU plan and checks of `up`: PreflightError, nothing written
    running.write(project)
    compose_file = os.path.relpath(project.path, target.parent)
    stack = project.rendered.stack
    definition = os.path.relpath(stack.definition, stack.directory) if stack.definition is not None else None
    definition = None if definition == STACK_FILE else definition    # found without --file
    config = devcontainer(project.document, service, compose_file,
                          refresh_command(service, project.rendered.profile.name, definition, gpu))
    write_atomically(target, json.dumps(config, indent=2) + "\n")
    lines = [f"wrote {os.path.relpath(target)}: service {service} of {os.path.relpath(project.path)} "
             f"(Compose project {project.name})",
             f"  starts: {', '.join(config['runServices'])}; closing VS Code leaves them running (`mlstack down` stops them)"]
    lines += [f"  {line}" for line in notices]
    if "forwardPorts" in config:
        lines.append(f"  forwards: {', '.join(str(port) for port in config['forwardPorts'])}")
    lines += ["open it: VS Code \"Dev Containers: Reopen in Container\", or "
              f"`devcontainer up --workspace-folder {os.path.relpath(target.parent.parent)}`"]
    return Result(text="\n".join(lines), data={"file": str(target), "compose_file": str(project.path),
                                                "devcontainer": config, "notices": notices})
