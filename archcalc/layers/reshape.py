"""Kinds that move or resample values without weights: channel split, channel shuffle, mean, upsample."""

from __future__ import annotations

import math
from fractions import Fraction
from math import prod
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BeforeValidator, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from ..errors import LayerError
from ..fields import MAX_SIZE, Count, Size, SizeTuple
from ..formulas import Derivation, volume
from ..formulas.reshape import bilinear_edges, chunk_part, resized, source_ratio
from ..formulas.text import spatial_size
from .base import SPATIAL_NAMES, Counts, Layer, RFStep, Shape, TorchCall, _dims_text, _expand, _spatial
from .ops import Op, Saves

# a part of the input's channels is a view of it (torch.chunk and torch.split return views): it
# moves no data and saves nothing; no tool charges for it
SPLIT = Op("split", Saves(), alias="always", fusion="view")
# a copy (view, transpose, contiguous): no tool charges for it, and its backward is the inverse shuffle.
# Fused, it is an index remap (inductor fuses it like an element-wise op): its producer writes in
# shuffled order, or its reader loads so
CHANNEL_SHUFFLE = Op("channel_shuffle", Saves(), fusion="pointwise")
# x.mean(dims): its backward needs only the shape; fvcore, ptflops, thop and torchinfo charge
# nothing for aten::mean (measured: unlike 2-D adaptive average pooling, which fvcore counts)
MEAN = Op("mean", Saves(), fusion="kernel")
# upsampling saves nothing (its backward needs only the sizes). fvcore charges 1 (nearest) or 4
# (bilinear) per output element of its 2-D ops only; ptflops 2 per output element (the module's
# hook and its patched F.interpolate); thop 1 (nearest) or 11 (bilinear) per output element.
# Fused, each output element is a function of a few input elements (inductor lowers both modes to
# element-wise code with index arithmetic): it runs as the prologue of the kernel reading it
UPSAMPLE_NEAREST = Op(
    "upsample_nearest",
    Saves(),
    fusion="pointwise",
    costs={"fvcore": {"per_output": 1, "ranks": (2,)}, "ptflops": {"per_output": 2}, "thop": {"per_output": 1}},
)
UPSAMPLE_BILINEAR = Op(
    "upsample_bilinear",
    Saves(),
    fusion="pointwise",
    costs={"fvcore": {"per_output": 4, "ranks": (2,)}, "ptflops": {"per_output": 2}, "thop": {"per_output": 11}},
)
UPSAMPLE_OPS = {"nearest": UPSAMPLE_NEAREST, "bilinear": UPSAMPLE_BILINEAR}


