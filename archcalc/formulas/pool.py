"""Pooling rules as pure functions: torch's limit on a pooling window's padding."""

from __future__ import annotations

from ..errors import LayerError

PadPair = tuple[int, int]


def check_pool_padding(kernel: tuple[int, ...], padding: tuple[PadPair, ...]) -> None:
    """Refuse symmetric pooling padding over half the kernel, as torch's pooling ops do.

    torch checks `pad <= kernel_size / 2` on the kernel, not on a dilated span (max_pool2d's
    shape check): kernel 4, dilation 2 takes padding 2 at most. Asymmetric padding (SAME's odd
    split, per-side pairs) is a pad layer before the op, unlimited, so it passes.

    >>> check_pool_padding((3, 3), ((1, 1), (1, 1))), check_pool_padding((2,), ((0, 1),))
    (None, None)
    >>> check_pool_padding((3,), ((2, 2),))
    Traceback (most recent call last):
    archcalc.errors.LayerError: pooling padding 2 exceeds half the kernel (1)
    """
    if any(a != b for a, b in padding):
        return
    for (before, after), k in zip(padding, kernel):
        half = k // 2
        if max(before, after) > half:
            raise LayerError(
                "padding_too_large",
                f"pooling padding {max(before, after)} exceeds half the kernel ({half})",
                field="padding",
                hint=f"use padding of at most {half}",
            )
