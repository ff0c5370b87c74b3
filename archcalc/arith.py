"""Convolution arithmetic along one spatial dimension: output sizes, SAME splits, window edge counts.

Every function is exact integer arithmetic on one dimension; layers apply them per dimension.
Formulas follow Dumoulin & Visin, "A guide to convolution arithmetic for deep learning" (2016),
and PyTorch's definitions where the guide leaves a choice open (ceil mode, output_padding).
"""

from __future__ import annotations

from functools import lru_cache

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


def _count_in_range(lo_value: int, hi_value: int, offset: int, stride: int, count: int) -> int:
    """How many o in [0, count) satisfy lo_value <= o*stride + offset <= hi_value."""
    lo = max(0, -((offset - lo_value) // stride))  # ceil((lo_value - offset) / stride)
    hi = min(count - 1, (hi_value - offset) // stride)
    return max(hi - lo + 1, 0)


@lru_cache(maxsize=4096)  # pure, and called once per layer with the same few arguments
def covered_pairs(size: int, out: int, kernel: int, stride: int = 1, pad_before: int = 0, dilation: int = 1) -> int:
    """Number of (output position, kernel tap) pairs whose tap lands on a real input, not padding.

    This is the per-dimension factor of a layer's connections: each pair is one edge from an
    input unit to an output unit.

    >>> covered_pairs(32, 28, 5)   # LeNet C1: every one of 28*5 taps is real
    140
    >>> covered_pairs(3, 3, 3, pad_before=1)   # pad 1: the two border outputs lose a tap each
    7
    """
    if pad_before == 0 and (out - 1) * stride + effective_kernel(kernel, dilation) <= size:
        return out * kernel
    return sum(_count_in_range(0, size - 1, tap * dilation - pad_before, stride, out) for tap in range(kernel))


@lru_cache(maxsize=4096)
def transposed_covered_pairs(
    size: int, out: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """(input position, kernel tap) pairs of a transposed convolution whose target lies in the output.

    Input i and tap j write output i*S - P + j*D; positions cropped by the padding are not edges.
    """
    return sum(_count_in_range(0, out - 1, tap * dilation - padding, stride, size) for tap in range(kernel))


def adaptive_window(index: int, size: int, out: int) -> tuple[int, int]:
    """PyTorch's adaptive pooling window [start, end) for output `index`.

    >>> adaptive_window(0, 13, 6), adaptive_window(5, 13, 6)
    ((0, 3), (10, 13))
    """
    return (index * size) // out, -(-((index + 1) * size) // out)


def adaptive_covered(size: int, out: int) -> int:
    """Sum of adaptive-pool window lengths along one dimension (the connections per channel)."""
    if size % out == 0:
        return size
    return sum(end - start for start, end in (adaptive_window(i, size, out) for i in range(out)))


def uncovered_positions(
    size: int, out: int, kernel: int, stride: int = 1, pad_before: int = 0, dilation: int = 1
) -> tuple[tuple[int, int], ...]:
    """Runs of real input positions no window reads, as 1-based inclusive (first, last) pairs.

    Window o reads positions o*S - P + j*D for taps j (0-based). When (W - K + 2P) is not
    divisible by S the tail is dropped (seed 001's TensorFlow VALID drawing); with K < S or
    dilation > 1 holes can also open between windows.

    >>> uncovered_positions(13, 2, 6, 5)            # seed 001: inputs 12 and 13 are dropped
    ((12, 13),)
    >>> uncovered_positions(7, 3, 1, 3)             # 1x1 kernel, stride 3: only 1, 4, 7 are read
    ((2, 3), (5, 6))
    """
    if dilation == 1 and kernel >= stride:  # windows touch or overlap: only the tail can be left
        tail = uncovered_tail(size, out, kernel, stride, pad_before, dilation)
        return ((size - tail + 1, size),) if tail else ()
    covered = bytearray(size)
    for o in range(out):
        for tap in range(kernel):
            pos = o * stride - pad_before + tap * dilation
            if 0 <= pos < size:
                covered[pos] = 1
    runs: list[tuple[int, int]] = []
    for pos, hit in enumerate(covered):
        if not hit:
            if runs and runs[-1][1] == pos:  # extend the run (1-based end == this 0-based index)
                runs[-1] = (runs[-1][0], pos + 1)
            else:
                runs.append((pos + 1, pos + 1))
    return tuple(runs)


def forward_inputs(
    size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> tuple[int, int]:
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
