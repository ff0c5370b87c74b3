"""One pydantic model per layer kind, each holding every rule of its kind.

A kind is declared once: its fields (named after torch's constructor arguments, with short
aliases for hand-written YAML), its shape inference and counts (`counts`), its one-line
description (`describe`). Containers (block, parallel, residual, repeat) implement `walk`
instead and hand their children back to the walker. Nothing anywhere switches on the kind:
to add a kind, write one class here and add it to `LAYER_CLASSES`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from math import prod
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol, Union

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from . import arith
from .errors import LayerError
from .fields import Groups, NonNegativeTuple, Padding, PadPair, Probability, Size, SizeTuple

Shape = tuple[int, ...]

SPATIAL_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


@dataclass(frozen=True, slots=True)
class Counts:
    """What one layer produces and costs, per example.

    units: new activations it produces (element-wise layers applied in place produce none);
    weights / biases: multiplicative / additive trainable parameters; buffers: non-trainable
    float state (batch-norm running statistics); counters: int64 scalars (num_batches_tracked);
    connections: input-to-output edges, biases and zero padding excluded;
    macs: multiply-accumulates of a dense implementation, padding positions included.
    """

    out_shape: Shape
    units: int = 0
    weights: int = 0
    biases: int = 0
    buffers: int = 0
    counters: int = 0
    connections: int = 0
    macs: int = 0


class Walker(Protocol):
    """The analyzer's side of a walk: containers call `run`, leaves call `emit`."""

    def run(self, layers: list[Any], shape: Shape, scope: Any, field: tuple[str | int, ...]) -> Shape: ...

    def emit(self, scope: Any, kind: str, summary: str, in_shape: Shape, counts: Counts) -> None: ...

    def child(self, scope: Any, name: str, field: tuple[str | int, ...]) -> Any: ...


def _dims_text(values: tuple[int, ...]) -> str:
    return "x".join(str(v) for v in values)


def _compact(values: tuple[int, ...]) -> str:
    """One number when every dimension agrees (stride 4), else all of them (stride 2x1)."""
    return str(values[0]) if len(set(values)) == 1 else _dims_text(values)


