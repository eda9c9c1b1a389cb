"""devcontainer.json from the compose model (core/devcontainer.py): pure cases."""

from __future__ import annotations

import pytest

from mlstack.core.devcontainer import devcontainer, forward_ports, refresh_command, remote_user, run_services, workspace_folder

GPU = {"resources": {"reservations": {"devices": [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]}}}
DOCUMENT = {
    "name": "team-dev",
    "services": {
        "trainer": {"image": "nvcr.io/nvidia/pytorch:24.08-py3", "deploy": GPU, "working_dir": "/workspace",
                    "depends_on": {"db": {"condition": "service_healthy"}},
                    "ports": [{"target": 6006, "published": "6006"}, {"target": 9000}]},
        "db": {"image": "postgres:16", "depends_on": ["init_db"], "ports": [{"target": 5432, "published": "5432"}]},
        "init_db": {"image": "busybox", "ports": [{"target": 1, "published": "1"}]},
        "unrelated": {"image": "redis:7"},
    },
}


def test_the_dev_container_starts_the_service_and_what_it_depends_on_transitively():
    assert run_services(DOCUMENT, "trainer") == ["db", "init_db", "trainer"]
    assert run_services(DOCUMENT, "unrelated") == ["unrelated"]


def test_ports_own_as_numbers_others_as_service_port_when_the_spec_can_name_them():
    # init_db: an underscore is outside the spec's `service:port` pattern, so it is not forwarded
    assert forward_ports(DOCUMENT, "trainer", run_services(DOCUMENT, "trainer")) == [6006, "db:5432"]


@pytest.mark.parametrize("body, expected", [
    ({"user": "vscode"}, "vscode"),
    ({"user": "ml:ml"}, "ml"),
    ({"user": "1000:100", "image": "quay.io/jupyter/pytorch-notebook:cuda12"}, "jovyan"),
    ({"image": "jupyter/base-notebook:latest"}, "jovyan"),
    ({"user": "0", "image": "quay.io/jupyter/base-notebook"}, None),     # root there is not jovyan
    ({"user": "1000"}, None),                                            # a uid of an unknown image
    ({}, None),
])
def test_remote_user_is_a_name_or_left_to_the_container(body, expected):
    assert remote_user(body) == expected


@pytest.mark.parametrize("body, expected", [
    ({"volumes": [{"type": "volume", "source": "v", "target": "/data"},
                  {"type": "bind", "source": "./src", "target": "/src"}]}, "/src"),
    ({"working_dir": "/workspace"}, "/workspace"),
    ({}, "/"),
])
def test_workspace_folder_is_the_bind_mount_else_the_working_dir_else_root(body, expected):
    assert workspace_folder(body) == expected


def test_a_gpu_service_keeps_its_reservation_in_the_compose_file_and_never_asks_devcontainers_for_one():
    config = devcontainer(DOCUMENT, "trainer", "../.mlstack/dev/compose.yaml", refresh_command("trainer", "dev", None, None))
    assert "hostRequirements" not in config and "runArgs" not in config
    assert DOCUMENT["services"]["trainer"]["deploy"] == GPU   # untouched: the file carries the GPU
    assert config == {
        "name": "team-dev trainer",
        "dockerComposeFile": "../.mlstack/dev/compose.yaml",
        "service": "trainer",
        "runServices": ["db", "init_db", "trainer"],
        "shutdownAction": "none",
        "overrideCommand": False,
        "workspaceFolder": "/workspace",
        "forwardPorts": [6006, "db:5432"],
        "customizations": {"vscode": {"extensions": ["ms-python.python"]}},
        "initializeCommand": ["mlstack", "devcontainer", "--service", "trainer", "--profile", "dev", "--force"],
    }


def test_the_refresh_command_repeats_the_stack_file_and_gpu_policy():
    assert refresh_command("api", "staging", "ml/stack.yaml", "required") == [
        "mlstack", "devcontainer", "--service", "api", "--profile", "staging", "--force",
        "--file", "ml/stack.yaml", "--gpu", "required"]
