"""One ONNX graph as the op converters see it: every value's inferred shape, the constants (their
dims always, their values only when small and stored in the file), which node reads what.

No onnx import at module level: the reader imports this inside `read_onnx`, and protobuf
messages are handled through their attributes only.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any

from ..errors import SpecError
from ..fields import MAX_SIZE
from ..limits import shown

# The most elements of a constant whose values a converter reads (Clip's bounds, Resize's scales,
# Split's sizes, ReduceMean's axes): a few each; a larger one is weights, read by its dims only.
MAX_VALUE_ELEMENTS = 64

# TensorProto.DataLocation.EXTERNAL: the tensor's bytes live in another file, never read here
EXTERNAL = 1


@dataclass(frozen=True, slots=True)
class Converted:
    """One spec layer made from one node (or a short chain of nodes, e.g. MatMul then Add): the
    data tensors it reads, the tensor it writes, and the later nodes it took in (`absorbed`,
    indices into the graph's nodes: the walk skips them)."""

    kind: str
    fields: dict[str, Any]
    inputs: tuple[str, ...]
    output: str
    absorbed: tuple[int, ...] = ()


class OnnxGraph:
    """The graph's facts, filled once before the walk (a builder: plain class with __slots__).

    `shapes` holds each value's inferred shape, batch dimension included (a dimension onnx could
    not fix is a str, its symbol, or None); `constants` the constant tensors by name (initializers,
    Constant nodes' values; None for one computed from other constants, whose value is not known
    here); `data` the values computed from the model's input."""

    __slots__ = ("file", "opset", "nodes", "shapes", "constants", "data", "consumers", "producer", "graph_outputs")

    def __init__(self, file: str, opset: int, nodes: list[Any], shapes: dict[str, tuple[int | str | None, ...]]):
        self.file = file
        self.opset = opset
        self.nodes = nodes
        self.shapes = shapes
        self.constants: dict[str, Any] = {}
        self.data: set[str] = set()
        self.consumers: dict[str, list[int]] = {}
        self.producer: dict[str, int] = {}
        for index, node in enumerate(nodes):
            for name in node.input:
                if name:
                    self.consumers.setdefault(name, []).append(index)
            for name in node.output:
                self.producer.setdefault(name, index)
        self.graph_outputs: set[str] = set()

    # ---- errors -------------------------------------------------------------------------------

    def error(self, node: Any, code: str, message: str, hint: str | None = None) -> SpecError:
        """A SpecError about `node`, naming its op type and node name."""
        return SpecError(code, message, file=self.file, layer=node_label(node), hint=hint)

    # ---- shapes -------------------------------------------------------------------------------

    def shape(self, tensor: str, node: Any) -> tuple[int, ...]:
        """The shape of a data value without its batch dimension: every other dimension fixed by
        shape inference (else `no_shape`; the model's input is checked first, so a size left open
        there is `symbolic_shape`) and within MAX_SIZE."""
        full = self.shapes.get(tensor)
        if full is None or not full or not all(isinstance(size, int) for size in full[1:]):
            written = "no shape" if full is None else f"shape {[size if size is not None else '?' for size in full]}"
            raise self.error(
                node,
                "no_shape",
                f"onnx's shape inference gave {written} for {shown(tensor)}: archcalc needs every size after the batch",
                hint="an op whose output size depends on the data's values has no layer kind; "
                "simplify the model (onnxsim) so every shape is a constant",
            )
        rest = tuple(size for size in full[1:] if isinstance(size, int))
        for size in rest:
            if not 1 <= size <= MAX_SIZE:
                raise self.error(
                    node, "bad_value", f"{shown(tensor)} has a dimension of {size:,}; sizes are 1 to {MAX_SIZE:,}"
                )
        return rest

    def rank(self, tensor: str, node: Any) -> int:
        """The rank of a data value, batch dimension included."""
        return len(self.shape(tensor, node)) + 1

    # ---- constants ----------------------------------------------------------------------------

    def is_data(self, tensor: str) -> bool:
        return tensor in self.data

    def is_constant(self, tensor: str) -> bool:
        return tensor in self.constants

    def dims(self, tensor: str, node: Any, what: str) -> tuple[int, ...]:
        """The dims of a constant input (a weight, a bias): its values are never needed for counts."""
        if tensor not in self.constants:
            raise self.error(
                node,
                "unsupported_op",
                f"its {what} ({shown(tensor)}) is computed from the input, not a constant of the model",
                hint="archcalc counts layers whose weights are stored in the model",
            )
        proto = self.constants[tensor]
        if proto is None:
            full = self.shapes.get(tensor)
            if full is None or not all(isinstance(size, int) for size in full):
                raise self.error(node, "no_shape", f"the shape of its {what} ({shown(tensor)}) is not known")
            return tuple(int(size) for size in full)  # type: ignore[arg-type]
        dims = tuple(int(d) for d in proto.dims)
        if any(not 0 <= d <= MAX_SIZE for d in dims):
            raise self.error(node, "bad_value", f"its {what} ({shown(tensor)}) has dims {shown(list(dims))}")
        return dims

    def value(self, tensor: str, node: Any, what: str) -> list[float] | None:
        """The values of a small constant input, flattened (None where the optional input is
        absent). A tensor stored outside the file is refused: external data is never read."""
        if not tensor:
            return None
        if self.constants.get(tensor, 0) is None:  # computed from other constants
            return self._folded(tensor, node, what)
        if tensor not in self.constants:
            raise self.error(
                node,
                "unsupported_op",
                f"its {what} ({shown(tensor)}) is not a constant stored in the model",
                hint="archcalc reads such values only from initializers or Constant nodes",
            )
        proto = self.constants[tensor]
        if proto.data_location == EXTERNAL:
            raise self.error(
                node,
                "external_data",
                f"its {what} ({shown(tensor)}) is stored outside the model file; archcalc never reads external data",
                hint="save the model with small tensors inside the file (onnx.save with size_threshold)",
            )
        if prod(proto.dims) > MAX_VALUE_ELEMENTS:
            raise self.error(
                node, "unsupported_op", f"its {what} ({shown(tensor)}) has {prod(proto.dims):,} elements, not a few"
            )
        from onnx import numpy_helper

        try:
            array = numpy_helper.to_array(proto)
        except Exception as err:  # a tensor whose bytes do not fit its dims or type
            raise self.error(node, "bad_onnx", f"its {what} ({shown(tensor)}) cannot be read: {err}") from None
        return [float(v) for v in array.reshape(-1).tolist()]

    def _folded(self, tensor: str, node: Any, what: str) -> list[float]:
        """A small value computed from constants, evaluated (`onnx_fold.evaluate`) or refused."""
        from .onnx_fold import evaluate

        array = evaluate(tensor, self.nodes, self.producer, self.constants, self.shapes, self.opset)
        if array is None:
            raise self.error(
                node,
                "unsupported_op",
                f"its {what} ({shown(tensor)}) is computed by nodes archcalc does not evaluate",
                hint="constant-fold the model first (onnxsim)",
            )
        return [float(v) for v in array.reshape(-1).tolist()]

    def only_consumer(self, tensor: str) -> int | None:
        """The index of the one node reading `tensor`, when exactly one does and it is no output."""
        readers = self.consumers.get(tensor, [])
        if len(readers) != 1 or tensor in self.graph_outputs:
            return None
        return readers[0]


def node_label(node: Any) -> str:
    """How an error names a node: its op type and name."""
    op = node.op_type if not node.domain or node.domain == "ai.onnx" else f"{node.domain}.{node.op_type}"
    return f"{op} node {shown(node.name)}" if node.name else f"{op} node (unnamed)"


def attributes(node: Any) -> dict[str, Any]:
    """A node's attributes as plain values: ints, floats, lists of them, text (decoded)."""
    from onnx import helper

    out: dict[str, Any] = {}
    for attribute in node.attribute:
        value = helper.get_attribute_value(attribute)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        out[attribute.name] = value
    return out
