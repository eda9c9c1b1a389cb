"""`mlstack devcontainer`: the file `up` writes, and a devcontainer.json that points at it.

The Dev Container spec's rules for a Compose configuration (containers.dev, devcontainer.json
reference; `composeContainer` in its JSON schema) are asserted key by key in `assert_compose_config`.
On the hermetic engine (no NVIDIA runtime) mlstack's GPU plan removes the Jupyter reservation under
`auto` and refuses under `required`, as `up` does.
"""

from __future__ import annotations

import json
import random
import re
import subprocess

import pytest
import yaml

from tests import needs
from tests.cli.conftest import write
from tests.integration.engine import DOCKER_HOST

CONFIG = ".devcontainer/devcontainer.json"
# devcontainer.json's properties (the spec's reference) and the JSON types each may have
PROPERTIES = {"name": str, "dockerComposeFile": (str, list), "service": str, "runServices": list,
              "shutdownAction": str, "overrideCommand": bool, "workspaceFolder": str, "remoteUser": str,
              "forwardPorts": list, "portsAttributes": dict, "customizations": dict, "initializeCommand": (str, list)}
SERVICE_PORT = re.compile(r"^([a-z0-9-]+):(\d{1,5})$")


def assert_compose_config(config: dict) -> None:
    """What the Dev Container spec requires of a Compose configuration."""
    assert {"dockerComposeFile", "service", "workspaceFolder"} <= set(config)
    assert set(config) <= set(PROPERTIES), set(config) - set(PROPERTIES)
    assert all(isinstance(config[key], PROPERTIES[key]) for key in config)
    assert config["shutdownAction"] in ("none", "stopCompose")
    assert config["workspaceFolder"].startswith("/")
    assert all(isinstance(item, str) for item in config["runServices"])
    for port in config.get("forwardPorts", []):
        assert (isinstance(port, int) and 0 <= port <= 65535) or SERVICE_PORT.match(port), port
    assert all(re.fullmatch(r"\d+(-\d+)?", key) for key in config.get("portsAttributes", {}))
    assert "hostRequirements" not in config   # the GPU is in the compose file (devcontainers/spec#469)


@pytest.fixture
def stack(tmp_path):
    """A stack of its own (project name and host ports no one else on the shared engine uses)."""
    name = f"tools-dc-{random.randrange(16 ** 6):06x}"
    base = random.randrange(40000, 60000, 10)
    ports = {"API_PORT": base, "JUPYTER_PORT": base + 1, "MLFLOW_PORT": base + 2, "QDRANT_PORT": base + 3,
             "QDRANT_GRPC_PORT": base + 4, "REDIS_PORT": base + 5, "POSTGRES_PORT": base + 6}
    write(tmp_path, {"mlstack.yaml": f"name: {name}\n", "notebooks/.keep": ""})
    env = {"MLSTACK_COMPOSE": " ".join(needs.compose_argv() or ()), "DOCKER_HOST": DOCKER_HOST,
           "XDG_CACHE_HOME": str(tmp_path / "cache"), **{key: str(value) for key, value in ports.items()}}
    return name, env


def read_config(directory) -> dict:
    return json.loads((directory / CONFIG).read_text())


