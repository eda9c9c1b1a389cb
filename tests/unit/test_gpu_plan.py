"""The GPU plan, as (host facts, image, policy) -> decision tables that read like NVIDIA's rules.

Hosts are nvidia-smi answers and docker info in tests/unit/fixtures/gpu-hosts; images are
`docker image inspect` answers in tests/unit/fixtures/images (see the fixtures README).
"""

from __future__ import annotations

import pytest
from gpu_fixtures import ORIGIN, docker_info, host, image, stack

from mlstack.core.gpu import plan_gpu
from mlstack.core.gpu_devices import reserves_gpu
from mlstack.core.gpu_host import HostGpu
from mlstack.core.model import from_data
from mlstack.engine.docker_facts import host_gpu

KEPT, MINOR, FORWARD, REMOVED = "kept", "kept, minor-version compatibility", "kept, forward compatibility", "removed"
IMAGES = ["cuda-11.8.0", "cuda-12.1.1", "cuda-12.4.1", "cuda-12.8.1", "cuda-13.0.3"]

# Every host against nvidia/cuda images of CUDA 11.8, 12.1, 12.4, 12.8, 13.0 under `auto`:
# the image's NVIDIA_REQUIRE_CUDA decides as the NVIDIA container CLI does (cuda>=X.Y, or one of
# its brand,driver groups: the LTS branches the image's compat package serves); where it holds
# through a group, CUDA runs through minor-version compatibility (same major) or NVIDIA's forward
# compatibility (a newer major, data-center GPUs only).
MATRIX = {
    #                        11.8     12.1     12.4     12.8     13.0
    "geforce-rtx4090-535": [KEPT,    KEPT,    MINOR,   REMOVED, REMOVED],
    "geforce-rtx3090-550": [KEPT,    KEPT,    KEPT,    REMOVED, REMOVED],
    "a100-525":            [KEPT,    MINOR,   MINOR,   REMOVED, REMOVED],
    "h100-550":            [KEPT,    KEPT,    KEPT,    MINOR,   FORWARD],
    "h100-570":            [KEPT,    KEPT,    KEPT,    KEPT,    FORWARD],
    "a100-mig-535":        [KEPT,    KEPT,    MINOR,   MINOR,   FORWARD],
    "t4-470":              [MINOR,   FORWARD, FORWARD, FORWARD, REMOVED],
    "no-driver":           [REMOVED, REMOVED, REMOVED, REMOVED, REMOVED],
}


def verdict(line: str) -> str:
    if "GPU removed" in line:
        return REMOVED
    if "forward compatibility" in line:
        return FORWARD
    return MINOR if "minor-version compatibility" in line else KEPT


@pytest.mark.parametrize("host_name, expected", MATRIX.items())
def test_every_host_against_every_cuda_image(host_name, expected):
    facts = host(host_name)
    found = []
    for name in IMAGES:
        plan = plan_gpu(stack(f"nvidia/cuda:{name[5:]}-base"), "auto", facts, {"jupyter": image(name)})
        found.append(verdict(plan.decisions[0].line()))
    assert found == expected


CUDA_12_4 = "nvidia/cuda:12.4.1-base-ubuntu22.04"
JUPYTER = "quay.io/jupyter/pytorch-notebook:cuda12-pytorch-2.5.1"
CPU = "it runs on the CPU (CUDA code in it will not see a GPU)"
TOOLKIT = "install the NVIDIA Container Toolkit and run `nvidia-ctk runtime configure --runtime=docker`, or use --gpu off"
NO_RUNTIME = "the Docker engine has no NVIDIA runtime and no CDI GPU devices"
RTX_535 = "GPU 0 NVIDIA GeForce RTX 4090 (brand geforce, driver 535.183.01, CUDA 12.2)"
H100S = ("0 NVIDIA H100 80GB HBM3 (GPU-0f3a9c2e-41b7-4d6a-8e15-7c2b9d4e6a10), "
         "1 NVIDIA H100 80GB HBM3 (GPU-7d2e1b4a-9c3f-4e58-a6b7-1f0e2d3c4b5a)")
DEVICES = "services.jupyter.deploy.resources.reservations.devices[0]"
MIG = "MIG-1b2c3d4e-5f60-5172-8394-a5b6c7d8e9f0"
LAPTOP = HostGpu()   # docker info without an nvidia runtime or CDI devices, no nvidia-smi
REMOTE = HostGpu(nvidia_runtime=True)   # a remote engine with the runtime: nvidia-smi here says nothing about it

