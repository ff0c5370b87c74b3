"""Measuring a device's ceilings where no datasheet row holds them: a GPU missing from
archcalc/devices.py, or a dtype its row lacks. One probe per op family, each run for about
`seconds` and timed with the device's own clock (archcalc/throughput/timing.py), the best
iteration kept: a large matmul at the dtype under the current matmul setting (matmuls), a
convolution under the cuDNN setting (convolutions), at fp32 a matmul with TF32 forced off (the rest,
which runs on the CUDA cores), and a large copy (bandwidth). The same code runs on any device
string, so a CPU test runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..dtypes import TORCH_DTYPES
from ..peaks import FamilyPeak, Fp32Math, Peaks
from .precision import matmul_tf32_off
from .timing import clock_for, measure, synchronize

MAX_PROBE_ITERS = 1000


@dataclass(frozen=True, slots=True)
class ProbeSizes:
    """The probes' sizes: large enough to fill a datacenter GPU (defaults), smaller in tests."""

    matmul: int = 8192  # n of the n x n x n matmul
    conv_batch: int = 64
    conv_channels: int = 256  # in and out, 3x3 kernel, padding 1
    conv_size: int = 56  # height and width
    copy_bytes: int = 1 << 30


def best_seconds(step: Callable[[], Any], device: str, seconds: float, cuda: Any = None) -> float:
    """The fastest of as many timed runs of `step` as fit in about `seconds` (one warm-up run,
    one timed run to size the loop), on the device's clock."""
    first = measure(step, clock_for(device, cuda), 1, 1, sync=lambda: synchronize(device, cuda))
    iters = max(1, min(MAX_PROBE_ITERS, int(seconds / max(first[0], 1e-9))))
    times = measure(step, clock_for(device, cuda), 0, iters, sync=lambda: synchronize(device, cuda))
    return min(first + times)


def _tf32_capable(torch: Any, device: str, conv: bool) -> bool:
    """Whether the device has TF32 at all (NVIDIA from Ampere, compute capability 8); ROCm runs
    fp32 matmuls in TF32 where allowed on CDNA3 and later (gfx94x, gfx95x: MI300, MI350; an MI200
    has none), its convolutions never (MIOpen, devices.py)."""
    if not device.startswith("cuda"):
        return False
    if getattr(torch.version, "hip", None):
        arch = str(getattr(torch.cuda.get_device_properties(device), "gcnArchName", ""))
        return not conv and arch.startswith(("gfx94", "gfx95"))
    return bool(torch.cuda.get_device_capability(device)[0] >= 8)


def _conv_peak(torch: Any, device: str, dtype: str, seconds: float, sizes: ProbeSizes) -> tuple[float, str]:
    """FLOP/s of a same-size 3x3 convolution (padding 1) under the current cuDNN setting, and what ran."""
    batch, channels, size = sizes.conv_batch, sizes.conv_channels, sizes.conv_size
    torch_dtype = getattr(torch, TORCH_DTYPES[dtype])
    x = torch.randn(batch, channels, size, size, device=device, dtype=torch_dtype)
    w = torch.randn(channels, channels, 3, 3, device=device, dtype=torch_dtype)
    flops = 2 * batch * channels * channels * 9 * size * size
    took = best_seconds(lambda: torch.nn.functional.conv2d(x, w, padding=1), device, seconds)
    return flops / took, f"3x3 convolution, {batch}x{channels}x{size}x{size}"


def copy_bytes_per_s(torch: Any, device: str, seconds: float, sizes: ProbeSizes) -> float:
    """Bandwidth of a large device-to-device copy: its bytes read and written over its best time."""
    src = torch.empty(sizes.copy_bytes // 4, device=device, dtype=torch.float32)
    dst = torch.empty_like(src)
    return 2 * src.numel() * 4 / best_seconds(lambda: dst.copy_(src), device, seconds)


def probe_peaks(
    torch: Any,
    device: str,
    dtype: str,
    fp32_math: Fp32Math,
    name: str,
    seconds: float = 0.2,
    sizes: ProbeSizes = ProbeSizes(),
) -> Peaks:
    """Each family's ceiling on `device` at `dtype`, measured (see the module docstring)."""
    n = sizes.matmul
    torch_dtype = getattr(torch, TORCH_DTYPES[dtype])
    a = torch.randn(n, n, device=device, dtype=torch_dtype)
    b = torch.randn(n, n, device=device, dtype=torch_dtype)
    matmul_flops = 2 * n**3
    matmul = matmul_flops / best_seconds(lambda: torch.mm(a, b), device, seconds)
    fp32 = dtype == "fp32"

    def math(allowed: bool, conv: bool) -> str:
        return "tf32" if fp32 and allowed and _tf32_capable(torch, device, conv) else dtype

    def setting(text: str) -> str:
        return f" ({text})" if fp32 else ""

    conv, conv_ran = _conv_peak(torch, device, dtype, seconds, sizes)
    if fp32 and fp32_math.matmul_tf32:
        with matmul_tf32_off(torch):
            other = matmul_flops / best_seconds(lambda: torch.mm(a, b), device, seconds)
        other_why = f"best {n}x{n} matmul with TF32 off"
    else:  # the matmul just measured ran without TF32 (or at bf16/fp16): its figure stands for the rest
        other, other_why = matmul, "fp32 matmul figure (TF32 off)" if fp32 else f"the {dtype} matmul figure"
    families = (
        FamilyPeak(
            "conv",
            math(fp32_math.conv_tf32, conv=True),
            conv,
            f"measured: best {conv_ran} at {dtype}{setting(fp32_math.conv_setting)}",
        ),
        FamilyPeak(
            "matmul",
            math(fp32_math.matmul_tf32, conv=False),
            matmul,
            f"measured: best {n}x{n} matmul at {dtype}{setting(fp32_math.matmul_setting)}",
        ),
        FamilyPeak("other", dtype, other, f"measured: {other_why}"),
    )
    return Peaks(
        name=name,
        source=f"measured on the device: best of each probe over about {seconds:g} s "
        f"({n}x{n} matmul, 3x3 convolution, {sizes.copy_bytes / 2**20:g} MiB copy)",
        bytes_per_s=copy_bytes_per_s(torch, device, seconds, sizes),
        families=families,
    )
