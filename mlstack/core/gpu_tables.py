"""NVIDIA's published facts the GPU decision relies on, as data, each table with its source.

Nothing here decides; `core/gpu.py` reads these tables. When NVIDIA publishes a new toolkit,
a row is added here and docs/gpu.md quotes the same rows.
"""

from __future__ import annotations

import re

Version = tuple[int, ...]

# The minimum Linux x86_64 driver shipped with each CUDA toolkit release: the driver that supports
# every feature of that toolkit, PTX JIT of its code included.
# Source: NVIDIA CUDA Toolkit Release Notes, table "CUDA Toolkit and Corresponding Driver Versions"
# (docs.nvidia.com/cuda/cuda-toolkit-release-notes). Newest first.
TOOLKIT_DRIVER: list[tuple[tuple[int, int], Version]] = [
    ((13, 0), (580, 65, 6)),
    ((12, 9), (575, 51, 3)),
    ((12, 8), (570, 26)),
    ((12, 6), (560, 28, 3)),
    ((12, 5), (555, 42, 2)),
    ((12, 4), (550, 54, 14)),
    ((12, 3), (545, 23, 6)),
    ((12, 2), (535, 54, 3)),
    ((12, 1), (530, 30, 2)),
    ((12, 0), (525, 60, 13)),
    ((11, 8), (520, 61, 5)),
    ((11, 7), (515, 43, 4)),
    ((11, 6), (510, 39, 1)),
    ((11, 5), (495, 29, 5)),
    ((11, 4), (470, 42, 1)),
    ((11, 3), (465, 19, 1)),
    ((11, 2), (460, 27, 3)),
    ((11, 1), (455, 23)),
    ((11, 0), (450, 36, 6)),
    ((10, 2), (440, 33)),
    ((10, 1), (418, 39)),
    ((10, 0), (410, 48)),
]

# Minor-version compatibility: from CUDA 11 on, an application built with any toolkit of a major
# family runs, with a limited feature set (no JIT of PTX newer than the driver), on any driver at
# or above the family's minimum; no compat package is needed.
# Source: NVIDIA CUDA Compatibility guide, "Minor Version Compatibility", section "CUDA 11 and
# Later Defaults to Minor Version Compatibility", table 1 (docs.nvidia.com/deploy/cuda-compatibility),
# and the CUDA Toolkit Release Notes, table "CUDA Toolkit and Minimum Required Driver Version for
# CUDA Minor Version Compatibility" (11.x: 450.80.02, 12.x: 525.60.13, 13.x: 580).
MINOR_VERSION_MINIMUM: dict[int, Version] = {
    11: (450, 80, 2),
    12: (525, 60, 13),
    13: (580,),
}

# `nvidia-smi -q` "Product Brand" -> the brand word NVIDIA_REQUIRE_* compares against
# (`brand=geforce`, compared case-insensitively by libnvidia-container). The display names come
# from NVML's nvmlBrandType_t; the words from the brand groups of the nvidia/cuda images'
# NVIDIA_REQUIRE_CUDA (gitlab.com/nvidia/container-images/cuda, dist/*/base/Dockerfile).
BRAND_WORDS: dict[str, str] = {
    "geforce": "geforce",
    "geforce rtx": "geforcertx",
    "quadro": "quadro",
    "quadro rtx": "quadrortx",
    "nvidia rtx": "nvidiartx",
    "nvidia": "nvidia",
    "tesla": "tesla",
    "titan": "titan",
    "titan rtx": "titanrtx",
    "nvs": "nvs",
    "grid": "grid",
    "nvidia virtual applications": "vapps",
    "nvidia virtual pc": "vpc",
    "nvidia virtual compute server": "vcs",
    "nvidia rtx virtual workstation": "vws",
    "nvidia cloud gaming": "cloudgaming",
}


def brand_word(product_brand: str) -> str:
    """The NVIDIA_REQUIRE_* brand word for nvidia-smi's "Product Brand" (`GeForce RTX` -> `geforcertx`)."""
    key = " ".join(product_brand.lower().split())
    return BRAND_WORDS.get(key, key.replace(" ", "") or "unknown")


def version_tuple(text: str) -> Version:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def version_text(version: Version) -> str:
    return ".".join(str(part) for part in version)


def driver_text(version: Version) -> str:
    """A driver version as NVIDIA writes it: 580.65.06, 450.80.02."""
    return ".".join([str(version[0])] + [f"{part:02d}" for part in version[1:]])


def same_version(version: Version) -> Version:
    """Without trailing zeros, so that 12.4 and 12.4.0 compare equal, as libnvidia-container compares."""
    parts = list(version)
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def cuda_for_driver(driver: str) -> tuple[int, int] | None:
    """The newest CUDA whose full feature set a driver supports (when nvidia-smi's banner is not known)."""
    installed = same_version(version_tuple(driver))
    for cuda, minimum in TOOLKIT_DRIVER:
        if installed >= same_version(minimum):
            return cuda
    return None


def driver_for_cuda(cuda: tuple[int, int]) -> Version | None:
    """The minimum driver that supports CUDA major.minor in full (the toolkit's own driver)."""
    for version, minimum in reversed(TOOLKIT_DRIVER):
        if version >= cuda:
            return minimum
    return None
