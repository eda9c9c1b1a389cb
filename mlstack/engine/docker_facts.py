"""What the Docker engine and this host offer: GPU facts, images, disk, published ports (reachability: address.py).

The parsers (`host_gpu`, `parse_gpu_query`, `parse_smi_list`, `parse_smi_details`) are pure and
tested with recorded outputs; `Engine` reads through `engine.api` (the stdlib over a local socket) and imports
the Docker SDK only for what needs it (it costs about 200 ms).
"""

from __future__ import annotations

import os
import re
import shutil
from mlstack.records import record
from pathlib import Path as FsPath

from mlstack.engine import compose
from mlstack.engine.address import engine_address, unreachable_message
from mlstack.errors import EngineError
from mlstack.patterns import lazy

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Mapping

    # the GPU model is imported where a stack reserves a GPU, not on every `up` (~15 ms)
    from mlstack.core.gpu import ImageFacts
    from mlstack.core.gpu_host import HostGpu, MigDevice

CONNECT_TIMEOUT_S = 5
NVIDIA_HOOK = "nvidia-container-runtime-hook"


@record(frozen=True)
class PublishedPort:
    host_ip: str
    port: int
    protocol: str
    container: str
    project: str
    service: str


class Engine:
    """One connection to the engine: the cheap read-only calls through `engine.api`, the SDK on demand."""

    def __init__(self, env: Mapping[str, str]):
        from mlstack.engine import api

        self.env = dict(env)
        self.address = engine_address(self.env)
        self._host_gpu: HostGpu | None = None
        try:
            self.api = api.connect(self.address.url, CONNECT_TIMEOUT_S)
            self.api.ping()
            self._info = self.api.info()
        except api.Unreachable as error:
            raise EngineError(unreachable_message(self.address, short_reason(error))) from None
        except EngineError as error:  # it answers, but wrongly: say so, not "start Docker"
            raise EngineError(f"{error.message} (engine at {self.address.url}, from {self.address.source})",
                              hint=error.hint) from None

    def info(self) -> dict:
        return self._info

    def image(self, reference: str) -> ImageFacts | None:
        """The environment and labels of an image on the engine; None when it is not there (not pulled yet)."""
        from mlstack.engine.api import is_not_found

        try:
            return image_facts(self.api.inspect_image(reference))
        except Exception as error:
            if is_not_found(error):
                return None
            raise

    def published_ports(self) -> list[PublishedPort]:
        """Host ports held by the engine's running containers (one list request, no inspects)."""
        found = []
        for attrs in self.api.containers():
            labels = attrs.get("Labels") or {}
            name = (attrs.get("Names") or [""])[0].lstrip("/")
            for port in attrs.get("Ports") or []:
                if port.get("PublicPort"):
                    found.append(PublishedPort(port.get("IP") or "0.0.0.0", int(port["PublicPort"]), port.get("Type") or "tcp",
                                               name, labels.get("com.docker.compose.project", ""),
                                               labels.get("com.docker.compose.service", "")))
        return found

    def project_containers(self, project: str) -> list[dict]:
        """`docker inspect` data of the project's containers, stopped ones too (not `compose run` one-offs).

        In-process over the engine's socket: polling this costs a few ms, `compose ps` ~60 ms of CPU.
        """
        from mlstack.engine.api import is_not_found

        labels = [f"com.docker.compose.project={project}", "com.docker.compose.oneoff=False"]
        found = []
        for summary in self.api.containers(all=True, filters={"label": labels}):
            try:
                found.append(self.api.inspect_container(summary["Id"]))
            except Exception as error:
                if not is_not_found(error):  # removed between the list and the inspect
                    raise
        return found

    def follow(self, project: str):
        """The project's container events from now on (engine/events.py); a follower already closed
        when the engine does not offer the stream, so the health wait polls instead."""
        from mlstack.engine import events

        try:
            stream = self.api.events(events.filters(project))
        except EngineError:
            stream = None
        return events.Follower(stream, project)

    def project_volumes(self, project: str) -> list[str]:
        answer = self.api.volumes(filters={"label": [f"com.docker.compose.project={project}"]})
        return sorted(volume["Name"] for volume in (answer.get("Volumes") or []))

    def free_disk(self) -> tuple[str, int] | None:
        """(data root, free bytes) when the engine's data root is on this machine."""
        root = self._info.get("DockerRootDir")
        if not (self.address.local and root and os.path.isdir(root)):
            return None
        return root, shutil.disk_usage(root).free

    def host_gpu(self) -> HostGpu:
        """GPU facts, asked once per Engine; nvidia-smi and the runtime hook count only when the
        engine is on this machine (a remote engine's GPUs are not this host's)."""
        if self._host_gpu is None:
            outputs = {}
            hook = False
            if self.address.local:
                hook = shutil.which(NVIDIA_HOOK) is not None
                if shutil.which("nvidia-smi"):
                    outputs = _ask_nvidia_smi(self.env)
            self._host_gpu = host_gpu(self._info, outputs, hook, self._local_cdi_devices())
        return self._host_gpu

    def _local_cdi_devices(self) -> list[str]:
        if not self.address.local:
            return []
        return cdi_devices_from_specs([FsPath(d) for d in self._info.get("CDISpecDirs") or []])


