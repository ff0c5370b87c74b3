"""ONNX ops as spec layers: a registry of converters, one small function per op family.

Each converter reads one node (and, for a fused pattern, the node after it: MatMul then Add is one
`linear`, Sigmoid then Mul one `silu`) and returns the layers it makes. Counts need only the
weights' dims, so a weight's values are never read; a few small constants are (Clip's bounds,
Resize's scales, Split's sizes). An op or attribute with no spec kind is `unsupported_op`, naming
the op and node. Attribute defaults are ONNX's (operator docs, onnx/docs/Operators.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from math import ceil, isclose, prod
from typing import Any

from ..errors import SpecError
from ..limits import shown
from .onnx_graph import Converted, OnnxGraph, attributes

Converter = Callable[[int, Any, OnnxGraph], list[Converted]]
CONVERTERS: dict[str, Converter] = {}


def converts(*op_types: str) -> Callable[[Converter], Converter]:
    """Register a converter for ONNX op types (the default domain)."""

    def register(function: Converter) -> Converter:
        for op_type in op_types:
            CONVERTERS[op_type] = function
        return function

    return register


# ---- helpers --------------------------------------------------------------------------------------


def compact(values: Sequence[int]) -> int | list[int]:
    """One value when every dimension has it, else one per dimension (the spec's SizeTuple).

    >>> compact([3, 3]), compact([1, 7])
    (3, [1, 7])
    """
    return values[0] if len(set(values)) == 1 else list(values)


def f32(value: float) -> float:
    """A float32 attribute as the shortest decimal that reads back as the same float32 (0.9 stored
    as 0.899999976 reads 0.9), so `eps: 1e-05` comes back as written.

    >>> f32(0.8999999761581421), f32(9.999999747378752e-06)
    (0.9, 1e-05)
    """
    import numpy as np

    return float(str(np.float32(value)))


def _unsupported(graph: OnnxGraph, node: Any, what: str, hint: str | None = None) -> Exception:
    return graph.error(node, "unsupported_op", what, hint=hint)


def _axis(graph: OnnxGraph, node: Any, axis: int, rank: int) -> int:
    """A possibly negative axis as its index in [0, rank)."""
    if not -rank <= axis < rank:
        raise graph.error(node, "bad_onnx", f"axis {axis} is outside a tensor of rank {rank}")
    return axis % rank


def _data(graph: OnnxGraph, node: Any, position: int = 0) -> str:
    """The node's data input at `position`, which must be computed from the model's input."""
    tensor = node.input[position] if len(node.input) > position else ""
    if not tensor or not graph.is_data(tensor):
        raise _unsupported(graph, node, f"input {position} is not computed from the model's input")
    return tensor


def _optional(node: Any, position: int) -> str:
    return node.input[position] if len(node.input) > position else ""


def _no_extra_outputs(graph: OnnxGraph, node: Any, what: str) -> None:
    """Outputs past the first (pooling's indices, dropout's mask, training statistics) must be unused."""
    for tensor in node.output[1:]:
        if tensor and (graph.consumers.get(tensor) or tensor in graph.graph_outputs):
            raise _unsupported(graph, node, f"its {what} output ({shown(tensor)}) is used; archcalc has no such layer")


def _one(kind: str, fields: dict[str, Any], node: Any, *inputs: str) -> list[Converted]:
    return [Converted(kind, fields, tuple(inputs), node.output[0])]


def _window(
    graph: OnnxGraph, node: Any, attrs: dict[str, Any], sizes: tuple[int, ...], kernel: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int, ...], list[tuple[int, int]]]:
    """Strides, dilations and per-side padding of a windowed op, `auto_pad` resolved: SAME_UPPER puts
    the odd padding at the end, SAME_LOWER at the start, each so that out = ceil(in / stride)."""
    n = len(sizes)
    stride = tuple(attrs.get("strides") or (1,) * n)
    dilation = tuple(attrs.get("dilations") or (1,) * n)
    if len(stride) != n or len(dilation) != n or len(kernel) != n:
        raise graph.error(node, "bad_onnx", f"kernel, strides and dilations must have {n} values (one per dimension)")
    auto_pad = attrs.get("auto_pad", "NOTSET") or "NOTSET"
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pads = []
        for size, k, s, d in zip(sizes, kernel, stride, dilation):
            total = max((ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
            small, large = total // 2, total - total // 2
            pads.append((small, large) if auto_pad == "SAME_UPPER" else (large, small))
        return stride, dilation, pads
    if auto_pad == "VALID":
        return stride, dilation, [(0, 0)] * n
    if auto_pad != "NOTSET":
        raise graph.error(
            node, "bad_onnx", f"auto_pad {shown(auto_pad)} is none of NOTSET, VALID, SAME_UPPER, SAME_LOWER"
        )
    flat = list(attrs.get("pads") or (0,) * (2 * n))
    if len(flat) != 2 * n or any(p < 0 for p in flat):
        raise graph.error(node, "bad_onnx", f"pads must be {2 * n} non-negative values, got {shown(flat)}")
    return stride, dilation, list(zip(flat[:n], flat[n:]))


def padding_field(pads: list[tuple[int, int]]) -> int | list[int] | list[list[int]]:
    """Per-side padding as the spec writes it: one value, one per dimension, or [before, after] pairs.

    >>> padding_field([(1, 1), (1, 1)]), padding_field([(0, 1), (0, 1)])
    (1, [[0, 1], [0, 1]])
    """
    if all(before == after for before, after in pads):
        return compact([before for before, _ in pads])
    return [[before, after] for before, after in pads]


def _spatial_rank(graph: OnnxGraph, node: Any, tensor: str) -> tuple[int, ...]:
    """The spatial sizes of a channels-first data value with 1 to 3 of them."""
    shape = graph.shape(tensor, node)
    if not 2 <= len(shape) <= 4:
        raise _unsupported(
            graph, node, f"its input has shape {list(shape)}; a [C, L], [C, H, W] or [C, D, H, W] input is needed"
        )
    return shape[1:]


# ---- convolutions -----------------------------------------------------------------------------------


@converts("Conv")
def _conv(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    x = _data(graph, node)
    fields = _conv_fields(node, graph)
    if _bias(graph, node, 2):
        return _one("conv", fields, node, x)
    added = _added_bias(graph, node)
    if added is None:
        return _one("conv", {**fields, "bias": False}, node, x)
    mode, reader = added
    if mode is not True:
        fields["bias"] = mode
    return [Converted("conv", fields, (x,), graph.nodes[reader].output[0], (reader,))]


def _conv_fields(node: Any, graph: OnnxGraph) -> dict[str, Any]:
    """A Conv node's fields but its bias: out_channels and kernel from the weight's dims."""
    sizes = _spatial_rank(graph, node, node.input[0])
    weight = graph.dims(node.input[1], node, "weight")
    if len(weight) != len(sizes) + 2:
        raise graph.error(
            node, "bad_onnx", f"its weight has dims {list(weight)}; a {len(sizes)}-D conv needs {len(sizes) + 2}"
        )
    attrs = attributes(node)
    kernel = weight[2:]
    if "kernel_shape" in attrs and tuple(attrs["kernel_shape"]) != tuple(kernel):  # shape inference reads the attribute
        raise graph.error(
            node,
            "bad_onnx",
            f"its kernel_shape {shown(list(attrs['kernel_shape']))} disagrees with its weight's {list(kernel)}",
        )
    stride, dilation, pads = _window(graph, node, attrs, sizes, kernel)
    fields: dict[str, Any] = {"out_channels": weight[0], "kernel_size": compact(kernel)}
    fields.update(_window_fields(stride, dilation, pads))
    group = _group(graph, node, attrs)
    channels = graph.shape(node.input[0], node)[0]
    if channels != weight[1] * group or weight[0] % group:  # torch: weight [out, in / groups, ...]
        raise _group_misfit(graph, node, group, channels, weight)
    if group != 1:
        fields["groups"] = group
    return fields


def _group(graph: OnnxGraph, node: Any, attrs: dict[str, Any]) -> int:
    """A Conv's or ConvTranspose's `group`: a count of 1 or more (onnx's shape inference lets 0 and
    negative counts through, which would reach the spec as a wrong out_channels or groups)."""
    group = attrs.get("group", 1)
    if not isinstance(group, int) or group < 1:
        raise graph.error(node, "bad_onnx", f"its group is {group!r}; a group count is an integer of 1 or more")
    return int(group)


def _group_misfit(graph: OnnxGraph, node: Any, group: int, channels: int, weight: tuple[int, ...]) -> SpecError:
    """A group count the channels do not split into (shape inference does not check it)."""
    return graph.error(
        node,
        "bad_onnx",
        f"its group {group} does not fit its {channels} input channels and weight dims {list(weight)}",
        hint="a Conv's weight is [out, in / group, ...] and a ConvTranspose's [in, out / group, ...], "
        "with in and out divisible by group",
    )


def _added_bias(graph: OnnxGraph, node: Any) -> tuple[bool | str, int] | None:
    """A conv without a bias whose one reader adds a constant of its output's shape (`per_unit`),
    of one map (`per_position`) or of one value per map (a shared bias): how torch exports the
    spec's unshared biases (a conv, then a bias tensor of its own). The bias mode and the Add."""
    reader = graph.only_consumer(node.output[0])
    if reader is None:
        return None
    add = graph.nodes[reader]
    other = [t for t in add.input if t != node.output[0]]
    if add.op_type != "Add" or len(other) != 1 or not graph.is_constant(other[0]):
        return None
    out = graph.shape(node.output[0], node)
    dims = graph.dims(other[0], add, "bias")
    while len(dims) > len(out) and dims[0] == 1:  # a leading batch dimension of 1
        dims = dims[1:]
    modes: dict[tuple[int, ...], bool | str] = {
        out: "per_unit",
        (1, *out[1:]): "per_position",
        (out[0], *(1,) * (len(out) - 1)): True,
    }
    mode = modes.get(dims)
    return None if mode is None else (mode, reader)


def _window_fields(stride: tuple[int, ...], dilation: tuple[int, ...], pads: list[tuple[int, int]]) -> dict[str, Any]:
    """stride, padding and dilation, each left out at its default."""
    fields: dict[str, Any] = {}
    if any(s != 1 for s in stride):
        fields["stride"] = compact(stride)
    if any(p for pair in pads for p in pair):
        fields["padding"] = padding_field(pads)
    if any(d != 1 for d in dilation):
        fields["dilation"] = compact(dilation)
    return fields


def _bias(graph: OnnxGraph, node: Any, position: int) -> bool:
    """Whether the optional bias input at `position` is given (a constant: its dims are checked)."""
    tensor = _optional(node, position)
    if tensor:
        graph.dims(tensor, node, "bias")
    return bool(tensor)


@converts("ConvTranspose")
def _conv_transpose(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    x = _data(graph, node)
    sizes = _spatial_rank(graph, node, x)
    weight = graph.dims(node.input[1], node, "weight")
    if len(weight) != len(sizes) + 2:
        raise graph.error(
            node, "bad_onnx", f"its weight has dims {list(weight)}; a {len(sizes)}-D conv needs {len(sizes) + 2}"
        )
    attrs = attributes(node)
    if attrs.get("output_shape") or (attrs.get("auto_pad") or "NOTSET") not in ("NOTSET", "VALID"):
        raise _unsupported(
            graph, node, "a transposed conv sized by output_shape or auto_pad SAME", hint="give pads and output_padding"
        )
    kernel = weight[2:]
    stride, dilation, pads = _window(graph, node, attrs, sizes, kernel)
    if any(before != after for before, after in pads):
        raise _unsupported(graph, node, f"asymmetric pads {pads}: torch's transposed conv pads both sides alike")
    group = _group(graph, node, attrs)
    channels = graph.shape(x, node)[0]
    if channels != weight[0] or channels % group:  # torch: weight [in, out / groups, ...]
        raise _group_misfit(graph, node, group, channels, weight)
    fields: dict[str, Any] = {"out_channels": weight[1] * group, "kernel_size": compact(kernel)}
    fields.update(_window_fields(stride, dilation, pads))
    output_padding = attrs.get("output_padding") or ()
    if any(output_padding):
        fields["output_padding"] = compact(output_padding)
    if group != 1:
        fields["groups"] = group
    if not _bias(graph, node, 2):
        fields["bias"] = False
    return _one("conv_transpose", fields, node, x)


# ---- linear -------------------------------------------------------------------------------------------


def _flat_input(graph: OnnxGraph, node: Any) -> str:
    x = _data(graph, node)
    if graph.rank(x, node) != 2:
        raise _unsupported(
            graph, node, f"a product over an input of shape {list(graph.shape(x, node))}; linear takes a flat [F] input"
        )
    return x


@converts("Gemm")
def _gemm(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    """Y = alpha * A @ B' + beta * C: a linear layer when A is the data and B, C are weights."""
    attrs = attributes(node)
    if attrs.get("transA", 0):
        raise _unsupported(graph, node, "transA=1: the data is transposed, not a linear layer's input")
    weight = graph.dims(node.input[1], node, "weight")
    x = _flat_input(graph, node)
    if len(weight) != 2:
        raise graph.error(node, "bad_onnx", f"its weight has dims {list(weight)}; Gemm's B is a matrix")
    fields: dict[str, Any] = {"out_features": weight[0] if attrs.get("transB", 0) else weight[1]}
    if not _bias(graph, node, 2):
        fields["bias"] = False
    return _one("linear", fields, node, x)


@converts("MatMul")
def _matmul(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    """x @ W, and `+ b` when the one node reading it adds a constant vector: one linear layer."""
    weight = graph.dims(node.input[1], node, "weight")
    x = _flat_input(graph, node)
    if len(weight) != 2:
        raise _unsupported(graph, node, f"a product with a weight of dims {list(weight)}; linear's is a matrix")
    out_features = weight[1]
    reader = graph.only_consumer(node.output[0])
    if reader is not None:
        add = graph.nodes[reader]
        other = [t for t in add.input if t != node.output[0]]
        if add.op_type == "Add" and len(other) == 1 and graph.is_constant(other[0]):
            if prod(graph.dims(other[0], add, "bias")) == out_features:
                return [Converted("linear", {"out_features": out_features}, (x,), add.output[0], (reader,))]
    return _one("linear", {"out_features": out_features, "bias": False}, node, x)


# ---- normalisation ----------------------------------------------------------------------------------


@converts("BatchNormalization")
def _batchnorm(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    x = _data(graph, node)
    _no_extra_outputs(graph, node, "training statistics")
    attrs = attributes(node)
    if attrs.get("training_mode", 0):
        raise _unsupported(graph, node, "training_mode=1: batch statistics, not the inference layer")
    for position, what in enumerate(("scale", "bias", "running mean", "running variance"), 1):
        graph.dims(_optional(node, position), node, what)
    fields: dict[str, Any] = {}
    eps = f32(attrs.get("epsilon", 1e-5))
    if eps != 1e-5:
        fields["eps"] = eps
    # ONNX keeps running = running * momentum + batch * (1 - momentum): torch's momentum is 1 - it
    momentum = float(f"{1 - f32(attrs.get('momentum', 0.9)):.7g}")
    if momentum != 0.1:
        fields["momentum"] = momentum
    return _one("batchnorm", fields, node, x)


@converts("LRN")
def _lrn(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    """ONNX's LRN is torch's: x / (bias + alpha / size * sum of squares) ** beta."""
    x = _data(graph, node)
    attrs = attributes(node)
    fields = {
        "size": attrs.get("size", 5),
        "alpha": f32(attrs.get("alpha", 1e-4)),
        "beta": f32(attrs.get("beta", 0.75)),
        "k": f32(attrs.get("bias", 1.0)),
    }
    return _one("lrn", fields, node, x)


# ---- pooling --------------------------------------------------------------------------------------------


@converts("MaxPool", "AveragePool")
def _pool(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    x = _data(graph, node)
    _no_extra_outputs(graph, node, "indices")
    sizes = _spatial_rank(graph, node, x)
    attrs = attributes(node)
    kernel = tuple(attrs.get("kernel_shape") or ())
    stride, dilation, pads = _window(graph, node, attrs, sizes, kernel)
    fields: dict[str, Any] = {"kernel_size": compact(kernel)}
    if stride != kernel:  # the spec's stride defaults to the kernel, ONNX's to 1
        fields["stride"] = compact(stride)
    padded = any(p for pair in pads for p in pair)
    if padded:
        fields["padding"] = padding_field(pads)
    if node.op_type == "MaxPool":
        if any(d != 1 for d in dilation):
            fields["dilation"] = compact(dilation)
    elif any(d != 1 for d in dilation):
        raise _unsupported(graph, node, f"average pooling with dilations {list(dilation)}; torch's has none")
    if attrs.get("ceil_mode", 0):
        fields["ceil_mode"] = True
    if node.op_type == "AveragePool" and not attrs.get("count_include_pad", 0) and (padded or fields.get("ceil_mode")):
        fields["count_include_pad"] = False
    return _one("maxpool" if node.op_type == "MaxPool" else "avgpool", fields, node, x)


@converts("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    x = _data(graph, node)
    _spatial_rank(graph, node, x)
    return _one("global_avgpool" if node.op_type == "GlobalAveragePool" else "global_maxpool", {}, node, x)


@converts("ReduceMean")
def _reduce_mean(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    """A mean over spatial axes (torch's x.mean((2, 3))): axes an attribute before opset 18, an input since."""
    x = _data(graph, node)
    rank = graph.rank(x, node)
    attrs = attributes(node)
    axes = attrs.get("axes") if graph.opset < 18 else graph.value(_optional(node, 1), node, "axes")
    if not axes:
        raise _unsupported(graph, node, "a mean over every axis, the batch's included")
    dims = sorted({_axis(graph, node, int(a), rank) for a in axes})
    if dims[0] < 2:
        raise _unsupported(graph, node, f"a mean over axes {dims}; archcalc's mean is over spatial axes (2 and on)")
    return _one("mean", {"dims": dims, "keepdim": bool(attrs.get("keepdims", 1))}, node, x)


# ---- element-wise ---------------------------------------------------------------------------------------

SIMPLE_ACTIVATIONS = {
    "Relu": "relu",
    "Tanh": "tanh",
    "HardSwish": "hardswish",
    "Mish": "mish",
}


@converts(*SIMPLE_ACTIVATIONS)
def _activation(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    return _one(SIMPLE_ACTIVATIONS[node.op_type], {}, node, _data(graph, node))


@converts("Sigmoid")
def _sigmoid(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    """sigmoid(x), or x * sigmoid(x) (how torch exports SiLU) when the one node reading it is that Mul."""
    x = _data(graph, node)
    reader = graph.only_consumer(node.output[0])
    if reader is not None:
        mul = graph.nodes[reader]
        if mul.op_type == "Mul" and sorted(mul.input) == sorted([x, node.output[0]]):
            return [Converted("silu", {}, (x,), mul.output[0], (reader,))]
    return _one("sigmoid", {}, node, x)


@converts("LeakyRelu")
def _leaky_relu(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    slope = f32(attributes(node).get("alpha", 0.01))
    return _one("leaky_relu", {} if slope == 0.01 else {"negative_slope": slope}, node, _data(graph, node))


@converts("HardSigmoid")
def _hard_sigmoid(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    """torch's Hardsigmoid is max(0, min(1, x / 6 + 1 / 2)): ONNX's with alpha 1/6, beta 0.5."""
    attrs = attributes(node)
    alpha, beta = attrs.get("alpha", 0.2), attrs.get("beta", 0.5)
    if not (isclose(alpha, 1 / 6, rel_tol=1e-6) and isclose(beta, 0.5, rel_tol=1e-6)):
        raise _unsupported(
            graph,
            node,
            f"HardSigmoid with alpha={alpha:g}, beta={beta:g}; archcalc's hardsigmoid is torch's (1/6, 0.5)",
        )
    return _one("hardsigmoid", {}, node, _data(graph, node))


@converts("Gelu")
def _gelu(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    if attributes(node).get("approximate", "none") != "none":
        raise _unsupported(graph, node, "Gelu's tanh approximation; archcalc's gelu is the exact one")
    return _one("gelu", {}, node, _data(graph, node))


@converts("Clip")
def _clip(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    """Clip(0, 6) is relu6, Clip(0, none) relu; bounds are attributes before opset 11, inputs since."""
    x = _data(graph, node)
    if graph.opset < 11:
        attrs = attributes(node)
        low, high = attrs.get("min"), attrs.get("max")
    else:
        lows = graph.value(_optional(node, 1), node, "min")
        highs = graph.value(_optional(node, 2), node, "max")
        low, high = (lows[0] if lows else None), (highs[0] if highs else None)
    if low == 0 and high == 6:
        return _one("relu6", {}, node, x)
    if low == 0 and high is None:
        return _one("relu", {}, node, x)
    raise _unsupported(graph, node, f"Clip to [{low}, {high}]; archcalc has relu6 (Clip to [0, 6]) and relu")


@converts("Softmax", "LogSoftmax")
def _softmax(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    """Over the channels (axis 1). Before opset 13 the axis flattens what follows it into one: the
    same only for a [N, C] input."""
    x = _data(graph, node)
    rank = graph.rank(x, node)
    axis = _axis(graph, node, attributes(node).get("axis", 1 if graph.opset < 13 else -1), rank)
    if axis != 1 or (graph.opset < 13 and rank != 2):
        raise _unsupported(
            graph, node, f"{node.op_type} over axis {axis} of a rank-{rank} tensor; archcalc's is over channels"
        )
    return _one("softmax" if node.op_type == "Softmax" else "log_softmax", {}, node, x)


@converts("Dropout")
def _dropout(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    x = _data(graph, node)
    _no_extra_outputs(graph, node, "mask")
    if graph.opset < 12:
        ratio: float | None = attributes(node).get("ratio", 0.5)
    else:
        ratios = graph.value(_optional(node, 1), node, "ratio")
        ratio = ratios[0] if ratios else 0.5
    p = f32(0.5 if ratio is None else ratio)
    return _one("dropout", {} if p == 0.5 else {"p": p}, node, x)


@converts("Identity")
def _identity(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    return _one("identity", {}, node, _data(graph, node))


# ---- merges and shape ops -------------------------------------------------------------------------------


@converts("Add", "Sum", "Mul")
def _merge(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    """The element-wise sum or product of computed tensors (a residual, a gate). A constant
    operand is a learnt scale ([C, 1, ...]: layer_scale) or bias of its own, which has no kind."""
    inputs = [t for t in node.input if t]
    if node.op_type == "Mul" and len(inputs) == 2 and inputs[0] == inputs[1]:
        lrn = _torch_lrn(index, node, graph)
        if lrn is not None:
            return [lrn]
    constants = [t for t in inputs if not graph.is_data(t)]
    kind = "mul" if node.op_type == "Mul" else "add"
    if not constants:
        return _one(kind, {}, node, *inputs)
    data = [t for t in inputs if graph.is_data(t)]
    if kind == "mul" and len(inputs) == 2 and len(data) == 1:
        channels = graph.shape(data[0], node)[0]
        dims = graph.dims(constants[0], node, "scale")
        if len(dims) == graph.rank(data[0], node) - 1 and dims[0] == channels and prod(dims) == channels:
            return _one("layer_scale", {}, node, data[0])
    raise _unsupported(
        graph,
        node,
        f"{node.op_type} of a constant tensor ({shown(constants[0])}) with a computed one",
        hint="archcalc counts a learnt scale of shape [C, 1, 1] (layer_scale); other constant operands have no kind",
    )


@converts("Concat")
def _concat(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    inputs = [t for t in node.input if t]
    for position in range(len(inputs)):
        _data(graph, node, position)
    rank = graph.rank(inputs[0], node)
    axis = _axis(graph, node, attributes(node).get("axis", 1), rank)
    if axis != 1:
        raise _unsupported(graph, node, f"a concatenation along axis {axis}; archcalc's concat joins channels (axis 1)")
    return _one("concat", {}, node, *inputs)


@converts("Flatten")
def _flatten(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    x = _data(graph, node)
    rank = graph.rank(x, node)
    if _axis(graph, node, attributes(node).get("axis", 1), rank + 1) != 1:
        raise _unsupported(graph, node, "a flatten that keeps other axes than the batch apart")
    return _one("flatten", {}, node, x)


@converts("Reshape")
def _reshape(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    """A reshape to [N, everything else] (torch's x.view(x.size(0), -1)) is a flatten."""
    x = _data(graph, node)
    before, after = graph.shape(x, node), graph.shape(node.output[0], node)
    if after != (prod(before),):
        raise _unsupported(
            graph,
            node,
            f"a reshape from {list(before)} to {list(after)}; only a flatten to [{prod(before)}] is a layer",
        )
    return _one("flatten", {}, node, x)


@converts("Split")
def _split(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    """A channel split: one `split` layer per output read, sized by each output's inferred shape
    ({chunks: N} when all are alike, {sections: [...]} else)."""
    x = _data(graph, node)
    rank = graph.rank(x, node)
    if _axis(graph, node, attributes(node).get("axis", 0), rank) != 1:
        raise _unsupported(graph, node, "a split along another axis than the channels (axis 1)")
    sections = [graph.shape(out, node)[0] for out in node.output]
    size: dict[str, Any] = {"chunks": len(sections)} if len(set(sections)) == 1 else {"sections": sections}
    return [
        Converted("split", {**size, "index": i}, (x,), out)
        for i, out in enumerate(node.output)
        if graph.consumers.get(out) or out in graph.graph_outputs
    ]


@converts("Resize")
def _resize(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    """Nearest or (bi)linear upsampling by scales or to sizes (inputs 2 and 3; before opset 11, 1)."""
    x = _data(graph, node)
    sizes = _spatial_rank(graph, node, x)
    attrs = attributes(node)
    mode = attrs.get("mode", "nearest")
    if mode not in ("nearest", "linear") or (mode == "linear" and len(sizes) != 2):
        raise _unsupported(
            graph, node, f"Resize mode {shown(mode)} on {len(sizes)} spatial dims; archcalc has nearest and bilinear"
        )
    fields: dict[str, Any] = {"mode": "nearest" if mode == "nearest" else "bilinear"}
    scales = graph.value(_optional(node, 1 if graph.opset < 11 else 2), node, "scales")
    if scales:
        if any(not math.isfinite(s) or s <= 0 for s in scales):
            raise graph.error(
                node, "bad_onnx", f"Resize scales {shown(list(scales))}: each must be a finite number above 0"
            )
        if [f32(s) for s in scales[:2]] != [1.0, 1.0]:
            raise _unsupported(graph, node, f"a Resize of the batch or channels (scales {shown(list(scales))})")
        spatial = [f32(s) for s in scales[2:]]
        fields["scale_factor"] = [int(s) if s.is_integer() else s for s in spatial]
    else:
        target = graph.value(_optional(node, 3), node, "sizes")
        if not target:
            raise graph.error(node, "bad_onnx", "Resize has neither scales nor sizes")
        if len(target) < 2 or int(target[1]) != graph.shape(x, node)[0]:  # [batch, channels, *spatial]
            raise _unsupported(graph, node, f"a Resize of the batch or channels (sizes {shown(list(target))})")
        fields["size"] = [int(s) for s in target[2:]]
    corners = attrs.get("coordinate_transformation_mode", "half_pixel") == "align_corners"
    fields["align_corners"] = corners if mode == "linear" else None
    return _one("upsample", fields, node, x)


# the ops torch's exporter writes for F.local_response_norm (besides the Shape, Gather, Constant
# ... that compute the padding and the reshapes' sizes)
_LRN_OPS = frozenset(
    "Mul Shape Constant Gather Unsqueeze Concat Reshape ConstantOfShape Slice Transpose Cast Pad AveragePool "
    "Equal If Squeeze Add Pow Div".split()
)


def _torch_lrn(index: int, node: Any, graph: OnnxGraph) -> Converted | None:
    """torch's LocalResponseNorm, which ONNX receives as the ops of F.local_response_norm in one
    module scope: x * x, padded over channels, averaged by a [size, 1, 1] window, then
    x / (k + alpha * mean) ** beta. The run of nodes in the scope of `node` (x * x), ending in
    Div(x, ...), is one `lrn` layer, its size from the window, alpha, k and beta from the
    constants of its Mul, Add and Pow; None when the run is not that."""
    x = node.input[0]
    run = _scope_run(graph, index, node)
    ops = [graph.nodes[i] for i in run]
    if not ops or ops[-1].op_type != "Div" or ops[-1].input[0] != x or any(o.op_type not in _LRN_OPS for o in ops):
        return None
    pools = [o for o in ops if o.op_type == "AveragePool"]
    by_op = {o.op_type: o for o in ops if o.op_type in ("Add", "Pow")}
    scales = [o for o in ops if o.op_type == "Mul"]
    if len(pools) != 1 or len(by_op) != 2 or len(scales) != 1:
        return None
    window = attributes(pools[0]).get("kernel_shape") or ()
    if not window or any(k != 1 for k in window[1:]):
        return None

    def constant(op: Any, what: str) -> float:
        known = [t for t in op.input if graph.is_constant(t)]
        got = graph.value(known[0], op, what) if len(known) == 1 else None
        if not got or len(got) != 1:
            raise _unsupported(graph, op, f"the {what} of a local response normalisation is not one constant")
        return f32(got[0])

    fields = {
        "size": window[0],
        "alpha": constant(scales[0], "alpha"),
        "beta": constant(by_op["Pow"], "beta"),
        "k": constant(by_op["Add"], "k"),
    }
    return Converted("lrn", fields, (x,), ops[-1].output[0], tuple(run))


def _scope_run(graph: OnnxGraph, index: int, node: Any) -> list[int]:
    """The nodes after `index` in the module scope of `node` (torch's exporter writes a module's
    ops one after the other), with the unscoped Constants it puts between them; [] without a scope."""
    scope = scope_of_node(node)
    run: list[int] = []
    if scope is None:
        return run
    for later in range(index + 1, len(graph.nodes)):
        other = graph.nodes[later]
        if other.name.startswith(scope + "/"):
            run.append(later)
        elif not (other.op_type == "Constant" and not other.name.startswith("/")):
            break
    return run


def scope_of_node(node: Any) -> str | None:
    """The module scope of a node torch's exporter named (`/features/norm1/Mul` -> `/features/norm1`)."""
    name = node.name
    if not name.startswith("/") or name.count("/") < 2:
        return None
    return name.rsplit("/", 1)[0]


def _table_conv(index: int, node: Any, graph: OnnxGraph) -> Converted | None:
    """The spec's conv with a connection table, as torch's exporter writes it (verify/modules.py
    TableConv): in one module scope, Gathers of input maps (axis 1, constant indices), one conv per
    output map or group of them reading one gather, then a Concat of those convs in order. Each
    conv's output maps are rows of the table listing its gather's indices. None when the run of
    nodes in the scope is not that."""
    x = node.input[0]
    run = [index, *_scope_run(graph, index, node)]
    if len(run) == 1 or not graph.is_data(x):
        return None
    ops = [graph.nodes[i] for i in run]
    concat = ops[-1]
    if concat.op_type != "Concat" or any(o.op_type not in ("Gather", "Conv", "Constant", "Concat") for o in ops[:-1]):
        return None
    gathered: dict[str, list[int]] = {}
    for gather in (o for o in ops if o.op_type == "Gather"):
        if gather.input[0] != x or attributes(gather).get("axis", 0) != 1:
            return None
        gathered[gather.output[0]] = [int(i) for i in graph.value(gather.input[1], gather, "indices") or ()]
    convs = [o for o in ops if o.op_type == "Conv"]
    if [c.output[0] for c in convs] != list(concat.input) or attributes(concat).get("axis") != 1:
        return None
    geometry = {repr(sorted(attributes(c).items())) + repr(len(c.input) > 2 and bool(c.input[2])) for c in convs}
    if len(geometry) != 1 or any(c.input[0] not in gathered for c in convs):
        return None
    rows: list[list[int]] = []
    for conv in convs:
        out_maps, *_ = graph.dims(conv.input[1], conv, "weight")
        rows.extend([gathered[conv.input[0]]] * out_maps)
    fields = {**_conv_fields(convs[0], graph), "out_channels": len(rows), "connection_table": rows}
    if fields.pop("groups", 1) != 1:
        return None
    last, absorbed = concat, tuple(run[1:])
    if not _bias(graph, convs[0], 2):
        added = _added_bias(graph, concat)
        fields["bias"] = False if added is None else added[0]
        if added is not None:
            last, absorbed = graph.nodes[added[1]], (*absorbed, added[1])
        if fields["bias"] is True:
            del fields["bias"]
    return Converted("conv", fields, (x,), last.output[0], absorbed)


# the windowed ops a Pad before them is folded into, and the padding value each takes as its own
_PADDED_OPS = {"Conv": 0.0, "AveragePool": 0.0, "MaxPool": None}  # max pooling: any value (never picked, or -inf)


@converts("Pad")
def _pad(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    """A constant Pad of the spatial sizes read by one conv or pooling node is that node's own
    (possibly asymmetric) padding: how torch exports a spec's per-side padding (a ConstantPad
    module, then the op). The node is converted with the pads added, reading the Pad's input."""
    x = _data(graph, node)
    attrs = attributes(node)
    reader = graph.only_consumer(node.output[0])
    target = graph.nodes[reader] if reader is not None else None
    rank = graph.rank(x, node)
    if graph.opset < 11:
        pads = [int(p) for p in attrs.get("pads", ())]
        value: float | None = attrs.get("value", 0.0)
    else:
        if _optional(node, 3):
            raise _unsupported(graph, node, "a Pad of chosen axes; archcalc folds a Pad of every axis")
        pads = [int(p) for p in graph.value(_optional(node, 1), node, "pads") or ()]
        values = graph.value(_optional(node, 2), node, "constant value")
        value = values[0] if values else 0.0
    if target is None or target.op_type not in _PADDED_OPS or target.input[0] != node.output[0]:
        raise _unsupported(graph, node, "a Pad not read by one conv or pooling node has no layer kind")
    wanted = _PADDED_OPS[target.op_type]
    target_attrs = attributes(target)
    if (
        attrs.get("mode", "constant") != "constant"
        or len(pads) != 2 * rank
        or any(pads[i] or pads[rank + i] for i in (0, 1))
        or any(p < 0 for p in pads)
        or (wanted is not None and value != wanted)
        or (target_attrs.get("auto_pad") or "NOTSET") != "NOTSET"
    ):
        raise _unsupported(
            graph,
            node,
            f"a Pad (mode {shown(attrs.get('mode', 'constant'))}, pads {shown(pads)}, value {value}) that is not "
            f"{target.op_type}'s own zero padding of the spatial sizes",
        )
    own = list(target_attrs.get("pads") or (0,) * (2 * (rank - 2)))
    spatial = rank - 2
    merged = [own[i] + pads[2 + i] for i in range(spatial)] + [
        own[spatial + i] + pads[rank + 2 + i] for i in range(spatial)
    ]
    from onnx import helper

    folded = type(target)()
    folded.CopyFrom(target)
    folded.input[0] = x
    del folded.attribute[:]
    for name, attr_value in {**target_attrs, "pads": merged}.items():
        if name == "count_include_pad":
            continue
        folded.attribute.append(helper.make_attribute(name, attr_value))
    if target.op_type == "AveragePool":  # the Pad's zeros are input to the average: counted
        folded.attribute.append(helper.make_attribute("count_include_pad", 1))
    return [
        Converted(made.kind, made.fields, made.inputs, made.output, (reader, *made.absorbed))  # type: ignore[arg-type]
        for made in CONVERTERS[target.op_type](reader, folded, graph)  # type: ignore[arg-type]
    ]


# GELU before opset 20, as torch exports it: x / sqrt(2), Erf, + 1, times x, times 0.5
_ERF_GELU = (("Erf", None), ("Add", 1.0), ("Mul", None), ("Mul", 0.5))


def _erf_gelu(index: int, node: Any, graph: OnnxGraph) -> Converted | None:
    """GELU written out (opsets before 20 have no Gelu op): Div(x, sqrt 2), Erf, Add 1, Mul by x,
    Mul by 0.5, each the one reader of the one before; None when the chain is not that."""
    x = node.input[0]
    divisor = [t for t in node.input[1:] if graph.is_constant(t)]
    if not graph.is_data(x) or len(divisor) != 1 or not _is(graph, node, divisor[0], 2**0.5):
        return None
    chain = [index]
    for op_type, constant in _ERF_GELU:
        reader = graph.only_consumer(graph.nodes[chain[-1]].output[0])
        if reader is None or graph.nodes[reader].op_type != op_type:
            return None
        step = graph.nodes[reader]
        other = [t for t in step.input if t != graph.nodes[chain[-1]].output[0]]
        if op_type == "Erf":
            wanted = other == []
        elif constant is None:  # the product with x itself
            wanted = other == [x]
        else:
            wanted = len(other) == 1 and _is(graph, step, other[0], constant)
        if not wanted:
            return None
        chain.append(reader)
    return Converted("gelu", {}, (x,), graph.nodes[chain[-1]].output[0], tuple(chain[1:]))


def _is(graph: OnnxGraph, node: Any, tensor: str, want: float) -> bool:
    """Whether `tensor` is a constant holding `want` alone (to float32's precision)."""
    if not graph.is_constant(tensor):
        return False
    got = graph.value(tensor, node, "constant") or []
    return len(got) == 1 and isclose(got[0], want, rel_tol=1e-6)


# ops read only as the first node of a pattern: the pattern, and what it is, for the error
PATTERN_STARTS: dict[str, tuple[Callable[[int, Any, OnnxGraph], Converted | None], str]] = {
    "Gather": (_table_conv, "a connection-table conv (Gathers of input maps, a conv each, a Concat)"),
    "Div": (_erf_gelu, "GELU's erf form, x * (1 + erf(x / sqrt(2))) / 2"),
}


@converts(*PATTERN_STARTS)
def _pattern(index: int, node: Any, graph: OnnxGraph) -> list[Converted]:
    """A node whose op is a layer only as the start of a known pattern."""
    match, what = PATTERN_STARTS[node.op_type]
    made = match(index, node, graph)
    if made is None:
        raise _unsupported(graph, node, f"a {node.op_type} that does not start {what}; it has no layer kind")
    return [made]
