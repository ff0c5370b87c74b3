"""Pooling counts and rules as pure functions: window and adaptive pooling, torch's padding limit."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from .. import arith
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


@dataclass(frozen=True, slots=True)
class PoolCounts:
    """What a pooling window produces and reads per example; pooling has no weights and no MACs.

    `padded_connections` counts the taps on padding too (every window full); `op_in_elements`
    are the elements the op reads after a separate pad layer (asymmetric padding), else None.
    """

    units: int
    connections: int
    padded_connections: int
    op_in_elements: int | None


def pool_counts(
    channels: int,
    sizes: tuple[int, ...],
    kernel: tuple[int, ...],
    out: tuple[int, ...],
    padding: tuple[PadPair, ...],
    covered: int,
) -> PoolCounts:
    """A window pooling each map on its own: C x prod(out) units, each reading its window's taps.

    connections = C x the (input, output) position pairs the window covers, padding excluded
    (`arith.covered_pairs`); with every tap, C x prod(out) x prod(K). Torch pads asymmetric
    padding (SAME's odd split) by a separate pad layer, so its op reads C x prod(W + P) elements.

    AlexNet's pool1, 3x3/2 on 55x55x96 (no padding: every tap is a real input, 27 x 3 per dimension):

    >>> pool_counts(96, (55, 55), (3, 3), (27, 27), ((0, 0), (0, 0)), 81 * 81)
    PoolCounts(units=69984, connections=629856, padded_connections=629856, op_in_elements=None)
    >>> pool_counts(1, (4,), (2,), (2,), ((0, 1),), 4).op_in_elements   # SAME 2/2 on 4: pad 0 + 1
    5
    """
    separate_pad = any(a != b for a, b in padding)
    return PoolCounts(
        units=channels * prod(out),
        connections=channels * covered,
        padded_connections=channels * prod(out) * prod(kernel),
        op_in_elements=channels * prod(n + a + b for n, (a, b) in zip(sizes, padding)) if separate_pad else None,
    )


def adaptive_connections(channels: int, sizes: tuple[int, ...], out: tuple[int, ...]) -> int:
    """Adaptive pooling's real taps: window i spans [floor(i*W/O), ceil((i+1)*W/O)) per dimension
    (torch's AdaptiveAvgPool rule), so the taps are `arith.adaptive_covered` per dimension.

    >>> adaptive_connections(512, (7, 7), (1, 1)), adaptive_connections(1, (5,), (3,))  # windows 2, 3, 2 wide
    (25088, 7)
    """
    return channels * prod(arith.adaptive_covered(n, o) for n, o in zip(sizes, out))
