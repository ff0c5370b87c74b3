"""Dense, shape and element-wise kinds: flatten, linear, activations, dropout, normalisation (batch, LRN, group)."""

from __future__ import annotations

from math import log2, prod
from typing import Literal

from pydantic import AliasChoices, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from ..errors import LayerError
from ..fields import FLOAT32_TINY, Finite, Probability, Size, real_in
from ..formulas import Derivation, macs_derivation, params_derivation, volume
from ..formulas.dense import dense_edges, lrn_connections
from ..formulas.text import spatial_size
from .base import OUT_FEATURES, Counts, Layer, RFStep, Shape, TorchCall, _flat, _spatial
from .ops import Op, Saves

FLATTEN = Op("flatten", Saves(), alias="always", fusion="view")  # a view
LINEAR = Op("linear", Saves(input_if_weight_grad=True), math="matmul", fusion="kernel", folds_norm=True)
# the scaled mask for backward; the input itself in eval mode
DROPOUT = Op("dropout", Saves(mask=True), alias="eval", fusion="view")
BATCH_NORM = Op(
    "batch_norm",
    Saves(input=True, stats=2),  # the mean and inverse std, fp32 per channel
    fusion="fold",
    costs={
        "fvcore": {"per_input": 1, "affine_factor": 2},
        "ptflops": {"per_input": 1, "affine_factor": 2},
        "torchinfo": {"per_param": 1},
        "thop": {"per_input": 2, "affine_factor": 2},
    },
)
# F.local_response_norm runs pad, avg_pool3d, mul, add, pow, div: they save the input, the
# channel-padded squares and two output-sized intermediates; ptflops counts its mul, avg_pool, add;
# its backward (div's, then pow's, ...) holds three output-sized tensors beside the input's gradient
LRN = Op(
    "lrn",
    Saves(input=True, padded_input=True, temporaries=2),
    fusion="kernel",
    backward_temporaries=3,
    costs={"ptflops": {"per_input": 3, "per_op_input": 1}},
)


class Flatten(Layer):
    """[C, H, W] -> [C*H*W]; a view, so it produces no new units."""

    kind: Literal["flatten"]
    ops = (FLATTEN,)

    def counts(self, shape: Shape) -> Counts:
        return Counts(out_shape=(prod(shape),), op=FLATTEN.name)

    def torch_call(self, shape: Shape) -> TorchCall:
        return TorchCall("Flatten")

    def explain(self, shape: Shape) -> tuple[Derivation, ...]:
        n = prod(shape)
        return (Derivation("features", f"{' x '.join(map(str, (*shape[1:], shape[0])))} = {n:,} features", n),)

    def rf_step(self, shape: Shape) -> RFStep | None:
        return None if len(shape) == 1 else RFStep(whole=True)


class Linear(Layer):
    """Fully connected layer on a flat input."""

    kind: Literal["linear"]
    ops = (LINEAR,)
    out_features: Size = Field(validation_alias=AliasChoices("out_features", "out"), description=OUT_FEATURES)
    bias: bool = Field(True, description="one bias per output feature")

    def counts(self, shape: Shape) -> Counts:
        edges = dense_edges(_flat(shape, self.kind), self.out_features)
        return Counts(
            out_shape=(self.out_features,),
            units=self.out_features,
            weights=edges,
            biases=self.out_features if self.bias else 0,
            connections=edges,
            macs=edges,
            op=LINEAR.name,
            bias_adds=self.out_features if self.bias else 0,
        )

    def torch_call(self, shape: Shape) -> TorchCall:
        return TorchCall("Linear", {"in_features": shape[0], "out_features": self.out_features, "bias": self.bias})

    def describe(self, shape: Shape) -> str:
        return f"{shape[0]} -> {self.out_features}" + ("" if self.bias else ", no bias")

    def explain(self, shape: Shape) -> tuple[Derivation, ...]:
        """Parameters IN x OUT + OUT (the seeds' fc line) and MACs OUT x IN."""
        self.counts(shape)  # the input-rank check
        return (
            params_derivation(self.out_features, (shape[0],), self.out_features if self.bias else 0),
            macs_derivation((self.out_features,), (shape[0],)),
        )


