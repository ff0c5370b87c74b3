"""torch modules and functions -> spec kinds: one small converter per source op, in two registries.

A converter reads what torch ran (the module's attributes, or the call's arguments as run) and
returns the spec layer's kind and fields, written with canonical field names and only where they
differ from the kind's default, so an imported spec reads like a hand-written one. What a converter
cannot express raises `Unmappable` with the reason; the reader turns it into `unsupported_op`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .fx_trace import TensorArg, class_key


class Unmappable(Exception):
    """A call no spec kind expresses (or not with these arguments): the reason, for the message."""


@dataclass(frozen=True, slots=True)
class Call:
    """What one call ran with: arguments (each tensor as its TensorArg) and the shapes torch gave, batch first."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    channels_last: bool = False  # the input is held channels-last (between a ConvNeXt block's permutes)

    def arg(self, index: int, name: str, default: Any = None) -> Any:
        """A functional argument given by position or by keyword."""
        if name in self.kwargs:
            return self.kwargs[name]
        return self.args[index] if index < len(self.args) else default


@dataclass(frozen=True, slots=True)
class Mapped:
    kind: str
    fields: dict[str, Any]


def _list(value: Any, rank: int) -> list[int]:
    """A torch size argument (int or tuple) as one int per spatial dimension."""
    if isinstance(value, int):
        return [value] * rank
    return [int(v) for v in value]


def _attr(m: nn.Module, name: str) -> Any:
    """A module's constructor argument, as torch stores it (typed loosely by torch's stubs)."""
    return getattr(m, name)


def _put(fields: dict[str, Any], name: str, value: Any, default: Any) -> None:
    if value != default:
        fields[name] = value


def _rank(call: Call) -> int:
    return len(call.in_shape) - 2


def _padding(value: Any, rank: int) -> Any:
    if isinstance(value, str):
        return value
    return _list(value, rank)


def _window_fields(fields: dict[str, Any], stride: Any, padding: Any, dilation: Any, rank: int) -> None:
    _put(fields, "stride", _list(stride, rank), [1] * rank)
    _put(fields, "padding", _padding(padding, rank), [0] * rank)
    _put(fields, "dilation", _list(dilation, rank), [1] * rank)


# ---- modules -------------------------------------------------------------------------------------


def _conv(m: nn.Module, call: Call) -> Mapped:
    assert isinstance(m, nn.modules.conv._ConvNd)
    if m.padding_mode != "zeros":
        raise Unmappable(f"padding_mode={m.padding_mode!r} (a spec's convolution pads with zeros)")
    rank = len(m.kernel_size)
    fields: dict[str, Any] = {"out_channels": m.out_channels, "kernel_size": list(m.kernel_size)}
    _window_fields(fields, m.stride, m.padding, m.dilation, rank)
    _put(fields, "groups", m.groups, 1)
    _put(fields, "bias", m.bias is not None, True)
    if m.transposed:
        _put(fields, "output_padding", list(m.output_padding), [0] * rank)
        return Mapped("conv_transpose", fields)
    return Mapped("conv", fields)


def _linear(m: nn.Module, call: Call) -> Mapped:
    assert isinstance(m, nn.Linear)
    if len(call.in_shape) != 2:
        raise Unmappable(f"a Linear over an input of shape {list(call.in_shape)} (a spec's linear takes [N, features])")
    fields: dict[str, Any] = {"out_features": m.out_features}
    _put(fields, "bias", m.bias is not None, True)
    return Mapped("linear", fields)


def _batchnorm(m: nn.Module, call: Call) -> Mapped:
    assert isinstance(m, nn.modules.batchnorm._BatchNorm)
    fields: dict[str, Any] = {}
    _put(fields, "eps", m.eps, 1e-5)
    if m.momentum is None:  # not dropped: the spec would read as the default 0.1, another model
        raise Unmappable(
            "a BatchNorm with momentum=None (a cumulative average; a spec's batchnorm takes a momentum in [0, 1])"
        )
    _put(fields, "momentum", m.momentum, 0.1)
    _put(fields, "affine", m.affine, True)
    _put(fields, "track_running_stats", m.track_running_stats, True)
    return Mapped("batchnorm", fields)


def _groupnorm(m: nn.Module, call: Call) -> Mapped:
    assert isinstance(m, nn.GroupNorm)
    fields: dict[str, Any] = {"num_groups": m.num_groups}
    _put(fields, "eps", m.eps, 1e-5)
    _put(fields, "affine", m.affine, True)
    return Mapped("groupnorm", fields)


