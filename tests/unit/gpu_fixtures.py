"""Recorded-format host and image facts for the GPU tests (tests/unit/fixtures/README.md says what each is)."""

from __future__ import annotations

import json
from pathlib import Path

from mlstack.core.gpu import ImageFacts
from mlstack.core.gpu_host import HostGpu
from mlstack.core.model import Origin, from_data
from mlstack.engine.docker_facts import host_gpu, image_facts

FIXTURES = Path(__file__).parent / "fixtures"
ORIGIN = Origin("compose.yaml", 3)


def docker_info(name: str = "docker-info-nvidia-runtime.json") -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def host(name: str, info: str = "docker-info-nvidia-runtime.json") -> HostGpu:
    """A host from its docker info and its nvidia-smi answers (query.csv, list.txt, details.txt)."""
    directory = FIXTURES / "gpu-hosts" / name
    smi = {"query": (directory / "query.csv").read_text(), "list": (directory / "list.txt").read_text(),
           "details": (directory / "details.txt").read_text()}
    return host_gpu(docker_info(info), smi)


def image(name: str) -> ImageFacts:
    """`docker image inspect` of an image, as the engine answers it."""
    [inspected] = json.loads((FIXTURES / "images" / f"{name}.json").read_text(encoding="utf-8"))
    return image_facts(inspected)


def stack(image_ref: str, device: dict | None = None, environment: dict | None = None, gpus=None):
    service: dict = {"image": image_ref}
    if gpus is not None:
        service["gpus"] = gpus
    else:
        service["deploy"] = {"resources": {"reservations": {"devices": [
            device or {"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]}}}
    if environment:
        service["environment"] = environment
    return from_data({"services": {"jupyter": service, "mlflow": {"image": "ghcr.io/mlflow/mlflow:v2.17.0"}}}, ORIGIN)