# kind -> the torch module that computes it (softmaxes over channels, dim 1)
ACTIVATION_MODULES: dict[str, TorchCall] = {
    "relu": TorchCall("ReLU"),
    "relu6": TorchCall("ReLU6"),
    "gelu": TorchCall("GELU"),
    "silu": TorchCall("SiLU"),
    "mish": TorchCall("Mish"),
    "tanh": TorchCall("Tanh"),
    "sigmoid": TorchCall("Sigmoid"),
    "hardswish": TorchCall("Hardswish"),
    "hardsigmoid": TorchCall("Hardsigmoid"),
    "softmax": TorchCall("Softmax", {"dim": 1}),
    "log_softmax": TorchCall("LogSoftmax", {"dim": 1}),
    "identity": TorchCall("Identity"),
}
ACTIVATION_KINDS = tuple(ACTIVATION_MODULES)
# kind -> its op: an activation saves its output when its derivative is a function of the output
# (relu, sigmoid, tanh, softmax), else its input; ptflops and thop charge some per element
ACTIVATION_OPS: dict[str, Op] = {
    "relu": Op("relu", Saves(output=True), fusion="pointwise", costs={"ptflops": {"per_input": 2}}),
    "relu6": Op("relu6", Saves(input=True), fusion="pointwise", costs={"ptflops": {"per_input": 1}}),
    "gelu": Op("gelu", Saves(input=True), fusion="pointwise", costs={"ptflops": {"per_input": 2}}),
    "silu": Op("silu", Saves(input=True), fusion="pointwise", costs={"ptflops": {"per_input": 1}}),
    "mish": Op("mish", Saves(input=True), fusion="pointwise"),
    "tanh": Op("tanh", Saves(output=True), fusion="pointwise"),
    "sigmoid": Op("sigmoid", Saves(output=True), fusion="pointwise"),
    "hardswish": Op("hardswish", Saves(input=True), fusion="pointwise"),
    "hardsigmoid": Op("hardsigmoid", Saves(input=True), fusion="pointwise"),
    "softmax": Op(
        "softmax",
        Saves(output=True),
        fusion="kernel",  # a reduction over the vector
        costs={"ptflops": {"per_input": 1}, "thop": {"per_input": 3, "per_vector": -1}},
    ),
    "log_softmax": Op("log_softmax", Saves(output=True), fusion="kernel"),
    "identity": Op("identity", Saves(), alias="always", fusion="view"),  # the input itself
}


class Activation(Layer):
    """A parameter-free element-wise function, applied in place: no new units, no connections."""

    kind: Literal[ACTIVATION_KINDS]  # type: ignore[valid-type]
    summaries = {
        "relu": "max(0, x), element-wise, in place: no parameters, units or connections.",
        "relu6": "min(max(0, x), 6), element-wise (MobileNet): no parameters, units or connections.",
        "gelu": "x * Phi(x), the Gaussian error linear unit, element-wise: no parameters, units or connections.",
        "silu": "x * sigmoid(x) (swish), element-wise: no parameters, units or connections.",
        "mish": "x * tanh(softplus(x)), element-wise: no parameters, units or connections.",
        "tanh": "The hyperbolic tangent, element-wise: no parameters, units or connections.",
        "sigmoid": "1 / (1 + exp(-x)), element-wise: no parameters, units or connections.",
        "hardswish": "x * relu6(x + 3) / 6, element-wise (MobileNetV3): no parameters, units or connections.",
        "hardsigmoid": "relu6(x + 3) / 6, element-wise (MobileNetV3): no parameters, units or connections.",
        "softmax": "exp(x) / sum of exp over the channels: no parameters, units or connections.",
        "log_softmax": "The logarithm of softmax over the channels: no parameters, units or connections.",
        "identity": "The input itself (a placeholder, torch's nn.Identity): no parameters, units or connections.",
    }
    ops = tuple(ACTIVATION_OPS.values())

    def counts(self, shape: Shape) -> Counts:
        return Counts(out_shape=shape, op=self.kind)  # each activation's op is named after its kind

    def torch_call(self, shape: Shape) -> TorchCall:
        return ACTIVATION_MODULES[self.kind]


class LeakyReLU(Activation):
    """ReLU with a slope for negative inputs."""

    kind: Literal["leaky_relu"]
    ops = (
        Op("leaky_relu", Saves(input=True), fusion="pointwise", costs={"ptflops": {"per_input": 1}}),
    )  # op named after the kind
    # any finite slope: a product of finite numbers (a negative one flips the sign)
    negative_slope: Finite = Field(0.01, description="the output is negative_slope * x for x < 0")

    def describe(self, shape: Shape) -> str:
        return f"slope {self.negative_slope:g}"

    def torch_call(self, shape: Shape) -> TorchCall:
        return TorchCall("LeakyReLU", {"negative_slope": self.negative_slope})


class Dropout(Activation):
    """Dropout: identity at inference, no units or connections of its own."""

    kind: Literal["dropout"]
    ops = (DROPOUT, ACTIVATION_OPS["identity"])
    p: Probability = Field(0.5, description="the probability of zeroing an element in training")

    def counts(self, shape: Shape) -> Counts:
        # p = 0: torch returns the input itself, in training too (no mask, no new tensor)
        return Counts(out_shape=shape, op="identity" if self.p == 0 else "dropout")

    def describe(self, shape: Shape) -> str:
        return f"p={self.p:g}"

    def torch_call(self, shape: Shape) -> TorchCall:
        return TorchCall("Dropout", {"p": self.p})


