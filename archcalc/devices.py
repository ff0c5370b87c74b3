"""Peak compute and memory bandwidth of the accelerators archcalc knows: the roofline's ceilings.

Pure data, no torch: `archcalc roofline` reads it statically. Figures are the vendors' dense
(no 2:4 sparsity) peaks. fp32 is the plain CUDA-core peak (AMD: the fp32 matrix-core peak, which its
fp32 GEMMs use); tf32 the tensor-core peak an fp32 convolution or matmul meets when torch lets it
run in TF32 (which one does is archcalc/peaks.py's rule); bf16 and fp16 are tensor-core peaks with
fp32 accumulation, as torch runs them. A device without a tf32 figure has no TF32 (before Ampere).
The CPU has no table row, and neither has a GPU missing here: `archcalc bench` measures their peak.
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
    # words in a torch device name that make it another card despite the key's words (the H100 NVL,
    # an RTX 4090 Laptop GPU): such a name gets no row, and bench measures its peaks
    not_when: tuple[str, ...] = ()
    # whether torch can run fp32 convolutions in TF32 here: cuDNN can; MIOpen (ROCm) ignores the
    # setting in torch 2.13 (pytorch/pytorch#190711 wires it up)
    tf32_convs: bool = True
    # what torch's cuBLAS workspace size depends on (archcalc/workspaces.py): the compute capability's
    # major on NVIDIA, the gfx architecture on AMD
    compute_major: int | None = None
    rocm_arch: str | None = None

    @property
    def has_tf32(self) -> bool:
        return "tf32" in self.tflops

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
    # NVIDIA H100 Tensor Core GPU datasheet (SXM5): FP32 67 TF, TF32 494.7 TF dense (989 with
    # sparsity), BF16/FP16 989.4 TF dense (1,979 with sparsity), HBM3 3.35 TB/s
    "h100": DevicePeak(
        key="h100",
        name="NVIDIA H100 SXM",
        tflops={"fp32": 67.0, "tf32": 494.7, "bf16": 989.4, "fp16": 989.4},
        bandwidth_gbs=3350.0,
        source="NVIDIA H100 datasheet, SXM5",
        not_when=("NVL",),
        compute_major=9,
    ),
    # same datasheet, PCIe card: FP32 51 TF, TF32 378 TF dense, BF16/FP16 756 TF dense, HBM2e 2.0 TB/s
    "h100-pcie": DevicePeak(
        key="h100-pcie",
        name="NVIDIA H100 PCIe",
        tflops={"fp32": 51.0, "tf32": 378.0, "bf16": 756.0, "fp16": 756.0},
        bandwidth_gbs=2000.0,
        source="NVIDIA H100 datasheet, PCIe",
        compute_major=9,
    ),
    # NVIDIA H200 datasheet (SXM): the H100's compute, HBM3e 4.8 TB/s
    "h200": DevicePeak(
        key="h200",
        name="NVIDIA H200 SXM",
        tflops={"fp32": 67.0, "tf32": 494.7, "bf16": 989.4, "fp16": 989.4},
        bandwidth_gbs=4800.0,
        source="NVIDIA H200 datasheet, SXM",
        not_when=("NVL",),
        compute_major=9,
    ),
    # NVIDIA A100 datasheet (SXM 80GB): FP32 19.5 TF, TF32 156 TF dense (312 with sparsity),
    # BF16/FP16 312 TF dense, HBM2e 2,039 GB/s
    "a100": DevicePeak(
        key="a100",
        name="NVIDIA A100 SXM 80GB",
        tflops={"fp32": 19.5, "tf32": 156.0, "bf16": 312.0, "fp16": 312.0},
        bandwidth_gbs=2039.0,
        source="NVIDIA A100 datasheet, SXM 80GB",
        compute_major=8,
    ),
    # same datasheet, 40GB (SXM and PCIe): the same compute, HBM2 1,555 GB/s
    "a100-40gb": DevicePeak(
        key="a100-40gb",
        name="NVIDIA A100 40GB",
        tflops={"fp32": 19.5, "tf32": 156.0, "bf16": 312.0, "fp16": 312.0},
        bandwidth_gbs=1555.0,
        source="NVIDIA A100 datasheet, 40GB",
        compute_major=8,
    ),
    # same datasheet, PCIe 80GB: the same compute, HBM2e 1,935 GB/s
    "a100-pcie": DevicePeak(
        key="a100-pcie",
        name="NVIDIA A100 PCIe 80GB",
        tflops={"fp32": 19.5, "tf32": 156.0, "bf16": 312.0, "fp16": 312.0},
        bandwidth_gbs=1935.0,
        source="NVIDIA A100 datasheet, PCIe 80GB",
        compute_major=8,
    ),
    # NVIDIA L40S datasheet: FP32 91.6 TF, TF32 183 TF dense (366 with sparsity), BF16/FP16
    # 362.05 TF dense (733 with sparsity), GDDR6 864 GB/s
    "l40s": DevicePeak(
        key="l40s",
        name="NVIDIA L40S",
        tflops={"fp32": 91.6, "tf32": 183.0, "bf16": 362.05, "fp16": 362.05},
        bandwidth_gbs=864.0,
        source="NVIDIA L40S datasheet",
        compute_major=8,
    ),
    # NVIDIA L4 datasheet: FP32 30.3 TF, TF32 60 TF dense (120 sparse), BF16/FP16 121 TF dense
    # (242 sparse), GDDR6 300 GB/s
    "l4": DevicePeak(
        key="l4",
        name="NVIDIA L4",
        tflops={"fp32": 30.3, "tf32": 60.0, "bf16": 121.0, "fp16": 121.0},
        bandwidth_gbs=300.0,
        source="NVIDIA L4 datasheet",
        compute_major=8,
    ),
    # NVIDIA A10 datasheet: FP32 31.2 TF, TF32 62.5 TF dense (125 sparse), BF16/FP16 125 TF dense,
    # GDDR6 600 GB/s
    "a10": DevicePeak(
        key="a10",
        name="NVIDIA A10",
        tflops={"fp32": 31.2, "tf32": 62.5, "bf16": 125.0, "fp16": 125.0},
        bandwidth_gbs=600.0,
        source="NVIDIA A10 datasheet",
        compute_major=8,
    ),
    # NVIDIA Ada Lovelace architecture whitepaper, GeForce RTX 4090: FP32 82.6 TF, TF32 82.6 TF
    # dense, FP16/BF16 with FP32 accumulate 165.2 TF dense (330.3 with FP16 accumulate, which torch
    # does not use), GDDR6X 1,008 GB/s
    "rtx-4090": DevicePeak(
        key="rtx-4090",
        name="NVIDIA GeForce RTX 4090",
        tflops={"fp32": 82.6, "tf32": 82.6, "bf16": 165.2, "fp16": 165.2},
        bandwidth_gbs=1008.0,
        source="NVIDIA Ada Lovelace architecture whitepaper, RTX 4090",
        not_when=("LAPTOP", "D"),
        compute_major=8,
    ),
    # AMD Instinct MI300X datasheet: FP32 matrix and vector 163.4 TF, TF32 653.7 TF dense,
    # BF16/FP16 1,307.4 TF dense (2,614.9 with sparsity), HBM3 5.3 TB/s. torch (ROCm) names it
    # `AMD Instinct MI300X`
    "mi300x": DevicePeak(
        key="mi300x",
        name="AMD Instinct MI300X",
        tflops={"fp32": 163.4, "tf32": 653.7, "bf16": 1307.4, "fp16": 1307.4},
        bandwidth_gbs=5300.0,
        source="AMD Instinct MI300X datasheet",
        tf32_convs=False,
        rocm_arch="gfx942",
    ),
    # NVIDIA V100 datasheet (SXM2): FP32 15.7 TF, FP16 tensor 125 TF, HBM2 900 GB/s; no bf16, no TF32
    "v100": DevicePeak(
        key="v100",
        name="NVIDIA V100 SXM2",
        tflops={"fp32": 15.7, "fp16": 125.0},
        bandwidth_gbs=900.0,
        source="NVIDIA V100 datasheet, SXM2",
        not_when=("PCIE",),
        compute_major=7,
    ),
    # NVIDIA T4 datasheet: FP32 8.1 TF, FP16 tensor 65 TF, GDDR6 320 GB/s; no bf16, no TF32
    "t4": DevicePeak(
        key="t4",
        name="NVIDIA T4",
        tflops={"fp32": 8.1, "fp16": 65.0},
        bandwidth_gbs=320.0,
        source="NVIDIA T4 datasheet",
        compute_major=7,
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
    >>> match_device("NVIDIA A100-SXM4-40GB").key, match_device("NVIDIA A100 80GB PCIe").key
    ('a100-40gb', 'a100-pcie')
    >>> match_device("NVIDIA GeForce RTX 4090").key, match_device("AMD Instinct MI300X").key
    ('rtx-4090', 'mi300x')
    >>> [match_device(n) for n in ("NVIDIA GeForce GTX 1080", "NVIDIA H100 NVL", "NVIDIA GeForce RTX 4090 Laptop GPU")]
    [None, None, None]
    """
    words = torch_name.upper().replace("-", " ").split()
    # the most specific key first: h100-pcie before h100; a100-40gb before a100-pcie (the 40GB PCIe card)
    for key in sorted(DEVICES, key=lambda k: (-k.count("-"), -len(k), list(DEVICES).index(k))):
        parts = key.upper().split("-")
        row = DEVICES[key]
        if all(p in words for p in parts) and not any(w in words for w in row.not_when):
            return row
    return None
