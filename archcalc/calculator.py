"""The conv-arithmetic calculator: one layer's output size with its working, and the solvers.

Pure: numbers in, frozen dataclasses out (rendering lives in `archcalc.commands.conv`). The
geometry and the counts come from the layer kinds themselves (`Conv`, `ConvTranspose`,
`MaxPool`), so the calculator and `archcalc shapes` can never disagree; this module adds the
explanations around them: the formula with numbers, the inputs a stride never reaches, the SAME
split and its PyTorch equivalent, the forward convolution behind a transposed one, and the
inverse problem (which padding, stride or kernel yields a wanted output size).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from pydantic import ValidationError

from . import arith, formulas
from .errors import LayerError, SpecError, format_loc
from .fields import MAX_SIZE
from .layers import SPATIAL_NAMES, Conv, ConvTranspose, MaxPool
from .layers.base import torch_pad

Op = Literal["conv", "pool", "conv_transpose"]
PadSpec = Any  # int | "same" | "valid" | per-dimension tuple of int or (before, after)

# Solutions listed per dimension (the first ones and the last); the rest are counted.
SOLUTIONS_LISTED = 12
# Runs of unread input positions listed per dimension; the rest are counted, not listed.
UNCOVERED_RUNS = 8


@dataclass(frozen=True, slots=True)
class DimResult:
    """One spatial dimension of one layer: its numbers, output size and the working."""

    axis: str
    size: int
    kernel: int
    stride: int
    dilation: int
    pad_before: int
    pad_after: int
    output: int
    formula: str
    # (W + P_before + P_after - span) mod S for windows; 0 when the division is exact
    remainder: int = 0
    # 1-based runs of input positions that no window reads: the first UNCOVERED_RUNS of them, how
    # many positions in all, and whether more runs follow (a stride-2 1x1 conv leaves W/2 runs)
    uncovered: tuple[tuple[int, int], ...] = ()
    uncovered_total: int = 0
    uncovered_more: bool = False
    # TensorFlow's SAME split (before, after), when padding was 'same'
    same_split: tuple[int, int] | None = None
    # transposed conv: output_padding, and the forward conv input sizes mapping to `size`
    output_padding: int = 0
    forward_inputs: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class LayerCost:
    """Weights, biases and MACs of the one layer, when its channels are given."""

    in_channels: int
    out_channels: int
    groups: int
    weights: int
    biases: int
    units: int
    connections: int
    macs: int
    derivations: tuple[formulas.Derivation, ...]

    @property
    def params(self) -> int:
        return self.weights + self.biases


@dataclass(frozen=True, slots=True)
class ConvResult:
    """What `archcalc conv` answers: per-dimension results, notes, the PyTorch call, the cost."""

    op: Op
    dims: tuple[DimResult, ...]
    notes: tuple[str, ...]
    torch: str
    cost: LayerCost | None = None

    @property
    def output(self) -> tuple[int, ...]:
        return tuple(d.output for d in self.dims)


def _per_dim(value: Any, dims: int, name: str) -> tuple:
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(values) == 1:
        return values * dims
    if len(values) != dims:
        raise SpecError(
            "wrong_rank",
            f"{name} has {len(values)} values but the input has {dims} dimension(s)",
            hint=f"give one value or {dims} values (e.g. {'x'.join(['3'] * dims)})",
        )
    return values


def _padding_field(padding: PadSpec, dims: int) -> Any:
    """The calculator's padding spelling -> the layer field's: 'same', 'valid' or per-side pairs."""
    if isinstance(padding, str):
        return padding
    return [list(p) if isinstance(p, (tuple, list)) else [p, p] for p in _per_dim(padding, dims, "padding")]


def _build(model: type, fields: dict[str, Any]) -> Any:
    try:
        return model.model_validate(fields)
    except ValidationError as err:
        first = err.errors()[0]
        where = format_loc(tuple(first["loc"]))
        raise SpecError("bad_value", f"{where}: {first['msg']}") from None


def _layer_error(err: LayerError) -> SpecError:
    return SpecError(err.code, err.message, hint=err.hint)


def _torch_value(values: tuple[int, ...]) -> str:
    return str(values[0]) if len(set(values)) == 1 else str(tuple(values))


def _torch_call(name: str, args: list[str], options: dict[str, tuple[int, ...] | bool | str]) -> str:
    defaults = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "output_padding": 0}
    parts = list(args)
    for key, value in options.items():
        if isinstance(value, tuple):
            if all(v == defaults.get(key) for v in value) and key != "kernel_size":
                continue
            parts.append(f"{key}={_torch_value(value)}")
        elif value is not None:
            parts.append(f"{key}={value!r}")
    return f"nn.{name}({', '.join(parts)})"


def _pad_call(dims: int, pads: tuple[tuple[int, int], ...]) -> str:
    """F.pad / ZeroPadNd take (before, after) pairs from the LAST dimension backwards."""
    flat = torch_pad(pads)
    module = {1: "nn.ConstantPad1d({p}, 0)", 2: "nn.ZeroPad2d({p})", 3: "nn.ZeroPad3d({p})"}[dims]
    return module.format(p=flat)


def conv_arithmetic(
    input: int | tuple[int, ...],
    kernel: int | tuple[int, ...],
    stride: int | tuple[int, ...] = 1,
    padding: PadSpec = 0,
    dilation: int | tuple[int, ...] = 1,
    *,
    op: Op = "conv",
    output_padding: int | tuple[int, ...] = 0,
    ceil_mode: bool = False,
    channels: tuple[int, int] | None = None,
    groups: int = 1,
    bias: bool = True,
) -> ConvResult:
    """One layer's output size per dimension, with the formula, notes and PyTorch equivalent.

    Output size: (W - K + 2P)/S + 1 (floor; ceil with ceil_mode), K a dilated kernel's span
    D*(K - 1) + 1 (Dumoulin & Visin, relationships 6 and 15); transposed:
    (W - 1)*S - 2P + D*(K - 1) + output_padding + 1 (relationship 14, PyTorch's form).

    >>> r = conv_arithmetic(227, 11, stride=4)
    >>> r.output, r.dims[0].formula
    ((55,), '(227 - 11 + 2*0)/4 + 1 = 55')
    >>> conv_arithmetic(13, 6, stride=5, padding="valid").dims[0].uncovered
    ((12, 13),)
    """
    sizes = tuple(input) if isinstance(input, (tuple, list)) else (input,)
    dims = len(sizes)
    if not 1 <= dims <= 3:
        raise SpecError("wrong_rank", f"the input has {dims} dimensions; give 1 to 3 (e.g. 227 or 227x227)")
    c_in, c_out = channels or (groups, groups)
    shape = (c_in, *sizes)
    common = {
        "kernel_size": list(_per_dim(kernel, dims, "kernel")),
        "stride": list(_per_dim(stride, dims, "stride")),
        "dilation": list(_per_dim(dilation, dims, "dilation")),
    }
    try:
        if op == "conv_transpose":
            if isinstance(padding, str) and padding != "valid":
                raise SpecError(
                    "bad_value",
                    "a transposed convolution takes padding as a number per dimension",
                    hint="give --padding N (or N per dimension, e.g. 1x0)",
                )
            pad = 0 if padding == "valid" else padding
            pads = _per_dim(pad, dims, "padding")
            if any(isinstance(p, (tuple, list)) for p in pads):
                raise SpecError(
                    "bad_value",
                    "a transposed convolution pads both sides alike (PyTorch's padding)",
                    hint="give one number per dimension",
                )
            layer = _build(
                ConvTranspose,
                {
                    "kind": "conv_transpose",
                    "out_channels": c_out,
                    "groups": groups,
                    "bias": bias,
                    "padding": list(pads),
                    "output_padding": list(_per_dim(output_padding, dims, "output_padding")),
                    **common,
                },
            )
            return _transposed(layer, shape, channels is not None)
        fields = {**common, "padding": _padding_field(padding, dims)}
        if op == "pool":
            layer = _build(MaxPool, {"kind": "maxpool", "ceil_mode": ceil_mode, **fields})
        else:
            layer = _build(Conv, {"kind": "conv", "out_channels": c_out, "groups": groups, "bias": bias, **fields})
        return _windowed(op, layer, shape, padding, ceil_mode, channels is not None)
    except LayerError as err:
        raise _layer_error(err) from None


def _cost(layer: Any, shape: tuple[int, ...]) -> LayerCost:
    counts = layer.counts(shape)
    groups = layer.group_count(shape[0])
    return LayerCost(
        in_channels=shape[0],
        out_channels=layer.out_channels,
        groups=groups,
        weights=counts.weights,
        biases=counts.biases,
        units=counts.units,
        connections=counts.connections,
        macs=counts.macs,
        derivations=layer.explain(shape)[-2:],  # the parameters and MACs lines
    )


def _windowed(
    op: Op, layer: Any, shape: tuple[int, ...], padding: PadSpec, ceil_mode: bool, costed: bool
) -> ConvResult:
    win = layer.window(shape)
    dims = len(win.sizes)
    names = SPATIAL_NAMES[dims]
    results, notes = [], []
    for axis, n, k, s, d, (pb, pa), out in zip(
        names, win.sizes, win.kernel, win.stride, win.dilation, win.padding, win.out
    ):
        room = n + pb + pa - arith.effective_kernel(k, d)
        gaps = arith.Gaps(0, (), False, False)
        if not (ceil_mode and room % s):
            gaps = arith.uncovered_positions(n, out, k, s, pb, d, runs=UNCOVERED_RUNS)
        results.append(
            DimResult(
                axis=axis,
                size=n,
                kernel=k,
                stride=s,
                dilation=d,
                pad_before=pb,
                pad_after=pa,
                output=out,
                formula=formulas.window_formula(n, k, s, pb, pa, d, out, ceil_mode),
                remainder=room % s,
                uncovered=gaps.runs,
                uncovered_total=gaps.total,
                uncovered_more=gaps.more,
                same_split=(pb, pa) if padding == "same" else None,
            )
        )
        where = f"{axis}: " if dims > 1 else ""
        if room % s:
            text = f"{where}(W - K + P) = {n} - {arith.effective_kernel(k, d)} + {pb + pa} = {room} is not divisible by the stride {s} (remainder {room % s})"
            if ceil_mode:
                text += "; ceil mode adds a last, partial window instead of dropping the remainder"
            elif not gaps.drops_last:
                text += "; the leftover positions are padding, so every input is still read"
            notes.append(text)
        if gaps.total:
            listed = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in gaps.runs) + (" ..." if gaps.more else "")
            notes.append(
                f"{where}input positions {listed} (1-based; {gaps.total} of {n}) are never covered by any window"
            )
        if padding == "same":
            notes.append(
                f"{where}SAME pads {pb + pa} = {pb} before + {pa} after (TensorFlow puts the odd one "
                f"after: right/bottom); output ceil({n}/{s}) = {out}"
            )
    kind = "MaxPool" if op == "pool" else "Conv"
    name = f"{kind}{dims}d"
    symmetric = all(pb == pa for pb, pa in win.padding)
    options: dict[str, Any] = {"kernel_size": win.kernel, "stride": win.stride}
    args = [] if op == "pool" else [str(shape[0]) if costed else "C_in", str(layer.out_channels) if costed else "C_out"]
    if symmetric:
        options["padding"] = tuple(pb for pb, _ in win.padding)
    options["dilation"] = win.dilation
    if op == "conv":
        options["groups"] = (layer.group_count(shape[0]),)
        options["bias"] = None if layer.bias else False
    else:
        options["ceil_mode"] = True if ceil_mode else None
    call = _torch_call(name, args, options)
    if not symmetric:
        call = f"{_pad_call(dims, win.padding)} then {call}  (or F.pad(x, {torch_pad(win.padding)}))"
        shifted = tuple(max(p) for p in win.padding)
        try:
            same_size = all(
                arith.window_output_size(n, k, s, p, p, d, ceil_mode) == o
                for n, k, s, p, d, o in zip(win.sizes, win.kernel, win.stride, shifted, win.dilation, win.out)
            )
        except LayerError:
            same_size = False
        if same_size:
            notes.append(
                f"symmetric padding={_torch_value(shifted)} gives the same size, but every window shifts "
                "by one position, so the values differ from TensorFlow's"
            )
    elif padding == "same" and op == "conv" and all(s == 1 for s in win.stride):
        call += "  (or padding='same', PyTorch's stride-1 SAME, extra pad after as in TensorFlow)"
    if padding == "same" and op == "pool":
        notes.append(
            "TensorFlow's SAME pooling ignores the padding: for max pooling pad with -inf "
            "(F.pad(x, ..., value=float('-inf'))), for average pooling use count_include_pad=False"
        )
    if op == "pool":
        call += f"  (nn.AvgPool{dims}d alike)"
    cost = _cost(layer, shape) if costed and op == "conv" else None
    return ConvResult(op=op, dims=tuple(results), notes=tuple(notes), torch=call, cost=cost)


def _transposed(layer: ConvTranspose, shape: tuple[int, ...], costed: bool) -> ConvResult:
    geo = layer.geometry(shape)
    sizes = shape[1:]
    dims = len(sizes)
    results, notes = [], []
    for axis, n, k, s, p, op, d, out in zip(
        SPATIAL_NAMES[dims],
        sizes,
        geo["kernel_size"],
        geo["stride"],
        geo["padding"],
        geo["output_padding"],
        geo["dilation"],
        geo["out"],
    ):
        first, last = arith.forward_inputs(n, k, s, p, d)
        results.append(
            DimResult(
                axis=axis,
                size=n,
                kernel=k,
                stride=s,
                dilation=d,
                pad_before=p,
                pad_after=p,
                output=out,
                formula=formulas.transposed_formula(n, k, s, p, op, d, out),
                output_padding=op,
                forward_inputs=(first, last),
            )
        )
        where = f"{axis}: " if dims > 1 else ""
        forward = f"a convolution with kernel {k}, stride {s}, padding {p}" + (f", dilation {d}" if d > 1 else "")
        if first == last:
            notes.append(f"{where}the transpose of {forward}, which maps {first} -> {n}")
            continue
        text = (
            f"{where}the transpose of {forward}; that convolution maps every input size from {first} to {last} "
            f"to {n} (floor division by the stride), so the size to restore is ambiguous: output_padding "
            f"0..{last - first} picks {first}..{last}"
        )
        if out > last:
            back = arith.window_output_size(out, k, s, p, p, d)
            text += f"; output_padding {op} gives {out}, which the convolution maps to {back}, not {n}"
        else:
            text += f" (here {op} -> {out})"
        notes.append(text)
    call = _torch_call(
        f"ConvTranspose{dims}d",
        [str(shape[0]) if costed else "C_in", str(layer.out_channels) if costed else "C_out"],
        {
            "kernel_size": geo["kernel_size"],
            "stride": geo["stride"],
            "padding": geo["padding"],
            "output_padding": geo["output_padding"],
            "groups": (layer.group_count(shape[0]),),
            "bias": None if layer.bias else False,
            "dilation": geo["dilation"],
        },
    )
    cost = _cost(layer, shape) if costed else None
    return ConvResult(op="conv_transpose", dims=tuple(results), notes=tuple(notes), torch=call, cost=cost)


def conv_output(
    input: int | tuple[int, ...],
    kernel: int | tuple[int, ...],
    stride: int | tuple[int, ...] = 1,
    padding: PadSpec = 0,
    dilation: int | tuple[int, ...] = 1,
    ceil_mode: bool = False,
) -> int | tuple[int, ...]:
    """Output size of a convolution or pooling window: floor((W - K + 2P)/S) + 1.

    K is the dilated span D*(K - 1) + 1; padding is N, (before, after), 'same' (TensorFlow's
    split) or 'valid', per dimension or for all; an int input gives an int back.

    >>> conv_output(227, 11, stride=4)
    55
    >>> conv_output((224, 224), 7, stride=2, padding=3)
    (112, 112)
    >>> conv_output(13, 6, stride=5, padding="same")
    3
    """
    result = conv_arithmetic(
        input, kernel, stride, padding, dilation, op="pool" if ceil_mode else "conv", ceil_mode=ceil_mode
    )
    return result.output if isinstance(input, (tuple, list)) else result.output[0]


def transposed_output(
    input: int | tuple[int, ...],
    kernel: int | tuple[int, ...],
    stride: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] = 0,
    output_padding: int | tuple[int, ...] = 0,
    dilation: int | tuple[int, ...] = 1,
) -> int | tuple[int, ...]:
    """Output size of a transposed convolution: (W - 1)*S - 2P + D*(K - 1) + output_padding + 1.

    >>> transposed_output(4, 3, stride=2, padding=1, output_padding=1)
    8
    """
    result = conv_arithmetic(
        input, kernel, stride, padding, dilation, op="conv_transpose", output_padding=output_padding
    )
    return result.output if isinstance(input, (tuple, list)) else result.output[0]


# ---------------------------------------------------------------------------------------------
# Solvers: which padding, stride or kernel yields a wanted output size


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


def _candidates(
    unknown: Unknown,
    n: int,
    target: int,
    k: int | None,
    s: int | None,
    pad: tuple[int, int] | None,
    d: int,
    transposed: bool,
    ceil_mode: bool = False,
) -> range:
    """A range of the unknown wide enough to hold every solution and one value past it."""
    if unknown == "padding":
        if transposed:
            return range(0, ((n - 1) * s + d * (k - 1) + max(s, d)) // 2 + 2)  # type: ignore[operator]
        return range(0, max((target - 1) * s + arith.effective_kernel(k, d) - n + s, 0) + 2)  # type: ignore[operator]
    total = sum(pad) if pad else 0
    if unknown == "stride":
        if transposed:
            return range(1, (target + 2 * pad[0]) // max(n - 1, 1) + 3)  # type: ignore[index]
        # in ceil mode a window longer than the padded input still gives one output once the stride
        # exceeds the overhang: the range must reach past the kernel's span for the final run to show
        reach = max(n + total, arith.effective_kernel(k, d) if ceil_mode and k else 0)  # type: ignore[arg-type]
        return range(1, reach + 2)
    if transposed:
        return range(1, (target + 2 * pad[0]) // d + 3)  # type: ignore[index]
    # in ceil mode a window may hang up to stride - 1 positions past the padded input (torch's rule)
    overhang = (s or 1) - 1 if ceil_mode else 0
    return range(1, (n + total - 1 + overhang) // d + 2)


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
    if any(span is None for span in spans):
        return None
    lo, hi = max(span[0] for span in spans), min(span[1] for span in spans)  # type: ignore[index]
    return (lo, hi) if lo <= hi else None


class _Dim(NamedTuple):
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
        return k, s, pad  # type: ignore[return-value]

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
            return Solution(k, s, pad, self.d, op, True, text)
        room = self.n + sum(pad) - arith.effective_kernel(k, self.d)
        text = formulas.window_formula(self.n, k, s, pad[0], pad[1], self.d, output, self.ceil_mode)
        return Solution(k, s, pad, self.d, 0, room % s == 0, text)


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
        return dim.label(gives[0], output)  # type: ignore[index]

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
    below = max(dim.reach(end)[1] for end in short)  # type: ignore[union-attr]
    above = min(dim.reach(end)[0] for end in over)  # type: ignore[union-attr]
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
    dim = _Dim(unknown, n, k, s, pad, d, op_given, transposed, pool, ceil_mode)
    span = _candidates(unknown, n, target, k, s, pad, d, transposed, ceil_mode)
    lo, hi = span.start, span.stop - 1
    valid = _meet(*(_true_span(lo, hi, limit) for limit in dim.limits()))
    found = valid and _meet(
        _true_span(*valid, lambda v: dim.reach(v)[0] <= target), _true_span(*valid, lambda v: dim.reach(v)[1] >= target)
    )
    if not found:
        reason = _why_none(dim, target, valid)
        if pool and unknown == "padding":
            reason += "; pooling padding may not exceed half the kernel"
        return DimSolve(axis, n, target, unknown, (), None, reason, 0)
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
    return DimSolve(axis, n, target, unknown, solutions, open_from, None, count)


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
    targets = _per_dim(output, dims, "output")
    ks = _per_dim(kernel, dims, "kernel") if kernel is not None else (None,) * dims
    ss = _per_dim(stride, dims, "stride") if stride is not None else (None,) * dims
    ds = _per_dim(dilation, dims, "dilation")
    ops = _per_dim(output_padding, dims, "output_padding") if output_padding is not None else (None,) * dims
    if padding is None:
        pads: tuple = (None,) * dims
    elif padding == "same":
        raise SpecError(
            "bad_value",
            "padding 'same' fixes the output size (ceil(W/S)); solve for the stride or kernel "
            "with a numeric padding instead",
        )
    else:
        pads = tuple(
            tuple(p) if isinstance(p, (tuple, list)) else (p, p)
            for p in _per_dim(0 if padding == "valid" else padding, dims, "padding")
        )
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