def norm_counts(
    shape: Shape, affine: bool, op: Op, buffers: int = 0, counters: int = 0, stat_groups: int = 0
) -> Counts:
    """A normalisation's counts: a new value per input element, and with `affine` a learnt scale
    (gamma, a weight) and shift (beta, a bias) per channel; its buffers, counters, statistics groups."""
    channels = shape[0] if affine else 0
    return Counts(
        out_shape=shape,
        units=prod(shape),
        weights=channels,
        biases=channels,
        buffers=buffers,
        counters=counters,
        op=op.name,
        stat_groups=stat_groups,
    )


class BatchNorm(Layer):
    """Batch normalisation over channels: a learnt scale and shift per channel, running statistics kept.

    gamma (weight) and beta (bias) per channel, running mean and variance as buffers, plus torch's
    int64 `num_batches_tracked` counter.
    """

    kind: Literal["batchnorm"]
    ops = (BATCH_NORM,)
    # torch divides by sqrt(running_var + eps): eps >= float32's smallest normal keeps it finite on a
    # constant channel (variance 0); running = (1 - momentum) * running + momentum * batch is an
    # average only for momentum in [0, 1]
    eps: real_in(  # type: ignore[valid-type]
        FLOAT32_TINY, why="torch divides by sqrt(variance + eps) in float32, where a smaller eps is 0"
    ) = Field(1e-5, description="added to the variance before its square root")
    momentum: real_in(  # type: ignore[valid-type]
        0, 1, why="the running statistics are a weighted average"
    ) = Field(0.1, description="the weight of each batch in the running statistics")
    affine: bool = Field(True, description="a learnt scale (gamma) and shift (beta) per channel")
    track_running_stats: bool = Field(
        True, description="running mean and variance kept as buffers (with torch's int64 batch counter)"
    )

    def counts(self, shape: Shape) -> Counts:
        channels = shape[0]
        return norm_counts(
            shape,
            self.affine,
            BATCH_NORM,
            buffers=2 * channels if self.track_running_stats else 0,
            counters=1 if self.track_running_stats else 0,
        )

    def explain(self, shape: Shape) -> tuple[Derivation, ...]:
        c = shape[0]
        lines = [
            Derivation("output", f"element-wise per channel, output = input ({'x'.join(map(str, (*shape[1:], c)))})")
        ]
        if self.affine:
            lines.append(Derivation("parameters", f"{c} gamma + {c} beta = {2 * c:,} parameters", 2 * c))
        if self.track_running_stats:
            lines.append(Derivation("buffers", f"{c} running mean + {c} running variance = {2 * c:,} buffers", 2 * c))
        return tuple(lines)

    def torch_call(self, shape: Shape) -> TorchCall:
        # [C] and [C, L] are BatchNorm1d's (N, C) and (N, C, L); [C, H, W] is 2d, [C, D, H, W] 3d
        return TorchCall(
            f"BatchNorm{max(len(shape) - 1, 1)}d",
            {
                "num_features": shape[0],
                "eps": self.eps,
                "momentum": self.momentum,
                "affine": self.affine,
                "track_running_stats": self.track_running_stats,
            },
        )


class LocalResponseNorm(Layer):
    """AlexNet's local response normalisation across `size` neighbouring channels."""

    kind: Literal["lrn"]
    ops = (LRN,)
    size: Size = Field(5, description="the neighbouring channels each output is normalised over")
    # torch: b = a / (k + alpha / size * sum of a^2 over `size` maps) ** beta. With k > 0 and alpha >= 0 the
    # base is at least k > 0, so the power is real and the division is by a positive number for any input
    # (k = 0 divides 0 by 0 on a zero input: NaN; a negative base to a fractional beta: NaN); and k ** beta
    # must not round to 0 in float32 (k=0.5, beta=300 gives NaN), hence `_power_stays_normal`. beta >= 0:
    # a negative one multiplies instead of normalising (finite, but no longer a response normalisation).
    alpha: real_in(0, why="a negative alpha can make the base k + alpha * mean(a^2) negative: NaN") = Field(  # type: ignore[valid-type]
        1e-4, description="the scale of the mean of squares: b = a / (k + alpha * mean(a^2)) ** beta"
    )
    beta: real_in(0, why="the normalisation divides by the base to the power beta") = Field(  # type: ignore[valid-type]
        0.75, description="the exponent of the normalising base"
    )
    k: real_in(FLOAT32_TINY, why="torch divides a zero input by k ** beta in float32, where a smaller k is 0") = Field(  # type: ignore[valid-type]
        1.0, description="the additive constant of the normalising base"
    )

    @field_validator("k")
    @classmethod
    def _power_stays_normal(cls, k: float, info: ValidationInfo) -> float:
        beta = info.data.get("beta")
        if beta is not None and beta * log2(k) < log2(FLOAT32_TINY):  # k ** beta, by logs: never overflows
            raise PydanticCustomError(
                "bad_value",
                "to the power beta must be at least 2^-126 (float32's smallest normal number: torch "
                "divides a zero input by it), got k={k} and beta={beta}; raise k or lower beta",
                {"k": repr(k), "beta": repr(beta)},
            )
        return k

    def counts(self, shape: Shape) -> Counts:
        channels, _ = _spatial(shape, self.kind)  # torch normalises across maps: it needs [C, L] or more
        return Counts(
            out_shape=shape,
            units=prod(shape),
            connections=lrn_connections(channels, self.size, prod(shape[1:])),
            padded_connections=prod(shape) * self.size,
            op=LRN.name,
            # torch averages squares over the input padded by size - 1 channels
            op_in_elements=(channels + self.size - 1) * prod(shape[1:]),
        )

    def torch_call(self, shape: Shape) -> TorchCall:
        return TorchCall("LocalResponseNorm", {"size": self.size, "alpha": self.alpha, "beta": self.beta, "k": self.k})

    def describe(self, shape: Shape) -> str:
        return f"size {self.size}, a={self.alpha:g} b={self.beta:g} k={self.k:g}"