class Layer(BaseModel):
    """Fields and behaviour every kind shares."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str | None = None
    trainable: bool = True

    def walk(self, shape: Shape, walker: Walker, scope: Any) -> Shape:
        counts = self.counts(shape)
        walker.emit(scope, self.kind, self.describe(shape), shape, counts)  # type: ignore[attr-defined]
        return counts.out_shape

    def counts(self, shape: Shape) -> Counts:  # pragma: no cover - every leaf overrides it
        raise NotImplementedError

    def describe(self, shape: Shape) -> str:
        return ""


# ---------------------------------------------------------------------------------------------
# Helpers shared by the spatial kinds


def _spatial(shape: Shape, kind: str) -> tuple[int, tuple[int, ...]]:
    if not 2 <= len(shape) <= 4:
        got = f"a flat vector of {shape[0]} features" if len(shape) == 1 else f"shape {list(shape)}"
        raise LayerError(
            "wrong_input_rank",
            f"{kind} needs a [C, L], [C, H, W] or [C, D, H, W] input but receives {got}",
            hint="move the flatten after the last spatial layer" if len(shape) == 1 else None,
        )
    return shape[0], shape[1:]


def _expand(values: tuple[int, ...], dims: int, field: str) -> tuple[int, ...]:
    if len(values) == 1:
        return values * dims
    if len(values) != dims:
        names = "x".join(SPATIAL_NAMES[dims])
        raise LayerError(
            "wrong_rank",
            f"{field} has {len(values)} values but the input has {dims} spatial dimension(s) ({names})",
            field=field,
            hint=f"give one value or {dims} values",
        )
    return values


@dataclass(frozen=True, slots=True)
class Window:
    """A sliding window resolved against one input: everything per spatial dimension."""

    sizes: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[PadPair, ...]
    out: tuple[int, ...]

    def covered(self) -> int:
        """Edges per (input channel, output channel) pair: padding taps excluded."""
        return prod(
            arith.covered_pairs(n, o, k, s, p[0], d)
            for n, o, k, s, p, d in zip(self.sizes, self.out, self.kernel, self.stride, self.padding, self.dilation)
        )

    def summary(self) -> str:
        text = _dims_text(self.kernel)
        if any(s != 1 for s in self.stride):
            text += f"/{_compact(self.stride)}"
        if any(p != (0, 0) for p in self.padding):
            if all(a == b for a, b in self.padding):
                text += f" p{_compact(tuple(a for a, _ in self.padding))}"
            else:
                text += " p" + ",".join(f"{a}+{b}" for a, b in self.padding)
        if any(d != 1 for d in self.dilation):
            text += f" d{_compact(self.dilation)}"
        return text


def resolve_window(
    sizes: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    padding: Any,
    ceil_mode: bool = False,
) -> Window:
    """Resolve per-dimension kernel, stride, dilation and padding against input sizes."""
    dims = len(sizes)
    kernel = _expand(kernel, dims, "kernel_size")
    stride = _expand(stride, dims, "stride")
    dilation = _expand(dilation, dims, "dilation")
    if padding == "valid":
        pads: tuple[PadPair, ...] = ((0, 0),) * dims
    elif padding == "same":
        pads = tuple(arith.same_padding(n, k, s, d) for n, k, s, d in zip(sizes, kernel, stride, dilation))
    else:
        pads = padding * dims if len(padding) == 1 else padding
        if len(pads) != dims:
            raise LayerError(
                "wrong_rank",
                f"padding has {len(pads)} entries but the input has {dims} spatial dimension(s)",
                field="padding",
                hint=f"give one value or {dims} values",
            )
    out = []
    for axis, (n, k, s, p, d) in enumerate(zip(sizes, kernel, stride, pads, dilation)):
        try:
            out.append(arith.window_output_size(n, k, s, p[0], p[1], d, ceil_mode))
        except LayerError as err:
            err.message = f"in dimension {SPATIAL_NAMES[dims][axis]}, {err.message}"
            err.args = (err.message,)
            raise
    return Window(tuple(sizes), kernel, stride, dilation, pads, tuple(out))


# ---------------------------------------------------------------------------------------------
# Convolutions


class Conv(Layer):
    """N-d convolution (1-, 2- or 3-D, from the input's rank); groups, dilation, any padding."""

    kind: Literal["conv"]
    out_channels: Size = Field(validation_alias=AliasChoices("out_channels", "out"))
    kernel_size: SizeTuple = Field(validation_alias=AliasChoices("kernel_size", "kernel"))
    stride: SizeTuple = (1,)
    padding: Padding = ((0, 0),)
    dilation: SizeTuple = (1,)
    groups: Groups = 1
    bias: bool = True

    def group_count(self, in_channels: int) -> int:
        groups = in_channels if self.groups == "depthwise" else self.groups
        for what, channels in (("in_channels", in_channels), ("out_channels", self.out_channels)):
            if channels % groups:
                divisors = [g for g in range(1, min(channels, 64) + 1) if channels % g == 0]
                raise LayerError(
                    "groups_mismatch",
                    f"groups={groups} does not divide {what}={channels}",
                    field="groups",
                    hint=f"use a divisor of {channels}, such as {', '.join(map(str, divisors[:8]))}",
                )
        return groups

    def window(self, shape: Shape) -> Window:
        _, sizes = _spatial(shape, self.kind)
        return resolve_window(sizes, self.kernel_size, self.stride, self.dilation, self.padding)

    def counts(self, shape: Shape) -> Counts:
        c_in, _ = _spatial(shape, self.kind)
        groups = self.group_count(c_in)
        win = self.window(shape)
        fan_in = (c_in // groups) * prod(win.kernel)
        units = self.out_channels * prod(win.out)
        return Counts(
            out_shape=(self.out_channels, *win.out),
            units=units,
            weights=self.out_channels * fan_in,
            biases=self.out_channels if self.bias else 0,
            connections=self.out_channels * (c_in // groups) * win.covered(),
            macs=units * fan_in,
        )

    def describe(self, shape: Shape) -> str:
        text = f"{self.out_channels}, {self.window(shape).summary()}"
        groups = self.group_count(shape[0])
        if groups != 1:
            text += " dw" if groups == shape[0] == self.out_channels else f" g{groups}"
        return text + ("" if self.bias else ", no bias")


class ConvTranspose(Layer):
    """Transposed ("fractionally strided") convolution; MACs counted on input positions."""

    kind: Literal["conv_transpose"]
    out_channels: Size = Field(validation_alias=AliasChoices("out_channels", "out"))
    kernel_size: SizeTuple = Field(validation_alias=AliasChoices("kernel_size", "kernel"))
    stride: SizeTuple = (1,)
    padding: NonNegativeTuple = (0,)
    output_padding: NonNegativeTuple = (0,)
    dilation: SizeTuple = (1,)
    groups: Groups = 1
    bias: bool = True

    group_count = Conv.group_count

    def geometry(self, shape: Shape) -> dict[str, tuple[int, ...]]:
        _, sizes = _spatial(shape, self.kind)
        dims = len(sizes)
        geo = {
            "kernel_size": _expand(self.kernel_size, dims, "kernel_size"),
            "stride": _expand(self.stride, dims, "stride"),
            "padding": _expand(self.padding, dims, "padding"),
            "output_padding": _expand(self.output_padding, dims, "output_padding"),
            "dilation": _expand(self.dilation, dims, "dilation"),
        }
        geo["out"] = tuple(
            arith.transposed_output_size(n, k, s, p, op, d)
            for n, k, s, p, op, d in zip(
                sizes, geo["kernel_size"], geo["stride"], geo["padding"], geo["output_padding"], geo["dilation"]
            )
        )
        return geo

    def counts(self, shape: Shape) -> Counts:
        c_in, sizes = _spatial(shape, self.kind)
        groups = self.group_count(c_in)
        geo = self.geometry(shape)
        per_input = (self.out_channels // groups) * prod(geo["kernel_size"])
        covered = prod(
            arith.transposed_covered_pairs(n, o, k, s, p, d)
            for n, o, k, s, p, d in zip(
                sizes, geo["out"], geo["kernel_size"], geo["stride"], geo["padding"], geo["dilation"]
            )
        )
        return Counts(
            out_shape=(self.out_channels, *geo["out"]),
            units=self.out_channels * prod(geo["out"]),
            weights=c_in * per_input,
            biases=self.out_channels if self.bias else 0,
            connections=c_in * (self.out_channels // groups) * covered,
            macs=c_in * prod(sizes) * per_input,
        )

    def describe(self, shape: Shape) -> str:
        geo = self.geometry(shape)
        text = f"{self.out_channels}, {_dims_text(geo['kernel_size'])}/{_compact(geo['stride'])}"
        if any(geo["padding"]):
            text += f" p{_compact(geo['padding'])}"
        if any(geo["output_padding"]):
            text += f" op{_compact(geo['output_padding'])}"
        return text


# ---------------------------------------------------------------------------------------------
# Pooling


class _Pool(Layer):
    kernel_size: SizeTuple = Field(validation_alias=AliasChoices("kernel_size", "kernel"))
    stride: SizeTuple | None = None
    padding: Padding = ((0, 0),)
    ceil_mode: bool = False

    def window(self, shape: Shape) -> Window:
        _, sizes = _spatial(shape, self.kind)  # type: ignore[attr-defined]
        dilation = getattr(self, "dilation", (1,))
        win = resolve_window(
            sizes, self.kernel_size, self.stride or self.kernel_size, dilation, self.padding, self.ceil_mode
        )
        if isinstance(self.padding, tuple):
            for (before, after), k, d in zip(win.padding, win.kernel, win.dilation):
                half = arith.effective_kernel(k, d) // 2
                if max(before, after) > half:
                    raise LayerError(
                        "padding_too_large",
                        f"pooling padding {max(before, after)} exceeds half the kernel ({half})",
                        field="padding",
                        hint=f"use padding of at most {half}",
                    )
        return win

    def counts(self, shape: Shape) -> Counts:
        win = self.window(shape)
        channels = shape[0]
        return Counts(
            out_shape=(channels, *win.out),
            units=channels * prod(win.out),
            connections=channels * win.covered(),
        )

    def describe(self, shape: Shape) -> str:
        return self.window(shape).summary() + (" ceil" if self.ceil_mode else "")


class MaxPool(_Pool):
    """Max pooling; stride defaults to the kernel size."""

    kind: Literal["maxpool"]
    dilation: SizeTuple = (1,)


class AvgPool(_Pool):
    """Average pooling; stride defaults to the kernel size."""

    kind: Literal["avgpool"]
    count_include_pad: bool = True


class AdaptivePool(Layer):
    """Adaptive pooling to a fixed output size (PyTorch's window rule)."""

    kind: Literal["adaptive_avgpool", "adaptive_maxpool"]
    output_size: SizeTuple = Field(validation_alias=AliasChoices("output_size", "out", "size"))

    def counts(self, shape: Shape) -> Counts:
        channels, sizes = _spatial(shape, self.kind)
        out = _expand(self.output_size, len(sizes), "output_size")
        return Counts(
            out_shape=(channels, *out),
            units=channels * prod(out),
            connections=channels * prod(arith.adaptive_covered(n, o) for n, o in zip(sizes, out)),
        )

    def describe(self, shape: Shape) -> str:
        return f"-> {_dims_text(_expand(self.output_size, len(shape) - 1, 'output_size'))}"


class GlobalPool(Layer):
    """Pooling over all spatial positions; keeps singleton dimensions, as torch does."""

    kind: Literal["global_avgpool", "global_maxpool"]

    def counts(self, shape: Shape) -> Counts:
        channels, sizes = _spatial(shape, self.kind)
        return Counts(
            out_shape=(channels, *(1,) * len(sizes)), units=channels, connections=channels * prod(sizes)
        )


# ---------------------------------------------------------------------------------------------
# Dense, shape and element-wise layers


class Flatten(Layer):
    """[C, H, W] -> [C*H*W]; a view, so it produces no new units."""

    kind: Literal["flatten"]

    def counts(self, shape: Shape) -> Counts:
        return Counts(out_shape=(prod(shape),))


class Linear(Layer):
    """Fully connected layer on a flat input."""

    kind: Literal["linear"]
    out_features: Size = Field(validation_alias=AliasChoices("out_features", "out"))
    bias: bool = True

    def counts(self, shape: Shape) -> Counts:
        if len(shape) != 1:
            raise LayerError(
                "wrong_input_rank",
                f"linear needs a flat input but receives shape {list(shape)}",
                hint=f"add a flatten layer before it (it would see {prod(shape)} features)",
            )
        edges = shape[0] * self.out_features
        return Counts(
            out_shape=(self.out_features,),
            units=self.out_features,
            weights=edges,
            biases=self.out_features if self.bias else 0,
            connections=edges,
            macs=edges,
        )

    def describe(self, shape: Shape) -> str:
        return f"{shape[0]} -> {self.out_features}" + ("" if self.bias else ", no bias")


ACTIVATION_KINDS = (
    "relu", "relu6", "gelu", "silu", "mish", "tanh", "sigmoid", "hardswish", "hardsigmoid",
    "softmax", "log_softmax", "identity",
)  # fmt: skip


class Activation(Layer):
    """A parameter-free element-wise function, applied in place: no new units, no connections."""

    kind: Literal[ACTIVATION_KINDS]  # type: ignore[valid-type]

    def counts(self, shape: Shape) -> Counts:
        return Counts(out_shape=shape)


class LeakyReLU(Activation):
    """ReLU with a slope for negative inputs."""

    kind: Literal["leaky_relu"]  # type: ignore[assignment]
    negative_slope: float = 0.01

    def describe(self, shape: Shape) -> str:
        return f"slope {self.negative_slope:g}"


class Dropout(Activation):
    """Dropout: identity at inference, no units or connections of its own."""

    kind: Literal["dropout"]  # type: ignore[assignment]
    p: Probability = 0.5

    def describe(self, shape: Shape) -> str:
        return f"p={self.p:g}"


class BatchNorm(Layer):
    """Batch normalisation over channels: gamma (weight) and beta (bias) per channel, running
    mean and variance as buffers, plus torch's int64 `num_batches_tracked` counter."""

    kind: Literal["batchnorm"]
    eps: float = 1e-5
    momentum: float = 0.1
    affine: bool = True
    track_running_stats: bool = True

    def counts(self, shape: Shape) -> Counts:
        channels = shape[0]
        return Counts(
            out_shape=shape,
            units=prod(shape),
            weights=channels if self.affine else 0,
            biases=channels if self.affine else 0,
            buffers=2 * channels if self.track_running_stats else 0,
            counters=1 if self.track_running_stats else 0,
        )


class LocalResponseNorm(Layer):
    """AlexNet's local response normalisation across `size` neighbouring channels."""

    kind: Literal["lrn"]
    size: Size = 5
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 1.0

    def counts(self, shape: Shape) -> Counts:
        channels = shape[0]
        # torch pads size//2 channels before and (size-1)//2 after each position
        per_position = sum(
            min(channels - 1, c + (self.size - 1) // 2) - max(0, c - self.size // 2) + 1 for c in range(channels)
        )
        return Counts(out_shape=shape, units=prod(shape), connections=per_position * prod(shape[1:]))

    def describe(self, shape: Shape) -> str:
        return f"size {self.size}, a={self.alpha:g} b={self.beta:g} k={self.k:g}"


# ---------------------------------------------------------------------------------------------
# Structure: blocks, branches, residuals, repetition


def _merge(kind: str, shapes: list[Shape]) -> Counts:
    """Output of merging branch outputs by channel concatenation or element-wise addition."""
    first = shapes[0]
    listing = ", ".join(str(list(s)) for s in shapes)
    if kind == "concat":
        if any(len(s) != len(first) or s[1:] != first[1:] for s in shapes):
            raise LayerError(
                "branch_mismatch",
                f"branches cannot be concatenated along channels: their outputs are {listing}",
                hint="every branch must keep the same spatial size (check strides and padding)",
            )
        return Counts(out_shape=(sum(s[0] for s in shapes), *first[1:]))
    if any(s != first for s in shapes):
        raise LayerError(
            "branch_mismatch",
            f"branches cannot be added: their outputs are {listing}",
            hint="use a projection shortcut (1x1 conv with the same stride and channels) to match shapes",
        )
    units = prod(first)
    return Counts(out_shape=first, units=units, connections=units * len(shapes))


class Block(Layer):
    """A named sequential group of layers."""

    kind: Literal["block"]
    layers: list[LayerSpec] = Field(min_length=1)

    def walk(self, shape: Shape, walker: Walker, scope: Any) -> Shape:
        return walker.run(self.layers, shape, scope, ("layers",))


class Branch(BaseModel):
    """One path of a `parallel` layer; an empty branch is the identity."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str | None = None
    layers: list[LayerSpec] = Field(default_factory=list)


def _branch_from_list(value: Any) -> Any:
    return {"layers": value} if isinstance(value, list) else value


class Parallel(Layer):
    """Branches applied to the same input, merged by channel concat (Inception) or by add."""

    kind: Literal["parallel"]
    merge: Literal["concat", "add"]
    branches: list[Annotated[Branch, BeforeValidator(_branch_from_list)]] = Field(min_length=1)

    def walk(self, shape: Shape, walker: Walker, scope: Any) -> Shape:
        outs = []
        for i, branch in enumerate(self.branches):
            sub = walker.child(scope, branch.name or f"b{i + 1}", ("branches", i))
            outs.append(walker.run(branch.layers, shape, sub, ("layers",)))
        counts = _merge(self.merge, outs)
        walker.emit(walker.child(scope, self.merge, ()), self.merge, f"{len(outs)} branches", shape, counts)
        return counts.out_shape


class Residual(Layer):
    """body(x) + shortcut(x); the shortcut is the identity unless layers are given (projection)."""

    kind: Literal["residual"]
    body: list[LayerSpec] = Field(min_length=1)
    shortcut: list[LayerSpec] = Field(default_factory=list)

    def walk(self, shape: Shape, walker: Walker, scope: Any) -> Shape:
        body = walker.run(self.body, shape, scope, ("body",))
        short = walker.run(self.shortcut, shape, walker.child(scope, "shortcut", ()), ("shortcut",))
        counts = _merge("add", [body, short])
        walker.emit(walker.child(scope, "add", ()), "add", "residual", shape, counts)
        return counts.out_shape


class Repeat(Layer):
    """The same layers applied `times` times in sequence (copies named 0, 1, ...)."""

    kind: Literal["repeat"]
    times: Size
    layers: list[LayerSpec] = Field(min_length=1)

    def walk(self, shape: Shape, walker: Walker, scope: Any) -> Shape:
        for copy in range(self.times):
            shape = walker.run(self.layers, shape, walker.child(scope, str(copy), ()), ("layers",))
        return shape


# ---------------------------------------------------------------------------------------------
# The union of all kinds, and the short forms people write by hand

LAYER_CLASSES: tuple[type[Layer], ...] = (
    Conv, ConvTranspose, MaxPool, AvgPool, AdaptivePool, GlobalPool, Flatten, Linear,
    Activation, LeakyReLU, Dropout, BatchNorm, LocalResponseNorm,
    Block, Parallel, Residual, Repeat,
)  # fmt: skip


def _kinds_of(cls: type[Layer]) -> tuple[str, ...]:
    return tuple(cls.model_fields["kind"].annotation.__args__)  # type: ignore[union-attr]


KIND_TO_CLASS: dict[str, type[Layer]] = {kind: cls for cls in LAYER_CLASSES for kind in _kinds_of(cls)}
KINDS: tuple[str, ...] = tuple(KIND_TO_CLASS)

# Spellings people bring from other frameworks, accepted as the canonical kind.
KIND_ALIASES: dict[str, str] = {
    "conv1d": "conv", "conv2d": "conv", "conv3d": "conv", "convolution": "conv",
    "deconv": "conv_transpose", "convtranspose": "conv_transpose", "conv_transpose2d": "conv_transpose",
    "fc": "linear", "dense": "linear", "maxpool2d": "maxpool", "max_pool": "maxpool",
    "avgpool2d": "avgpool", "avg_pool": "avgpool", "bn": "batchnorm", "batchnorm2d": "batchnorm",
    "batch_norm": "batchnorm", "swish": "silu", "local_response_norm": "lrn",
}  # fmt: skip


def suggest_kind(kind: str) -> str | None:
    """The nearest known kind to a misspelt one, if any is close."""
    matches = difflib.get_close_matches(kind.lower(), list(KINDS) + list(KIND_ALIASES), n=1, cutoff=0.6)
    return KIND_ALIASES.get(matches[0], matches[0]) if matches else None


def _unknown_kind(kind: Any) -> PydanticCustomError:
    suggestion = suggest_kind(kind) if isinstance(kind, str) else None
    hint = f"did you mean '{suggestion}'?" if suggestion else "run `archcalc kinds` to list the layer kinds"
    return PydanticCustomError("unknown_kind", "unknown layer kind {kind!r}; {hint}", {"kind": kind, "hint": hint})


def normalize_layer(value: Any) -> Any:
    """`relu` -> {kind: relu}; `{conv: {out: 96}}` -> {kind: conv, out: 96}; aliases resolved."""
    if isinstance(value, str):
        kind, body = value, {}
    elif isinstance(value, dict) and "kind" not in value:
        if len(value) != 1:
            raise PydanticCustomError(
                "missing_kind",
                "a layer needs a 'kind' (write `kind: conv`, or the short form `- conv: {{out: 64, kernel: 3}}`)",
            )
        ((kind, body),) = value.items()
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise PydanticCustomError(
                "wrong_type", "the short form `{kind}: ...` takes a mapping of fields, got {got!r}",
                {"kind": kind, "got": body},
            )  # fmt: skip
    elif isinstance(value, dict):
        kind, body = value["kind"], {k: v for k, v in value.items() if k != "kind"}
    else:
        raise PydanticCustomError(
            "wrong_type", "a layer must be a kind name or a mapping, got {got!r}", {"got": value}
        )
    if not isinstance(kind, str):
        raise _unknown_kind(kind)
    kind = KIND_ALIASES.get(kind.lower(), kind)
    if kind not in KIND_TO_CLASS:
        raise _unknown_kind(kind)
    return {"kind": kind, **body}


if TYPE_CHECKING:
    LayerSpec = Layer
else:
    LayerSpec = Annotated[
        Annotated[Union[LAYER_CLASSES], Field(discriminator="kind")],  # noqa: UP007
        BeforeValidator(normalize_layer),
    ]

for _cls in (Block, Branch, Parallel, Residual, Repeat):
    _cls.model_rebuild()


def field_aliases() -> dict[str, tuple[str, ...]]:
    """Canonical field name -> every name accepted for it in a spec (for locating errors)."""
    aliases: dict[str, tuple[str, ...]] = {}
    for cls in LAYER_CLASSES:
        for fname, info in cls.model_fields.items():
            if isinstance(info.validation_alias, AliasChoices):
                aliases[fname] = tuple(str(c) for c in info.validation_alias.choices)
    return aliases