class Split(Layer):
    """One part of the input's channels, as x.chunk(N, 1)[i] or torch.split(x, sections, 1)[i]."""

    kind: Literal["split"]
    ops = (SPLIT,)
    chunks: Size | None = Field(
        None, description="torch.chunk's parts: each ceil(C/chunks) channels, the last smaller (maybe fewer parts)"
    )
    sections: Annotated[tuple[Size, ...], Field(min_length=1)] | None = Field(
        None, description="torch.split's part sizes in channels, which sum to the input's channels"
    )
    index: Count = Field(description="which part is the output, from 0")

    @model_validator(mode="after")
    def _one_way(self) -> Split:
        if (self.chunks is None) == (self.sections is None):
            both = self.chunks is not None
            raise PydanticCustomError(
                "bad_value",
                "and `chunks` both say how to split: give one"
                if both
                else "or `sections` is needed: chunks (torch.chunk: equal parts) or sections (torch.split: part sizes)",
                {"at": ("sections",) if both else ("chunks",)},
            )
        if self.sections is not None and self.index >= len(self.sections):
            raise PydanticCustomError(
                "bad_value",
                "{index} names no part: `sections` makes {n} parts (index 0 to {last})",
                {"index": self.index, "n": len(self.sections), "last": len(self.sections) - 1, "at": ("index",)},
            )
        return self

    def part(self, channels: int) -> int:
        """The output's channels: part `index` of the split, checked against the input."""
        if self.sections is not None:
            total = sum(self.sections)
            if total != channels:
                raise LayerError(
                    "bad_split",
                    f"sections {list(self.sections)} sum to {total} channels but the input has {channels}",
                    field="sections",
                    hint=f"give part sizes that sum to {channels}",
                )
            return self.sections[self.index]
        assert self.chunks is not None  # _one_way
        size, parts = chunk_part(channels, self.chunks, self.index)
        if self.index >= parts:
            fewer = f" (torch.chunk makes {parts}, not {self.chunks}, of {channels})" if parts < self.chunks else ""
            raise LayerError(
                "bad_split",
                f"index {self.index} names no part: {channels} channels in chunks of {-(-channels // self.chunks)}"
                f" make {parts} part(s){fewer}, index 0 to {parts - 1}",
                field="index",
                hint=f"use an index from 0 to {parts - 1}",
            )
        return size

    def counts(self, shape: Shape) -> Counts:
        if not shape:
            raise LayerError("wrong_input_rank", "split needs an input with channels")
        return Counts(out_shape=(self.part(shape[0]), *shape[1:]), op=SPLIT.name)

    def describe(self, shape: Shape) -> str:
        how = f"{self.chunks} chunks" if self.chunks is not None else f"sections {list(self.sections or ())}"
        return f"part {self.index} of {how}"

    def explain(self, shape: Shape) -> tuple[Derivation, ...]:
        channels, part = shape[0], self.part(shape[0])
        if self.chunks is not None:
            size = -(-channels // self.chunks)
            text = f"chunks of ceil({channels}/{self.chunks}) = {size} channels, part {self.index}: {part} channels"
        else:
            text = f"sections {list(self.sections or ())} of {channels} channels, part {self.index}: {part} channels"
        return (Derivation("channels", text + f" -> {volume((part, *shape[1:]))} (a view)", part),)

    def torch_call(self, shape: Shape) -> TorchCall:
        how: dict[str, Any] = {"chunks": self.chunks} if self.chunks is not None else {"sections": self.sections}
        return TorchCall("Split", {**how, "index": self.index})


class ChannelShuffle(Layer):
    """ShuffleNet's channel shuffle: channels in `groups` groups, interleaved (a copy, no weights)."""

    kind: Literal["channel_shuffle"]
    ops = (CHANNEL_SHUFFLE,)
    groups: Size = Field(
        description="the channels form this many groups; output channel k*groups + g is group g's k-th"
    )

    def counts(self, shape: Shape) -> Counts:
        if not shape or shape[0] % self.groups:
            channels = shape[0] if shape else 0
            raise LayerError(
                "bad_groups",
                f"channel_shuffle needs channels divisible by groups, but C={channels} and groups={self.groups}",
                field="groups",
                hint="use a groups value that divides the input's channels",
            )
        return Counts(out_shape=shape, op=CHANNEL_SHUFFLE.name)

    def describe(self, shape: Shape) -> str:
        return f"{self.groups} groups"

    def explain(self, shape: Shape) -> tuple[Derivation, ...]:
        self.counts(shape)
        text = (
            f"{shape[0]} channels as {self.groups} groups of {shape[0] // self.groups}, interleaved -> {volume(shape)}"
        )
        return (Derivation("output", text, spatial_size(shape)),)

    def torch_call(self, shape: Shape) -> TorchCall:
        return TorchCall("ChannelShuffle", {"groups": self.groups})


# a dimension of a batched tensor, as torch numbers them: 0 the batch, 1 the channels, then space
# (rank at most 5); negative from the end
TorchDim = Annotated[int, Field(strict=True, ge=-5, le=4)]


class Mean(Layer):
    """The mean over spatial dimensions, x.mean(dims, keepdim) (MNASNet's x.mean([2, 3]))."""

    kind: Literal["mean"]
    ops = (MEAN,)
    dims: Annotated[tuple[TorchDim, ...], Field(min_length=1, max_length=3)] = Field(
        validation_alias=AliasChoices("dims", "dim"),
        description="the dimensions averaged, numbered as torch numbers a batched tensor (2, 3: H and W of a"
        " 2-D map); negative from the end; spatial only",
    )
    keepdim: bool = Field(False, description="keep each averaged dimension with size 1 (false: drop it)")

    def spatial_axes(self, shape: Shape) -> tuple[int, ...]:
        """The averaged dimensions as indices of the spatial sizes (0 for H of [C, H, W]), sorted."""
        rank = len(shape) + 1  # torch's rank: the batch in front
        axes = []
        for dim in self.dims:
            d = dim + rank if dim < 0 else dim
            if not 0 <= d < rank:
                raise LayerError(
                    "bad_dim",
                    f"dim {dim} is out of range for a batched input of rank {rank} (shape [N, {', '.join(map(str, shape))}]):"
                    f" dims go from {-rank} to {rank - 1}",
                    field="dims",
                )
            if d < 2:
                what = "the batch" if d == 0 else "the channels"
                raise LayerError(
                    "bad_dim",
                    f"dim {dim} is {what}; mean averages spatial dimensions only (2 to {rank - 1})",
                    field="dims",
                    hint="average H and W with dims [2, 3]" if rank == 4 else None,
                )
            if d - 2 in axes:
                raise LayerError("bad_dim", f"dims {list(self.dims)} name dimension {d} twice", field="dims")
            axes.append(d - 2)
        return tuple(sorted(axes))

    def counts(self, shape: Shape) -> Counts:
        axes = self.spatial_axes(shape)
        sizes = shape[1:]
        if self.keepdim:
            out = (shape[0], *(1 if k in axes else n for k, n in enumerate(sizes)))
        else:
            out = (shape[0], *(n for k, n in enumerate(sizes) if k not in axes))
        return Counts(out_shape=out, units=prod(out), connections=prod(shape), op=MEAN.name)

    def describe(self, shape: Shape) -> str:
        return f"dims {list(self.dims)}" + (", keepdim" if self.keepdim else "")

    def explain(self, shape: Shape) -> tuple[Derivation, ...]:
        axes = self.spatial_axes(shape)
        names = SPATIAL_NAMES[len(shape) - 1]
        n = prod(shape[1 + k] for k in axes)
        out = self.counts(shape).out_shape
        text = f"mean over {' x '.join(names[k] for k in axes)} = {n:,} positions per value -> {volume(out)}"
        return (Derivation("output", text, spatial_size(out)),)

    def rf_step(self, shape: Shape) -> RFStep | None:
        """Every output sees the whole of each averaged dimension (a window as wide as it) and its
        own position along the others; without keepdim the averaged dimensions end there."""
        axes = self.spatial_axes(shape)
        sizes = shape[1:]
        if len(axes) == len(sizes):
            return RFStep(whole=True)
        spans = tuple(n if k in axes else 1 for k, n in enumerate(sizes))
        ones = (1,) * len(sizes)
        return RFStep(span=spans, stride=ones, pad_before=(0,) * len(sizes), dropped=() if self.keepdim else axes)

    def torch_call(self, shape: Shape) -> TorchCall:
        return TorchCall("Mean", {"dims": self.dims, "keepdim": self.keepdim})


def _scales(value: Any) -> tuple[float, ...] | None:
    """One scale for every spatial dimension, or one per dimension: each a finite number in
    (0, 2^40], so that floor(input x scale) is a size (checked against MAX_SIZE after)."""
    if value is None:
        return None
    values = value if isinstance(value, list | tuple) else (value,)
    if not 1 <= len(values) <= 3:
        raise PydanticCustomError(
            "bad_value", "takes 1 to 3 values (one per spatial dimension), got {n}", {"n": len(values)}
        )
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or not 0 < v <= MAX_SIZE:
            raise PydanticCustomError(
                "bad_value",
                "must be finite numbers in (0, 2^40] (the output size is floor(input x scale)), got {got}",
                {"got": repr(v)},
            )
    return tuple(float(v) for v in values)


SCALES_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_SIZE},
        {
            "type": "array",
            "items": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_SIZE},
            "minItems": 1,
            "maxItems": 3,
        },
    ]
}


