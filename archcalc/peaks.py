"""Which peak a layer's arithmetic meets: one per op family (convolutions, matrix multiplies, the
rest), chosen by the dtype and by the settings that let fp32 run in TF32. Pure, no torch.

At fp32 torch hands convolutions to cuDNN and matmuls to cuBLAS, each with its own switch:
convolutions run on TF32 tensor cores when `torch.backends.cudnn.allow_tf32` is True (torch's
default; `torch.backends.cudnn.conv.fp32_precision = "tf32"` in torch 2.13's API), matmuls when
`torch.backends.cuda.matmul.allow_tf32` is (off by default; also
`torch.set_float32_matmul_precision("high")`, `torch.backends.cuda.matmul.fp32_precision`).
`bench` reads them from its torch (archcalc/throughput/precision.py); `roofline` assumes torch's
defaults unless its flags say otherwise (`assumed_fp32_math`). A bench of an fp32 convolution network held to the
fp32 CUDA-core peak reads "73% of peak" while the kernels face TF32's ceiling, seven times higher.
Everything else (pooling, normalisation, element-wise) runs on the CUDA cores: the fp32 peak.
At bf16 and fp16 every family is held to the dtype's tensor-core peak (optimistic for the
non-matrix ops, which keeps the bound a lower bound; they are memory-bound in any case).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .devices import DevicePeak
from .layers import OPS
from .layers.ops import Math

if TYPE_CHECKING:
    from .analysis import Row

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


def assumed_fp32_math(tf32_convs: bool | None, tf32_matmuls: bool | None) -> Fp32Math:
    """The TF32 settings a static roofline assumes: torch's defaults unless a flag says otherwise
    (`--tf32-convs/--no-tf32-convs`, `--tf32-matmuls/--no-tf32-matmuls`; None: not given).

    >>> m = assumed_fp32_math(None, True)
    >>> (m.conv_tf32, m.conv_setting), (m.matmul_tf32, m.matmul_setting)
    ((True, "torch.backends.cudnn.allow_tf32 = True, torch's default"), (True, '--tf32-matmuls'))
    """
    return Fp32Math(
        conv_tf32=TORCH_DEFAULTS.conv_tf32 if tf32_convs is None else tf32_convs,
        matmul_tf32=TORCH_DEFAULTS.matmul_tf32 if tf32_matmuls is None else tf32_matmuls,
        conv_setting=TORCH_DEFAULTS.conv_setting
        if tf32_convs is None
        else ("--tf32-convs" if tf32_convs else "--no-tf32-convs"),
        matmul_setting=TORCH_DEFAULTS.matmul_setting
        if tf32_matmuls is None
        else ("--tf32-matmuls" if tf32_matmuls else "--no-tf32-matmuls"),
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
        return FamilyPeak(family, "fp32", fp32, "not a convolution or matmul: the fp32 peak, no tensor cores")
    allowed, setting = (
        (fp32_math.conv_tf32, fp32_math.conv_setting)
        if family == "conv"
        else (fp32_math.matmul_tf32, fp32_math.matmul_setting)
    )
    if not allowed:
        return FamilyPeak(family, "fp32", fp32, f"TF32 off: {setting}")
    if not row.has_tf32:
        return FamilyPeak(family, "fp32", fp32, f"TF32 allowed ({setting}), but the {row.name} has no TF32")
    if family == "conv" and not row.tf32_convs:
        return FamilyPeak(
            family, "fp32", fp32, f"TF32 allowed ({setting}), but torch runs convolutions on the {row.name} in fp32"
        )
    return FamilyPeak(family, "tf32", row.tflops["tf32"] * 1e12, f"TF32 on: {setting}")


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


def macs_by_family(rows: Iterable[Row], extra: Mapping[str, int] | None = None) -> dict[str, int]:
    """MACs per op family over `rows`: each row's forward MACs, plus `extra[path]` (a training
    step's backward MACs of that row, which run the same kind of product on the same library).

    >>> from archcalc import analyze, load_spec
    >>> macs_by_family(analyze(load_spec("lenet5")).rows)
    {'conv': 357600, 'matmul': 58920, 'other': 0}
    """
    extra = extra or {}
    macs: dict[str, int] = dict.fromkeys(FAMILIES, 0)
    for row in rows:
        macs[family_of(row.op)] += row.macs + extra.get(row.path, 0)
    return macs


def main_family(work_by_family: Mapping[str, int]) -> str:
    """The family with the most work (the first of FAMILIES on a tie, and for no work at all): the
    one whose peak stands for the device where a single figure is asked for.

    >>> main_family({"conv": 5, "matmul": 7, "other": 0}), main_family({})
    ('matmul', 'conv')
    """
    return max(FAMILIES, key=lambda f: (work_by_family.get(f, 0), -FAMILIES.index(f)))


def peaks_json(peaks: Peaks, work_by_family: Mapping[str, int]) -> dict[str, Any]:
    """The JSON of a run's ceilings: every family's peak and why, and as `flops_per_s` the peak of
    the family with the most work (`flops_per_s_family`), the single figure of earlier versions."""
    main = main_family(work_by_family)
    return {
        "flops_per_s": peaks.flops_per_s(main),
        "flops_per_s_family": main,
        "bytes_per_s": peaks.bytes_per_s,
        "source": peaks.source,
        "families": families_json(peaks.families),
    }


def families_json(families: Iterable[FamilyPeak]) -> list[dict[str, Any]]:
    """Each family's peak as bench's JSON writes it (and a report of a bench run reads it back)."""
    return [{"family": f.family, "math": f.math, "flops_per_s": f.flops_per_s, "why": f.why} for f in families]