# native_group_norm saves its input and a mean and inverse std per example and group (fp32). fvcore
# charges 4 per input element, 5 with affine; ptflops 1, 2 with affine (as batch norm); torchinfo
# one per parameter; thop 0.1.1 has no rule for GroupNorm (measured: 0)
GROUP_NORM = Op(
    "group_norm",
    Saves(input=True, group_stats=2),
    fusion="kernel",  # statistics over each group: a reduction
    costs={
        "fvcore": {"per_input": 4, "affine_per_input": 1},
        "ptflops": {"per_input": 1, "affine_factor": 2},
        "torchinfo": {"per_param": 1},
    },
)


class GroupNorm(Layer):
    """Group normalisation: channels in groups, each normalised over its channels and positions.

    gamma (weight) and beta (bias) per channel when affine; no running statistics: the mean and
    variance are each example's own, at inference too.
    """

    kind: Literal["groupnorm"]
    ops = (GROUP_NORM,)
    num_groups: Size = Field(
        validation_alias=AliasChoices("num_groups", "groups"),
        description="the channels form this many groups, each normalised on its own (it divides the channels)",
    )
    eps: real_in(  # type: ignore[valid-type]
        FLOAT32_TINY, why="torch divides by sqrt(variance + eps) in float32, where a smaller eps is 0"
    ) = Field(1e-5, description="added to the variance before its square root")
    affine: bool = Field(True, description="a learnt scale (gamma) and shift (beta) per channel")

    def groups_of(self, shape: Shape) -> int:
        """The channels per group, once the input's channels are known to divide into num_groups."""
        channels = shape[0] if shape else 0
        if not shape or channels % self.num_groups:
            raise LayerError(
                "bad_groups",
                f"groupnorm needs channels divisible by num_groups, but C={channels} and num_groups={self.num_groups}",
                field="num_groups",
                hint="use a num_groups that divides the input's channels",
            )
        return channels // self.num_groups

    def counts(self, shape: Shape) -> Counts:
        self.groups_of(shape)
        return norm_counts(shape, self.affine, GROUP_NORM, stat_groups=self.num_groups)

    def describe(self, shape: Shape) -> str:
        return f"{self.num_groups} groups" + ("" if self.affine else ", no affine")

    def explain(self, shape: Shape) -> tuple[Derivation, ...]:
        per = self.groups_of(shape)
        c = shape[0]
        lines = [
            Derivation(
                "output",
                f"{c} channels in {self.num_groups} groups of {per}, each normalised over {per} x {prod(shape[1:]):,}"
                f" values, output = input ({volume(shape)})",
                spatial_size(shape),
            )
        ]
        if self.affine:
            lines.append(Derivation("parameters", f"{c} gamma + {c} beta = {2 * c:,} parameters", 2 * c))
        return tuple(lines)

    def rf_step(self, shape: Shape) -> RFStep | None:
        """Position-wise, as batch norm: a value's field is its own position's. Its statistics span
        the group's whole map (batch norm's span the batch in training), which receptive fields, as
        conventionally computed, leave out."""
        self.groups_of(shape)
        return None

    def torch_call(self, shape: Shape) -> TorchCall:
        return TorchCall(
            "GroupNorm",
            {"num_groups": self.num_groups, "num_channels": shape[0], "eps": self.eps, "affine": self.affine},
        )
