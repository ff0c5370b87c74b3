"""Kinds that work along the channels at each position, as ConvNeXt's block does on a channels-last
tensor: layer norm over the channels, a linear map over the channels, a learnt per-channel scale.

Written channels-first like every kind ([C, H, W] in, [C', H, W] out); the torch builder moves the
channels last and back (archcalc/verify/modules.py), as torchvision's LayerNorm2d and its `Permute`
modules around `nn.Linear` do, so that fvcore and FlopCounterMode see the same ops.
"""

from __future__ import annotations

from math import prod
from typing import Literal

from pydantic import AliasChoices, Field

from ..fields import FLOAT32_TINY, Finite, Size, real_in
from ..formulas import Derivation, macs_derivation, params_derivation, volume
from ..formulas.dense import pointwise_edges
from .base import OUT_FEATURES, Counts, Layer, Shape, TorchCall, _spatial
from .ops import Op, Saves

# F.layer_norm saves its input (the channels-last view of the tensor before it) and, per position,
# the fp32 mean and inverse std. fvcore charges 4 per input element, 5 with a weight (its
# norm_flop_counter); ptflops and thop hook torch's nn.LayerNorm only, which the builder uses for a
# flat input alone (ptflops: 1 per element; thop: 2, 4 with a weight); torchinfo charges each
# parameter once. Two ops, as fvcore's 4 and 5 are no one cost times a factor.
_LAYER_NORM_SAVES = Saves(input=True, position_stats=2)
LAYER_NORM = Op(
    "layer_norm",
    _LAYER_NORM_SAVES,
    fusion="kernel",  # statistics over the channels: a reduction
    costs={
        "fvcore": {"per_input": 4},
        "ptflops": {"per_input": 1, "ranks": (0,)},
        "thop": {"per_input": 2, "ranks": (0,)},
        "torchinfo": {"per_param": 1},
    },
)
LAYER_NORM_AFFINE = Op(
    "layer_norm_affine",
    _LAYER_NORM_SAVES,
    fusion="kernel",
    costs={
        "fvcore": {"per_input": 5},
        "ptflops": {"per_input": 1, "ranks": (0,)},
        "thop": {"per_input": 4, "ranks": (0,)},
        "torchinfo": {"per_param": 1},
    },
)
# A linear on the permuted (channels-last) input: matmul folds it into a [N*H*W, C] matrix, a copy
# (batch >= 2), which mm saves for the weight's gradient. fvcore and FlopCounterMode see the linear
# (MACs; FlopCounterMode twice). ptflops and thop hook the exact class nn.Linear, and the built
# module is a subclass of it: they charge nothing; torchinfo charges each parameter once (a
# non-conv layer's weight times the batch). On torchvision's ConvNeXt (a plain nn.Linear between
# Permute modules) ptflops charges MACs + OUT and thop MACs: see the README's list of kinds.
CHANNEL_LINEAR = Op(
    "channel_linear",
    Saves(input_copy_if_weight_grad=True),
    math="matmul",
    fusion="kernel",
    folds_norm=True,
    costs={
        "ptflops": {"replaces_macs": True},
        "thop": {"replaces_macs": True},
        "torchinfo": {"per_param": 1, "replaces_macs": True},
    },
)
# x * scale saves x for the scale's gradient (and the scale, a parameter, for x's); no tool charges
# an element-wise multiply by a parameter (fvcore and FlopCounterMode skip aten::mul; torchinfo
# reads only parameters named weight or bias; ptflops patches torch.mul, not the * operator)
LAYER_SCALE = Op("layer_scale", Saves(input_if_weight_grad=True), fusion="pointwise")


def output_line(shape: Shape, text: str) -> Derivation:
    """The output line of an explanation; a [C, L] output's value is its length L, as a 1-D
    window's is (a longer shape's sizes are its text alone)."""
    return Derivation("output", text, shape[1] if len(shape) == 2 else None)