# (host, image ref, image on the engine or None, reservation, service environment, policy, expected line)
CASES = [
    # CUDA 12.4 on the common 535 driver: the image's own requirement holds through its 535 group
    ("geforce-rtx4090-535", CUDA_12_4, "cuda-12.4.1", None, None, "required",
     f"jupyter: GPU kept: NVIDIA runtime present, driver 535.183.01 (CUDA 12.2), GPU 0, image needs CUDA 12.4 "
     f"(NVIDIA_REQUIRE_CUDA, image config); NVIDIA_REQUIRE_CUDA (image config) holds through "
     f"brand=geforce,driver>=535,driver<536, not cuda>=12.4; CUDA 12.4 on a CUDA 12.2 driver runs through minor-version "
     f"compatibility: no JIT of PTX newer than 12.2 (install driver >= 550.54.14 lifts that)"),
    # only a version known (not pulled yet, tag cuda12.4): minor-version compatibility, same verdict
    ("geforce-rtx4090-535", "ghcr.io/acme/train:2.5.1-cuda12.4", None, None, None, "auto",
     "jupyter: GPU kept: NVIDIA runtime present, driver 535.183.01 (CUDA 12.2), GPU 0, image needs CUDA 12.4 "
     "(tag 2.5.1-cuda12.4); image ghcr.io/acme/train:2.5.1-cuda12.4 is not on the engine yet: CUDA read from its tag; "
     "once pulled, its own NVIDIA_REQUIRE_CUDA decides; CUDA 12.4 on a CUDA 12.2 driver runs through minor-version "
     "compatibility: no JIT of PTX newer than 12.2 (install driver >= 550.54.14 lifts that)"),
    # the pytorch notebook: no NVIDIA_REQUIRE_CUDA, built for "cuda12": any 12.x runs on a driver >= 525.60.13
    ("geforce-rtx4090-535", JUPYTER, "pytorch-notebook-cuda12", None, None, "required",
     "jupyter: GPU kept: NVIDIA runtime present, driver 535.183.01 (CUDA 12.2), GPU 0, image needs CUDA 12.x "
     "(tag cuda12-pytorch-2.5.1)"),
    ("t4-470", JUPYTER, "pytorch-notebook-cuda12", None, None, "auto",
     f"jupyter: GPU removed: image {JUPYTER} needs CUDA 12.x (tag cuda12-pytorch-2.5.1); driver 470.82.01 supports "
     f"CUDA 11.4, and CUDA 12.x needs driver >= 525.60.13 even under minor-version compatibility; {CPU}; "
     "install driver >= 525.60.13 (CUDA 12.x), or use an image built for CUDA 11.x"),
    # CUDA 13 on the 535 GeForce: refused, naming the clause and the driver to install
    ("geforce-rtx4090-535", "nvidia/cuda:13.0.3-base-ubuntu24.04", "cuda-13.0.3", None, None, "required",
     f"jupyter: cannot start: NVIDIA_REQUIRE_CUDA (image config) fails on {RTX_535}: cuda>=13.0 is false, and none of "
     "its 60 other alternatives holds (the NVIDIA container CLI refuses to start it: unsatisfied condition: cuda>=13.0); "
     "install driver >= 580.65.06 (CUDA 13.0)"),
    # CUDA 12.8 on 535: refused by the runtime, though minor-version compatibility would run it
    ("geforce-rtx4090-535", "nvidia/cuda:12.8.1-base-ubuntu22.04", "cuda-12.8.1", None, None, "auto",
     f"jupyter: GPU removed: NVIDIA_REQUIRE_CUDA (image config) fails on {RTX_535}: cuda>=12.8 is false, and none of "
     f"its 60 other alternatives holds (the NVIDIA container CLI refuses to start it: unsatisfied condition: cuda>=12.8); "
     f"{CPU}; install driver >= 570.26 (CUDA 12.8), or set NVIDIA_DISABLE_REQUIRE=1 in the service's environment: "
     "driver 535.183.01 runs CUDA 12.x through minor-version compatibility (no JIT of newer PTX)"),
    # ... which NVIDIA_DISABLE_REQUIRE=1 does: the runtime skips the check, compatibility decides
    ("geforce-rtx4090-535", "nvidia/cuda:12.8.1-base-ubuntu22.04", "cuda-12.8.1", None, {"NVIDIA_DISABLE_REQUIRE": "1"},
     "required",
     "jupyter: GPU kept: NVIDIA runtime present, driver 535.183.01 (CUDA 12.2), GPU 0, image needs CUDA 12.8 "
     "(NVIDIA_REQUIRE_CUDA, image config); NVIDIA_DISABLE_REQUIRE=1 (service environment): the runtime skips "
     "NVIDIA_REQUIRE_*; decided by CUDA compatibility; CUDA 12.8 on a CUDA 12.2 driver runs through minor-version "
     "compatibility: no JIT of PTX newer than 12.2 (install driver >= 570.26 lifts that)"),
    # a legacy image (CUDA_VERSION, no NVIDIA_REQUIRE_CUDA) requires cuda>=MAJOR.MINOR exactly
    ("geforce-rtx4090-535", "acme/legacy:1", None, None, {"CUDA_VERSION": "12.4.1"}, "auto",
     f"jupyter: GPU removed: CUDA_VERSION=12.4.1 (service environment) without NVIDIA_REQUIRE_CUDA fails on {RTX_535}: "
     f"cuda>=12.4 is false (the NVIDIA container CLI refuses to start it: unsatisfied condition: cuda>=12.4); {CPU}; "
     "install driver >= 550.54.14 (CUDA 12.4), or set NVIDIA_DISABLE_REQUIRE=1 in the service's environment: driver "
     "535.183.01 runs CUDA 12.x through minor-version compatibility (no JIT of newer PTX)"),
    # brand alternatives: a requirement of the service's own, per GPU
    ("h100-550", "acme/app:1", None, None, {"NVIDIA_REQUIRE_CUDA": "cuda>=12.6 brand=tesla,driver>=550"}, "required",
     "jupyter: cannot start: NVIDIA_REQUIRE_CUDA (service environment) fails on GPU 0 NVIDIA H100 80GB HBM3 (brand "
     "nvidia, driver 550.54.15, CUDA 12.4): cuda>=12.6 is false, and none of its 1 other alternatives holds (the NVIDIA "
     "container CLI refuses to start it: unsatisfied condition: cuda>=12.6); install driver >= 560.28.03 (CUDA 12.6), or "
     "set NVIDIA_DISABLE_REQUIRE=1 in the service's environment: driver 550.54.15 runs CUDA 12.x through minor-version "
     "compatibility (no JIT of newer PTX)"),
    ("h100-550", "acme/app:1", None, None, {"NVIDIA_REQUIRE_CUDA": "cuda=>12.4"}, "auto",
     "jupyter: GPU removed: NVIDIA_REQUIRE_CUDA (service environment) has the clause 'cuda=>12.4', which the NVIDIA "
     f"container CLI rejects (requirement error: invalid expression); {CPU}; correct it, or set NVIDIA_DISABLE_REQUIRE=1 "
     "in the service's environment"),
    # devices: a count larger than the GPUs present, ids that name no GPU
    ("h100-550", CUDA_12_4, "cuda-12.4.1", {"driver": "nvidia", "count": 4, "capabilities": ["gpu"]}, None, "auto",
     f"jupyter: GPU removed: {DEVICES} asks for 4 GPUs, this host has 2: {H100S}; {CPU}; set count: 2 or count: all"),
    ("h100-550", CUDA_12_4, "cuda-12.4.1",
     {"driver": "nvidia", "device_ids": ["GPU-00000000-0000-0000-0000-000000000000"], "capabilities": ["gpu"]}, None,
     "required",
     f"jupyter: cannot start: {DEVICES} names GPU GPU-00000000-0000-0000-0000-000000000000, which this host does not have "
     f"(GPUs here: {H100S}); use an index, GPU-/MIG- UUID or GPU:MIG index listed by `nvidia-smi -L`"),
    ("h100-550", CUDA_12_4, "cuda-12.4.1", {"driver": "nvidia", "device_ids": ["1"], "capabilities": ["gpu"]}, None,
     "required",
     "jupyter: GPU kept: NVIDIA runtime present, driver 550.54.15 (CUDA 12.4), GPU 1, image needs CUDA 12.4 "
     "(NVIDIA_REQUIRE_CUDA, image config)"),
    # MIG devices, by UUID and by GPU:MIG index
    ("a100-mig-535", "nvidia/cuda:12.1.1-base-ubuntu22.04", "cuda-12.1.1",
     {"driver": "nvidia", "device_ids": [MIG], "capabilities": ["gpu"]}, None, "required",
     "jupyter: GPU kept: NVIDIA runtime present, driver 535.104.05 (CUDA 12.2), GPU 0, image needs CUDA 12.1 "
     "(NVIDIA_REQUIRE_CUDA, image config)"),
    ("a100-mig-535", "nvidia/cuda:12.1.1-base-ubuntu22.04", "cuda-12.1.1",
     {"driver": "nvidia", "device_ids": ["0:1", "0:2"], "capabilities": ["gpu"]}, None, "auto",
     f"jupyter: GPU removed: {DEVICES} names GPU 0:2, which this host does not have (GPUs here: 0 NVIDIA A100-SXM4-80GB "
     f"(GPU-e2b7a9c4-1d3f-4b6e-8a05-9f7c2d1e3b48); MIG devices 0:0 3g.40gb ({MIG}), 0:1 3g.40gb "
     f"(MIG-9e8d7c6b-5a49-5837-9261-f0e1d2c3b4a5)); {CPU}; use an index, GPU-/MIG- UUID or GPU:MIG index listed by "
     "`nvidia-smi -L`"),
    # capabilities: a GPU without `compute` runs no CUDA
    ("h100-550", CUDA_12_4, "cuda-12.4.1", None, {"NVIDIA_DRIVER_CAPABILITIES": "graphics,utility"}, "auto",
     "jupyter: GPU kept: NVIDIA runtime present, driver 550.54.15 (CUDA 12.4), GPU 0, 1, image needs CUDA 12.4 "
     "(NVIDIA_REQUIRE_CUDA, image config); NVIDIA_DRIVER_CAPABILITIES (service environment) = graphics,utility has no "
     "`compute`: CUDA cannot run in it"),
    # NVIDIA_VISIBLE_DEVICES in the service's environment: the reservation decides which GPUs
    ("h100-550", CUDA_12_4, "cuda-12.4.1", None, {"NVIDIA_VISIBLE_DEVICES": "1"}, "auto",
     "jupyter: GPU kept: NVIDIA runtime present, driver 550.54.15 (CUDA 12.4), GPU 0, 1, image needs CUDA 12.4 "
     "(NVIDIA_REQUIRE_CUDA, image config); NVIDIA_VISIBLE_DEVICES=1 (service environment) is replaced by the "
     "reservation's devices: Docker sets it from the device request"),
    # the common laptop: no NVIDIA runtime, no CDI
    (LAPTOP, JUPYTER, None, None, None, "auto", f"jupyter: GPU removed: {NO_RUNTIME}; {CPU}; {TOOLKIT}"),
    (LAPTOP, JUPYTER, None, None, None, "required", f"jupyter: cannot start: {NO_RUNTIME}; {TOOLKIT}"),
    (LAPTOP, JUPYTER, None, None, None, "off", "jupyter: GPU removed: GPU policy is off; it runs on the CPU"),
    # a remote engine: what mlstack cannot see, the engine decides; said in notes
    (REMOTE, CUDA_12_4, "cuda-12.4.1", {"driver": "nvidia", "count": 2, "capabilities": ["gpu"]}, None, "required",
     f"jupyter: GPU kept: NVIDIA runtime present, image needs CUDA 12.4 (NVIDIA_REQUIRE_CUDA, image config); {DEVICES}: "
     "GPU ids and counts not checked (nvidia-smi not available to mlstack for this engine); NVIDIA_REQUIRE_* not checked: "
     "the host driver is unknown (nvidia-smi not available to mlstack for this engine); CUDA 12.4 not checked against "
     "the driver: unknown (nvidia-smi not available to mlstack for this engine)"),
]