@pytest.mark.engine
@pytest.mark.compose
def test_jupyter_gets_the_file_up_writes_without_the_gpu_this_engine_cannot_give(mlstack, tmp_path, stack):
    name, env = stack
    done = mlstack("devcontainer", env=env)
    assert done.code == 0, done.err
    config = read_config(tmp_path)
    assert_compose_config(config)
    assert config["dockerComposeFile"] == "../.mlstack/dev/compose.yaml"
    assert (config["service"], config["runServices"], config["workspaceFolder"], config["remoteUser"]) == \
        ("jupyter", ["jupyter"], "/home/jovyan/work", "jovyan")
    assert config["forwardPorts"] == [8888]
    assert config["portsAttributes"] == {"8888": {"label": "JupyterLab"}}
    assert config["customizations"]["vscode"]["extensions"] == ["ms-python.python", "ms-toolsai.jupyter"]
    assert config["initializeCommand"] == ["mlstack", "devcontainer", "--service", "jupyter", "--profile", "dev", "--force"]
    rendered = yaml.safe_load((tmp_path / ".mlstack/dev/compose.yaml").read_text())
    assert rendered["name"] == f"{name}-dev"                  # the project `mlstack up` starts
    assert "deploy" not in rendered["services"]["jupyter"]    # GPU plan: no NVIDIA runtime here
    lines = done.out.splitlines()
    assert lines[0] == (f"wrote .devcontainer/devcontainer.json: service jupyter of .mlstack/dev/compose.yaml "
                        f"(Compose project {name}-dev)")
    assert any(line.startswith("  gpu: jupyter: GPU removed: the Docker engine has no NVIDIA runtime") for line in lines)
    assert lines[-1] == 'open it: VS Code "Dev Containers: Reopen in Container", or `devcontainer up --workspace-folder .`'
    # Compose reads the file the way the Dev Containers CLI hands it over
    services = subprocess.run([*needs.compose_argv(), "-f", str(tmp_path / ".mlstack/dev/compose.yaml"), "config",
                               "--services"], capture_output=True, text=True, check=True,
                              env={**env, "PATH": "/usr/local/bin:/usr/bin:/bin"}).stdout.split()
    assert set(config["runServices"]) <= set(services)


@pytest.mark.engine
@pytest.mark.compose
def test_the_api_starts_what_it_depends_on_and_forwards_their_ports(mlstack, tmp_path, stack):
    _, env = stack
    done = mlstack("devcontainer", "--service", "api", "--gpu", "off", env=env)
    assert done.code == 0, done.err
    config = read_config(tmp_path)
    assert_compose_config(config)
    assert config["runServices"] == ["api", "mlflow", "postgres", "qdrant", "redis"]
    assert config["workspaceFolder"] == "/app"
    assert config["forwardPorts"] == [8000, "mlflow:5000", "postgres:5432", "qdrant:6333", "qdrant:6334", "redis:6379"]
    assert "remoteUser" not in config                        # the image's own user
    assert config["initializeCommand"][-2:] == ["--gpu", "off"]


@pytest.mark.engine
@pytest.mark.compose
def test_gpu_required_on_an_engine_without_one_refuses_and_writes_nothing(mlstack, tmp_path, stack):
    _, env = stack
    done = mlstack("devcontainer", "--gpu", "required", env=env)
    assert done.code == 4, done.err
    assert done.err.startswith("mlstack: preflight failed; nothing was started:\n  gpu: jupyter: cannot start:")
    assert not (tmp_path / CONFIG).exists() and not (tmp_path / ".mlstack/dev/compose.yaml").exists()


@pytest.mark.engine
@pytest.mark.compose
def test_an_existing_file_is_kept_unless_forced(mlstack, tmp_path, stack):
    _, env = stack
    write(tmp_path, {CONFIG: "// mine\n{}\n"})
    done = mlstack("devcontainer", env=env)
    assert (done.code, done.out) == (2, "")
    assert done.err == ("mlstack: .devcontainer/devcontainer.json exists: mlstack does not overwrite it\n"
                        "hint: --force replaces it (the compose file it points at is rewritten either way by `up`)\n")
    assert (tmp_path / CONFIG).read_text() == "// mine\n{}\n"
    assert mlstack("devcontainer", "--force", env=env).code == 0
    assert read_config(tmp_path)["service"] == "jupyter"


@pytest.mark.compose
def test_an_unknown_service_is_a_usage_error(mlstack, tmp_path, stack):
    _, env = stack
    done = mlstack("devcontainer", "--service", "trainer", env=env)
    assert (done.code, done.out) == (2, "")
    assert done.err == ("mlstack: --service trainer: no such service in profile dev; "
                        "this stack has: api, jupyter, mlflow, postgres, qdrant, redis\n")
    assert not (tmp_path / ".devcontainer").exists()
