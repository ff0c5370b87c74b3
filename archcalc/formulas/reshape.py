"""Channel splits, spatial means and resizes as pure functions: torch's part sizes and resize rules."""

from __future__ import annotations

from fractions import Fraction
from math import floor


def chunk_sizes(channels: int, chunks: int) -> tuple[int, ...]:
    """The parts torch.chunk(x, chunks, dim) makes of `channels`: each ceil(C/N) wide, the last
    what is left, and so possibly FEWER than N parts (torch's docs: "the last chunk will be
    smaller"; C=5, N=4 gives 2, 2, 1). Closed form: no loop over the parts.

    >>> chunk_sizes(6, 2), chunk_sizes(5, 4), chunk_sizes(7, 3), chunk_sizes(3, 5)
    ((3, 3), (2, 2, 1), (3, 3, 1), (1, 1, 1))
    """
    size = -(-channels // chunks)
    full, rest = divmod(channels, size)
    return (size,) * full + ((rest,) if rest else ())


def chunk_part(channels: int, chunks: int, index: int) -> tuple[int, int]:
    """Part `index` of torch.chunk's parts of `channels` and how many parts there are, without
    listing them (a chunk count may be 2^40).

    >>> chunk_part(5, 4, 2), chunk_part(2**40, 2**40, 7)
    ((1, 3), (1, 1099511627776))
    """
    size = -(-channels // chunks)
    parts = -(-channels // size)
    return min(size, channels - index * size), parts


def resized(size: int, scale_factor: float) -> int:
    """torch's output size for an input of `size` scaled by `scale_factor` (interpolate with
    recompute_scale_factor left at None): floor(size * scale) in double precision, as ATen's
    `compute_output_size` truncates `input_size * scale` to an integer.

    >>> resized(4, 2.0), resized(5, 1.5), resized(7, 0.5), resized(10, 1.1)
    (8, 7, 3, 11)
    """
    return floor(float(size) * scale_factor)


def source_ratio(size: int, out: int, scale_factor: float | None, align_corners: bool) -> Fraction:
    """Input positions per output position in torch's coordinate map (ATen's
    `area_pixel_compute_scale`): (in - 1)/(out - 1) with aligned corners (0 for one output),
    else 1/scale_factor when a scale was given, else in/out. Exact, as a fraction.

    >>> source_ratio(4, 8, 2.0, False), source_ratio(4, 7, None, False), source_ratio(4, 7, None, True)
    (Fraction(1, 2), Fraction(4, 7), Fraction(1, 2))
    """
    if align_corners:
        return Fraction(size - 1, out - 1) if out > 1 else Fraction(0)
    if scale_factor is not None:
        return 1 / Fraction(scale_factor)
    return Fraction(size, out)


def bilinear_edges(size: int, out: int, ratio: Fraction, align_corners: bool) -> int:
    """The (input, output) position pairs of linear interpolation along one dimension: output o
    reads i0 = floor(src) and i0 + 1, one position when i0 is the last (ATen's
    `compute_source_index_and_lambda`), src = o * ratio with aligned corners, else
    max(0, (o + 1/2) * ratio - 1/2); an output as large as its input copies (one pair each).
    So pairs = out + #{o : i0(o) < in - 1}: i0(o) < in - 1 holds exactly for o below
    (in - 1/2)/ratio - 1/2 (aligned: (in - 1)/ratio), counted in closed form.

    >>> bilinear_edges(4, 8, Fraction(1, 2), False)   # outputs 0..6 read two inputs, output 7 one
    15
    >>> bilinear_edges(4, 7, Fraction(1, 2), True), bilinear_edges(1, 5, Fraction(1, 5), False)
    (13, 5)
    """
    if size == out or size == 1:
        return out
    if ratio == 0:  # aligned corners, one output: it reads positions 0 and 1
        return 2 * out
    bound = Fraction(size - 1) / ratio if align_corners else (size - Fraction(1, 2)) / ratio - Fraction(1, 2)
    below = max(0, min(out, -(-bound.numerator // bound.denominator)))  # the integers o >= 0 with o < bound
    return out + below