@pytest.mark.parametrize("host_facts, image_ref, image_name, device, environment, policy, expected", CASES)
def test_decisions(host_facts, image_ref, image_name, device, environment, policy, expected):
    facts = host(host_facts) if isinstance(host_facts, str) else host_facts
    images = {"jupyter": image(image_name) if image_name else None}
    plan = plan_gpu(stack(image_ref, device, environment), policy, facts, images)
    [decision] = plan.decisions
    assert decision.line() == expected
    assert plan.lines() == [f"gpu: {expected} (policy {policy})"]


# CDI: `driver: cdi` names devices that a CDI spec on the engine must define
CDI_HOST = host_gpu(docker_info("docker-info-cdi.json"))


@pytest.mark.parametrize("names, expected", [
    (["nvidia.com/gpu=all"], "jupyter: GPU kept: CDI GPU devices present, image needs CUDA 12.x (tag cuda12-pytorch-2.5.1); "
                             "CUDA 12.x not checked against the driver: unknown (nvidia-smi not available to mlstack for "
                             "this engine)"),
    (["nvidia.com/gpu=3"], f"jupyter: GPU removed: {DEVICES} names CDI device nvidia.com/gpu=3, which no CDI spec on the "
                           "engine defines (CDI GPU devices here: nvidia.com/gpu=0, nvidia.com/gpu=all); "
                           f"{CPU}; `nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml` writes the spec; "
                           "`nvidia-ctk cdi list` lists the names"),
])
def test_cdi_devices(names, expected):
    plan = plan_gpu(stack(JUPYTER, {"driver": "cdi", "device_ids": names}), "auto", CDI_HOST,
                    {"jupyter": image("pytorch-notebook-cuda12")})
    assert [d.line() for d in plan.decisions] == [expected]