def image_facts(inspected: dict) -> ImageFacts:
    """`docker image inspect` -> Config.Env (as a dict: NVIDIA_REQUIRE_CUDA, CUDA_VERSION ...) and Config.Labels."""
    from mlstack.core.gpu import ImageFacts

    config = inspected.get("Config") or {}
    env = dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)
    return ImageFacts(env, dict(config.get("Labels") or {}))


def short_reason(error: Exception) -> str:
    """The OS-level reason inside the SDK's nested error text: `No such file or directory`, `Connection refused`."""
    text = str(error)
    for pattern in (r"\[Errno \d+\] ([^\"')]+)", r"\w+Error\(\d+, '([^']+)'\)", r"(Read timed out|timed out)"):
        match = re.search(pattern, text)
        if match:
            return match.group(1).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__


# What mlstack asks nvidia-smi, by name; `host_gpu` reads the answers. compute_cap needs driver >= 510:
# older drivers refuse the whole query, which is then asked without it.
SMI_QUERY_FIELDS = ("index", "uuid", "name", "driver_version", "pci.bus_id", "compute_cap")
SMI_COMMANDS = {
    "query": ["nvidia-smi", f"--query-gpu={','.join(SMI_QUERY_FIELDS)}", "--format=csv,noheader"],
    "list": ["nvidia-smi", "-L"],
    "details": ["nvidia-smi", "-q"],
}


def _ask_nvidia_smi(env: dict[str, str] | None = None) -> dict[str, str]:
    """The three nvidia-smi answers, asked side by side (each costs 50-300 ms)."""
    from concurrent.futures import ThreadPoolExecutor

    def ask(command: list[str]) -> str:
        done = compose.run(command, check=False, timeout=15, env=env)
        if done.returncode != 0 and "compute_cap" in command[1]:
            done = compose.run([command[0], command[1].replace(",compute_cap", ""), command[2]], check=False, timeout=15,
                               env=env)
        return done.stdout + (done.stderr if done.returncode != 0 else "")

    with ThreadPoolExecutor(len(SMI_COMMANDS)) as pool:
        futures = {name: pool.submit(ask, command) for name, command in SMI_COMMANDS.items()}
        return {name: future.result() for name, future in futures.items()}


