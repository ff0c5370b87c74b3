"""Which peak a layer's arithmetic meets: one per op family (convolutions, matrix multiplies, the
rest), chosen by the dtype and by the settings that let fp32 run in TF32. Pure, no torch.

At fp32 torch hands convolutions to cuDNN and matmuls to cuBLAS, each with its own switch:
convolutions run on TF32 tensor cores when `torch.backends.cudnn.allow_tf32` is True (torch's
default), matmuls when `torch.backends.cuda.matmul.allow_tf32` is (off by default; also
`torch.set_float32_matmul_precision("high")`). A bench of an fp32 convolution network held to the
fp32 CUDA-core peak reads "73% of peak" while the kernels face TF32's ceiling, seven times higher.
Everything else (pooling, normalisation, element-wise) runs on the CUDA cores: the fp32 peak.
At bf16 and fp16 every family is held to the dtype's tensor-core peak (optimistic for the
non-matrix ops, which keeps the bound a lower bound; they are memory-bound in any case).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .devices import DevicePeak
from .layers import OPS
from .layers.ops import Math

FAMILIES: tuple[Math, ...] = ("conv", "matmul", "other")
FAMILY_NAMES: Mapping[str, str] = {"conv": "convolutions", "matmul": "matmuls", "other": "other ops"}


@dataclass(frozen=True, slots=True)
class Fp32Math:
    """Whether fp32 convolutions and matmuls may run in TF32, and where each setting was read."""

    conv_tf32: bool
    matmul_tf32: bool
    conv_setting: str
    matmul_setting: str


# torch's defaults: what a static roofline assumes unless told otherwise
TORCH_DEFAULTS = Fp32Math(
    conv_tf32=True,
    matmul_tf32=False,
    conv_setting="torch.backends.cudnn.allow_tf32 = True, torch's default",
    matmul_setting="torch.backends.cuda.matmul.allow_tf32 = False, torch's default",
)


@dataclass(frozen=True, slots=True)
class FamilyPeak:
    """The ceiling one op family meets: the arithmetic it runs, its FLOP/s, and why that one."""

    family: str
    math: str  # fp32, tf32, bf16 or fp16
    flops_per_s: float
    why: str


@dataclass(frozen=True, slots=True)
class Peaks:
    """A device's ceilings for one run: a FLOP/s per op family, one bandwidth, and their source."""

    name: str
    source: str
    bytes_per_s: float
    families: tuple[FamilyPeak, ...]

    def of(self, family: str) -> FamilyPeak:
        return next(f for f in self.families if f.family == family)

    def flops_per_s(self, family: str) -> float:
        return self.of(family).flops_per_s


def family_of(op: str) -> str:
    """The op family of a row's op (declared with the op, archcalc/layers/ops.py)."""
    return OPS[op].math


def _fp32_family(row: DevicePeak, family: str, fp32_math: Fp32Math) -> FamilyPeak:
    """The peak an fp32 op family meets on a table device."""
    fp32 = row.tflops["fp32"] * 1e12
    if family == "other":
        return FamilyPeak(family, "fp32", fp32, "not a convolution or matmul: fp32 on the CUDA cores")
    allowed, setting = (
        (fp32_math.conv_tf32, fp32_math.conv_setting)
        if family == "conv"
        else (fp32_math.matmul_tf32, fp32_math.matmul_setting)
    )
    if not allowed:
        return FamilyPeak(family, "fp32", fp32, f"TF32 off ({setting})")
    if not row.has_tf32:
        return FamilyPeak(family, "fp32", fp32, f"TF32 allowed ({setting}), but the {row.name} has no TF32")
    if family == "conv" and not row.tf32_convs:
        return FamilyPeak(
            family, "fp32", fp32, f"TF32 allowed ({setting}), but torch runs convolutions on the {row.name} in fp32"
        )
    return FamilyPeak(family, "tf32", row.tflops["tf32"] * 1e12, f"TF32 on ({setting})")


def table_peaks(row: DevicePeak, dtype: str, fp32_math: Fp32Math = TORCH_DEFAULTS) -> Peaks:
    """Each family's peak on a device of the table (archcalc/devices.py) at `dtype`; a dtype the
    device has no figure for (bf16 on a V100) is a ValueError.

    >>> from archcalc.devices import device_peak
    >>> p = table_peaks(device_peak("h100"), "fp32")
    >>> [(f.family, f.math, f.flops_per_s / 1e12) for f in p.families]
    [('conv', 'tf32', 494.7), ('matmul', 'fp32', 67.0), ('other', 'fp32', 67.0)]
    """
    if dtype == "fp32":
        families = tuple(_fp32_family(row, family, fp32_math) for family in FAMILIES)
    else:
        flops = row.flops_per_s(dtype)  # the ValueError for a dtype the device lacks
        why = f"{dtype} on the tensor cores"
        families = tuple(FamilyPeak(family, dtype, flops, why) for family in FAMILIES)
    return Peaks(name=row.name, source=row.source, bytes_per_s=row.bytes_per_s, families=families)


def uniform_peaks(name: str, source: str, flops_per_s: float, bytes_per_s: float, math: str, why: str) -> Peaks:
    """One measured ceiling for every family (a CPU, whose matmul and convolution share the cores)."""
    return Peaks(
        name=name,
        source=source,
        bytes_per_s=bytes_per_s,
        families=tuple(FamilyPeak(family, math, flops_per_s, why) for family in FAMILIES),
    )


def compute_seconds(flops_by_family: Mapping[str, int], peaks: Peaks) -> float:
    """The compute bound of work split by family: each family's FLOPs at its own peak, summed.

    >>> from archcalc.devices import device_peak
    >>> compute_seconds({"conv": 494_700_000_000_000, "other": 67_000_000_000_000}, table_peaks(device_peak("h100"), "fp32"))
    2.0
    """
    return sum(flops / peaks.flops_per_s(family) for family, flops in flops_by_family.items() if flops)
