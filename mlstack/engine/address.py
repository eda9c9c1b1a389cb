"""Which Docker engine mlstack and Compose talk to, and what to say when it does not answer."""

from __future__ import annotations

import json
import os
from mlstack.records import record
from pathlib import Path as FsPath

from mlstack.errors import EngineError

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Mapping


@record(frozen=True)
class Address:
    url: str
    source: str   # "DOCKER_HOST", "docker context 'desktop-linux'", "the default socket"

    @property
    def local(self) -> bool:
        """The engine runs on this machine: its data root, GPUs and ports are this host's."""
        return self.url.startswith(("unix://", "npipe://"))


def engine_address(env: Mapping[str, str]) -> Address:
    """The engine Compose will talk to: DOCKER_HOST, else the docker context, else the default socket."""
    if env.get("DOCKER_HOST"):
        return Address(env["DOCKER_HOST"], "DOCKER_HOST")
    name = env.get("DOCKER_CONTEXT") or _current_context_name(env)
    if name and name != "default":
        from docker.context import ContextAPI

        context = ContextAPI.get_context(name)
        if context is None:
            raise EngineError(f"docker context {name!r} does not exist",
                              hint="`docker context ls` lists them; `docker context use default` resets")
        return Address(context.Host, f"docker context {name!r}")
    default = "npipe:////./pipe/docker_engine" if os.name == "nt" else "unix:///var/run/docker.sock"
    return Address(default, "the default socket")


def _current_context_name(env: Mapping[str, str]) -> str | None:
    config = FsPath(env.get("DOCKER_CONFIG") or FsPath.home() / ".docker") / "config.json"
    try:
        return json.loads(config.read_text(encoding="utf-8")).get("currentContext")
    except (OSError, ValueError):
        return None


def unreachable_message(address: Address, error: Exception) -> str:
    return (f"cannot reach the Docker engine at {address.url} (from {address.source}): {error}. "
            "mlstack and docker compose talk to the engine named by DOCKER_HOST, else by the current docker "
            "context (`docker context ls`), else /var/run/docker.sock. Start Docker (Docker Desktop, or "
            "`sudo systemctl start docker`), or point DOCKER_HOST or `docker context use NAME` at a running "
            "engine; a permission error on the socket means your user is not in the docker group.")