def layernorm_fields(m: nn.Module) -> dict[str, Any]:
    """A LayerNorm over the channels alone (LayerNorm2d, or LayerNorm(C) on a channels-last tensor)."""
    assert isinstance(m, nn.LayerNorm)
    fields: dict[str, Any] = {}
    _put(fields, "eps", m.eps, 1e-5)
    _put(fields, "elementwise_affine", m.elementwise_affine, True)
    _put(fields, "bias", m.bias is not None or not m.elementwise_affine, True)
    return fields


def _layernorm2d(m: nn.Module, call: Call) -> Mapped:
    return Mapped("layernorm", layernorm_fields(m))


def _layernorm(m: nn.Module, call: Call) -> Mapped:
    return layernorm(_attr(m, "normalized_shape"), call, layernorm_fields(m))


def layernorm(normalized_shape: Any, call: Call, fields: dict[str, Any]) -> Mapped:
    """A layer norm over the channels alone: of a channels-last tensor, or of a flat [N, C] one."""
    channels = call.in_shape[-1] if call.channels_last or len(call.in_shape) == 2 else None
    if list(_sizes(normalized_shape, 1)) != [channels]:
        raise Unmappable(
            f"a layer norm over {list(_sizes(normalized_shape, 1))} of a tensor of shape {list(call.in_shape)} "
            "(a spec's layernorm normalises the channels of each position: LayerNorm2d, or LayerNorm(C) between "
            "permutes to channels-last and back)"
        )
    return Mapped("layernorm", fields)


def _f_layer_norm(call: Call) -> Mapped:
    affine = call.arg(2, "weight") is not None
    has_bias = call.arg(3, "bias") is not None
    fields: dict[str, Any] = {}
    _put(fields, "eps", call.arg(4, "eps", 1e-5), 1e-5)
    _put(fields, "elementwise_affine", affine, True)
    _put(fields, "bias", has_bias or not affine, True)
    return layernorm(call.arg(1, "normalized_shape"), call, fields)


def _pool(kind: str) -> Callable[[nn.Module, Call], Mapped]:
    def convert(m: nn.Module, call: Call) -> Mapped:
        rank = _rank(call)
        fields: dict[str, Any] = {"kernel_size": _list(_attr(m, "kernel_size"), rank)}
        stride = _attr(m, "stride") if _attr(m, "stride") is not None else _attr(m, "kernel_size")
        _put(fields, "stride", _list(stride, rank), fields["kernel_size"])
        _put(fields, "padding", _list(_attr(m, "padding"), rank), [0] * rank)
        if kind == "maxpool":
            _put(fields, "dilation", _list(_attr(m, "dilation"), rank), [1] * rank)
        _put(fields, "ceil_mode", bool(_attr(m, "ceil_mode")), False)
        if kind == "avgpool":
            _put(fields, "count_include_pad", bool(_attr(m, "count_include_pad")), True)
            if getattr(m, "divisor_override", None) is not None:
                raise Unmappable("divisor_override (a spec's avgpool divides by the window)")
        return Mapped(kind, fields)

    return convert


def adaptive(kind: str, output_size: Any, call: Call) -> Mapped:
    """Adaptive pooling; to size 1 everywhere it is global pooling (`None` keeps the input's size)."""
    rank = _rank(call)
    sizes = [call.in_shape[2 + i] if s is None else int(s) for i, s in enumerate(_sizes(output_size, rank))]
    if all(s == 1 for s in sizes):
        return Mapped(f"global_{kind}", {})
    return Mapped(f"adaptive_{kind}", {"output_size": sizes})


def _sizes(value: Any, rank: int) -> list[Any]:
    return [value] * rank if value is None or isinstance(value, (int, float)) else list(value)


def _adaptive(kind: str) -> Callable[[nn.Module, Call], Mapped]:
    return lambda m, call: adaptive(kind, _attr(m, "output_size"), call)


def _same(kind: str, **fields: Any) -> Callable[[nn.Module, Call], Mapped]:
    return lambda m, call: Mapped(kind, dict(fields))


def _softmax(m: nn.Module, call: Call) -> Mapped:
    return softmax("softmax", _attr(m, "dim"), call)


def softmax(kind: str, dim: Any, call: Call) -> Mapped:
    if dim is None or dim % len(call.in_shape) != 1:
        raise Unmappable(f"{kind} over dim {dim} (a spec's {kind} runs over the channels, dim 1)")
    return Mapped(kind, {})


