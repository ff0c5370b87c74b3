"""Peak compute and memory bandwidth of the accelerators archcalc knows: the roofline's ceilings.

Pure data, no torch: `archcalc roofline` reads it statically. Figures are the vendors' dense
(no 2:4 sparsity) peaks. fp32 is the plain CUDA-core peak: torch runs fp32 matmuls without TF32
unless told to (`torch.backends.cuda.matmul.allow_tf32`); bf16 and fp16 are tensor-core peaks.
The CPU has no table row: `archcalc bench` measures it with a short matmul probe.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DevicePeak:
    """One device's ceilings: TFLOP/s per dtype (2 FLOPs per multiply-accumulate) and GB/s."""

    key: str
    name: str
    tflops: dict[str, float]
    bandwidth_gbs: float
    source: str = ""

    def flops_per_s(self, dtype: str) -> float:
        """Peak FLOP/s at `dtype`; a dtype without a figure (bf16 on V100) is a ValueError."""
        try:
            return self.tflops[dtype] * 1e12
        except KeyError:
            raise ValueError(f"{self.name} has no {dtype} peak; choose one of {', '.join(self.tflops)}") from None

    @property
    def bytes_per_s(self) -> float:
        return self.bandwidth_gbs * 1e9


DEVICES: dict[str, DevicePeak] = {
    # NVIDIA H100 Tensor Core GPU datasheet (SXM5): FP32 67 TF, BF16/FP16 989.4 TF dense
    # (1,979 with sparsity), HBM3 3.35 TB/s
    "h100": DevicePeak(
        key="h100",
        name="NVIDIA H100 SXM",
        tflops={"fp32": 67.0, "bf16": 989.4, "fp16": 989.4},
        bandwidth_gbs=3350.0,
        source="NVIDIA H100 datasheet, SXM5",
    ),
    # same datasheet, PCIe card: FP32 51 TF, BF16/FP16 756 TF dense, HBM2e 2.0 TB/s
    "h100-pcie": DevicePeak(
        key="h100-pcie",
        name="NVIDIA H100 PCIe",
        tflops={"fp32": 51.0, "bf16": 756.0, "fp16": 756.0},
        bandwidth_gbs=2000.0,
        source="NVIDIA H100 datasheet, PCIe",
    ),
    # NVIDIA H200 datasheet (SXM): the H100's compute, HBM3e 4.8 TB/s
    "h200": DevicePeak(
        key="h200",
        name="NVIDIA H200 SXM",
        tflops={"fp32": 67.0, "bf16": 989.4, "fp16": 989.4},
        bandwidth_gbs=4800.0,
        source="NVIDIA H200 datasheet, SXM",
    ),
    # NVIDIA A100 datasheet (SXM 80GB): FP32 19.5 TF, BF16/FP16 312 TF dense, HBM2e 2,039 GB/s
    "a100": DevicePeak(
        key="a100",
        name="NVIDIA A100 SXM 80GB",
        tflops={"fp32": 19.5, "bf16": 312.0, "fp16": 312.0},
        bandwidth_gbs=2039.0,
        source="NVIDIA A100 datasheet, SXM 80GB",
    ),
    # NVIDIA L4 datasheet: FP32 30.3 TF, BF16/FP16 121 TF dense (242 sparse), GDDR6 300 GB/s
    "l4": DevicePeak(
        key="l4",
        name="NVIDIA L4",
        tflops={"fp32": 30.3, "bf16": 121.0, "fp16": 121.0},
        bandwidth_gbs=300.0,
        source="NVIDIA L4 datasheet",
    ),
    # NVIDIA A10 datasheet: FP32 31.2 TF, BF16/FP16 125 TF dense, GDDR6 600 GB/s
    "a10": DevicePeak(
        key="a10",
        name="NVIDIA A10",
        tflops={"fp32": 31.2, "bf16": 125.0, "fp16": 125.0},
        bandwidth_gbs=600.0,
        source="NVIDIA A10 datasheet",
    ),
    # NVIDIA V100 datasheet (SXM2): FP32 15.7 TF, FP16 tensor 125 TF, HBM2 900 GB/s; no bf16
    "v100": DevicePeak(
        key="v100",
        name="NVIDIA V100 SXM2",
        tflops={"fp32": 15.7, "fp16": 125.0},
        bandwidth_gbs=900.0,
        source="NVIDIA V100 datasheet, SXM2",
    ),
    # NVIDIA T4 datasheet: FP32 8.1 TF, FP16 tensor 65 TF, GDDR6 320 GB/s; no bf16
    "t4": DevicePeak(
        key="t4",
        name="NVIDIA T4",
        tflops={"fp32": 8.1, "fp16": 65.0},
        bandwidth_gbs=320.0,
        source="NVIDIA T4 datasheet",
    ),
}


def device_peak(key: str) -> DevicePeak:
    """The table row for a device key (`h100`), case-insensitive; unknown keys list the known ones."""
    try:
        return DEVICES[key.lower()]
    except KeyError:
        raise ValueError(f"unknown device {key!r}; choose one of {', '.join(DEVICES)}") from None


def match_device(torch_name: str) -> DevicePeak | None:
    """The table row for a name torch reports (`NVIDIA H100 80GB HBM3`), or None.

    >>> match_device("NVIDIA H100 80GB HBM3").key, match_device("NVIDIA H100 PCIe").key
    ('h100', 'h100-pcie')
    >>> match_device("NVIDIA GeForce RTX 4090") is None
    True
    """
    words = torch_name.upper().replace("-", " ").split()
    for key in sorted(DEVICES, key=len, reverse=True):  # h100-pcie before h100
        parts = key.upper().split("-")
        if parts[0] in words and all(p in words for p in parts[1:]):
            return DEVICES[key]
    return None