class LayerNorm(Layer):
    """Layer normalisation over the channels at each position (ConvNeXt's LayerNorm2d): 2C parameters.

    On a flat [C] vector it is torch's plain LayerNorm over the features.

    Each position's C values are normalised by their own mean and variance (no running
    statistics), then scaled and shifted per channel: weight and bias of C each.
    """

    kind: Literal["layernorm"]
    ops = (LAYER_NORM, LAYER_NORM_AFFINE)
    # torch divides by sqrt(var + eps) in float32, as batch norm does
    eps: real_in(  # type: ignore[valid-type]
        FLOAT32_TINY, why="torch divides by sqrt(variance + eps) in float32, where a smaller eps is 0"
    ) = Field(1e-5, description="added to the variance before its square root (torch's default; ConvNeXt: 1e-6)")
    elementwise_affine: bool = Field(
        True,
        validation_alias=AliasChoices("elementwise_affine", "affine"),
        description="a learnt scale (weight) per channel, and a shift (bias) unless bias is false",
    )
    bias: bool = Field(True, description="the learnt shift per channel (only with elementwise_affine)")

    def counts(self, shape: Shape) -> Counts:
        channels = shape[0]
        if len(shape) > 1:
            _spatial(shape, self.kind)  # ranks 1 to 4 only, as every kind
        affine = self.elementwise_affine
        return Counts(
            out_shape=shape,
            units=prod(shape),
            weights=channels if affine else 0,
            biases=channels if affine and self.bias else 0,
            op=(LAYER_NORM_AFFINE if affine else LAYER_NORM).name,
        )

    def describe(self, shape: Shape) -> str:
        parts = [f"over {shape[0]} channels" if len(shape) > 1 else f"over {shape[0]} features", f"eps={self.eps:g}"]
        if not self.elementwise_affine:
            parts.append("no affine")
        elif not self.bias:
            parts.append("no bias")
        return ", ".join(parts)

    def explain(self, shape: Shape) -> tuple[Derivation, ...]:
        c = shape[0]
        over = f"the {c} features" if len(shape) == 1 else f"the {c} channels at each position"
        lines = [output_line(shape, f"normalised over {over}, output = input = {volume(shape)}")]
        if self.elementwise_affine:
            biases = c if self.bias else 0
            text = (
                f"{c} weight + {biases} bias = {c + biases:,} parameters"
                if biases
                else f"{c} weight = {c:,} parameters"
            )
            lines.append(Derivation("parameters", text, c + biases))
        return tuple(lines)

    def torch_call(self, shape: Shape) -> TorchCall:
        # a flat [C] is torch's own case (the last dimension); a map moves its channels last and back
        kwargs = {
            "normalized_shape": shape[0],
            "eps": self.eps,
            "elementwise_affine": self.elementwise_affine,
            "bias": self.bias,
        }
        return TorchCall("LayerNorm" if len(shape) == 1 else "ChannelLayerNorm", kwargs)


class ChannelLinear(Layer):
    """A Linear over the channels at each position (ConvNeXt's pointwise layer): 1x1 convolution counts.

    torch's nn.Linear on a channels-last tensor, between permutes.

    Written channels-first: [C, H, W] -> [out_features, H, W]. The weight is [out_features, C]
    (torch's Linear, so state_dict shapes match torchvision's `block.3.weight`), not a conv's
    [out, C, 1, 1].
    """

    kind: Literal["channel_linear"]
    ops = (CHANNEL_LINEAR,)
    out_features: Size = Field(validation_alias=AliasChoices("out_features", "out"), description=OUT_FEATURES)
    bias: bool = Field(True, description="one bias per output feature")

    def counts(self, shape: Shape) -> Counts:
        channels, spatial = _spatial(shape, self.kind)
        positions = prod(spatial)
        edges = pointwise_edges(channels, self.out_features, positions)
        units = self.out_features * positions
        return Counts(
            out_shape=(self.out_features, *spatial),
            units=units,
            weights=channels * self.out_features,
            biases=self.out_features if self.bias else 0,
            connections=edges,
            macs=edges,
            op=CHANNEL_LINEAR.name,
            bias_adds=units if self.bias else 0,
        )

    def describe(self, shape: Shape) -> str:
        return f"{shape[0]} -> {self.out_features} per position" + ("" if self.bias else ", no bias")

    def explain(self, shape: Shape) -> tuple[Derivation, ...]:
        """Parameters C x OUT + OUT (a Linear's), MACs H x W x OUT outputs x C (a 1x1 convolution's)."""
        out = self.counts(shape).out_shape
        return (
            output_line(out, volume(out)),
            params_derivation(self.out_features, (shape[0],), self.out_features if self.bias else 0),
            macs_derivation((*out[1:], out[0]), (shape[0],)),
        )

    def torch_call(self, shape: Shape) -> TorchCall:
        return TorchCall(
            "ChannelLinear", {"in_features": shape[0], "out_features": self.out_features, "bias": self.bias}
        )


class LayerScale(Layer):
    """A learnt scale per channel, multiplied in (ConvNeXt's layer_scale): C parameters."""

    kind: Literal["layer_scale"]
    ops = (LAYER_SCALE,)
    # the initial value is only what the built module starts from: any finite number
    init: Finite = Field(1e-6, description="the value every scale starts from (ConvNeXt: 1e-6)")

    def counts(self, shape: Shape) -> Counts:
        if len(shape) > 1:
            _spatial(shape, self.kind)
        return Counts(out_shape=shape, units=prod(shape), weights=shape[0], op=LAYER_SCALE.name)

    def describe(self, shape: Shape) -> str:
        return f"{shape[0]} scales, init {self.init:g}"

    def explain(self, shape: Shape) -> tuple[Derivation, ...]:
        c = shape[0]
        return (
            output_line(shape, f"each channel times its scale, output = input = {volume(shape)}"),
            Derivation("parameters", f"{c} scales = {c:,} parameters", c),
        )

    def torch_call(self, shape: Shape) -> TorchCall:
        # [C, 1, 1] for a [C, H, W] map (torchvision's CNBlock.layer_scale), [C] for a vector
        return TorchCall("LayerScale", {"shape": (shape[0], *[1] * (len(shape) - 1)), "init": self.init})