def test_engine_not_reachable_keeps_the_reservation_and_says_so():
    [decision] = plan_gpu(stack(JUPYTER), "auto", None).decisions
    assert decision.line() == ("jupyter: GPU kept: engine not reachable: the reservation stays as written; "
                               "`mlstack up` decides on the engine it reaches")


def test_gpus_all_is_a_reservation_too():
    [decision] = plan_gpu(stack(CUDA_12_4, gpus="all"), "auto", LAPTOP).decisions
    assert decision.line() == f"jupyter: GPU removed: {NO_RUNTIME}; {CPU}; {TOOLKIT}"


@pytest.mark.parametrize("service, reserves", [
    ({"gpus": "all"}, True),
    ({"deploy": {"resources": {"reservations": {"devices": [{"capabilities": ["gpu"]}]}}}}, True),
    ({"deploy": {"resources": {"reservations": {"devices": [{"driver": "nvidia", "count": 1}]}}}}, True),
    ({"deploy": {"resources": {"reservations": {"devices": [{"driver": "cdi", "device_ids": ["nvidia.com/gpu=0"]}]}}}}, True),
    ({"deploy": {"resources": {"reservations": {"devices": [{"driver": "cdi", "device_ids": ["vendor.com/fpga=0"]}]}}}}, False),
    ({"deploy": {"resources": {"reservations": {"devices": [{"capabilities": ["tpu"]}]}}}}, False),
    # shapes the schema rejects (check and lint run past it): read as no capabilities or ids, not a crash
    ({"deploy": {"resources": {"reservations": {"devices": [{"driver": "nvidia", "capabilities": 1}]}}}}, True),
    ({"deploy": {"resources": {"reservations": {"devices": [{"capabilities": 1, "device_ids": 2}]}}}}, False),
    ({}, False),
])
def test_one_definition_of_reserves_a_gpu(service, reserves):
    assert reserves_gpu(from_data(service, ORIGIN)) is reserves


