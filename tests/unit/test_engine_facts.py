"""Engine facts from recorded outputs: GPU facts (docker info, nvidia-smi, image configs), addresses, reasons.

The decisions these facts lead to are in test_gpu_plan.py."""

from __future__ import annotations


import pytest
from gpu_fixtures import FIXTURES, docker_info, host, image

from mlstack.core.gpu_host import Gpu, HostGpu, MigDevice
from mlstack.engine.address import Address, engine_address, unreachable_message
from mlstack.engine.docker_facts import (cdi_devices_from_specs, host_gpu, parse_gpu_query, parse_smi_details,
                                         parse_smi_list, short_reason)

H100_0 = Gpu(0, "GPU-0f3a9c2e-41b7-4d6a-8e15-7c2b9d4e6a10", "NVIDIA H100 80GB HBM3", "nvidia", "9.0", "00000000:18:00.0")
H100_1 = Gpu(1, "GPU-7d2e1b4a-9c3f-4e58-a6b7-1f0e2d3c4b5a", "NVIDIA H100 80GB HBM3", "nvidia", "9.0", "00000000:2A:00.0")


def test_host_facts_from_docker_info_and_nvidia_smi():
    assert host_gpu(docker_info("docker-info-test-engine.json")) == HostGpu(False, [], None, None, None, "")
    assert host("h100-550") == HostGpu(True, [], "550.54.15", (12, 4), [H100_0, H100_1], "")
    assert host_gpu(docker_info("docker-info-cdi.json")).cdi_devices == ["nvidia.com/gpu=0", "nvidia.com/gpu=all"]


def test_mig_devices_from_nvidia_smi_list():
    [a100] = host("a100-mig-535").gpus
    assert a100.mig == (MigDevice(0, 0, "MIG-1b2c3d4e-5f60-5172-8394-a5b6c7d8e9f0", "3g.40gb"),
                        MigDevice(0, 1, "MIG-9e8d7c6b-5a49-5837-9261-f0e1d2c3b4a5", "3g.40gb"))
    # drivers before R470 wrote the MIG UUID as MIG-GPU-<uuid>/<gi>/<ci>
    old = "GPU 0: A100-SXM4-40GB (UUID: GPU-5c89852c)\n  MIG 1g.5gb Device 0: (UUID: MIG-GPU-5c89852c/7/0)\n"
    assert parse_smi_list(old) == {0: [MigDevice(0, 0, "MIG-GPU-5c89852c/7/0", "1g.5gb")]}


def test_brand_and_arch_as_the_requirements_see_them():
    assert [(gpu.brand, gpu.arch) for gpu in host("geforce-rtx4090-535").gpus] == [("geforce", "8.9")]
    # driver 470 knows no compute_cap field: the query is asked without it, arch stays unknown
    assert [(gpu.brand, gpu.arch) for gpu in host("t4-470").gpus] == [("tesla", None)]
    assert parse_smi_details((FIXTURES / "gpu-hosts" / "t4-470" / "details.txt").read_text()) == {
        "cuda": (11, 4), "brands": ["Tesla"]}


def test_a_driver_nvidia_smi_cannot_reach():
    facts = host("no-driver")
    assert (facts.gpus, facts.driver_version) == ([], None)
    assert facts.smi_error.startswith("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.")
    assert parse_gpu_query("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.") == []


def test_image_config_env_and_labels():
    facts = image("cuda-12.4.1")
    assert facts.env["NVIDIA_REQUIRE_CUDA"].startswith("cuda>=12.4 brand=tesla,driver>=470,driver<471 ")
    assert (facts.env["CUDA_VERSION"], facts.env["NVIDIA_DRIVER_CAPABILITIES"]) == ("12.4.1", "compute,utility")
    assert "NVIDIA_REQUIRE_CUDA" not in image("pytorch-notebook-cuda12").env


def test_cdi_specs_on_disk(tmp_path):
    (tmp_path / "nvidia.yaml").write_text(
        "cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices:\n- name: \"0\"\n  containerEdits: {}\n- name: \"0:1\"\n"
        "  containerEdits: {}\n- name: all\ncontainerEdits:\n  hooks:\n  - hookName: createContainer\n", encoding="utf-8")
    assert cdi_devices_from_specs([tmp_path, tmp_path / "missing"]) == [
        "nvidia.com/gpu=0", "nvidia.com/gpu=0:1", "nvidia.com/gpu=all"]


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


def fake_nvidia_smi(host_name: str, knows_compute_cap: bool = True):
    """compose.run answering nvidia-smi from a host's fixtures; a driver before 510 rejects compute_cap."""
    from mlstack.engine.compose import Completed

    directory = FIXTURES / "gpu-hosts" / host_name
    asked = []

    def run(command, check=True, timeout=None, env=None):
        asked.append(command[1])
        if command[1] == "-L":
            return Completed(command, 0, (directory / "list.txt").read_text())
        if command[1] == "-q":
            return Completed(command, 0, (directory / "details.txt").read_text())
        if "compute_cap" in command[1] and not knows_compute_cap:
            return Completed(command, 2, 'Field "compute_cap" is not a valid field to query.\n\n')
        return Completed(command, 0, (directory / "query.csv").read_text())
    return run, asked


def test_nvidia_smi_is_asked_three_things_and_again_without_compute_cap_on_old_drivers(monkeypatch):
    from mlstack.engine import docker_facts

    run, asked = fake_nvidia_smi("t4-470", knows_compute_cap=False)
    monkeypatch.setattr(docker_facts.compose, "run", run)
    answers = docker_facts._ask_nvidia_smi()
    assert sorted(asked) == sorted(["--query-gpu=index,uuid,name,driver_version,pci.bus_id,compute_cap",
                                    "--query-gpu=index,uuid,name,driver_version,pci.bus_id", "-L", "-q"])
    facts = host_gpu(docker_info(), answers)
    assert (facts.driver_version, facts.cuda_version, [g.name for g in facts.gpus]) == ("470.82.01", (11, 4), ["Tesla T4"])


def test_what_nvidia_smi_says_without_a_driver_is_kept(monkeypatch):
    from mlstack.engine import docker_facts
    from mlstack.engine.compose import Completed

    text = (FIXTURES / "gpu-hosts" / "no-driver" / "query.csv").read_text()
    monkeypatch.setattr(docker_facts.compose, "run", lambda command, check=True, timeout=None, env=None: Completed(command, 9, text))
    facts = host_gpu(docker_info(), docker_facts._ask_nvidia_smi())
    assert facts.gpus == [] and facts.smi_error.startswith("NVIDIA-SMI has failed")
