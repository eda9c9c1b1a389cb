"""The running stack: the rendered file under `.mlstack/<profile>/` and its Compose target.

`up`, `pull` and `build` render the profile and write `<stack dir>/.mlstack/<profile>/compose.yaml`
(relative paths rebased to that directory, so `-f FILE -p PROJECT` is all Compose needs). The other
commands (`down`, `status`, `logs`, `exec`, `restart`) act on what is running: they reuse that
file as it is, and render it only when it does not exist yet.
"""

from __future__ import annotations

import os
import threading
from mlstack.records import field, record
from pathlib import Path as FsPath

from mlstack.core.profiles import enabled_profiles
from mlstack.core.stack import STACK_FILE, find_stack_file
from mlstack.engine import compose
from mlstack.engine.discovery import ComposeCli, discover
from mlstack.errors import UsageError
from mlstack.report import say
from mlstack.lifecycle.workspace import RENDER_DIR, build_profile, ensure_templates, write_atomically

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any, Callable, Mapping, TypeVar

    from mlstack.core.pipeline import Rendered   # the render pipeline costs ~100 ms to import; `status` never needs it

    T = TypeVar("T")


def rendered_path(stack_directory: FsPath, profile: str) -> FsPath:
    return stack_directory / RENDER_DIR / profile / "compose.yaml"


def note_default_stack(stack_file: str | None) -> None:
    """Outside a stack directory the built-in default stack is used: say so, once, before acting on it."""
    if find_stack_file(stack_file, FsPath.cwd()) is None:
        say(f"no {STACK_FILE} here; using the built-in default stack (`mlstack init` creates one)")


@record
class Project:
    """A rendered profile (or the file written for it earlier) and how Compose reaches it."""

    path: FsPath
    name: str
    services: list[str]
    document: dict[str, Any]           # the rendered file's content
    target: compose.Target
    cli: ComposeCli
    env: dict[str, str] = field(default_factory=dict)   # the process environment, as the CLI read it
    rendered: Rendered | None = None   # None when reusing an existing file

    def run(self, command: list[str], **options) -> compose.Completed:
        """Run a Compose command line for this project in the environment the CLI passed down."""
        return compose.run(command, env=self.env, **options)


def render(stack_file: str | None, profile: str, env: Mapping[str, str], gpu: str | None = None,
           compose_profiles: tuple[str, ...] = (), create_dev_secrets: bool = False) -> Project:
    """Render the profile now (nothing written yet: preflight may still change the model)."""
    note_default_stack(stack_file)
    rendered = build_profile(stack_file, profile, env, gpu, create_dev_secrets)
    path = rendered_path(rendered.stack.directory, rendered.profile.name)
    cli = discover(env)
    services = sorted(rendered.root.get("services").value) if rendered.root.get("services") is not None else []
    # Compose reads no .env beside the render: the service profiles the stack's environment
    # enables (COMPOSE_PROFILES) are passed as --profile, unless the command line names its own
    profiles = compose_profiles or rendered.compose_profiles
    target = compose.Target(cli.argv, str(path), rendered.project_name, profiles)
    return Project(path, rendered.project_name, services, {}, target, cli, dict(env), rendered)


def write(project: Project) -> None:
    """Write the rendered file, unless it already holds exactly this text (an `up` of an unchanged
    stack: the atomic write's fsync is the slowest part of it on a busy disk)."""
    assert project.rendered is not None
    ensure_templates(project.rendered.stack.directory)
    text = project.rendered.text(project.path.parent)
    try:
        unchanged = project.path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        unchanged = False
    if not unchanged:
        write_atomically(project.path, text)
    project.document = project.rendered.document(project.path.parent)


def background(function: Callable[..., T], *args: Any) -> Callable[[], T]:
    """Start `function(*args)` on a thread now; the callable returned waits for it and returns its
    result or raises its error. For waits on the engine (or nvidia-smi) that overlap with work here."""
    outcome: dict[str, Any] = {}

    def call() -> None:
        try:
            outcome["result"] = function(*args)
        except BaseException as error:  # noqa: BLE001 - handed to the caller, raised where it waits
            outcome["error"] = error

    thread = threading.Thread(target=call, name=f"mlstack-{getattr(function, '__name__', 'task')}", daemon=True)
    thread.start()

    def result() -> T:
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    return result


# Commands acting on what runs enable every Compose service profile: `down` must also stop a
# service that `up --compose-profile NAME` started, `logs` and `exec` must reach it.
EVERY_COMPOSE_PROFILE = ("*",)


def existing(stack_file: str | None, profile: str, env: Mapping[str, str]) -> Project:
    """The file `up` wrote for this profile; rendered and written first when there is none.

    The engine is asked first, with a timeout (a ping, a few ms): Compose itself waits forever
    on an engine that accepts a connection and never answers.
    """
    from mlstack.engine.docker_facts import Engine

    Engine(env)
    definition = find_stack_file(stack_file, FsPath.cwd())
    directory = definition.parent if definition is not None else FsPath.cwd()
    path = rendered_path(directory, profile)
    if not path.is_file():
        project = render(stack_file, profile, env, compose_profiles=EVERY_COMPOSE_PROFILE)
        write(project)
        return project
    note_default_stack(stack_file)
    document = _load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not document.get("name"):
        raise UsageError(f"{os.path.relpath(path)} is not a file mlstack rendered: delete it and run `mlstack up`")
    cli = discover(env)
    services = sorted((document.get("services") or {}).keys())
    return Project(path, document["name"], services, document,
                   compose.Target(cli.argv, str(path), document["name"], EVERY_COMPOSE_PROFILE), cli, dict(env))


def check_services(project: Project, wanted: list[str]) -> None:
    unknown = [name for name in wanted if name not in project.services]
    if unknown:
        raise UsageError(f"unknown service{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                         f"this stack has: {', '.join(project.services) or 'none'}")


def expected_services(document: dict, selected: list[str], compose_profiles: tuple[str, ...],
                      env: Mapping[str, str]) -> list[str]:
    """What `compose up` starts: the selected services (all, without a selection) and what they depend on.

    Services with `profiles:` start only when one of them is active (--compose-profile, or
    COMPOSE_PROFILES in `env`), unless selected by name, as in Compose.
    """
    services = document.get("services") or {}
    active = set(compose_profiles) | set(enabled_profiles(env))
    if selected:
        pending = list(selected)
    else:
        pending = [name for name, body in services.items()
                   if not body.get("profiles") or "*" in active or active & set(body["profiles"])]
    wanted: list[str] = []
    while pending:
        name = pending.pop(0)
        if name in wanted or name not in services:
            continue
        wanted.append(name)
        depends = services[name].get("depends_on") or {}
        pending += list(depends) if isinstance(depends, (dict, list)) else []
    return sorted(wanted)


def _load(text: str) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)