class Upsample(Layer):
    """Resizing by nearest neighbour or bilinear interpolation, as nn.Upsample and F.interpolate."""

    kind: Literal["upsample"]
    ops = (UPSAMPLE_NEAREST, UPSAMPLE_BILINEAR)
    mode: Literal["nearest", "bilinear"] = Field(
        "nearest", description="nearest: copy the nearest input; bilinear: interpolate the 4 nearest ([C, H, W] only)"
    )
    scale_factor: Annotated[tuple[float, ...] | None, BeforeValidator(_scales), WithJsonSchema(SCALES_SCHEMA)] = Field(
        None,
        validation_alias=AliasChoices("scale_factor", "scale"),
        description="output = floor(input x scale) per spatial dimension: one value for all, or one per dimension",
    )
    size: SizeTuple | None = Field(
        None, description="the output's spatial size: one value for all, or one per dimension"
    )
    align_corners: bool | None = Field(
        None, description="bilinear only: corner pixels of input and output align (torch's default: false)"
    )

    @model_validator(mode="after")
    def _one_size(self) -> Upsample:
        if (self.scale_factor is None) == (self.size is None):
            both = self.size is not None
            raise PydanticCustomError(
                "bad_value",
                "and `scale_factor` both say the output size: give one"
                if both
                else "or `size` is needed: the output is floor(input x scale_factor), or size",
                {"at": ("size",) if both else ("scale_factor",)},
            )
        if self.mode == "nearest" and self.align_corners is not None:
            raise PydanticCustomError(
                "bad_value",
                "applies to bilinear interpolation only (torch refuses it with mode nearest): leave it out",
                {"at": ("align_corners",)},
            )
        return self

    def out_sizes(self, shape: Shape) -> tuple[int, ...]:
        _, sizes = _spatial(shape, self.kind)
        if self.mode == "bilinear" and len(sizes) != 2:
            raise LayerError(
                "wrong_input_rank",
                f"bilinear upsampling needs a [C, H, W] input (torch's bilinear mode is 2-D) but receives {list(shape)}",
                hint="use mode nearest for 1-D and 3-D inputs",
            )
        if self.size is not None:
            return _expand(self.size, len(sizes), "size")
        scales = self.scales(len(sizes))
        out = tuple(resized(n, s) for n, s in zip(sizes, scales))
        for axis, (n, s, o) in enumerate(zip(sizes, scales, out)):
            if o < 1:
                raise LayerError(
                    "too_small",
                    f"in dimension {SPATIAL_NAMES[len(sizes)][axis]}, floor({n} x {s:g}) = {o}: the output would be empty",
                    field="scale_factor",
                    hint=f"use a scale of at least 1/{n}",
                )
        return out

    def scales(self, dims: int) -> tuple[float, ...]:
        assert self.scale_factor is not None
        return _expand(self.scale_factor, dims, "scale_factor")  # type: ignore[arg-type]

    def ratios(self, shape: Shape) -> tuple[Fraction, ...]:
        """Input positions per output position, per dimension, in torch's coordinate map."""
        out = self.out_sizes(shape)
        scales = self.scales(len(out)) if self.scale_factor is not None else (None,) * len(out)
        return tuple(source_ratio(n, o, s, bool(self.align_corners)) for n, o, s in zip(shape[1:], out, scales))

    def counts(self, shape: Shape) -> Counts:
        out = self.out_sizes(shape)
        if self.mode == "nearest":
            edges = prod(out)  # each output copies one input
        else:
            aligned = bool(self.align_corners)
            edges = prod(bilinear_edges(n, o, q, aligned) for n, o, q in zip(shape[1:], out, self.ratios(shape)))
        return Counts(
            out_shape=(shape[0], *out),
            units=shape[0] * prod(out),
            connections=shape[0] * edges,
            op=UPSAMPLE_OPS[self.mode].name,
        )

    def describe(self, shape: Shape) -> str:
        if self.scale_factor is not None:
            how = "x" + "x".join(f"{s:g}" for s in self.scale_factor)
        else:
            how = "-> " + _dims_text(self.out_sizes(shape))
        return f"{self.mode} {how}" + (", align corners" if self.align_corners else "")

    def explain(self, shape: Shape) -> tuple[Derivation, ...]:
        out = self.out_sizes(shape)
        names = SPATIAL_NAMES[len(out)]
        if self.size is not None:
            text = f"size {_dims_text(out)} as written -> {volume((shape[0], *out))}"
            return (Derivation("output", text, spatial_size((shape[0], *out))),)
        scales = self.scales(len(out))
        return tuple(
            Derivation(f"output {name}", f"floor({n} x {s:g}) = {o}", o)
            for name, n, s, o in zip(names, shape[1:], scales, out)
        )

    def rf_step(self, shape: Shape) -> RFStep:
        """Output o sits at o x q input positions, q = in/out (torch's ratio: 1/scale when a scale is
        given), so the jump divides by the scale. Nearest reads floor(o x q), within (b - 1)/b below
        o x q for q = a/b: the window [o x q - (b - 1)/b, o x q] holds it (exact when q is whole).
        Bilinear reads i0 = floor(src) and the next (clamped), src = o x q + c with c = (q - 1)/2 (0 at
        aligned corners): i0 > src - 1 and i0 + 1 <= src + 1; where src < 0 (c >= -1/2) torch reads 0
        and 1 <= src + 3/2. So the window [src - 1, src + 3/2] ([src - 1, src + 1] aligned) holds
        both: a bound. Float rounding aside."""
        ratios = self.ratios(shape)
        pads: tuple[int | Fraction, ...]
        spans: tuple[int | Fraction, ...]
        if self.mode == "nearest":
            pads = tuple(Fraction(q.denominator - 1, q.denominator) for q in ratios)
            spans = tuple(1 + p for p in pads)
        else:
            offsets = [Fraction(0) if self.align_corners else (q - 1) / 2 for q in ratios]
            pads = tuple(1 - c for c in offsets)
            spans = (3 if self.align_corners else Fraction(7, 2),) * len(ratios)
        exact = self.mode == "nearest" and all(q.denominator == 1 for q in ratios)
        note = None if exact else f"{self.mode} upsampling: a bound that holds every output's field, jump in/out"
        return RFStep(span=spans, stride=ratios, pad_before=pads, note=note)

    def torch_call(self, shape: Shape) -> TorchCall:
        dims = len(shape) - 1
        how: dict[str, Any]
        if self.size is not None:
            how = {"size": _expand(self.size, dims, "size")}
        else:
            scales = self.scales(dims)
            how = {"scale_factor": scales[0] if len(set(scales)) == 1 else scales}
        extra = {} if self.align_corners is None else {"align_corners": self.align_corners}
        return TorchCall("Upsample", {**how, "mode": self.mode, **extra})