def _one_field(kind: str, name: str, default: Any, value: Any) -> Mapped:
    """A kind with one field, written where it is not the default."""
    fields: dict[str, Any] = {}
    _put(fields, name, value, default)
    return Mapped(kind, fields)


def _leaky(m: nn.Module, call: Call) -> Mapped:
    return leaky(_attr(m, "negative_slope"))


def leaky(slope: float) -> Mapped:
    return _one_field("leaky_relu", "negative_slope", 0.01, slope)


def _dropout(m: nn.Module, call: Call) -> Mapped:
    return dropout(_attr(m, "p"))


def dropout(p: float) -> Mapped:
    return _one_field("dropout", "p", 0.5, p)


def _hardtanh(m: nn.Module, call: Call) -> Mapped:
    return hardtanh(_attr(m, "min_val"), _attr(m, "max_val"))


def hardtanh(low: float, high: float) -> Mapped:
    if (low, high) != (0.0, 6.0):
        raise Unmappable(f"hardtanh({low}, {high}) (only hardtanh(0, 6), relu6, has a kind)")
    return Mapped("relu6", {})


def _upsample(m: nn.Module, call: Call) -> Mapped:
    return upsample(_attr(m, "mode"), _attr(m, "size"), _attr(m, "scale_factor"), _attr(m, "align_corners"), call)


def upsample(mode: str, size: Any, scale_factor: Any, align_corners: Any, call: Call) -> Mapped:
    """nearest or bilinear, by scale or by size, as interpolate takes them."""
    rank = _rank(call)
    if mode not in ("nearest", "bilinear"):
        raise Unmappable(f"interpolation mode {mode!r} (upsample takes nearest or bilinear)")
    fields: dict[str, Any] = {"mode": mode}
    if size is not None:
        fields["size"] = [int(s) for s in _sizes(size, rank)]
    else:
        fields["scale_factor"] = [float(s) for s in _sizes(scale_factor, rank)]
    if mode == "bilinear":
        fields["align_corners"] = bool(align_corners)
    return Mapped("upsample", fields)


def _stochastic_depth(m: nn.Module, call: Call) -> Mapped:
    return Mapped("stochastic_depth", {"p": _attr(m, "p"), "mode": _attr(m, "mode")})


def _channel_shuffle(m: nn.Module, call: Call) -> Mapped:
    return Mapped("channel_shuffle", {"groups": _attr(m, "groups")})


def _frozen_bn(m: nn.Module, call: Call) -> Mapped:
    raise Unmappable("FrozenBatchNorm2d (its statistics are buffers, its scale and shift not parameters)")


MODULES: dict[type[nn.Module], Callable[[nn.Module, Call], Mapped]] = {
    nn.Conv1d: _conv,
    nn.Conv2d: _conv,
    nn.Conv3d: _conv,
    nn.ConvTranspose1d: _conv,
    nn.ConvTranspose2d: _conv,
    nn.ConvTranspose3d: _conv,
    nn.Linear: _linear,
    nn.BatchNorm1d: _batchnorm,
    nn.BatchNorm2d: _batchnorm,
    nn.BatchNorm3d: _batchnorm,
    nn.GroupNorm: _groupnorm,
    nn.LayerNorm: _layernorm,
    nn.MaxPool1d: _pool("maxpool"),
    nn.MaxPool2d: _pool("maxpool"),
    nn.MaxPool3d: _pool("maxpool"),
    nn.AvgPool1d: _pool("avgpool"),
    nn.AvgPool2d: _pool("avgpool"),
    nn.AvgPool3d: _pool("avgpool"),
    nn.AdaptiveAvgPool1d: _adaptive("avgpool"),
    nn.AdaptiveAvgPool2d: _adaptive("avgpool"),
    nn.AdaptiveAvgPool3d: _adaptive("avgpool"),
    nn.AdaptiveMaxPool1d: _adaptive("maxpool"),
    nn.AdaptiveMaxPool2d: _adaptive("maxpool"),
    nn.AdaptiveMaxPool3d: _adaptive("maxpool"),
    nn.ReLU: _same("relu"),
    nn.ReLU6: _same("relu6"),
    nn.Hardtanh: _hardtanh,
    nn.GELU: lambda m, call: gelu(_attr(m, "approximate")),
    nn.SiLU: _same("silu"),
    nn.Mish: _same("mish"),
    nn.Tanh: _same("tanh"),
    nn.Sigmoid: _same("sigmoid"),
    nn.Hardswish: _same("hardswish"),
    nn.Hardsigmoid: _same("hardsigmoid"),
    nn.Softmax: _softmax,
    nn.LogSoftmax: lambda m, call: softmax("log_softmax", _attr(m, "dim"), call),
    nn.LeakyReLU: _leaky,
    nn.Identity: _same("identity"),
    nn.Dropout: _dropout,
    nn.Dropout1d: _dropout,
    nn.Dropout2d: _dropout,
    nn.Dropout3d: _dropout,
    nn.AlphaDropout: _dropout,
    nn.Upsample: _upsample,
    nn.UpsamplingNearest2d: _upsample,
    nn.UpsamplingBilinear2d: _upsample,
    nn.ChannelShuffle: _channel_shuffle,
}

