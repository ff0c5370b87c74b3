"""The forward calculator: what one layer with these numbers gives, with its working.

Pure: numbers in, frozen dataclasses out (rendering lives in `archcalc.calculator.text`). The
geometry and the counts come from the same pure functions the layer kinds call
(`archcalc.arith`, `archcalc.formulas.conv`, `resolve_window`), so the calculator and
`archcalc shapes` can never disagree; this module adds the explanations around them: the formula
with numbers, the inputs a stride never reaches, the SAME split and its PyTorch equivalent, and
the forward convolution behind a transposed one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import arith, formulas
from ..errors import LayerError, SpecError
from ..formulas.conv import (
    KernelCounts,
    bias_count,
    conv_counts,
    conv_derivations,
    group_count,
    transposed_counts,
    transposed_covered,
    transposed_derivations,
    transposed_sizes,
)
from ..formulas.pool import check_pool_padding
from ..layers.base import SPATIAL_NAMES, Window, check_shape, resolve_window, torch_pad
from .inputs import Op, PadSpec, TransposedNumbers, WindowNumbers, checked, per_dim

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

    @classmethod
    def of(
        cls, in_channels: int, out_channels: int, groups: int, counts: KernelCounts, derivations: tuple[Any, ...]
    ) -> LayerCost:
        return cls(
            in_channels=in_channels,
            out_channels=out_channels,
            groups=groups,
            weights=counts.weights,
            biases=counts.biases,
            units=counts.units,
            connections=counts.connections,
            macs=counts.macs,
            derivations=derivations,
        )

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


def _padding_field(padding: PadSpec, dims: int) -> Any:
    """The calculator's padding spelling -> the layer field's: 'same', 'valid' or per-side pairs."""
    if isinstance(padding, str):
        return padding
    return [list(p) if isinstance(p, (tuple, list)) else [p, p] for p in per_dim(padding, dims, "padding")]


def _layer_error(err: LayerError) -> SpecError:
    return SpecError(err.code, err.message, hint=err.hint)


def _torch_value(values: tuple[int, ...]) -> str:
    return str(values[0]) if len(set(values)) == 1 else str(tuple(values))


def _torch_call(name: str, args: list[str], options: dict[str, tuple[int, ...] | bool | str | None]) -> str:
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
        "kernel_size": list(per_dim(kernel, dims, "kernel")),
        "stride": list(per_dim(stride, dims, "stride")),
        "dilation": list(per_dim(dilation, dims, "dilation")),
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
            pads = per_dim(pad, dims, "padding")
            if any(isinstance(p, (tuple, list)) for p in pads):
                raise SpecError(
                    "bad_value",
                    "a transposed convolution pads both sides alike (PyTorch's padding)",
                    hint="give one number per dimension",
                )
            numbers: TransposedNumbers = checked(
                TransposedNumbers,
                {
                    "out_channels": c_out,
                    "groups": groups,
                    "bias": bias,
                    "padding": list(pads),
                    "output_padding": list(per_dim(output_padding, dims, "output_padding")),
                    **common,
                },
            )
            return _transposed(numbers, shape, channels is not None)
        fields = {**common, "padding": _padding_field(padding, dims)}
        if op == "pool":
            window: WindowNumbers = checked(WindowNumbers, {"ceil_mode": ceil_mode, **fields})
        else:
            window = checked(WindowNumbers, {"out_channels": c_out, "groups": groups, "bias": bias, **fields})
        return _windowed(op, window, shape, padding, ceil_mode, channels is not None)
    except LayerError as err:
        raise _layer_error(err) from None


def _window(numbers: WindowNumbers, sizes: tuple[int, ...], pool: bool) -> Window:
    """The window resolved against the input, as `Conv.window` and `MaxPool.window` resolve it."""
    win = resolve_window(
        sizes,
        numbers["kernel_size"],
        numbers["stride"],
        numbers["dilation"],
        numbers["padding"],
        numbers.get("ceil_mode", False),
    )
    if pool:
        check_pool_padding(win.kernel, win.padding)
    return win


def _conv_cost(numbers: WindowNumbers, win: Window, c_in: int, groups: int) -> LayerCost:
    """A full convolution's cost (every output map sees c_in/groups input maps), as `Conv.counts`."""
    c_out = numbers["out_channels"]
    out_shape = check_shape((c_out, *win.out))
    biases = bias_count(numbers["bias"], out_shape)
    fan_in = (c_in // groups, *win.kernel)
    counts = conv_counts(c_out * fan_in[0], c_out, win.kernel, win.out, win.covered(), biases)
    return LayerCost.of(c_in, c_out, groups, counts, conv_derivations(c_out, fan_in, win.out, biases))


def _windowed(
    op: Op, numbers: WindowNumbers, shape: tuple[int, ...], padding: PadSpec, ceil_mode: bool, costed: bool
) -> ConvResult:
    win = _window(numbers, shape[1:], op == "pool")
    dims = len(win.sizes)
    names = SPATIAL_NAMES[dims]
    results: list[DimResult] = []
    notes: list[str] = []
    for axis, n, k, s, d, (pb, pa), out in zip(
        names, win.sizes, win.kernel, win.stride, win.dilation, win.padding, win.out
    ):
        room = n + pb + pa - arith.effective_kernel(k, d)
        gaps = arith.Gaps(total=0, runs=(), more=False, drops_last=False)
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
    options: dict[str, tuple[int, ...] | bool | str | None] = {"kernel_size": win.kernel, "stride": win.stride}
    args = (
        []
        if op == "pool"
        else [str(shape[0]) if costed else "C_in", str(numbers["out_channels"]) if costed else "C_out"]
    )
    if symmetric:
        options["padding"] = tuple(pb for pb, _ in win.padding)
    options["dilation"] = win.dilation
    groups = 1
    if op == "conv":
        groups = group_count(numbers["groups"], shape[0], numbers["out_channels"])
        options["groups"] = (groups,)
        options["bias"] = None if numbers["bias"] else False
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
    cost = _conv_cost(numbers, win, shape[0], groups) if costed and op == "conv" else None
    return ConvResult(op=op, dims=tuple(results), notes=tuple(notes), torch=call, cost=cost)


def _transposed(numbers: TransposedNumbers, shape: tuple[int, ...], costed: bool) -> ConvResult:
    c_in, sizes = shape[0], shape[1:]
    dims = len(sizes)
    kernel, stride, dilation = numbers["kernel_size"], numbers["stride"], numbers["dilation"]
    padding, output_padding = numbers["padding"], numbers["output_padding"]
    out_sizes = transposed_sizes(sizes, kernel, stride, padding, output_padding, dilation)
    c_out = numbers["out_channels"]
    groups = group_count(numbers["groups"], c_in, c_out)
    results: list[DimResult] = []
    notes: list[str] = []
    for axis, n, k, s, p, op, d, out in zip(
        SPATIAL_NAMES[dims], sizes, kernel, stride, padding, output_padding, dilation, out_sizes
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
        [str(c_in) if costed else "C_in", str(c_out) if costed else "C_out"],
        {
            "kernel_size": kernel,
            "stride": stride,
            "padding": padding,
            "output_padding": output_padding,
            "groups": (groups,),
            "bias": None if numbers["bias"] else False,
            "dilation": dilation,
        },
    )
    cost = None
    if costed:
        check_shape((c_out, *out_sizes))
        covered = transposed_covered(sizes, out_sizes, kernel, stride, padding, dilation)
        counts = transposed_counts(c_in, c_out, groups, sizes, kernel, out_sizes, covered, numbers["bias"])
        fan_out = (c_out // groups, *kernel)
        biases = counts.biases
        cost = LayerCost.of(c_in, c_out, groups, counts, transposed_derivations(c_in, fan_out, sizes, biases))
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
