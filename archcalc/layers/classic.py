"""Kinds of the early convolutional networks (LeCun et al. 1998): trainable subsampling, RBF output units."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from pydantic import AliasChoices, Field

from ..fields import Size
from ..formulas.dense import dense_edges
from .base import Counts, Layer, Shape, TorchCall, _flat, padded_call
from .dense import LINEAR
from .pool import AVG_POOL, _Pool


class Subsample(_Pool):
    """Trainable subsampling (LeNet-5's S2, S4): window average x a coefficient + a bias, per map.

    Stride defaults to the kernel size.

    LeCun et al. 1998, section II.B: "The four inputs to a unit in S2 are added, then multiplied by
    a trainable coefficient, and added to a trainable bias." Per map: 1 weight (the coefficient)
    and 1 bias. The window sums are additions (no MACs, as for average pooling); the coefficient
    is one multiply per unit, so MACs = units. Connections are the window taps, padding excluded.
    In torch: average pooling, then a depthwise 1x1 conv (the coefficient is its weight; the window
    size it absorbs is a constant factor).
    """

    kind: Literal["subsample"]
    bias: bool = Field(True, description="one trainable bias per map")
    torch_op = AVG_POOL  # what the counters see, besides the 1x1 conv's MACs and bias adds
    ops = (AVG_POOL,)

    def counts(self, shape: Shape) -> Counts:
        pooled = super().counts(shape)
        channels = shape[0]
        return replace(
            pooled,
            weights=channels,
            biases=channels if self.bias else 0,
            macs=pooled.units,
            bias_adds=pooled.units if self.bias else 0,
        )

    def torch_call(self, shape: Shape) -> TorchCall:
        win = self.window(shape)
        dims, channels = len(win.out), shape[0]
        pool = TorchCall(
            f"AvgPool{dims}d", {"kernel_size": win.kernel, "stride": win.stride, "ceil_mode": self.ceil_mode}
        )
        pool = padded_call(pool, win.padding)
        coefficient = TorchCall(
            f"Conv{dims}d",
            {
                "in_channels": channels,
                "out_channels": channels,
                "kernel_size": 1,
                "groups": channels,
                "bias": self.bias,
            },
        )
        return TorchCall("Sequential", parts=(*(pool.parts or (pool,)), coefficient))

    def describe(self, shape: Shape) -> str:
        return super().describe(shape) + ", x coef" + (" + bias" if self.bias else "")


class RBF(Layer):
    """Euclidean RBF units (LeNet-5's output): unit i outputs sum_j (x_j - w_ij)^2, no bias.

    The output is the squared distance of the input to the unit's parameter vector w_i.

    LeCun et al. 1998, section II.B, equation 7. Each unit holds one parameter per input (weights
    = in x out, no bias); each (input, unit) pair is one connection and one multiply-accumulate
    (a squared difference added to the sum). In torch the products are one linear map
    (verify/modules.py's RBF), so the counters see a linear op.
    """

    kind: Literal["rbf"]
    ops = (LINEAR,)  # torch computes the distances as a linear layer
    out_features: Size = Field(validation_alias=AliasChoices("out_features", "out"), description="RBF units (classes)")

    def counts(self, shape: Shape) -> Counts:
        edges = dense_edges(_flat(shape, self.kind), self.out_features)
        return Counts(
            out_shape=(self.out_features,),
            units=self.out_features,
            weights=edges,
            connections=edges,
            macs=edges,
            op=LINEAR.name,
        )

    def torch_call(self, shape: Shape) -> TorchCall:
        return TorchCall("RBF", {"in_features": shape[0], "out_features": self.out_features})

    def describe(self, shape: Shape) -> str:
        return f"{shape[0]} -> {self.out_features}, Euclidean"
