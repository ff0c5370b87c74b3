"""Pooling kinds: max and average windows, adaptive and global pooling."""

from __future__ import annotations

from fractions import Fraction
from math import gcd, prod
from typing import ClassVar, Literal

from pydantic import AliasChoices, Field

from .. import arith
from ..errors import LayerError
from ..fields import Padding, SizeTuple
from ..formulas import Derivation, volume
from ..formulas.pool import adaptive_connections, check_pool_padding, pool_counts
from .base import (
    DILATION,
    KERNEL,
    PADDING,
    SPATIAL_NAMES,
    STRIDE,
    Counts,
    Layer,
    RFStep,
    Shape,
    TorchCall,
    Window,
    _dims_text,
    _expand,
    _spatial,
    padded_call,
    resolve_window,
)
from .ops import Op, Saves

# max pooling saves its argmax (int64 indices) besides the input; a global average is a mean, whose
# backward needs only the shape. ptflops counts a pool twice per element read (module hook and patched
# functional); fvcore counts 2-D adaptive average pooling; thop an average per output (and its window)
MAX_POOL = Op("max_pool", Saves(input=True, indices=True), fusion="kernel", costs={"ptflops": {"per_op_input": 2}})
AVG_POOL = Op(
    "avg_pool", Saves(input=True), fusion="kernel", costs={"ptflops": {"per_op_input": 2}, "thop": {"per_output": 1}}
)
ADAPTIVE_AVG_POOL = Op(
    "adaptive_avg_pool",
    Saves(input=True, unless_global=True),
    fusion="kernel",
    costs={
        "fvcore": {"per_input": 1, "ranks": (2,)},
        "ptflops": {"per_op_input": 2},
        "thop": {"per_input": 1, "per_output": 1},
    },
)
ADAPTIVE_MAX_POOL = Op(
    "adaptive_max_pool", Saves(input=True, indices=True), fusion="kernel", costs={"ptflops": {"per_op_input": 2}}
)
# adaptive and global pooling kind -> the op torch runs
ADAPTIVE_OPS = {
    "adaptive_avgpool": ADAPTIVE_AVG_POOL,
    "adaptive_maxpool": ADAPTIVE_MAX_POOL,
    "global_avgpool": ADAPTIVE_AVG_POOL,
    "global_maxpool": ADAPTIVE_MAX_POOL,
}


class _Pool(Layer):
    kernel_size: SizeTuple = Field(validation_alias=AliasChoices("kernel_size", "kernel"), description=KERNEL)
    stride: SizeTuple | None = Field(None, description=STRIDE + " (none: the kernel size)")
    padding: Padding = Field(((0, 0),), description=PADDING)
    ceil_mode: bool = Field(False, description="round the output size up: a last, partial window is kept")

    def window(self, shape: Shape) -> Window:
        _, sizes = _spatial(shape, self.kind)  # type: ignore[attr-defined]
        dilation = getattr(self, "dilation", (1,))
        win = resolve_window(
            sizes, self.kernel_size, self.stride or self.kernel_size, dilation, self.padding, self.ceil_mode
        )
        # Symmetric padding (written, or SAME's when it splits evenly) goes to torch's pooling op,
        # which limits it; asymmetric padding is a pad layer before the op (verify/build.py), unlimited.
        check_pool_padding(win.kernel, win.padding)
        return win

    # torch's op and the value its explicit (asymmetric) padding holds
    torch_op: ClassVar[Op]
    pad_value: ClassVar[float] = 0.0

    def counts(self, shape: Shape) -> Counts:
        win = self.window(shape)
        channels = shape[0]
        pooled = pool_counts(channels, win.sizes, win.kernel, win.out, win.padding, win.covered())
        return Counts(
            out_shape=(channels, *win.out),
            units=pooled.units,
            connections=pooled.connections,
            padded_connections=pooled.padded_connections,
            op=self.torch_op.name,
            op_in_elements=pooled.op_in_elements,
        )

    def _torch_kwargs(self, win: Window) -> dict:
        return {"kernel_size": win.kernel, "stride": win.stride, "ceil_mode": self.ceil_mode}

    def torch_call(self, shape: Shape) -> TorchCall:
        win = self.window(shape)
        cls = f"{type(self).__name__}{len(win.out)}d"
        return padded_call(TorchCall(cls, self._torch_kwargs(win)), win.padding, self.pad_value)

    def describe(self, shape: Shape) -> str:
        return self.window(shape).summary() + (" ceil" if self.ceil_mode else "")

    def explain(self, shape: Shape) -> tuple[Derivation, ...]:
        return self.window(shape).derivations(self.ceil_mode)

    def rf_step(self, shape: Shape) -> RFStep:
        return self.window(shape).rf_step()


