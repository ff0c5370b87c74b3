"""A class per kind for the kinds that share one, so that Python builds every kind by name.

Activation, AdaptivePool, GlobalPool and Merge each hold several kinds (one class per set of rules);
`ReLU()` reads better than `Activation(kind="relu")`. Each class here is its shared class with the
kind fixed: a spec validates it as that class (`normalize_layer`), so nothing else knows of them.
Names follow torch.nn's (`ReLU`, `Hardswish`, `LogSoftmax`); those torch spells with a rank
(`AdaptiveAvgPool2d`) leave it out, as a kind takes its rank from its input.

>>> from archcalc import Spec, analyze
>>> spec = Spec(name="se", input=(8, 4, 4), layers=[GlobalAvgPool(), Sigmoid()])
>>> [(row.path, row.out_shape) for row in analyze(spec).rows]
[('global_avgpool1', (8, 1, 1)), ('sigmoid1', (8, 1, 1))]
"""

from __future__ import annotations

from typing import Literal

from .base import Layer, own_kinds
from .dense import Activation
from .pool import AdaptivePool, GlobalPool
from .structure import Merge


class ReLU(Activation):
    """`relu`: max(0, x)."""

    kind: Literal["relu"]


class ReLU6(Activation):
    """`relu6`: min(max(0, x), 6)."""

    kind: Literal["relu6"]


class GELU(Activation):
    """`gelu`."""

    kind: Literal["gelu"]


class SiLU(Activation):
    """`silu` (swish): x * sigmoid(x)."""

    kind: Literal["silu"]


class Mish(Activation):
    """`mish`: x * tanh(softplus(x))."""

    kind: Literal["mish"]


class Tanh(Activation):
    """`tanh`."""

    kind: Literal["tanh"]


class Sigmoid(Activation):
    """`sigmoid`."""

    kind: Literal["sigmoid"]


class Hardswish(Activation):
    """`hardswish` (MobileNet V3)."""

    kind: Literal["hardswish"]


class Hardsigmoid(Activation):
    """`hardsigmoid` (MobileNet V3's squeeze-and-excitation gate)."""

    kind: Literal["hardsigmoid"]


class Softmax(Activation):
    """`softmax` over channels."""

    kind: Literal["softmax"]


class LogSoftmax(Activation):
    """`log_softmax` over channels."""

    kind: Literal["log_softmax"]


class Identity(Activation):
    """`identity`: the input as it is."""

    kind: Literal["identity"]


class AdaptiveAvgPool(AdaptivePool):
    """`adaptive_avgpool` to `output_size`."""

    kind: Literal["adaptive_avgpool"]


class AdaptiveMaxPool(AdaptivePool):
    """`adaptive_maxpool` to `output_size`."""

    kind: Literal["adaptive_maxpool"]


class GlobalAvgPool(GlobalPool):
    """`global_avgpool`: the mean over all positions."""

    kind: Literal["global_avgpool"]


class GlobalMaxPool(GlobalPool):
    """`global_maxpool`: the maximum over all positions."""

    kind: Literal["global_maxpool"]


class Add(Merge):
    """`add`: the layers `from_` names, added element-wise (the graph form)."""

    kind: Literal["add"]


class Concat(Merge):
    """`concat`: the layers `from_` names, concatenated along channels (the graph form)."""

    kind: Literal["concat"]


class Mul(Merge):
    """`mul`: the layers `from_` names, multiplied element-wise with broadcasting (the graph form)."""

    kind: Literal["mul"]


# kind -> its class here, for every kind whose class holds several (tests/test_python_api.py checks
# that each such kind has one)
PER_KIND: dict[str, type[Layer]] = {
    own_kinds(cls)[0]: cls
    for cls in (
        ReLU,
        ReLU6,
        GELU,
        SiLU,
        Mish,
        Tanh,
        Sigmoid,
        Hardswish,
        Hardsigmoid,
        Softmax,
        LogSoftmax,
        Identity,
        AdaptiveAvgPool,
        AdaptiveMaxPool,
        GlobalAvgPool,
        GlobalMaxPool,
        Add,
        Concat,
        Mul,
    )
}
