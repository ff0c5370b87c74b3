"""Bytes per element of each dtype a spec or a flag may name: a leaf, so the spec's budget can
check a dtype without importing the analyzer (which imports the spec)."""

from __future__ import annotations

DTYPE_BYTES: dict[str, int] = {"fp64": 8, "fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}
# the dtypes archcalc runs a module at (bench, verify), by torch's names: a torch-free leaf, so the
# static commands' flags take the same list
TORCH_DTYPES: dict[str, str] = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
COUNTER_BYTES = 8  # num_batches_tracked and friends are int64 whatever the model's dtype


def dtype_bytes(dtype: str) -> int:
    """Bytes per element of a named dtype (fp32, fp16, bf16, int8, fp64).

    >>> dtype_bytes("bf16")
    2
    """
    try:
        return DTYPE_BYTES[dtype]
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPE_BYTES)}") from None