class MaxPool(_Pool):
    """Max pooling; stride defaults to the kernel size."""

    kind: Literal["maxpool"]
    dilation: SizeTuple = Field((1,), description=DILATION)
    torch_op = MAX_POOL
    ops = (MAX_POOL,)
    pad_value = float("-inf")  # a max never picks the padding

    def _torch_kwargs(self, win: Window) -> dict:
        return {**super()._torch_kwargs(win), "dilation": win.dilation}


class AvgPool(_Pool):
    """Average pooling; stride defaults to the kernel size."""

    kind: Literal["avgpool"]
    count_include_pad: bool = Field(True, description="padding zeros count in each window's average (torch's default)")
    torch_op = AVG_POOL
    ops = (AVG_POOL,)

    def window(self, shape: Shape) -> Window:
        win = super().window(shape)
        # torch's 3-D average pooling (avg_pool3d) also needs the input before its own padding to
        # be at least the kernel, in every dimension; 1-D and 2-D, and max pooling, do not.
        # Asymmetric padding is applied by a pad layer first, so the op then sees the padded input.
        if len(win.sizes) == 3 and all(a == b for a, b in win.padding):
            for axis, (n, k) in enumerate(zip(win.sizes, win.kernel)):
                if n < k:
                    raise LayerError(
                        "kernel_too_large",
                        f"in dimension {SPATIAL_NAMES[3][axis]}, 3-D average pooling needs an input of at least"
                        f" the kernel ({k}) before padding, as torch's avg_pool3d does; the input has {n}",
                        field="kernel_size",
                        hint=f"use a kernel of at most {n} in that dimension",
                    )
        return win

    def _torch_kwargs(self, win: Window) -> dict:
        return {**super()._torch_kwargs(win), "count_include_pad": self.count_include_pad}


