"""GPU facts from recorded `docker info` and nvidia-smi outputs, and the decisions they lead to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlstack.core.gpu import HostGpu, decide, image_cuda
from mlstack.engine.docker_facts import (Address, cdi_devices_from_specs, engine_address, host_gpu,
                                         parse_cuda_header, parse_driver_query, short_reason, unreachable_message)

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def host(info: str, smi: str = "", query: str = "") -> HostGpu:
    return host_gpu(json.loads(fixture(info)), fixture(query) if query else "", fixture(smi) if smi else "")


def test_parsers():
    assert parse_driver_query(fixture("nvidia-smi-query-h100.txt")) == (
        ["550.54.15", "550.54.15"], ["NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3"])
    assert parse_cuda_header(fixture("nvidia-smi-h100.txt")) == (12, 4)
    assert parse_cuda_header(fixture("nvidia-smi-t4-470.txt")) == (11, 4)
    assert parse_driver_query(fixture("nvidia-smi-no-driver.txt")) == ([], [])
    assert parse_cuda_header(fixture("nvidia-smi-no-driver.txt")) is None


def test_host_facts_from_fixtures():
    assert host("docker-info-test-engine.json") == HostGpu(False, [], None, None, [])
    assert host("docker-info-nvidia-runtime.json", "nvidia-smi-h100.txt", "nvidia-smi-query-h100.txt") == HostGpu(
        True, [], "550.54.15", (12, 4), ["NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3"])
    assert host("docker-info-cdi.json").cdi_devices == ["nvidia.com/gpu=0", "nvidia.com/gpu=all"]
    assert host("docker-info-cdi.json").usable


JUPYTER = "quay.io/jupyter/pytorch-notebook:cuda12-pytorch-2.5.1"
NO_RUNTIME = "the Docker engine has no NVIDIA runtime and no CDI GPU devices"
TOOLKIT = "install the NVIDIA Container Toolkit and run `nvidia-ctk runtime configure --runtime=docker`, or use --gpu off"
CPU = "it runs on the CPU (CUDA code in it will not see a GPU)"

# (policy, docker info, nvidia-smi, nvidia-smi query, image env, expected Decision.line())
DECISIONS = [
    ("auto", "docker-info-test-engine.json", "", "", {},
     f"jupyter: GPU removed: {NO_RUNTIME}; {CPU}; {TOOLKIT}"),
    ("required", "docker-info-test-engine.json", "", "", {},
     f"jupyter: cannot start: {NO_RUNTIME}; {TOOLKIT}"),
    ("off", "docker-info-nvidia-runtime.json", "nvidia-smi-h100.txt", "nvidia-smi-query-h100.txt", {},
     "jupyter: GPU removed: GPU policy is off; runs on the CPU"),
    ("auto", "docker-info-nvidia-runtime.json", "nvidia-smi-h100.txt", "nvidia-smi-query-h100.txt", {},
     "jupyter: GPU kept: NVIDIA runtime present, driver 550.54.15 supports CUDA 12.4, image needs 12.0"),
    ("required", "docker-info-cdi.json", "", "", {},
     "jupyter: GPU kept: CDI GPU devices present"),
    ("auto", "docker-info-nvidia-runtime.json", "nvidia-smi-t4-470.txt", "nvidia-smi-query-t4-470.txt", {},
     f"jupyter: GPU removed: image {JUPYTER} needs CUDA 12.0, host driver 470.82.01 supports up to 11.4; {CPU}; "
     "upgrade the driver to >= 525 or use an image built for CUDA 11.4 (e.g. a cuda11.4 tag)"),
    ("required", "docker-info-nvidia-runtime.json", "nvidia-smi-t4-470.txt", "nvidia-smi-query-t4-470.txt", {},
     f"jupyter: cannot start: image {JUPYTER} needs CUDA 12.0, host driver 470.82.01 supports up to 11.4; "
     "upgrade the driver to >= 525 or use an image built for CUDA 11.4 (e.g. a cuda11.4 tag)"),
    # The image's own CUDA_VERSION (from `docker image inspect`) beats the tag.
    ("auto", "docker-info-nvidia-runtime.json", "nvidia-smi-h100.txt", "nvidia-smi-query-h100.txt",
     {"CUDA_VERSION": "12.6.2"},
     f"jupyter: GPU removed: image {JUPYTER} needs CUDA 12.6, host driver 550.54.15 supports up to 12.4; {CPU}; "
     "upgrade the driver to >= 560 or use an image built for CUDA 12.4 (e.g. a cuda12.4 tag)"),
]


@pytest.mark.parametrize("policy, info, smi, query, image_env, expected", DECISIONS)
def test_gpu_decisions(policy, info, smi, query, image_env, expected):
    facts = host(info, smi, query)
    [decision] = decide(policy, {"jupyter": JUPYTER}, facts, {"jupyter": image_cuda(JUPYTER, image_env, {})})
    assert decision.line() == expected


def test_cdi_specs_on_disk(tmp_path):
    (tmp_path / "nvidia.yaml").write_text(
        "cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices:\n- name: \"0\"\n  containerEdits: {}\n- name: all\n"
        "containerEdits:\n  hooks:\n  - hookName: createContainer\n", encoding="utf-8")
    assert cdi_devices_from_specs([tmp_path, tmp_path / "missing"]) == ["nvidia.com/gpu=0", "nvidia.com/gpu=all"]


def test_engine_address_order(tmp_path):
    assert engine_address({"DOCKER_HOST": "tcp://10.1.2.3:2376", "DOCKER_CONTEXT": "x"}) == Address(
        "tcp://10.1.2.3:2376", "DOCKER_HOST")
    assert engine_address({"DOCKER_CONFIG": str(tmp_path)}) == Address("unix:///var/run/docker.sock", "the default socket")
    assert not Address("ssh://build-box", "DOCKER_HOST").local


def test_unreachable_message_names_where_the_address_came_from():
    text = unreachable_message(Address("unix:///var/run/docker.sock", "the default socket"),
                               ConnectionRefusedError("[Errno 111] Connection refused"))
    assert text.startswith("cannot reach the Docker engine at unix:///var/run/docker.sock (from the default socket): "
                           "[Errno 111] Connection refused. ")
    assert "DOCKER_HOST" in text and "docker context" in text


@pytest.mark.parametrize("sdk_text, reason", [
    ("Error while fetching server API version: ('Connection aborted.', FileNotFoundError(2, 'No such file or directory'))",
     "No such file or directory"),
    ("Error while fetching server API version: ('Connection aborted.', PermissionError(13, 'Permission denied'))",
     "Permission denied"),
    ("Error while fetching server API version: HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded with "
     "url: /version (Caused by NewConnectionError(\"HTTPConnection(host='127.0.0.1', port=1): Failed to establish a new "
     "connection: [Errno 111] Connection refused\"))", "Connection refused"),
    ("something else entirely", "something else entirely"),
])
def test_the_reason_inside_the_sdk_error(sdk_text, reason):
    """Recorded from docker-py 7.1 against a missing socket and a closed port."""
    assert short_reason(Exception(sdk_text)) == reason
