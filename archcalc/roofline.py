"""The roofline model from the analyzer's rows: bytes each layer moves, its arithmetic intensity,
and the time a device's ceilings allow. Pure arithmetic, no torch.

A layer's time is bounded below by its compute (FLOPs / peak FLOP/s) and by its memory traffic
(bytes / bandwidth); the roofline bound is the larger of the two (Williams, Waterman & Patterson,
"Roofline", CACM 2009). Bytes moved are the compulsory traffic of one unfused kernel: it reads
its input and its parameters once and writes its output once, at the dtype. Each layer's compute
meets its own op family's peak (archcalc/peaks.py: an fp32 convolution may run in TF32, its pooling
not).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from .analysis import Row, dtype_bytes
from .arith import ratio
from .layers import OPS
from .layers.ops import op_rule
from .peaks import Peaks, family_of


@dataclass(frozen=True, slots=True)
class Traffic:
    """One layer's work for a batch: FLOPs (2 per MAC) and bytes read and written."""

    path: str
    kind: str
    flops: int
    input_bytes: int
    weight_bytes: int
    output_bytes: int

    @property
    def bytes(self) -> int:
        return self.input_bytes + self.weight_bytes + self.output_bytes

    @property
    def intensity(self) -> float:
        """Arithmetic intensity, FLOPs per byte moved (0 for a layer that moves nothing)."""
        return ratio(self.flops, self.bytes)


def traffic(row: Row, dtype: str = "fp32", batch: int = 1) -> Traffic:
    """Bytes a layer moves for `batch` examples: input elements read (branch outputs for a merge,
    the padded input for an op that pads apart), weights + biases once, output elements written.

    >>> from archcalc import analyze, load_spec
    >>> c1 = analyze(load_spec("lenet5")).rows[0]
    >>> t = traffic(c1, "fp32")
    >>> (t.input_bytes, t.weight_bytes, t.output_bytes, t.flops)   # 32x32x1 in, 156 params, 28x28x6 out
    (4096, 624, 18816, 235200)
    """
    size = dtype_bytes(dtype)
    if not op_rule(OPS, row.op, f"{row.path}, {row.kind}").moves_data:  # a view, or its input itself
        return Traffic(path=row.path, kind=row.kind, flops=0, input_bytes=0, weight_bytes=0, output_bytes=0)
    return Traffic(
        path=row.path,
        kind=row.kind,
        flops=2 * row.macs * batch,
        input_bytes=row.op_in_elements * size * batch,
        weight_bytes=row.params * size,
        output_bytes=prod(row.out_shape) * size * batch,
    )


@dataclass(frozen=True, slots=True)
class Bound:
    """A layer's roofline on one device: compute time, memory time, the bound and what sets it."""

    traffic: Traffic
    compute_s: float
    memory_s: float

    @property
    def bound_s(self) -> float:
        return max(self.compute_s, self.memory_s)

    @property
    def limit(self) -> str:
        """`compute` or `memory`: which ceiling the layer hits (a layer with no work: `none`)."""
        if self.bound_s == 0:
            return "none"
        return "compute" if self.compute_s >= self.memory_s else "memory"


def bound(t: Traffic, flops_per_s: float, bytes_per_s: float) -> Bound:
    """The roofline of one layer: max(FLOPs / peak, bytes / bandwidth).

    >>> b = bound(Traffic("c", "conv", flops=10**12, input_bytes=10**9, weight_bytes=0, output_bytes=0), 1e12, 1e12)
    >>> (b.compute_s, b.memory_s, b.limit)
    (1.0, 0.001, 'compute')
    """
    return Bound(t, ratio(t.flops, flops_per_s), ratio(t.bytes, bytes_per_s))


def ridge_point(flops_per_s: float, bytes_per_s: float) -> float:
    """The intensity (FLOPs/byte) above which a layer is compute-bound on the device."""
    return flops_per_s / bytes_per_s


def roofline(rows: tuple[Row, ...], dtype: str, batch: int, peaks: Peaks) -> list[Bound]:
    """Every layer's roofline bound on a device, for a batch at a dtype: its compute at the peak
    of its op family (archcalc/peaks.py)."""
    return [bound(traffic(row, dtype, batch), peaks.flops_per_s(family_of(row.op)), peaks.bytes_per_s) for row in rows]
