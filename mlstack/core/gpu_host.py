"""What the host and its engine offer for GPUs: filled by the engine layer, read by the decision."""

from __future__ import annotations

from mlstack.records import field, record

from mlstack.core.gpu_tables import cuda_for_driver


@record(frozen=True)
class MigDevice:
    gpu: int          # the parent GPU's index
    index: int        # the MIG device's index on it (`0:1` names GPU 0, MIG device 1)
    uuid: str         # MIG-...
    profile: str = ""  # 3g.40gb


@record(frozen=True)
class Gpu:
    index: int
    uuid: str
    name: str
    brand: str | None = None    # the NVIDIA_REQUIRE_* brand word: geforce, tesla, nvidia... (nvidia-smi -q)
    arch: str | None = None     # compute capability, `8.0` (nvidia-smi --query-gpu=compute_cap)
    bus_id: str = ""
    mig: tuple[MigDevice, ...] = ()


@record
class HostGpu:
    """GPU facts. `gpus` is None when nvidia-smi was not asked (not installed, or a remote engine)."""

    nvidia_runtime: bool = False          # `nvidia` runtime in docker info, or the runtime hook here
    cdi_devices: list[str] = field(default_factory=list)   # nvidia.com/gpu=0 ...
    driver_version: str | None = None
    cuda_version: tuple[int, int] | None = None   # nvidia-smi's "CUDA Version": the driver's CUDA
    gpus: list[Gpu] | None = None
    smi_error: str = ""                   # what nvidia-smi said when it could not reach the driver

    @property
    def cdi_gpus(self) -> list[str]:
        return [name for name in self.cdi_devices if name.startswith("nvidia.com/gpu=")]

    @property
    def usable(self) -> bool:
        return self.nvidia_runtime or bool(self.cdi_gpus)

    @property
    def driver_cuda(self) -> tuple[int, int] | None:
        """The CUDA version the driver supports in full: the banner's, else from the toolkit table."""
        if self.cuda_version:
            return self.cuda_version
        return cuda_for_driver(self.driver_version) if self.driver_version else None

    def present(self) -> str:
        """The GPUs here, for messages: `0 NVIDIA H100 80GB HBM3 (GPU-...), 1 ...; MIG 0:0 3g.40gb (MIG-...)`."""
        if not self.gpus:
            return "none"
        text = ", ".join(f"{gpu.index} {gpu.name} ({gpu.uuid})" for gpu in self.gpus)
        migs = [mig for gpu in self.gpus for mig in gpu.mig]
        if migs:
            text += "; MIG devices " + ", ".join(f"{m.gpu}:{m.index} {m.profile} ({m.uuid})".replace("  ", " ")
                                                  for m in migs)
        return text
