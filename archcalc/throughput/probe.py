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

from ..peaks import FAMILIES, FamilyPeak, Fp32Math, Peaks
from .precision import matmul_tf32_off
from .timing import clock_for, measure, synchronize

TORCH_DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
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
    fp32 matmuls in TF32 where allowed (MI300), its convolutions never (MIOpen, devices.py)."""
    if not device.startswith("cuda"):
        return False
    if getattr(torch.version, "hip", None):
        return not conv
    return bool(torch.cuda.get_device_capability(device)[0] >= 8)


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
    torch_dtype = getattr(torch, TORCH_DTYPES[dtype])
    n = sizes.matmul
    a = torch.randn(n, n, device=device, dtype=torch_dtype)
    b = torch.randn(n, n, device=device, dtype=torch_dtype)
    matmul_flops = 2 * n**3
    matmul_s = best_seconds(lambda: torch.mm(a, b), device, seconds)
    fp32 = dtype == "fp32"

    def math(allowed: bool, conv: bool) -> str:
        return "tf32" if fp32 and allowed and _tf32_capable(torch, device, conv) else dtype

    mm_note = f" ({fp32_math.matmul_setting})" if fp32 else ""
    families = [
        FamilyPeak(
            "matmul",
            math(fp32_math.matmul_tf32, conv=False),
            matmul_flops / matmul_s,
            f"measured: best {n}x{n} matmul at {dtype}{mm_note}",
        )
    ]

    batch, channels, size = sizes.conv_batch, sizes.conv_channels, sizes.conv_size
    x = torch.randn(batch, channels, size, size, device=device, dtype=torch_dtype)
    w = torch.randn(channels, channels, 3, 3, device=device, dtype=torch_dtype)
    conv_flops = 2 * batch * channels * channels * 9 * size * size  # same-size output, padding 1
    conv_s = best_seconds(lambda: torch.nn.functional.conv2d(x, w, padding=1), device, seconds)
    conv_note = f" ({fp32_math.conv_setting})" if fp32 else ""
    families.append(
        FamilyPeak(
            "conv",
            math(fp32_math.conv_tf32, conv=True),
            conv_flops / conv_s,
            f"measured: best 3x3 convolution, {batch}x{channels}x{size}x{size}, at {dtype}{conv_note}",
        )
    )

    if fp32 and fp32_math.matmul_tf32:
        with matmul_tf32_off(torch):
            other_s = best_seconds(lambda: torch.mm(a, b), device, seconds)
        families.append(
            FamilyPeak("other", "fp32", matmul_flops / other_s, f"measured: best {n}x{n} matmul with TF32 off")
        )
    else:  # the matmul just measured ran without TF32 (or at bf16/fp16): its figure stands for the rest
        why = "fp32 matmul figure (TF32 off)" if fp32 else f"the {dtype} matmul figure"
        families.append(FamilyPeak("other", dtype, matmul_flops / matmul_s, f"measured: {why}"))

    elements = sizes.copy_bytes // 4
    src = torch.empty(elements, device=device, dtype=torch.float32)
    dst = torch.empty_like(src)
    copy_s = best_seconds(lambda: dst.copy_(src), device, seconds)
    return Peaks(
        name=name,
        source=f"measured on the device: best of each probe over about {seconds:g} s "
        f"({n}x{n} matmul, 3x3 convolution, {sizes.copy_bytes / 2**20:g} MiB copy)",
        bytes_per_s=2 * elements * 4 / copy_s,  # read and write
        families=tuple(sorted(families, key=lambda f: FAMILIES.index(f.family))),
    )
