"""Dense, shape and element-wise kinds: flatten, linear, activations, dropout, normalisation."""

from __future__ import annotations

from math import prod
from typing import Literal

from pydantic import AliasChoices, Field

from ..fields import Probability, Size
from .base import Counts, Layer, Shape, _flat


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
        edges = _flat(shape, self.kind) * self.out_features
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
        return Counts(
            out_shape=shape,
            units=prod(shape),
            connections=per_position * prod(shape[1:]),
            padded_connections=prod(shape) * self.size,
        )

    def describe(self, shape: Shape) -> str:
        return f"size {self.size}, a={self.alpha:g} b={self.beta:g} k={self.k:g}"