# classes outside torch.nn, by (defining module, class name): never imported here
NAMED_MODULES: dict[tuple[str, str], Callable[[nn.Module, Call], Mapped]] = {
    ("torchvision.models.convnext", "LayerNorm2d"): _layernorm2d,
    ("torchvision.ops.stochastic_depth", "StochasticDepth"): _stochastic_depth,
    ("torchvision.ops.misc", "FrozenBatchNorm2d"): _frozen_bn,
}


def module_converter(m: nn.Module) -> Callable[[nn.Module, Call], Mapped] | None:
    """The converter for a module's exact class (a subclass may compute something else)."""
    return NAMED_MODULES.get(class_key(m)) or MODULES.get(type(m))


# ---- functions and tensor methods (element-wise and pooling; merges and views are the reader's) ----


def _f_pool(kind: str) -> Callable[[Call], Mapped]:
    def convert(call: Call) -> Mapped:
        rank = _rank(call)
        kernel = _list(call.arg(1, "kernel_size"), rank)
        stride = call.arg(2, "stride") or kernel
        fields: dict[str, Any] = {"kernel_size": kernel}
        _put(fields, "stride", _list(stride, rank), kernel)
        _put(fields, "padding", _list(call.arg(3, "padding", 0), rank), [0] * rank)
        if kind == "maxpool":
            _put(fields, "dilation", _list(call.arg(4, "dilation", 1), rank), [1] * rank)
            _put(fields, "ceil_mode", bool(call.arg(5, "ceil_mode", False)), False)
        else:
            _put(fields, "ceil_mode", bool(call.arg(4, "ceil_mode", False)), False)
            _put(fields, "count_include_pad", bool(call.arg(5, "count_include_pad", True)), True)
            if call.arg(6, "divisor_override") is not None:
                raise Unmappable("divisor_override (a spec's avgpool divides by the window)")
        return Mapped(kind, fields)

    return convert


def _f_conv(call: Call) -> Mapped:
    weight = call.arg(1, "weight")
    if not isinstance(weight, TensorArg):
        raise Unmappable("a functional convolution whose weight is not a tensor")
    rank = len(weight.shape) - 2
    fields: dict[str, Any] = {"out_channels": weight.shape[0], "kernel_size": list(weight.shape[2:])}
    _window_fields(fields, call.arg(3, "stride", 1), call.arg(4, "padding", 0), call.arg(5, "dilation", 1), rank)
    _put(fields, "groups", call.arg(6, "groups", 1), 1)
    _put(fields, "bias", call.arg(2, "bias") is not None, True)
    return Mapped("conv", fields)


def _f_linear(call: Call) -> Mapped:
    weight = call.arg(1, "weight")
    if not isinstance(weight, TensorArg) or len(call.in_shape) != 2:
        raise Unmappable(f"a functional linear over an input of shape {list(call.in_shape)}")
    fields: dict[str, Any] = {"out_features": weight.shape[0]}
    _put(fields, "bias", call.arg(2, "bias") is not None, True)
    return Mapped("linear", fields)


def _plain(kind: str) -> Callable[[Call], Mapped]:
    return lambda call: Mapped(kind, {})


def gelu(approximate: Any) -> Mapped:
    """GELU, the exact one: the tanh approximation is another function, which no spec kind is."""
    if approximate != "none":
        raise Unmappable(
            f"GELU with approximate={approximate!r} (archcalc's gelu is the exact one, approximate='none')"
        )
    return Mapped("gelu", {})


def _f_softmax(kind: str) -> Callable[[Call], Mapped]:
    return lambda call: softmax(kind, call.arg(1, "dim"), call)


def _f_interpolate(call: Call) -> Mapped:
    return upsample(
        call.arg(3, "mode", "nearest"),
        call.arg(1, "size"),
        call.arg(2, "scale_factor"),
        call.arg(4, "align_corners"),
        call,
    )


