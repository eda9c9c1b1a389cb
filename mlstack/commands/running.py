"""What the lifecycle commands share: the rendered file under `.mlstack/<profile>/` and its Compose target.

`up`, `pull` and `build` render the profile and write `<stack dir>/.mlstack/<profile>/compose.yaml`
(relative paths rebased to that directory, so `-f FILE -p PROJECT` is all Compose needs). The other
commands (`down`, `status`, `logs`, `exec`, `restart`) act on what is running: they reuse that
file as it is, and render it only when it does not exist yet.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Any

from mlstack.core.stack import find_stack_file
from mlstack.engine import compose
from mlstack.engine.discovery import ComposeCli, discover
from mlstack.errors import UsageError

if TYPE_CHECKING:  # the render pipeline costs ~100 ms to import; `status` never needs it
    from mlstack.core.pipeline import Rendered

RENDER_DIR = ".mlstack"


def rendered_path(stack_directory: FsPath, profile: str) -> FsPath:
    return stack_directory / RENDER_DIR / profile / "compose.yaml"


def say(line: str) -> None:
    """A progress or decision line for the person at the terminal (stderr; results go to stdout)."""
    sys.stderr.write(f"mlstack: {line}\n")
    sys.stderr.flush()


@dataclass
class Project:
    """A rendered profile (or the file written for it earlier) and how Compose reaches it."""

    path: FsPath
    name: str
    services: list[str]
    document: dict[str, Any]           # the rendered file's content
    target: compose.Target
    cli: ComposeCli
    rendered: Rendered | None = None   # None when reusing an existing file


def render(stack_file: str | None, profile: str, gpu: str | None = None,
           compose_profiles: tuple[str, ...] = (), create_dev_secrets: bool = False) -> Project:
    """Render the profile now (nothing written yet: preflight may still change the model)."""
    from mlstack.commands.common import build_profile

    rendered = build_profile(stack_file, profile, gpu, create_dev_secrets)
    path = rendered_path(rendered.stack.directory, rendered.profile.name)
    cli = discover()
    services = sorted(rendered.root.get("services").value) if rendered.root.get("services") is not None else []
    return Project(path, rendered.project_name, services, {}, compose.Target(cli.argv, str(path), rendered.project_name,
                                                                            compose_profiles), cli, rendered)


def write(project: Project) -> None:
    from mlstack.commands.render import write_atomically

    from mlstack.commands.common import ensure_templates

    assert project.rendered is not None
    ensure_templates(project.rendered.stack.directory)
    write_atomically(project.path, project.rendered.text(project.path.parent))
    project.document = project.rendered.document(project.path.parent)


# Commands acting on what runs enable every Compose service profile: `down` must also stop a
# service that `up --compose-profile NAME` started, `logs` and `exec` must reach it.
EVERY_COMPOSE_PROFILE = ("*",)


def existing(stack_file: str | None, profile: str, compose_profiles: tuple[str, ...] = EVERY_COMPOSE_PROFILE) -> Project:
    """The file `up` wrote for this profile; rendered and written first when there is none.

    The engine is asked first, with a timeout (a ping, a few ms): Compose itself waits forever
    on an engine that accepts a connection and never answers.
    """
    from mlstack.engine.docker_facts import Engine

    Engine()
    definition = find_stack_file(stack_file, FsPath.cwd())
    directory = definition.parent if definition is not None else FsPath.cwd()
    path = rendered_path(directory, profile)
    if not path.is_file():
        project = render(stack_file, profile, compose_profiles=compose_profiles)
        write(project)
        return project
    document = _load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not document.get("name"):
        raise UsageError(f"{os.path.relpath(path)} is not a file mlstack rendered: delete it and run `mlstack up`")
    cli = discover()
    services = sorted((document.get("services") or {}).keys())
    return Project(path, document["name"], services, document,
                   compose.Target(cli.argv, str(path), document["name"], compose_profiles), cli)


def check_services(project: Project, wanted: list[str]) -> None:
    unknown = [name for name in wanted if name not in project.services]
    if unknown:
        raise UsageError(f"unknown service{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                         f"this stack has: {', '.join(project.services) or 'none'}")


def _load(text: str) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)
