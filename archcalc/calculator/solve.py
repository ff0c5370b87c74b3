"""The inverse calculator: which padding, stride or kernel gives a wanted output size.

Every solution is checked with the forward formulas (`archcalc.arith`), found by binary search
over the one unknown, so the work is O(log) of the sizes and a listed solution is right by
construction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .. import arith, formulas
from ..errors import LayerError, SpecError
from ..fields import MAX_SIZE
from ..layers.base import SPATIAL_NAMES
from .inputs import Op, PadSpec, per_dim

# Solutions listed per dimension (the first ones and the last); the rest are counted.
SOLUTIONS_LISTED = 12

Unknown = Literal["padding", "stride", "kernel"]


@dataclass(frozen=True, slots=True)
class Solution:
    """One combination that yields the wanted size along one dimension.

    padding is (before, after); `exact` is True when no input position is left over (the
    division by the stride has no remainder).
    """

    kernel: int
    stride: int
    padding: tuple[int, int]
    dilation: int
    output_padding: int = 0
    exact: bool = True
    formula: str = ""


@dataclass(frozen=True, slots=True)
class DimSolve:
    """The solutions for one dimension, or the reason there is none.

    `open_from`: every value of the unknown from this one upward also works (a stride or
    kernel past the input yields one output whatever it is); solutions stop there.
    """

    axis: str
    size: int
    target: int
    unknown: Unknown
    solutions: tuple[Solution, ...]
    open_from: int | None = None
    reason: str | None = None
    # how many values solve in all: when more than SOLUTIONS_LISTED, `solutions` holds the first
    # ones and the last, and every value between them solves too (every other one for padding)
    count: int = 0


def _true_span(lo: int, hi: int, holds: Callable[[int], bool]) -> tuple[int, int] | None:
    """Where a predicate that changes at most once on [lo, hi] holds: an interval, or None.

    Two evaluations say which end holds; a binary search finds where it stops (O(log(hi - lo))).
    """
    if lo > hi:
        return None
    first, last = holds(lo), holds(hi)
    if first and last:
        return lo, hi
    if not first and not last:
        return None
    if first:  # holds up to some value: the last one where it does
        return lo, arith.first_where(lo, hi, lambda v: not holds(v)) - 1
    return arith.first_where(lo, hi, holds), hi


def _meet(*spans: tuple[int, int] | None) -> tuple[int, int] | None:
    """Where every span holds: their intersection, or None."""
    known = [span for span in spans if span is not None]
    if len(known) < len(spans):
        return None
    lo, hi = max(lo for lo, _ in known), min(hi for _, hi in known)
    return (lo, hi) if lo <= hi else None


@dataclass(frozen=True, slots=True)
class _Dim:
    """One dimension's solve: the known numbers, and what each value of the unknown gives."""

    unknown: Unknown
    n: int
    k: int | None
    s: int | None
    pad: tuple[int, int] | None
    d: int
    op_given: int | None
    transposed: bool
    pool: bool
    ceil_mode: bool

    def numbers(self, value: int) -> tuple[int, int, tuple[int, int]]:
        """Kernel, stride and (before, after) padding with the unknown set to `value` (a window's
        padding unknown is the total, split as TensorFlow does; a transposed conv's is per side)."""
        k = value if self.unknown == "kernel" else self.k
        s = value if self.unknown == "stride" else self.s
        if self.unknown != "padding":
            pad = self.pad
        else:
            pad = (value, value) if self.transposed else (value // 2, value - value // 2)
        if k is None or s is None or pad is None:  # solve_conv gives every number but the unknown
            raise AssertionError(f"solving for the {self.unknown}: kernel {k}, stride {s}, padding {pad}")
        return k, s, pad

    def candidates(self, target: int) -> range:
        """A range of the unknown wide enough to hold every solution and one value past it."""
        n, d = self.n, self.d
        # the known numbers (the unknown's own slot set to any value: it is not read below)
        k, s, pad = self.numbers(1)
        if self.unknown == "padding":
            if self.transposed:
                return range(0, ((n - 1) * s + d * (k - 1) + max(s, d)) // 2 + 2)
            return range(0, max((target - 1) * s + arith.effective_kernel(k, d) - n + s, 0) + 2)
        total = sum(pad)
        if self.unknown == "stride":
            if self.transposed:
                return range(1, (target + 2 * pad[0]) // max(n - 1, 1) + 3)
            # in ceil mode a window longer than the padded input still gives one output once the stride
            # exceeds the overhang: the range must reach past the kernel's span for the final run to show
            reach = max(n + total, arith.effective_kernel(k, d) if self.ceil_mode else 0)
            return range(1, reach + 2)
        if self.transposed:
            return range(1, (target + 2 * pad[0]) // d + 3)
        # in ceil mode a window may hang up to stride - 1 positions past the padded input (torch's rule)
        overhang = s - 1 if self.ceil_mode else 0
        return range(1, (n + total - 1 + overhang) // d + 2)

    def limits(self) -> tuple[Callable[[int], bool], ...]:
        """What makes a value valid, one limit at a time; each changes at most once as the value grows."""
        if self.transposed:

            def output_padding_fits(v: int) -> bool:
                _, s, _ = self.numbers(v)
                return self.op_given is None or self.op_given < max(s, self.d)

            return output_padding_fits, lambda v: self.reach(v)[1] >= 1

        def kernel_fits(v: int) -> bool:
            k, s, (pb, pa) = self.numbers(v)
            try:
                arith.window_output_size(self.n, k, s, pb, pa, self.d, self.ceil_mode)
            except LayerError:
                return False
            return True

        def pool_padding_fits(v: int) -> bool:  # PyTorch refuses pooling padding over half the kernel
            k, _, (pb, pa) = self.numbers(v)
            return not self.pool or max(pb, pa) <= arith.effective_kernel(k, self.d) // 2

        return kernel_fits, pool_padding_fits

    def base(self, value: int) -> int:
        """A transposed conv's output at output_padding 0 (relationship 14)."""
        k, s, (p, _) = self.numbers(value)
        return (self.n - 1) * s - 2 * p + arith.effective_kernel(k, self.d)

    def reach(self, value: int) -> tuple[int, int]:
        """The least and most output `value` gives (one output, or a transposed conv's range over a
        free output_padding 0..max(S, D) - 1); monotone in the value, as every formula here is."""
        if not self.transposed:
            k, s, (pb, pa) = self.numbers(value)
            out = arith.window_output_size(self.n, k, s, pb, pa, self.d, self.ceil_mode)
            return out, out
        base = self.base(value)
        if self.op_given is not None:
            return base + self.op_given, base + self.op_given
        return max(base, 1), base + max(self.numbers(value)[1], self.d) - 1

    def output_padding(self, value: int, output: int) -> int:
        """The output_padding that makes `value` give `output`: the given one, or output less the base."""
        if not self.transposed or self.op_given is not None:
            return self.op_given or 0
        return output - self.base(value)

    def label(self, value: int, output: int) -> str:
        if self.unknown == "padding" and not self.transposed:
            pb, pa = self.numbers(value)[2]
            return f"padding {pb if pb == pa else f'{pb},{pa}'}"
        op = self.output_padding(value, output)
        return f"{self.unknown} {value}" + (f" with output_padding {op}" if self.op_given is None and op else "")

    def solution(self, value: int, output: int) -> Solution:
        k, s, pad = self.numbers(value)
        if self.transposed:
            op = self.output_padding(value, output)
            text = formulas.transposed_formula(self.n, k, s, pad[0], op, self.d, output)
            return Solution(
                kernel=k, stride=s, padding=pad, dilation=self.d, output_padding=op, exact=True, formula=text
            )
        room = self.n + sum(pad) - arith.effective_kernel(k, self.d)
        text = formulas.window_formula(self.n, k, s, pad[0], pad[1], self.d, output, self.ceil_mode)
        return Solution(
            kernel=k, stride=s, padding=pad, dilation=self.d, output_padding=0, exact=room % s == 0, formula=text
        )


def _why_none(dim: _Dim, target: int, valid: tuple[int, int] | None) -> str:
    """Say from the outputs the valid values give why none reaches the target.

    Outputs move one way as the unknown grows, so the extremes are at the ends of the valid
    values, and the outputs either side of the target at the ends of the values that fall short
    and of those that overshoot; each is named by the first value (then output_padding) giving it.
    """
    if valid is None:
        return f"no {dim.unknown} gives a valid layer here"
    a, b = valid

    def first_giving(output: int) -> str:
        gives = _meet(
            _true_span(a, b, lambda v: dim.reach(v)[0] <= output), _true_span(a, b, lambda v: dim.reach(v)[1] >= output)
        )
        if gives is None:  # every output named here is one that a valid value gives
            raise AssertionError(f"no {dim.unknown} from {a} to {b} gives {output}")
        return dim.label(gives[0], output)

    low = min(dim.reach(a)[0], dim.reach(b)[0])
    high = max(dim.reach(a)[1], dim.reach(b)[1])
    if target < low:
        return f"the smallest output any {dim.unknown} gives is {low} ({first_giving(low)})"
    if target > high:
        return f"the largest output any {dim.unknown} gives is {high} ({first_giving(high)})"
    # the values falling short and those overshooting are two intervals; on each the output is
    # monotone, so its nearest to the target is at one of the interval's two ends
    short = _true_span(a, b, lambda v: dim.reach(v)[1] < target)
    over = _true_span(a, b, lambda v: dim.reach(v)[0] > target)
    if short is None or over is None:  # the target lies between the extremes yet none gives it
        raise AssertionError(f"{target} is neither reached nor skipped by {dim.unknown} {a} to {b}")
    below = max(dim.reach(end)[1] for end in short)
    above = min(dim.reach(end)[0] for end in over)
    return f"{target} is skipped: {first_giving(above)} gives {above}, {first_giving(below)} gives {below}"


def _solve_dim(
    axis: str,
    unknown: Unknown,
    n: int,
    target: int,
    k: int | None,
    s: int | None,
    pad: tuple[int, int] | None,
    d: int,
    op_given: int | None,
    transposed: bool,
    pool: bool,
    ceil_mode: bool,
) -> DimSolve:
    """The values of the unknown giving `target`, found without trying them one by one.

    Every limit on a value (the kernel fits, pooling padding at most half the kernel,
    output_padding under max(S, D), a positive output) changes once as the value grows, and so
    does every output, so the valid values are one interval and the solutions another inside it:
    a few binary searches with the forward formula find both ends, exact by construction.
    """
    dim = _Dim(
        unknown=unknown,
        n=n,
        k=k,
        s=s,
        pad=pad,
        d=d,
        op_given=op_given,
        transposed=transposed,
        pool=pool,
        ceil_mode=ceil_mode,
    )
    span = dim.candidates(target)
    lo, hi = span.start, span.stop - 1
    valid = _meet(*(_true_span(lo, hi, limit) for limit in dim.limits()))
    found = valid and _meet(
        _true_span(*valid, lambda v: dim.reach(v)[0] <= target), _true_span(*valid, lambda v: dim.reach(v)[1] >= target)
    )
    if not found:
        reason = _why_none(dim, target, valid)
        if pool and unknown == "padding":
            reason += "; pooling padding may not exceed half the kernel"
        return DimSolve(
            axis=axis, size=n, target=target, unknown=unknown, solutions=(), open_from=None, reason=reason, count=0
        )
    first, last = found
    step, open_from = 1, None
    if unknown == "stride" and last == hi and (not transposed or n == 1):
        # past the input every stride gives the same output: the first of that final run stands for all
        open_from, last = first, first
    if unknown == "padding" and not transposed and (first < last or first % 2 == 0):
        # an odd total needs per-side padding; list it only where no symmetric padding works
        first += first % 2
        last -= last % 2
        step = 2
    count = (last - first) // step + 1
    shown = [*range(first, min(last, first + (SOLUTIONS_LISTED - 1) * step) + 1, step)]
    if count > SOLUTIONS_LISTED:
        shown[-1] = last  # the first ones and the last: the run between them is the same formula
    solutions = tuple(dim.solution(v, target) for v in shown)
    return DimSolve(
        axis=axis,
        size=n,
        target=target,
        unknown=unknown,
        solutions=solutions,
        open_from=open_from,
        reason=None,
        count=count,
    )


def solve_conv(
    unknown: Unknown,
    input: int | tuple[int, ...],
    output: int | tuple[int, ...],
    kernel: int | tuple[int, ...] | None = None,
    stride: int | tuple[int, ...] | None = None,
    padding: PadSpec | None = None,
    dilation: int | tuple[int, ...] = 1,
    *,
    op: Op = "conv",
    output_padding: int | tuple[int, ...] | None = None,
    ceil_mode: bool = False,
) -> tuple[DimSolve, ...]:
    """Every value of one unknown (padding, stride or kernel) giving the wanted output size.

    The ends of the solutions are found by binary search with the forward formula,
    (W - K + 2P)/S + 1 or its transposed form, so a listed solution is right by construction and
    the work is O(log) of the sizes; per dimension.

    >>> [s.padding for s in solve_conv("padding", 224, 55, kernel=11, stride=4)[0].solutions]
    [(2, 2), (3, 3)]
    >>> solve_conv("stride", 10, 5, kernel=3)[0].reason
    '5 is skipped: stride 1 gives 8, stride 2 gives 4'
    """
    sizes = tuple(input) if isinstance(input, (tuple, list)) else (input,)
    dims = len(sizes)
    given = {
        "input": sizes,
        "output": output,
        "kernel": kernel,
        "stride": stride,
        "dilation": dilation,
        "output_padding": output_padding,
        "padding": padding,
    }
    for name, value in given.items():
        # the layers' own limit (they validate every size they are built with; the solver builds none)
        flat = value if isinstance(value, (tuple, list)) else (value,)
        for number in (n for item in flat for n in (item if isinstance(item, (tuple, list)) else (item,))):
            if isinstance(number, int) and number > MAX_SIZE:
                raise SpecError(
                    "bad_value",
                    f"{name} {number:,} is larger than the limit of {MAX_SIZE:,}",
                    hint="sizes, kernels, strides and padding are at most 2^40",
                )
    if kernel is None and unknown != "kernel":
        raise SpecError("bad_value", f"solving for the {unknown} needs the kernel size")
    stride = 1 if stride is None and unknown != "stride" else stride
    padding = 0 if padding is None and unknown != "padding" else padding
    targets = per_dim(output, dims, "output")
    ks = per_dim(kernel, dims, "kernel") if kernel is not None else (None,) * dims
    ss = per_dim(stride, dims, "stride") if stride is not None else (None,) * dims
    ds = per_dim(dilation, dims, "dilation")
    ops = per_dim(output_padding, dims, "output_padding") if output_padding is not None else (None,) * dims
    if padding is None:
        pads: tuple[tuple[int, int] | None, ...] = (None,) * dims
    elif padding == "same":
        raise SpecError(
            "bad_value",
            "padding 'same' fixes the output size (ceil(W/S)); solve for the stride or kernel "
            "with a numeric padding instead",
        )
    else:
        per_side = per_dim(0 if padding == "valid" else padding, dims, "padding")
        if any(isinstance(p, (tuple, list)) and len(p) != 2 for p in per_side):
            raise SpecError("bad_value", f"padding {padding} holds a per-side entry that is not a (before, after) pair")
        pads = tuple((p[0], p[1]) if isinstance(p, (tuple, list)) else (p, p) for p in per_side)
    transposed = op == "conv_transpose"
    return tuple(
        _solve_dim(
            SPATIAL_NAMES[dims][i],
            unknown,
            sizes[i],
            targets[i],
            ks[i],
            ss[i],
            pads[i],
            ds[i],
            ops[i],
            transposed,
            op == "pool",
            ceil_mode,
        )
        for i in range(dims)
    )
