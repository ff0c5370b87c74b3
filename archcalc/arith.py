"""Convolution arithmetic along one spatial dimension: output sizes, SAME splits, window edge counts.

Every function is exact integer arithmetic on one dimension; layers apply them per dimension.
Formulas follow Dumoulin & Visin, "A guide to convolution arithmetic for deep learning" (2016),
and PyTorch's definitions where the guide leaves a choice open (ceil mode, output_padding).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from math import gcd

from .errors import LayerError


def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """Span of a dilated kernel: d*(k-1) + 1 (Dumoulin & Visin, relationship 15).

    >>> effective_kernel(3, dilation=2)
    5
    """
    return dilation * (kernel - 1) + 1


def window_output_size(
    size: int,
    kernel: int,
    stride: int = 1,
    pad_before: int = 0,
    pad_after: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Output length of a sliding window: floor((W + P - D*(K-1) - 1) / S) + 1.

    With symmetric padding P = 2p this is the seeds' (W - K + 2P)/S + 1. In ceil mode the
    division rounds up, but (as in PyTorch) the last window must start inside the input or
    the left padding.

    >>> window_output_size(227, 11, stride=4)          # AlexNet conv1
    55
    >>> window_output_size(5, 3, stride=2, pad_before=1, pad_after=1)
    3
    >>> window_output_size(6, 3, stride=2, ceil_mode=True)
    3
    """
    span = effective_kernel(kernel, dilation)
    padded = size + pad_before + pad_after
    room = padded - span
    # In ceil mode torch lets the one window hang past the end: kernel 4, stride 2 on 3 inputs
    # gives ceil(-1/2) + 1 = 1 output; only an output of 0 is an error.
    if room < 0 and not (ceil_mode and -(-room // stride) + 1 >= 1):
        raise LayerError(
            "kernel_too_large",
            f"the kernel spans {span} positions but the padded input has only {padded}"
            f" (input {size} + padding {pad_before}+{pad_after})",
            field="kernel_size",
            hint=f"use a kernel of at most {padded} (dilation included) or pad the input",
        )
    if not ceil_mode:
        return room // stride + 1
    out = -(-room // stride) + 1
    if (out - 1) * stride >= size + pad_before:
        out -= 1
    return out


def same_padding(size: int, kernel: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's SAME padding: output ceil(W/S); the odd extra pad goes after (right/bottom).

    >>> same_padding(13, 6, stride=5)   # seed 001: 1 pad on the left, 2 on the right
    (1, 2)
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + effective_kernel(kernel, dilation) - size, 0)
    return total // 2, total - total // 2


def uncovered_tail(size: int, out: int, kernel: int, stride: int, pad_before: int, dilation: int = 1) -> int:
    """Input positions at the end that no window reaches (VALID drops them).

    >>> uncovered_tail(13, 2, 6, 5, 0)   # seed 001: inputs 12 and 13 are dropped
    2
    """
    last = (out - 1) * stride - pad_before + effective_kernel(kernel, dilation) - 1
    return max(size - 1 - last, 0)


def transposed_output_size(
    size: int, kernel: int, stride: int = 1, padding: int = 0, output_padding: int = 0, dilation: int = 1
) -> int:
    """Output length of a transposed convolution, as PyTorch defines it:
    (W - 1)*S - 2P + D*(K - 1) + output_padding + 1 (Dumoulin & Visin, relationship 14).

    >>> transposed_output_size(2, 3, stride=2, padding=1, output_padding=1)
    4
    """
    if output_padding >= max(stride, dilation):
        raise LayerError(
            "bad_output_padding",
            f"output_padding {output_padding} must be smaller than the stride ({stride}) or the dilation ({dilation})",
            field="output_padding",
            hint=f"use output_padding between 0 and {max(stride, dilation) - 1}",
        )
    out = (size - 1) * stride - 2 * padding + effective_kernel(kernel, dilation) + output_padding
    if out < 1:
        raise LayerError(
            "padding_too_large",
            f"padding {padding} crops the whole output (it would have {out} positions)",
            field="padding",
            hint="use less padding",
        )
    return out


def floor_sum(n: int, m: int, a: int, b: int) -> int:
    """sum of floor((a*i + b) / m) for i in [0, n), in O(log m) steps (n >= 0, m >= 1, a, b >= 0).

    The Euclid-like reduction of the AtCoder Library's `floor_sum`: it lets every count below be
    exact without a loop over positions or taps.

    >>> floor_sum(4, 3, 2, 1), sum((2 * i + 1) // 3 for i in range(4))
    (4, 4)
    """
    total = 0
    while True:
        if a >= m:
            total += n * (n - 1) // 2 * (a // m)
            a %= m
        if b >= m:
            total += n * (b // m)
            b %= m
        top = a * n + b
        if top < m:
            return total
        n, b, m, a = top // m, top % m, a, m


def _points_below(count_a: int, count_b: int, step_a: int, step_b: int, limit: int) -> int:
    """How many (a, b) in [0, count_a) x [0, count_b) have a*step_a + b*step_b <= limit (steps >= 1).

    Row a holds min(count_b, (limit - a*step_a) // step_b + 1) points: full rows first, then a
    floor sum over the rows the line cuts.
    """
    if limit < 0 or count_a <= 0 or count_b <= 0:
        return 0
    last = min(count_a - 1, limit // step_a)  # rows past it hold no point
    full = min(last, (limit - (count_b - 1) * step_b) // step_a)  # rows up to it hold all count_b
    total = (full + 1) * count_b if full >= 0 else 0
    first = max(full + 1, 0)
    rows = last - first + 1
    if rows > 0:  # row last - i holds (limit - last*step_a + i*step_a) // step_b + 1 points
        total += floor_sum(rows, step_b, step_a, limit - last * step_a) + rows
    return total


def lattice_count(count_a: int, count_b: int, step_a: int, step_b: int, lo: int, hi: int) -> int:
    """How many (a, b) in [0, count_a) x [0, count_b) have lo <= a*step_a + b*step_b <= hi.

    >>> lattice_count(3, 3, 1, 1, 1, 3), sum(1 for a in range(3) for b in range(3) if 1 <= a + b <= 3)
    (7, 7)
    """
    if hi < lo:
        return 0
    return _points_below(count_a, count_b, step_a, step_b, hi) - _points_below(count_a, count_b, step_a, step_b, lo - 1)


def distinct_sums(count_a: int, count_b: int, step_a: int, step_b: int, lo: int, hi: int) -> int:
    """How many different values a*step_a + b*step_b, (a, b) in [0, count_a) x [0, count_b), lie in [lo, hi].

    With g = gcd(step_a, step_b), s = step_a/g, d = step_b/g, two pairs give one value exactly when
    they differ by a multiple of (d, -s); each value is counted once at its pair of least b, the
    one that cannot move to (a + d, b - s): all pairs, less those with a + d < count_a and b >= s.

    >>> distinct_sums(3, 3, 2, 2, 0, 100)   # 0, 2, 4, 6, 8
    5
    """
    g = gcd(step_a, step_b)
    s, d = step_a // g, step_b // g
    lo, hi = -(-lo // g), hi // g  # the values are multiples of g
    shift = s * d
    return lattice_count(count_a, count_b, s, d, lo, hi) - lattice_count(
        count_a - d, count_b - s, s, d, lo - shift, hi - shift
    )


@lru_cache(maxsize=4096)  # pure, and called once per layer with the same few arguments
def covered_pairs(size: int, out: int, kernel: int, stride: int = 1, pad_before: int = 0, dilation: int = 1) -> int:
    """Number of (output position, kernel tap) pairs whose tap lands on a real input, not padding.

    This is the per-dimension factor of a layer's connections: each pair is one edge from an
    input unit to an output unit. Output o's tap j reads o*S - P + j*D, so the pairs are the
    lattice points of [0, out) x [0, K) with P <= o*S + j*D <= P + W - 1 (`lattice_count`).

    >>> covered_pairs(32, 28, 5)   # LeNet C1: every one of 28*5 taps is real
    140
    >>> covered_pairs(3, 3, 3, pad_before=1)   # pad 1: the two border outputs lose a tap each
    7
    """
    return lattice_count(out, kernel, stride, dilation, pad_before, pad_before + size - 1)


@lru_cache(maxsize=4096)
def transposed_covered_pairs(
    size: int, out: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """(input position, kernel tap) pairs of a transposed convolution whose target lies in the output.

    Input i and tap j write output i*S - P + j*D; positions cropped by the padding are not edges.

    >>> transposed_covered_pairs(2, 4, 3, stride=2, padding=1)   # 2 inputs x 3 taps, 1 cropped
    5
    """
    return lattice_count(size, kernel, stride, dilation, padding, padding + out - 1)


def adaptive_window(index: int, size: int, out: int) -> tuple[int, int]:
    """PyTorch's adaptive pooling window [start, end) for output `index`.

    >>> adaptive_window(0, 13, 6), adaptive_window(5, 13, 6)
    ((0, 3), (10, 13))
    """
    return (index * size) // out, -(-((index + 1) * size) // out)


def adaptive_covered(size: int, out: int) -> int:
    """Sum of adaptive-pool window lengths along one dimension (the connections per channel):
    W + O - gcd(W, O).

    Window i is [floor(i*W/O), ceil((i+1)*W/O)). Summed over i, the ends give
    sum_{i=1..O} floor(i*W/O) + (O - g) (i*W/O is whole for g values of i, g = gcd(W, O)) and the
    starts sum_{i=0..O-1} floor(i*W/O), which is the same sum less its last term, W.

    >>> adaptive_covered(13, 6), adaptive_covered(224, 7)
    (18, 224)
    """
    return size + out - gcd(size, out)


def adaptive_widths(size: int, out: int) -> tuple[int, ...]:
    """The different window lengths of adaptive pooling along one dimension, smallest first.

    Window i's start is i*W/O less r/O, r = i*W mod O, a multiple of g = gcd(W, O) in [0, O - g]
    (all of them occur); its length is ceil((W + r)/O), so the lengths run from ceil(W/O) to
    ceil((W + O - g)/O), one apart at most.

    >>> adaptive_widths(13, 6), adaptive_widths(5, 3), adaptive_widths(224, 7)
    ((3,), (2, 3), (32,))
    """
    low, high = -(-size // out), -(-(size + out - gcd(size, out)) // out)
    return (low,) if low == high else (low, high)


@dataclass(frozen=True, slots=True)
class Gaps:
    """Real input positions that no window reads, along one dimension.

    total: how many; runs: the first of their runs, 1-based inclusive (first, last), at most the
    number asked for; more: further runs follow those listed; drops_last: the last input position
    is one of them (the tail is dropped, TensorFlow's VALID).
    """

    total: int
    runs: tuple[tuple[int, int], ...]
    more: bool
    drops_last: bool


def first_where(lo: int, hi: int, holds: Callable[[int], bool]) -> int:
    """The least x in [lo, hi] with holds(x), for a predicate false then true; hi + 1 if none.

    >>> first_where(0, 10**12, lambda x: x * x >= 10**12)
    1000000
    """
    hi += 1
    while lo < hi:
        mid = (lo + hi) // 2
        if holds(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def uncovered_positions(
    size: int, out: int, kernel: int, stride: int = 1, pad_before: int = 0, dilation: int = 1, runs: int = 8
) -> Gaps:
    """Real input positions no window reads: their count and their first `runs` runs.

    Window o reads positions o*S - P + j*D for taps j (0-based), so the positions read are the
    distinct values o*S + j*D in [P, P + W - 1] (`distinct_sums`, exact and O(log) per count).
    When (W - K + 2P) is not divisible by S the tail is dropped (seed 001's TensorFlow VALID
    drawing); with K < S or dilation > 1 holes can also open between windows. Each run's ends
    come from a binary search over the count, so the work is O(runs * log^2 W), whatever W.

    >>> uncovered_positions(13, 2, 6, 5).runs            # seed 001: inputs 12 and 13 are dropped
    ((12, 13),)
    >>> uncovered_positions(7, 3, 1, 3)                  # 1x1 kernel, stride 3: only 1, 4, 7 are read
    Gaps(total=4, runs=((2, 3), (5, 6)), more=False, drops_last=False)
    """

    def read(first: int, last: int) -> int:  # positions read among the 0-based [first, last]
        return distinct_sums(out, kernel, stride, dilation, pad_before + first, pad_before + last)

    def unread(first: int, last: int) -> int:
        return last - first + 1 - read(first, last)

    def next_unread(at: int) -> int:  # the first position at or after `at` that no window reads
        return first_where(at, size - 1, lambda x: unread(at, x) > 0)

    def next_read(start: int) -> int:  # the next position read after a run that starts at `start`, or size
        return first_where(start, size - 1, lambda x: read(start, x) > 0)

    found: list[tuple[int, int]] = []
    at = 0
    while at < size and len(found) < runs and unread(at, size - 1):
        start = next_unread(at)
        at = next_read(start)
        found.append((start + 1, at))
    more = at < size and unread(at, size - 1) > 0
    return Gaps(total=unread(0, size - 1), runs=tuple(found), more=more, drops_last=unread(size - 1, size - 1) == 1)


def forward_inputs(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> tuple[int, int]:
    """Input sizes (first, last) of the forward convolution that a transposed conv inverts.

    A convolution (K, S, P, D) maps every input size in [o, o + S - 1], o = (i - 1)*S - 2P +
    D*(K - 1) + 1, to the same output size i, so the transposed conv cannot know which one to
    restore: PyTorch's output_padding a picks o + a (Dumoulin & Visin, relationship 14, where
    a = (o + 2P - K) mod S).

    >>> forward_inputs(4, 3, stride=2, padding=1)   # inputs 7 and 8 both give 4
    (7, 8)
    """
    first = (size - 1) * stride - 2 * padding + effective_kernel(kernel, dilation)
    return first, first + stride - 1


FLOAT_MAX = 1.7976931348623157e308


def ratio(num: int | float, den: int | float) -> float:
    """num / den as the nearest float, for any integer counts: never OverflowError.

    Python's int / float first converts the int (OverflowError past 2^1024) and int / int fails
    when the quotient passes the float range; here both are exact (Fraction) and a quotient past
    it saturates at the largest float. Sizes are bounded (MAX_SIZE), so counts stay far below
    2^1024 and saturation is only the guard that keeps a report from crashing.

    >>> ratio(10**400, 10**398), ratio(10**400, 1e12) == FLOAT_MAX, ratio(1, 0)
    (100.0, True, 0.0)
    """
    if not den:
        return 0.0
    from fractions import Fraction

    exact = Fraction(num) / Fraction(den)
    if abs(exact) > FLOAT_MAX:
        return FLOAT_MAX if exact > 0 else -FLOAT_MAX
    return float(exact)
