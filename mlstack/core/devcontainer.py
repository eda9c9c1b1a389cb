"""devcontainer.json for one service of a rendered stack: pure, from the compose model (docs/devcontainer.md).

The Dev Container points at the file `mlstack up` writes (`.mlstack/<profile>/compose.yaml`), so
VS Code and the Dev Containers CLI start the same project, with the same volumes, as `mlstack up`.
GPU access is in that file already, decided by mlstack's GPU plan; the configuration never sets
`hostRequirements.gpu`, whose Compose override the Dev Containers CLI writes without `driver` and
`count` (devcontainers/spec#469).
"""

from __future__ import annotations

from typing import Any, Mapping
from mlstack.patterns import lazy

# Extensions VS Code installs in the container, by service; any other service gets the default.
EXTENSIONS = {
    "jupyter": ["ms-python.python", "ms-toolsai.jupyter"],
    "api": ["ms-python.python", "ms-python.debugpy"],
}
DEFAULT_EXTENSIONS = ["ms-python.python"]

# Images whose user is known by name while the compose file gives a uid: the user VS Code runs as.
KNOWN_USERS = (
    (lazy(r"^(quay\.io/)?jupyter/"), "1000", "jovyan"),   # Jupyter Docker Stacks: NB_UID 1000 is jovyan
)

# The Dev Container spec's form of a port of another service: `service:port`.
SERVICE_PORT_NAME = lazy(r"^[a-z0-9-]+$")


def run_services(document: Mapping[str, Any], service: str) -> list[str]:
    """The service and every service it depends on, transitively, sorted: what the dev container starts."""
    services = document.get("services") or {}
    wanted, pending = set(), [service]
    while pending:
        name = pending.pop()
        if name in wanted or name not in services:
            continue
        wanted.add(name)
        depends = (services[name] or {}).get("depends_on") or {}
        pending += list(depends)
    return sorted(wanted)


def workspace_folder(body: Mapping[str, Any]) -> str:
    """Where VS Code opens (the spec requires it for Compose): the target of the service's first bind
    mount of a directory of this machine, else its working_dir, else `/`."""
    for mount in body.get("volumes") or []:
        if isinstance(mount, Mapping) and mount.get("type") == "bind" and mount.get("target"):
            return str(mount["target"])
    return str(body.get("working_dir") or "/")


def remote_user(body: Mapping[str, Any]) -> str | None:
    """The user name VS Code runs as: the service's `user:` when it is a name, else the name a
    known image gives its uid (KNOWN_USERS); None: the container's own user."""
    user = str(body.get("user") or "").split(":")[0]
    if user and not user.isdigit():
        return user
    image = str(body.get("image") or "")
    for pattern, uid, name in KNOWN_USERS:
        if pattern.match(image) and user in (uid, ""):
            return name
    return None


def forward_ports(document: Mapping[str, Any], service: str, started: list[str]) -> list[int | str]:
    """The published ports of what the dev container starts: the service's own as numbers (its
    container ports), the others' as `service:port`, as the spec writes a port of another service."""
    services = document.get("services") or {}
    own: list[int | str] = []
    others: list[int | str] = []
    for name in started:
        for entry in (services[name] or {}).get("ports") or []:
            if not isinstance(entry, Mapping) or not entry.get("published") or not str(entry.get("target", "")).isdigit():
                continue
            target = int(entry["target"])
            if name == service:
                own.append(target)
            elif SERVICE_PORT_NAME.match(name):
                others.append(f"{name}:{target}")
    return sorted(set(own), key=int) + sorted(set(others), key=str)


def port_labels(document: Mapping[str, Any], service: str) -> dict[str, dict[str, str]]:
    """`portsAttributes` of the service's own ports: the label its fragment's `x-mlstack.urls` gives."""
    urls = (document.get("x-mlstack") or {}).get("urls") or []
    return {str(url["port"]): {"label": str(url.get("label") or url["port"])}
            for url in sorted(urls, key=lambda url: str(url.get("port")))
            if isinstance(url, Mapping) and url.get("service") == service and url.get("port") is not None}


def refresh_command(service: str, profile: str, stack_file: str | None, gpu: str | None) -> list[str]:
    """`initializeCommand`: before the container starts, this host renders the file again and makes
    its own GPU decision (the file under .mlstack/ is this machine's, not one to commit)."""
    command = ["mlstack", "devcontainer", "--service", service, "--profile", profile, "--force"]
    command += ["--file", stack_file] if stack_file else []
    return command + (["--gpu", gpu] if gpu else [])


def devcontainer(document: Mapping[str, Any], service: str, compose_file: str, refresh: list[str]) -> dict[str, Any]:
    """The devcontainer.json content. `compose_file`: the rendered file, relative to `.devcontainer/`;
    `refresh`: the command that writes both again (`refresh_command`)."""
    body = (document.get("services") or {})[service] or {}
    started = run_services(document, service)
    config: dict[str, Any] = {
        "name": f"{document.get('name', 'mlstack')} {service}",
        "dockerComposeFile": compose_file,
        "service": service,
        "runServices": started,
        # mlstack owns the stack's lifecycle: closing VS Code leaves it running, `mlstack down` stops it
        "shutdownAction": "none",
        "overrideCommand": False,   # the service's own command (Jupyter, uvicorn) is the point
        "workspaceFolder": workspace_folder(body),
    }
    user = remote_user(body)
    if user:
        config["remoteUser"] = user
    ports = forward_ports(document, service, started)
    if ports:
        config["forwardPorts"] = ports
    labels = port_labels(document, service)
    if labels:
        config["portsAttributes"] = labels
    config["customizations"] = {"vscode": {"extensions": EXTENSIONS.get(service, DEFAULT_EXTENSIONS)}}
    config["initializeCommand"] = refresh
    return config