class AdaptivePool(Layer):
    """Adaptive pooling to a fixed output size (PyTorch's window rule)."""

    kind: Literal["adaptive_avgpool", "adaptive_maxpool"]
    summaries = {
        "adaptive_avgpool": "Average pooling to a fixed output size, over torch's adaptive (possibly uneven) windows.",
        "adaptive_maxpool": "Max pooling to a fixed output size, over torch's adaptive (possibly uneven) windows.",
    }
    ops = (ADAPTIVE_AVG_POOL, ADAPTIVE_MAX_POOL)
    output_size: SizeTuple = Field(
        validation_alias=AliasChoices("output_size", "out", "size"),
        description="the output's spatial size, whatever the input's: one value for every dimension, or one per dimension",
    )

    def counts(self, shape: Shape) -> Counts:
        channels, sizes = _spatial(shape, self.kind)
        out = _expand(self.output_size, len(sizes), "output_size")
        return Counts(
            out_shape=(channels, *out),
            units=channels * prod(out),
            connections=adaptive_connections(channels, sizes, out),
            op=ADAPTIVE_OPS[self.kind].name,
        )

    def torch_call(self, shape: Shape) -> TorchCall:
        out = _expand(self.output_size, len(shape) - 1, "output_size")
        family = "Avg" if self.kind == "adaptive_avgpool" else "Max"
        return TorchCall(f"Adaptive{family}Pool{len(out)}d", {"output_size": out})

    def describe(self, shape: Shape) -> str:
        return f"-> {_dims_text(_expand(self.output_size, len(shape) - 1, 'output_size'))}"

    def explain(self, shape: Shape) -> tuple[Derivation, ...]:
        """Window i spans [floor(i*W/O), ceil((i+1)*W/O)) (PyTorch's adaptive rule)."""
        _, sizes = _spatial(shape, self.kind)
        out = _expand(self.output_size, len(sizes), "output_size")
        lines = []
        for name, n, o in zip(SPATIAL_NAMES[len(sizes)], sizes, out):
            if n % o == 0:
                text = f"{n} -> {o}: windows of {n // o}, stride {n // o} ({n} divides by {o})"
            else:
                widths = arith.adaptive_widths(n, o)
                text = (
                    f"{n} -> {o}: window i spans [floor(i*{n}/{o}), ceil((i+1)*{n}/{o})), "
                    f"{' or '.join(map(str, widths))} positions wide"
                )
            lines.append(Derivation(f"output {name}", text, o))
        return tuple(lines)

    def rf_step(self, shape: Shape) -> RFStep:
        """Output size 1 everywhere: each output sees the whole input, as global pooling. Evenly
        divisible: a plain window (kernel = stride = W/O). Otherwise window i is [floor(i*W/O),
        ceil((i+1)*W/O)) (torch's rule), of uneven width and step; with g = gcd(W, O), its ends lie
        within (O - g)/O of i*W/O and (i+1)*W/O, so the window of stride W/O, leading padding
        (O - g)/O and span (W + 2(O - g))/O holds every one of them: a bound, exact in the mean step.

        >>> step = AdaptivePool(kind="adaptive_avgpool", output_size=3).rf_step((1, 7))
        >>> step.span, step.stride, step.pad_before
        ((Fraction(11, 3),), (Fraction(7, 3),), (Fraction(2, 3),))
        """
        _, sizes = _spatial(shape, self.kind)
        out = _expand(self.output_size, len(sizes), "output_size")
        if all(o == 1 for o in out):
            return RFStep(whole=True)
        spans: list[int | Fraction] = []
        strides: list[int | Fraction] = []
        pads: list[int | Fraction] = []
        uneven = []
        for name, n, o in zip(SPATIAL_NAMES[len(sizes)], sizes, out):
            if n % o == 0:
                spans.append(n // o)
                strides.append(n // o)
                pads.append(0)
                continue
            over = o - gcd(n, o)
            spans.append(Fraction(n + 2 * over, o))
            strides.append(Fraction(n, o))
            pads.append(Fraction(over, o))
            widths = " or ".join(map(str, arith.adaptive_widths(n, o)))
            steps = " or ".join(map(str, sorted({n // o, -(-n // o)})))
            uneven.append(f"{name} {n} -> {o}: windows {widths} wide, every {steps}")
        note = None
        if uneven:
            note = (
                f"uneven adaptive windows ({'; '.join(uneven)}): size and start bound every unit's field, "
                "the jump is the mean step"
            )
        return RFStep(span=tuple(spans), stride=tuple(strides), pad_before=tuple(pads), note=note)


class GlobalPool(Layer):
    """Pooling over all spatial positions; keeps singleton dimensions, as torch does."""

    kind: Literal["global_avgpool", "global_maxpool"]
    summaries = {
        "global_avgpool": "The average of all spatial positions per channel; keeps singleton dimensions, as torch does.",
        "global_maxpool": "The maximum of all spatial positions per channel; keeps singleton dimensions, as torch does.",
    }
    ops = (ADAPTIVE_AVG_POOL, ADAPTIVE_MAX_POOL)  # torch pools to size 1

    def counts(self, shape: Shape) -> Counts:
        channels, sizes = _spatial(shape, self.kind)
        return Counts(
            out_shape=(channels, *(1,) * len(sizes)),
            units=channels,
            connections=channels * prod(sizes),
            op=ADAPTIVE_OPS[self.kind].name,
        )

    def explain(self, shape: Shape) -> tuple[Derivation, ...]:
        channels, sizes = _spatial(shape, self.kind)
        text = f"{' x '.join(map(str, sizes))} = {prod(sizes):,} positions per channel -> {volume(self.counts(shape).out_shape)}"
        return (Derivation("output", text, channels),)

    def rf_step(self, shape: Shape) -> RFStep:
        return RFStep(whole=True)

    def torch_call(self, shape: Shape) -> TorchCall:
        family = "Avg" if self.kind == "global_avgpool" else "Max"
        return TorchCall(f"Adaptive{family}Pool{len(shape) - 1}d", {"output_size": 1})