def _f_adaptive(kind: str) -> Callable[[Call], Mapped]:
    return lambda call: adaptive(kind, call.arg(1, "output_size"), call)


def _f_dropout(call: Call) -> Mapped:
    return dropout(call.arg(1, "p", 0.5))


ELEMENTWISE = {
    "relu": "relu",
    "relu_": "relu",
    "relu6": "relu6",
    "silu": "silu",
    "mish": "mish",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "hardswish": "hardswish",
    "hardsigmoid": "hardsigmoid",
}

FUNCTIONS: dict[Any, Callable[[Call], Mapped]] = {
    F.conv1d: _f_conv,
    F.conv2d: _f_conv,
    F.conv3d: _f_conv,
    F.linear: _f_linear,
    F.layer_norm: _f_layer_norm,
    F.max_pool1d: _f_pool("maxpool"),
    F.max_pool2d: _f_pool("maxpool"),
    F.max_pool3d: _f_pool("maxpool"),
    F.avg_pool1d: _f_pool("avgpool"),
    F.avg_pool2d: _f_pool("avgpool"),
    F.avg_pool3d: _f_pool("avgpool"),
    F.adaptive_avg_pool1d: _f_adaptive("avgpool"),
    F.adaptive_avg_pool2d: _f_adaptive("avgpool"),
    F.adaptive_avg_pool3d: _f_adaptive("avgpool"),
    F.adaptive_max_pool1d: _f_adaptive("maxpool"),
    F.adaptive_max_pool2d: _f_adaptive("maxpool"),
    F.adaptive_max_pool3d: _f_adaptive("maxpool"),
    F.relu: _plain("relu"),
    F.relu_: _plain("relu"),
    torch.relu: _plain("relu"),
    torch.relu_: _plain("relu"),
    F.relu6: _plain("relu6"),
    F.hardtanh: lambda call: hardtanh(call.arg(1, "min_val", -1.0), call.arg(2, "max_val", 1.0)),
    F.gelu: lambda call: gelu(call.arg(1, "approximate", "none")),
    F.silu: _plain("silu"),
    F.mish: _plain("mish"),
    F.hardswish: _plain("hardswish"),
    F.hardsigmoid: _plain("hardsigmoid"),
    torch.sigmoid: _plain("sigmoid"),
    F.sigmoid: _plain("sigmoid"),
    torch.tanh: _plain("tanh"),
    F.tanh: _plain("tanh"),
    F.leaky_relu: lambda call: leaky(call.arg(1, "negative_slope", 0.01)),
    F.softmax: _f_softmax("softmax"),
    torch.softmax: _f_softmax("softmax"),
    F.log_softmax: _f_softmax("log_softmax"),
    F.dropout: _f_dropout,
    F.dropout1d: _f_dropout,
    F.dropout2d: _f_dropout,
    F.dropout3d: _f_dropout,
    F.interpolate: _f_interpolate,
    F.upsample: _f_interpolate,
    F.channel_shuffle: lambda call: Mapped("channel_shuffle", {"groups": call.arg(1, "groups")}),
    torch.channel_shuffle: lambda call: Mapped("channel_shuffle", {"groups": call.arg(1, "groups")}),
}

METHODS: dict[str, Callable[[Call], Mapped]] = {
    **{name: _plain(kind) for name, kind in ELEMENTWISE.items()},
    "gelu": lambda call: gelu(call.arg(1, "approximate", "none")),
    "softmax": _f_softmax("softmax"),
    "log_softmax": _f_softmax("log_softmax"),
}

# merges: the reader builds these from their tensor arguments
ADD_TARGETS: frozenset[Any] = frozenset({operator.add, operator.iadd, torch.add})
MUL_TARGETS: frozenset[Any] = frozenset({operator.mul, operator.imul, torch.mul})
CAT_TARGETS: frozenset[Any] = frozenset({torch.cat, torch.concat, torch.concatenate})
MEAN_TARGETS: frozenset[Any] = frozenset({torch.mean})
SPLIT_TARGETS: frozenset[Any] = frozenset({torch.chunk, torch.split})
NARROW_TARGETS: frozenset[Any] = frozenset({torch.narrow})


def dims(value: Any, rank: int) -> list[int]:
    """Dimensions as torch numbers them with the batch (negative ones made positive), sorted."""
    values: Sequence[int] = [value] if isinstance(value, int) else list(value)
    return sorted(int(v) % rank for v in values)
