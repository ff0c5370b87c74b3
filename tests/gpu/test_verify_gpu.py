"""verify on the device counts as on the CPU at fp32: every cell of the fast specs at bf16, compared with
tests/test_verify_device.py's CPU fp32 run. Skipped without CUDA (tests/gpu/conftest.py); the dry run
(ARCHCALC_GPU_SUITE_DEVICE=cpu) runs it on the CPU at bf16."""

from __future__ import annotations

import pytest

from .suite import settings

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from archcalc import analyze  # noqa: E402
from archcalc.verify.placement import CPU_FP32, resolve_placement  # noqa: E402
from archcalc.verify.verification import verify_analysis  # noqa: E402

from ..test_verify import small  # noqa: E402
from ..test_verify_device import FAST_SPECS, assert_same_counts  # noqa: E402

pytestmark = pytest.mark.gpu
S = settings()


@pytest.mark.parametrize("name", FAST_SPECS)
def test_verify_on_the_device_counts_as_on_the_cpu(name: str) -> None:
    chosen = resolve_placement(S.device, "bf16")
    assert chosen.tensors_on == S.device and chosen != CPU_FP32, chosen
    assert_same_counts(verify_analysis(analyze(small(name)), 1, chosen), name)
