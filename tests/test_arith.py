"""The seeds' convolution arithmetic, and the window formulas against brute-force enumeration."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archcalc import arith
from archcalc.errors import LayerError

# (id, input, kernel, stride, pad_before, pad_after, expected output) — from the seed notes
SEED_CASES = [
    ("seed002 5x5 k3", 5, 3, 1, 0, 0, 3),
    ("seed002 5x5 k3 pad1", 5, 3, 1, 1, 1, 5),
    ("seed002 5x5 k3 pad1 stride2", 5, 3, 2, 1, 1, 3),
    ("seed002 pool 4x4 k2 s2", 4, 2, 2, 0, 0, 2),
    ("seed001 alexnet conv1 227 k11 s4", 227, 11, 4, 0, 0, 55),
    ("seed001 alexnet pool1 55 k3 s2", 55, 3, 2, 0, 0, 27),
    ("seed001 TF VALID 13 k6 s5", 13, 6, 5, 0, 0, 2),
    ("seed001 TF SAME 13 k6 s5", 13, 6, 5, 1, 2, 3),
    ("seed000 6x6 k3 -> 4", 6, 3, 1, 0, 0, 4),
    ("seed000 simple cnn 39 k3", 39, 3, 1, 0, 0, 37),
    ("seed000 simple cnn 37 k5 s2", 37, 5, 2, 0, 0, 17),
    ("seed000 simple cnn 17 k5 s2", 17, 5, 2, 0, 0, 7),
]


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "pb", "pa", "expected"), [c[1:] for c in SEED_CASES], ids=[c[0] for c in SEED_CASES]
)
def test_seed_output_sizes(size, kernel, stride, pb, pa, expected):
    got = arith.window_output_size(size, kernel, stride, pb, pa)
    assert got == expected, f"output size: archcalc {got}, seed {expected}"


def test_tensorflow_same_split_puts_extra_pad_right():
    assert arith.same_padding(13, 6, 5) == (1, 2)


def test_tensorflow_valid_drops_last_two_inputs():
    assert arith.uncovered_tail(13, 2, 6, 5, 0) == 2


def test_kernel_larger_than_padded_input_is_an_error():
    with pytest.raises(LayerError) as info:
        arith.window_output_size(5, 7, 1, 0, 0)
    assert info.value.code == "kernel_too_large"
    assert "padded input has only 5" in info.value.message


def _brute_windows(size, kernel, stride, pb, pa, dilation):
    """Enumerate window starts directly: every start whose last tap is inside the padded input."""
    span = dilation * (kernel - 1) + 1
    starts = range(-pb, size + pa - span + 1, stride)
    return starts, span


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(1, 60),
    kernel=st.integers(1, 9),
    stride=st.integers(1, 6),
    pb=st.integers(0, 5),
    pa=st.integers(0, 5),
    dilation=st.integers(1, 4),
)
def test_output_size_and_edges_match_enumeration(size, kernel, stride, pb, pa, dilation):
    starts, span = _brute_windows(size, kernel, stride, pb, pa, dilation)
    if span > size + pb + pa:
        with pytest.raises(LayerError):
            arith.window_output_size(size, kernel, stride, pb, pa, dilation)
        return
    out = arith.window_output_size(size, kernel, stride, pb, pa, dilation)
    assert out == len(starts), f"archcalc {out}, enumeration {len(starts)}"
    edges = sum(1 for s in starts for j in range(kernel) if 0 <= s + j * dilation < size)
    got = arith.covered_pairs(size, out, kernel, stride, pb, dilation)
    assert got == edges, f"edges: archcalc {got}, enumeration {edges}"


@settings(max_examples=200, deadline=None)
@given(size=st.integers(1, 40), kernel=st.integers(1, 7), stride=st.integers(1, 5), dilation=st.integers(1, 3))
def test_same_padding_keeps_ceil_size(size, kernel, stride, dilation):
    pb, pa = arith.same_padding(size, kernel, stride, dilation)
    assert pa - pb in (0, 1)
    assert arith.window_output_size(size, kernel, stride, pb, pa, dilation) == -(-size // stride)


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(1, 30),
    kernel=st.integers(1, 6),
    stride=st.integers(1, 4),
    padding=st.integers(0, 3),
    dilation=st.integers(1, 3),
)
def test_transposed_edges_match_enumeration(size, kernel, stride, padding, dilation):
    try:
        out = arith.transposed_output_size(size, kernel, stride, padding, 0, dilation)
    except LayerError:
        return
    edges = sum(1 for i in range(size) for j in range(kernel) if 0 <= i * stride - padding + j * dilation < out)
    assert arith.transposed_covered_pairs(size, out, kernel, stride, padding, dilation) == edges


@pytest.mark.parametrize(("size", "out"), [(13, 6), (7, 7), (5, 3), (224, 7), (3, 5)])
def test_adaptive_windows_cover_like_enumeration(size, out):
    windows = [arith.adaptive_window(i, size, out) for i in range(out)]
    assert windows[0][0] == 0 and windows[-1][1] == size
    assert arith.adaptive_covered(size, out) == sum(e - s for s, e in windows)


@settings(max_examples=300, deadline=None)
@given(size=st.integers(1, 200), out=st.integers(1, 200))
def test_adaptive_closed_forms_match_every_window(size, out):
    """W + O - gcd(W, O) and the width set, against the windows one by one (PyTorch's start/end rule)."""
    widths = [-(-((i + 1) * size) // out) - (i * size) // out for i in range(out)]
    got = arith.adaptive_covered(size, out)
    assert got == sum(widths), f"covered: archcalc {got}, enumeration {sum(widths)}"
    assert arith.adaptive_widths(size, out) == tuple(sorted(set(widths))), (arith.adaptive_widths(size, out), widths)


@settings(max_examples=300, deadline=None)
@given(n=st.integers(0, 40), m=st.integers(1, 30), a=st.integers(0, 60), b=st.integers(0, 60))
def test_floor_sum_matches_the_sum(n, m, a, b):
    assert arith.floor_sum(n, m, a, b) == sum((a * i + b) // m for i in range(n))


@settings(max_examples=500, deadline=None)
@given(
    count_a=st.integers(-2, 12),
    count_b=st.integers(-2, 12),
    step_a=st.integers(1, 9),
    step_b=st.integers(1, 9),
    lo=st.integers(-20, 80),
    width=st.integers(-5, 120),
)
def test_lattice_counts_match_enumeration(count_a, count_b, step_a, step_b, lo, width):
    hi = lo + width
    sums = [a * step_a + b * step_b for a in range(count_a) for b in range(count_b)]
    inside = [v for v in sums if lo <= v <= hi]
    got = arith.lattice_count(count_a, count_b, step_a, step_b, lo, hi)
    assert got == len(inside), f"pairs: archcalc {got}, enumeration {len(inside)}"
    got = arith.distinct_sums(count_a, count_b, step_a, step_b, lo, hi)
    assert got == len(set(inside)), f"distinct: archcalc {got}, enumeration {len(set(inside))}"


@settings(max_examples=200, deadline=None)
@given(channels=st.integers(1, 40), size=st.integers(1, 50))
def test_lrn_taps_match_the_channel_sum(channels, size):
    """LRN reads channels [c - size//2, c + (size-1)//2] clipped to the input: the old per-channel sum."""
    from archcalc.layers import LocalResponseNorm

    old = sum(min(channels - 1, c + (size - 1) // 2) - max(0, c - size // 2) + 1 for c in range(channels))
    got = LocalResponseNorm(kind="lrn", size=size).counts((channels, 3)).connections
    assert got == 3 * old, f"archcalc {got}, enumeration {3 * old}"
