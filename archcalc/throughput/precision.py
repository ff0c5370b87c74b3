"""Reading torch's fp32 settings: may fp32 convolutions and matmuls run in TF32 in this process?

torch 2.13 has two APIs for the same switches. The new one is a tree of `fp32_precision` strings,
"tf32", "ieee" or "none", where "none" inherits from the parent: an op (`torch.backends.cudnn.conv`,
`torch.backends.cuda.matmul`) from the CUDA backend (`torch.backends.cudnn.fp32_precision`, which
holds the backend's "all" for both) and that from `torch.backends.fp32_precision`; torch's getters
already return the inherited value, and a chain that ends at "none" means IEEE (torch runs TF32 only
where the value is "tf32"). The legacy one is `torch.backends.cudnn.allow_tf32`,
`torch.backends.cuda.matmul.allow_tf32` and `torch.get_float32_matmul_precision()`. A torch without
the new API (before 2.9) has only the legacy flags; in 2.13 reading a legacy flag raises RuntimeError
once a user has set the new API to values the old flag cannot express, so the new API is read first
and every read is guarded: an unreadable setting falls to the next source, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..peaks import TORCH_DEFAULTS, Fp32Math

# what a read that raises looks like: torch's RuntimeError for mixed APIs, AttributeError for an
# older torch without the attribute
UNREADABLE = (RuntimeError, AttributeError)


def _read(get: Callable[[], Any]) -> Any:
    """The value, or None when torch cannot say (mixed APIs, or no such attribute)."""
    try:
        return get()
    except UNREADABLE:
        return None


def _precision_chain(torch: Any, op: str) -> list[tuple[str, Callable[[], Any]]]:
    """The new API's settings that decide `op` ("conv" or "matmul"), the op's own first."""
    own = (
        ("torch.backends.cudnn.conv.fp32_precision", lambda: torch.backends.cudnn.conv.fp32_precision)
        if op == "conv"
        else ("torch.backends.cuda.matmul.fp32_precision", lambda: torch.backends.cuda.matmul.fp32_precision)
    )
    return [
        own,
        ("torch.backends.cudnn.fp32_precision", lambda: torch.backends.cudnn.fp32_precision),
        ("torch.backends.fp32_precision", lambda: torch.backends.fp32_precision),
    ]


def _from_new_api(torch: Any, op: str) -> tuple[bool, str] | None:
    """(TF32 allowed, what was read) from the fp32_precision tree; None when torch lacks it."""
    read: list[str] = []
    for name, get in _precision_chain(torch, op):
        value = _read(get)
        if not isinstance(value, str):
            if not read:
                return None  # no new API for this op: the legacy flags decide
            break  # a parent torch does not expose: what was read so far ends at "none"
        read.append(f"{name} = {value!r}")
        if value != "none":
            return value == "tf32", ", ".join(read)
    return False, ", ".join(read) + ": IEEE fp32 (no level says 'tf32')"


def _from_legacy_conv(torch: Any) -> tuple[bool, str] | None:
    allowed = _read(lambda: torch.backends.cudnn.allow_tf32)
    if isinstance(allowed, bool):
        return allowed, f"torch.backends.cudnn.allow_tf32 = {allowed}"
    return None


def _from_legacy_matmul(torch: Any) -> tuple[bool, str] | None:
    allowed = _read(lambda: torch.backends.cuda.matmul.allow_tf32)
    if isinstance(allowed, bool):
        return allowed, f"torch.backends.cuda.matmul.allow_tf32 = {allowed}"
    # "high" and "medium" let cuBLAS use TF32; "highest" does not
    precision = _read(torch.get_float32_matmul_precision)
    if isinstance(precision, str):
        return precision != "highest", f"torch.get_float32_matmul_precision() = {precision!r}"
    return None


def _unread(default: bool, flag: str) -> tuple[bool, str]:
    return default, f"{flag} unreadable in this torch: torch's default ({'TF32' if default else 'IEEE fp32'}) assumed"


def fp32_math_of(torch: Any) -> Fp32Math:
    """What this process's torch lets fp32 convolutions (cuDNN) and matmuls (cuBLAS) run in, and
    the setting each answer was read from (the new API first, then the legacy flags)."""
    conv = (
        _from_new_api(torch, "conv")
        or _from_legacy_conv(torch)
        or _unread(TORCH_DEFAULTS.conv_tf32, "torch.backends.cudnn.allow_tf32")
    )
    matmul = (
        _from_new_api(torch, "matmul")
        or _from_legacy_matmul(torch)
        or _unread(TORCH_DEFAULTS.matmul_tf32, "torch.backends.cuda.matmul.allow_tf32")
    )
    return Fp32Math(conv_tf32=conv[0], matmul_tf32=matmul[0], conv_setting=conv[1], matmul_setting=matmul[1])


@contextmanager
def matmul_tf32_off(torch: Any) -> Iterator[None]:
    """fp32 matmuls in IEEE fp32 inside the block (the probe of the non-tensor-core peak); the
    setting as it was after, through the same API it was read from."""
    matmul = torch.backends.cuda.matmul
    before = _read(lambda: matmul.fp32_precision)
    if isinstance(before, str):
        matmul.fp32_precision = "ieee"
        try:
            yield
        finally:
            matmul.fp32_precision = before
        return
    legacy = _read(lambda: matmul.allow_tf32)
    if isinstance(legacy, bool):
        matmul.allow_tf32 = False
        try:
            yield
        finally:
            matmul.allow_tf32 = legacy
        return
    yield  # nothing readable to set and restore: the probe runs under the setting as it is


@contextmanager
def cudnn_benchmark_as(torch: Any, enabled: bool) -> Iterator[None]:
    """torch.backends.cudnn.benchmark set for the block, restored after (also on error)."""
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = enabled
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = before
