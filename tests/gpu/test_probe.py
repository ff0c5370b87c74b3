"""The probe bench runs on a GPU missing from the device table, run here on the GPU at hand: it must
not beat the datasheet where the table has the GPU, must see TF32 where torch allows it (the probe
is what tells an unknown card's TF32 peak from its fp32 one), and must leave torch's settings as it
found them. Skipped without CUDA (tests/gpu/conftest.py); the CPU dry run checks the code path."""

from __future__ import annotations

import pytest

from archcalc.devices import match_device
from archcalc.peaks import table_peaks
from archcalc.throughput.precision import fp32_math_of
from archcalc.throughput.probe import ProbeSizes, probe_peaks

from .suite import RECORD, settings

pytestmark = pytest.mark.gpu
S = settings()
SIZES = (
    ProbeSizes(matmul=128, conv_batch=1, conv_channels=16, conv_size=16, copy_bytes=1 << 20) if S.dry else ProbeSizes()
)
MARGIN = 1.05  # a measured peak above the datasheet by more than timer noise means a wrong FLOP count


def _settings(torch) -> tuple[str, str, bool]:
    return (
        torch.backends.cuda.matmul.fp32_precision,
        torch.backends.cudnn.conv.fp32_precision,
        torch.backends.cudnn.benchmark,
    )


@pytest.mark.parametrize("dtype", ["bf16", "fp32"])
def test_probe_stays_under_the_datasheet(dtype: str):
    import torch

    before = _settings(torch)
    name = torch.cuda.get_device_name() if not S.dry else "CPU"
    math = fp32_math_of(torch)
    measured = probe_peaks(torch, S.device, dtype, math, name, sizes=SIZES)
    assert _settings(torch) == before, "the probe left torch's settings changed"
    row = match_device(name)
    table = table_peaks(row, dtype, math) if row is not None and dtype in row.tflops else None
    for family in measured.families:
        datasheet = table.flops_per_s(family.family) if table else None
        RECORD.add(
            "probe",
            {
                "device": name,
                "dtype": dtype,
                "family": family.family,
                "math": family.math,
                "measured TFLOP/s": family.flops_per_s / 1e12,
                "datasheet TFLOP/s": datasheet / 1e12 if datasheet else "",
                "why": family.why,
            },
        )
        if datasheet:
            assert family.flops_per_s <= datasheet * MARGIN, (family, datasheet)
    if table:
        assert measured.bytes_per_s <= table.bytes_per_s * MARGIN, (measured.bytes_per_s, table.bytes_per_s)


def test_probe_sees_tf32_where_torch_allows_it():
    import torch

    row = None if S.dry else match_device(torch.cuda.get_device_name())
    if row is None or not row.has_tf32 or row.tflops["tf32"] < 2 * row.tflops["fp32"]:
        # an unknown card's TF32 rate is what the probe is for: nothing to hold it to; and a GeForce
        # card (RTX 4090) runs TF32 at its fp32 rate
        pytest.skip("needs a GPU of the table whose TF32 peak is at least twice its fp32 one")
    before = torch.backends.cuda.matmul.fp32_precision
    torch.backends.cuda.matmul.fp32_precision = "tf32"
    try:
        math = fp32_math_of(torch)
        measured = probe_peaks(torch, S.device, "fp32", math, torch.cuda.get_device_name(), sizes=SIZES)
    finally:
        torch.backends.cuda.matmul.fp32_precision = before
    tf32, ieee = measured.of("matmul"), measured.of("other")
    assert math.matmul_tf32 and tf32.math == "tf32" and ieee.math == "fp32"
    # the datasheet's TF32 peak is 2x (L40S) to 8x (A100) the fp32 one: the measured gap must show
    assert tf32.flops_per_s > 1.5 * ieee.flops_per_s, (tf32, ieee)