# (device_ids of an nvidia request, the GPU indexes given to the container, the ids that name no GPU),
# matched as nvidia-container-cli matches them (src/cli/common.c): UUIDs in any case, PCI bus ids
# with or without leading zeros, indexes, MIG UUIDs and GPU:MIG indexes (which give their GPU), `all`
@pytest.mark.parametrize("ids, chosen, missing", [
    (["1"], [1], []),
    (["gpu-7D2E1B4A-9C3F-4E58-A6B7-1F0E2D3C4B5A"], [1], []),
    (["0:2a:00.0"], [1], []),
    (["00000000:18:00.0", "1"], [0, 1], []),
    (["0,1"], [0, 1], []),
    (["all"], [0, 1], []),
    (["2", "0"], [0], ["2"]),
    (["0:0"], [], ["0:0"]),            # no MIG on these H100s
])
def test_which_gpus_an_id_names(ids, chosen, missing):
    from mlstack.core.gpu_devices import DeviceRequest, select

    gpus, unknown = select(DeviceRequest("nvidia", None, tuple(ids), ("gpu",), "x"), host("h100-550"))
    assert ([gpu.index for gpu in gpus], unknown) == (chosen, missing)


@pytest.mark.parametrize("host_facts, expected", [
    ("a100-mig-535", "NVIDIA runtime yes; CDI devices none; driver 535.104.05 (CUDA 12.2); GPUs 0 NVIDIA A100-SXM4-80GB "
                     "(GPU-e2b7a9c4-1d3f-4b6e-8a05-9f7c2d1e3b48); MIG devices 0:0 3g.40gb "
                     "(MIG-1b2c3d4e-5f60-5172-8394-a5b6c7d8e9f0), 0:1 3g.40gb (MIG-9e8d7c6b-5a49-5837-9261-f0e1d2c3b4a5)"),
    ("no-driver", "NVIDIA runtime yes; CDI devices none; driver none: NVIDIA-SMI has failed because it couldn't "
                  "communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running."),
    (LAPTOP, "NVIDIA runtime no; CDI devices none; driver unknown (no nvidia-smi for this engine)"),
])
def test_the_facts_doctor_shows(host_facts, expected):
    from mlstack.lifecycle.checks import gpu_facts

    assert gpu_facts(host(host_facts) if isinstance(host_facts, str) else host_facts) == expected
