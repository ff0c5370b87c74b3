"""Small values computed from constants, evaluated before onnx's shape inference needs them.

torch writes F.pad's sizes (a spec's per-side padding) as Concat, Reshape, Slice, Transpose and
Cast of Constants, and `x.view(x.size(0), -1)` as a Reshape to sizes taken from Shape(x): onnx's
inference does not follow them (its `data_prop` would, but it also computes values such as a
ConstantOfShape of 10^12 elements: 18 GB for a 1 kB file), so every size after them would be
unknown. `fold_size_inputs` evaluates such a value, with onnx's reference evaluator run on those
few nodes only (a Shape of a tensor already sized is its sizes), and writes it as a Constant, so
a second inference sizes everything.
"""

from __future__ import annotations

from math import prod
from typing import Any

from .onnx_graph import EXTERNAL, MAX_VALUE_ELEMENTS

# the ops such a value may pass through: shape arithmetic only, every output of which onnx's
# inference has sized at a few elements before anything runs (so nothing large is ever computed)
FOLDABLE_OPS = frozenset(
    "Constant Identity Concat Reshape Slice Transpose Cast Unsqueeze Squeeze Gather ConstantOfShape Add Sub Mul "
    "Div Neg".split()
)
MAX_FOLDED_NODES = 32
# the inputs of each op that give sizes, not data: a value computed there is folded
SIZE_INPUTS = {"Pad": (1, 2), "Reshape": (1,), "Resize": (1, 2, 3), "Split": (1,), "Clip": (1, 2)}


def _small(shape: tuple[int | str | None, ...] | None) -> bool:
    return shape is not None and all(isinstance(d, int) for d in shape) and prod(shape) <= MAX_VALUE_ELEMENTS  # type: ignore[arg-type]


def evaluate(
    tensor: str,
    nodes: list[Any],
    producer: dict[str, int],
    constants: dict[str, Any],
    shapes: dict[str, tuple[int | str | None, ...]],
    opset: int,
) -> Any:
    """The value of `tensor` as a numpy array, when it is computed by at most MAX_FOLDED_NODES nodes
    of FOLDABLE_OPS from small constants stored in the file, each output sized small; else None."""
    import numpy

    closure: set[int] = set()
    leaves: set[str] = set()
    shape_values: dict[str, Any] = {}
    stack = [tensor]
    while stack:
        name = stack.pop()
        if not name or name in leaves:
            continue
        known = constants.get(name)
        if known is not None:
            if known.data_location == EXTERNAL or prod(known.dims) > MAX_VALUE_ELEMENTS:
                return None
            leaves.add(name)
            continue
        index = producer.get(name)
        if index is None:
            return None
        if index in closure:
            continue
        node = nodes[index]
        if node.op_type == "Shape":  # the sizes of a tensor onnx's inference sized: a constant
            sizes = shapes.get(node.input[0])
            if sizes is None or not all(isinstance(d, int) for d in sizes):
                return None
            begin, end = _shape_range(node, len(sizes))
            leaves.add(name)
            shape_values[name] = numpy.array(sizes[begin:end], numpy.int64)
            continue
        if node.op_type not in FOLDABLE_OPS or node.domain not in ("", "ai.onnx") or len(closure) >= MAX_FOLDED_NODES:
            return None
        if not all(_small(shapes.get(out)) for out in node.output):
            return None
        closure.add(index)
        stack.extend(node.input)
    from onnx import helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    weights = []
    for name in sorted(leaves):
        if name in shape_values:
            weights.append(numpy_helper.from_array(shape_values[name], name))
            continue
        proto = type(constants[name])()
        proto.CopyFrom(constants[name])
        proto.name = name
        weights.append(proto)
    graph = helper.make_graph(
        [nodes[i] for i in sorted(closure)],
        "fold",
        [],
        [helper.make_empty_tensor_value_info(tensor)],
        initializer=weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    try:
        (array,) = ReferenceEvaluator(model).run(None, {})
    except Exception:  # a malformed constant subgraph: the caller refuses the value
        return None
    return array


def _shape_range(node: Any, rank: int) -> tuple[int, int]:
    """Shape's `start` and `end` (opset 15) as slice bounds of a rank-`rank` shape."""
    begin, end = 0, rank
    for attribute in node.attribute:
        if attribute.name == "start":
            begin = attribute.i
        elif attribute.name == "end":
            end = attribute.i
    return begin, end


def fold_size_inputs(model: Any, shapes: dict[str, tuple[int | str | None, ...]], opset: int) -> bool:
    """Rewrite the node computing each size input (SIZE_INPUTS) from constants as a Constant of its
    value; True when one was, so the caller infers the shapes again."""
    from onnx import helper, numpy_helper

    nodes = list(model.graph.node)
    constants: dict[str, Any] = {tensor.name: tensor for tensor in model.graph.initializer}
    producer: dict[str, int] = {}
    for index, node in enumerate(nodes):
        for name in node.output:
            producer.setdefault(name, index)
        if node.op_type == "Constant":
            for attribute in node.attribute:
                if attribute.name == "value":
                    constants[node.output[0]] = attribute.t
    changed = False
    for node in nodes:
        for position in SIZE_INPUTS.get(node.op_type, ()):
            tensor = node.input[position] if len(node.input) > position else ""
            source = producer.get(tensor)
            if not tensor or tensor in constants or source is None or len(nodes[source].output) != 1:
                continue
            array = evaluate(tensor, nodes, producer, constants, shapes, opset)
            if array is None:
                continue
            folded = nodes[source]
            folded.op_type, folded.domain = "Constant", ""
            del folded.input[:]
            del folded.attribute[:]
            value = numpy_helper.from_array(array, tensor)
            folded.attribute.append(helper.make_attribute("value", value))
            constants[tensor] = value
            changed = True
    return changed