def host_gpu(info: dict, smi: dict[str, str] | None = None, hook: bool = False,
             cdi_from_specs: list[str] | None = None) -> HostGpu:
    """HostGpu from `docker info` JSON and nvidia-smi's answers ({"query", "list", "details"}; {} when
    nvidia-smi was not asked)."""
    from mlstack.core.gpu_host import Gpu, HostGpu
    from mlstack.core.gpu_tables import brand_word

    runtimes = info.get("Runtimes") or {}
    discovered = [device.get("ID", "") for device in info.get("DiscoveredDevices") or [] if device.get("Source") == "cdi"]
    host = HostGpu(nvidia_runtime="nvidia" in runtimes or hook,
                   cdi_devices=sorted(set(discovered) | set(cdi_from_specs or [])))
    if not smi:
        return host
    rows = parse_gpu_query(smi.get("query", ""))
    details = parse_smi_details(smi.get("details", ""))
    migs = parse_smi_list(smi.get("list", ""))
    if not rows:
        host.gpus = []
        host.smi_error = next((line.strip() for line in (smi.get("query") or smi.get("details") or "").splitlines()
                               if line.strip()), "no output")
        return host
    brands = details.get("brands", [])
    host.gpus = [Gpu(row["index"], row["uuid"], row["name"], brand_word(brands[i]) if i < len(brands) else None,
                     row.get("compute_cap"), row.get("pci.bus_id", ""), tuple(migs.get(row["index"], ())))
                 for i, row in enumerate(rows)]
    host.driver_version = rows[0]["driver_version"]
    host.cuda_version = details.get("cuda")
    return host


def parse_gpu_query(text: str) -> list[dict]:
    """`nvidia-smi --query-gpu=index,uuid,name,driver_version,pci.bus_id,compute_cap --format=csv,noheader`,
    one GPU a line (compute_cap absent on drivers before 510)."""
    rows = []
    for line in text.splitlines():
        parts = [part.strip() for part in line.split(",")]
        if len(parts) < 5 or not parts[0].isdigit() or not re.fullmatch(r"\d+(\.\d+)+", parts[3]):
            continue
        row = dict(zip(SMI_QUERY_FIELDS, parts))
        row["index"] = int(parts[0])
        if not re.fullmatch(r"\d+\.\d+", row.get("compute_cap", "")):
            row.pop("compute_cap", None)
        rows.append(row)
    return rows


_MIG_LINE = lazy(r"^\s+MIG\s+(\S+)\s+Device\s+(\d+):\s+\(UUID:\s+(MIG-[^)\s]+)\)")
_GPU_LINE = lazy(r"^GPU\s+(\d+):")


def parse_smi_list(text: str) -> dict[int, list[MigDevice]]:
    """MIG devices per GPU index from `nvidia-smi -L` (`  MIG 3g.40gb     Device  0: (UUID: MIG-...)`)."""
    from mlstack.core.gpu_host import MigDevice

    found: dict[int, list[MigDevice]] = {}
    gpu = None
    for line in text.splitlines():
        header = _GPU_LINE.match(line)
        if header:
            gpu = int(header[1])
            continue
        mig = _MIG_LINE.match(line)
        if mig and gpu is not None:
            found.setdefault(gpu, []).append(MigDevice(gpu, int(mig[2]), mig[3], mig[1]))
    return found


def parse_smi_details(text: str) -> dict:
    """`nvidia-smi -q`: the driver's CUDA version and each GPU's "Product Brand", in GPU order."""
    cuda = re.search(r"^CUDA Version\s*:\s*(\d+)\.(\d+)", text, re.MULTILINE)
    return {"cuda": (int(cuda[1]), int(cuda[2])) if cuda else None,
            "brands": re.findall(r"^\s+Product Brand\s*:\s*(.+?)\s*$", text, re.MULTILINE)}


def cdi_devices_from_specs(directories: list[FsPath]) -> list[str]:
    """`nvidia.com/gpu=0`, ... from CDI spec files (`nvidia-ctk cdi generate` writes /etc/cdi/nvidia.yaml)."""
    devices = []
    for directory in directories:
        for spec in sorted(directory.glob("*.y*ml")) + sorted(directory.glob("*.json")) if directory.is_dir() else []:
            try:
                text = spec.read_text(encoding="utf-8")
            except OSError:
                continue
            kind = re.search(r"""["']?kind["']?\s*:\s*["']?([\w.\-]+/[\w.\-]+)""", text)
            if kind is None:
                continue
            for name in re.findall(r"""["']?name["']?\s*:\s*["']?([\w.:\-]+)["']?""", text):
                devices.append(f"{kind[1]}={name}")
    return devices
