"""A PyTorch module read with torch.fx into a `TracedModel`: its calls as spec kinds, named by module path.

Runs the user's module (tracing, then one forward pass on zeros for the shapes): the caller trusts
its code. Each fx node becomes a value: a tensor some layer wrote (channels-first, or channels-last
between the permutes of a ConvNeXt block), a chain of view ops not yet resolved, a parameter, the
parts of a chunk, or a non-tensor (sizes and shape arithmetic, which become nothing).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from ..errors import SpecError
from .fx_pads import PAD_MODULES, Pad, add_pads, channel_slice, fold_pad, pad_of_call, pad_of_module, slice_split
from .fx_trace import PATH, SOURCE, TensorMeta, propagate, trace
from .recorded import METHOD as RECORDED
from .recorded import RecordingFailed, record
from .target import model_too_deep
from .torch_kinds import (
    ADD_TARGETS,
    CAT_TARGETS,
    FUNCTIONS,
    MEAN_TARGETS,
    METHODS,
    MUL_TARGETS,
    NARROW_TARGETS,
    SPLIT_TARGETS,
    Call,
    Mapped,
    Unmappable,
    dims,
    module_converter,
)
from .traced import MODEL_INPUT, TracedLayer, TracedModel
from .view_chain import classify, indices, is_view_step, replay

METHOD = "torch.fx"
MAX_OPAQUE_ROUNDS = 8  # each round makes the modules holding unsupported ops leaves; nesting is shallow
# kinds computed position by position, the same channels-first or channels-last
ELEMENTWISE_KINDS = frozenset(
    {
        "relu",
        "relu6",
        "gelu",
        "silu",
        "mish",
        "tanh",
        "sigmoid",
        "hardswish",
        "hardsigmoid",
        "leaky_relu",
        "identity",
        "dropout",
        "stochastic_depth",
    }
)
# what a channels-last region may hold besides Linear: kinds computed position by position
PER_POSITION_KINDS = ELEMENTWISE_KINDS | {"layernorm"}
CHANNELS_LAST_REASON = "an op over a channels-last tensor that is no LayerNorm(C), Linear or element-wise op"
SHARED_REASON = (
    "a module with parameters called again (shared weights): each spec layer owns its parameters, "
    "so a row per call would count them twice"
)
PENDING_REASON = "a view, reshape or permute that is no flatten, channel shuffle or channels-last permute"
PAD_REASON = "a pad not read by a convolution or pooling layer (a spec pads inside the layer that reads it)"
_NUMBERED = re.compile(r"_\d+$")


@dataclass(frozen=True, slots=True)
class Tensor:
    """A tensor layer `layer` wrote (MODEL_INPUT: the model's input); `last`: held channels-last."""

    layer: int
    last: bool = False


@dataclass(frozen=True, slots=True)
class Pending:
    """View ops applied to `tensor` (the value of node `base`) that do not yet add up to a kind."""

    base: fx.Node
    tensor: Tensor
    steps: tuple[tuple[fx.Node, nn.Module | None], ...]
    index: torch.Tensor  # the base's element indices ...
    result: torch.Tensor  # ... after the steps (each step runs once, on the last result)


@dataclass(frozen=True, slots=True)
class Padded:
    """`tensor` padded by `pad` (node `node`, module `module`): the padding of the layer that reads it."""

    node: fx.Node
    module: nn.Module | None
    tensor: Tensor
    pad: Pad


@dataclass(frozen=True, slots=True)
class Param:
    """A parameter or buffer read in forward (layer scale's gamma), as node `node` gives it."""

    node: fx.Node


@dataclass(frozen=True, slots=True)
class Parts:
    """What chunk or split returned: `fields` says how `tensor` is cut; each part read is a layer."""

    node: fx.Node
    tensor: Tensor
    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OpaqueParts:
    """The tuple an opaque module returned (MultiheadAttention's output and weights): part 0 is `layer`."""

    layer: int


class Other:
    """A value that is no tensor: a size, a shape, an int, None."""


class Refused:
    """What an unsupported op gave: what reads it is not reported again."""


OTHER = Other()
REFUSED = Refused()
Value = Tensor | Pending | Padded | Param | Parts | OpaqueParts | Other | Refused


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A call no kind expresses: `op` (module class or function), where, and why."""

    op: str
    path: str  # the innermost module holding it (a module's own path): the one --opaque makes a leaf
    source: str
    reason: str

    def error(self, more: list[Unsupported]) -> SpecError:
        where = self.path or "the model's own forward"
        message = f"{self.op} cannot be mapped to a spec kind: {self.reason}"
        if self.source:
            message += f"; called at {self.source}"
        note = None
        if more:
            listed = ", ".join(f"{u.op} in {u.path or 'forward'}" for u in more[:5])
            note = f"{len(more)} more unsupported op(s): {listed}" + (", ..." if len(more) > 5 else "")
        return SpecError(
            "unsupported_op",
            message,
            layer=where,
            hint="--opaque reads the innermost module holding it as one opaque layer "
            "(its parameters and output shape, no MACs)",
            note=note,
            extra={"op": self.op, "path": self.path, "source": self.source},
        )


def _shape(node: fx.Node) -> tuple[int, ...]:
    meta: Any = node.meta.get("tensor_meta")
    if _several(meta):  # a module returning a tuple: its first tensor
        meta = next((m for m in meta if isinstance(m, TensorMeta)), None)
    return tuple(int(s) for s in meta.shape) if meta is not None else ()


def _several(meta: Any) -> bool:
    """A result of several tensors (a tuple or list of them)."""
    return isinstance(meta, (tuple, list))


def _first(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A channels-last shape (without batch) written channels-first."""
    return (shape[-1], *shape[:-1])


def _op_name(node: fx.Node, module: nn.Module | None) -> str:
    if module is not None:
        return type(module).__name__
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    target = node.target
    owner = getattr(target, "__module__", None) or "torch"
    return f"{owner}.{getattr(target, '__name__', str(target))}"


class _Reader:
    """Walks one traced graph in order, filling `layers`: a builder, filled step by step."""

    __slots__ = ("graph", "modules", "layers", "scopes", "values", "used", "counts", "unsupported", "opaque", "shared")

    def __init__(self, module: nn.Module, graph: fx.Graph, opaque: frozenset[str] | None) -> None:
        self.graph = graph
        self.modules = dict(module.named_modules())
        self.layers: list[TracedLayer] = []
        self.scopes: list[str] = []  # per layer: the module whose forward called the function ("" for a module's call)
        self.values: dict[fx.Node, Value] = {}
        self.used: set[tuple[str, ...]] = set()
        self.counts: Counter[tuple[str, ...]] = Counter()
        self.unsupported: list[Unsupported] = []
        self.opaque = opaque  # None: unsupported ops are errors; else modules read as opaque layers
        self.shared: set[str] = set()  # modules with parameters called once already

    # ---- names and layers ----

    def _path(self, node: fx.Node, stem: str | None) -> tuple[str, ...]:
        """A module's path, or its scope plus the function's stem; later calls `_1`, `_2`, ..."""
        if node.op == "call_module" and stem is None:
            base = tuple(str(node.target).split("."))
        else:
            scope = node.meta.get(PATH, "")
            own = stem or _NUMBERED.sub("", node.name)
            base = (*(scope.split(".") if scope else ()), "add" if own == "iadd" else own)
        while True:
            n = self.counts[base]
            self.counts[base] += 1
            path = base if n == 0 else (*base[:-1], f"{base[-1]}_{n}")
            if path not in self.used:
                self.used.add(path)
                return path

    def emit(
        self,
        node: fx.Node,
        mapped: Mapped,
        inputs: tuple[int, ...],
        last: bool = False,
        stem: str | None = None,
        module_type: str = "",
        shaped: fx.Node | None = None,
    ) -> Tensor:
        """A layer for `node` (named after it); its output shape is `shaped`'s (default `node`'s)."""
        shape = _shape(shaped or node)[1:]
        self.scopes.append(node.meta.get(PATH, "") if stem is not None or node.op != "call_module" else "")
        self.layers.append(
            TracedLayer(
                path=self._path(node, stem),
                kind=mapped.kind,
                fields=mapped.fields,
                inputs=inputs,
                out_shape=_first(shape) if last else shape,
                source=node.meta.get(SOURCE, ""),
                module_type=module_type or _op_name(node, self.modules.get(str(node.target))),
            )
        )
        return Tensor(len(self.layers) - 1, last)

    def refuse(
        self, node: fx.Node, reason: str, module: nn.Module | None = None, holder: str | None = None
    ) -> Refused | Tensor:
        """Record an unsupported call. Its readers are not reported again (REFUSED), except under
        --opaque, where the walk goes on with a stand-in tensor to find every module to make
        opaque in one round (the round's layers are thrown away: the next round retraces).
        `holder`: the module --opaque is to make a leaf, where it is not the call's own."""
        path = str(node.target) if node.op == "call_module" else node.meta.get(PATH, "")
        path = path if holder is None else holder
        self.unsupported.append(
            Unsupported(op=_op_name(node, module), path=path, source=node.meta.get(SOURCE, ""), reason=reason)
        )
        return REFUSED if self.opaque is None else Tensor(MODEL_INPUT)

    # ---- values ----

    def tensor_of(self, node: fx.Node, value: Any) -> Tensor | None:
        """A node argument's value as a tensor, refusing what is not one yet (an unresolved view)."""
        if not isinstance(value, fx.Node):
            return None
        found = self.values[value]
        if isinstance(found, Pending):
            first, module = found.steps[0]
            self.refuse(first, PENDING_REASON, module)
            return None
        if isinstance(found, Padded):
            self.refuse(found.node, PAD_REASON, found.module)
            return None
        return found if isinstance(found, Tensor) else None

    def call(self, node: fx.Node, last: bool = False) -> Call:
        args, kwargs = node.meta.get("archcalc_args", ((), {}))
        inputs = [a for a in node.all_input_nodes if "tensor_meta" in a.meta]
        return Call(
            args=tuple(args),
            kwargs=dict(kwargs),
            in_shape=_shape(inputs[0]) if inputs else (),
            out_shape=_shape(node),
            channels_last=last,
        )

    # ---- the walk ----

    def read(self, graph: fx.Graph) -> tuple[int, ...]:
        outputs: tuple[int, ...] = ()
        for node in graph.nodes:
            if node.op == "output":
                outputs = self.outputs(node)
            else:
                self.values[node] = self.value(node)
        self.layers = _module_named(self.layers, self.scopes)
        return outputs

    def outputs(self, node: fx.Node) -> tuple[int, ...]:
        found: list[int] = []

        def visit(item: Any) -> None:
            if isinstance(item, dict):
                for v in item.values():
                    visit(v)
            elif isinstance(item, (tuple, list)):
                for v in item:
                    visit(v)
            elif isinstance(item, fx.Node):
                tensor = self.tensor_of(node, item)
                if tensor is not None and tensor.last:
                    self.refuse(node, "the model returns a channels-last tensor")
                elif tensor is not None:
                    found.append(tensor.layer)

        visit(node.args[0])
        return tuple(found)

    def value(self, node: fx.Node) -> Value:
        if node.op == "placeholder":
            return Tensor(MODEL_INPUT)
        if node.op == "get_attr":
            return Param(node) if "tensor_meta" in node.meta else OTHER
        read = [self.values[a] for a in node.all_input_nodes]
        if any(isinstance(v, Refused) for v in read):
            return REFUSED
        module = self.modules.get(str(node.target)) if node.op == "call_module" else None
        if is_view_step(node, module):
            return self.view(node, module)
        if "tensor_meta" not in node.meta:
            return OTHER  # sizes, shapes, asserts: no layer
        if self.is_pad(node, module):
            return self.pad(node, module)
        if module is not None and str(node.target) in self.shared:
            owner = str(node.target).rpartition(".")[0]
            return self.refuse(node, SHARED_REASON, module, holder=owner)
        if module is not None and next(module.parameters(), None) is not None:
            self.shared.add(str(node.target))  # a second call would share its parameters
        if module is not None and self.opaque is not None:
            return self.opaque_module_call(node, module, read)
        pending = next((v for v in read if isinstance(v, Pending)), None)
        if pending is not None and module is not None and module_converter(module) is None:
            return self.refuse(node, f"no spec kind computes {type(module).__name__}", module)
        if pending is not None:
            first, first_module = pending.steps[0]
            return self.refuse(first, PENDING_REASON, first_module)
        if module is not None:
            return self.module_call(node, module)
        return self.function_call(node)

    def view(self, node: fx.Node, module: nn.Module | None) -> Value:
        source = self.values[node.args[0]] if isinstance(node.args[0], fx.Node) else OTHER
        if isinstance(source, (Param, Other)):
            return Param(node) if isinstance(source, Param) else OTHER
        if isinstance(source, Tensor):
            index = indices(_shape(node.args[0]))  # type: ignore[arg-type]
            pending = Pending(node.args[0], source, ((node, module),), index, replay(node, index, module))  # type: ignore[arg-type]
        elif isinstance(source, Pending):
            result = replay(node, source.result, module)
            pending = Pending(source.base, source.tensor, (*source.steps, (node, module)), source.index, result)
        else:
            return self.refuse(node, "a view of a value that is not one tensor", module)
        found = classify(pending.index, pending.result, pending.tensor.last)
        tensor = pending.tensor
        if found.what == "identity":
            return tensor
        if found.what in ("to_last", "to_first"):
            return Tensor(tensor.layer, found.what == "to_last")
        if found.what == "flatten":
            return self.emit(node, Mapped("flatten", {}), (tensor.layer,), stem=None if module else "flatten")
        if found.what == "channel_shuffle":
            mapped = Mapped("channel_shuffle", {"groups": found.groups})
            return self.emit(node, mapped, (tensor.layer,), stem="channel_shuffle", module_type="view chain")
        return pending

    def opaque_module_call(self, node: fx.Node, module: nn.Module, read: list[Value]) -> Value:
        """Under --opaque: a module mapped as usual where it can be, else one opaque layer."""
        if str(node.target) not in self.opaque and not any(isinstance(v, Pending) for v in read):  # type: ignore[operator]
            before = len(self.unsupported)
            found = self.module_call(node, module)
            if not isinstance(found, Refused):
                return found
            del self.unsupported[before:]
        layers = [
            v.tensor.layer if isinstance(v, (Pending, Padded)) else v.layer
            for v in read
            if isinstance(v, (Tensor, Pending, Padded, OpaqueParts))
        ]
        return self.opaque_layer(node, module, tuple(dict.fromkeys(layers)))

    def module_call(self, node: fx.Node, module: nn.Module) -> Value:
        padded = self.padded(node)
        if padded is not None:
            convert = module_converter(module)
            return self.unpad(node, padded, None if convert is None else lambda call: convert(module, call), module)
        inputs = [self.tensor_of(node, a) for a in node.all_input_nodes]
        tensors = [t for t in inputs if t is not None]
        if len(tensors) != 1 or len(inputs) != 1:
            return self.refuse(node, "a module call that does not read exactly one tensor", module)
        tensor = tensors[0]
        convert = module_converter(module)
        if convert is None:
            return self.refuse(node, f"no spec kind computes {type(module).__name__}", module)
        if tensor.last:
            return self.channels_last(node, module, tensor)
        try:
            mapped = convert(module, self.call(node))
        except Unmappable as err:
            return self.refuse(node, str(err), module)
        return self.emit(node, mapped, (tensor.layer,))

    def channels_last(self, node: fx.Node, module: nn.Module, tensor: Tensor) -> Value:
        """A module between the permutes of a channels-last region: over the channels, position by position."""
        if type(module) is nn.Linear:
            fields: dict[str, Any] = {"out_features": module.out_features}
            if module.bias is None:
                fields["bias"] = False
            return self.emit(node, Mapped("channel_linear", fields), (tensor.layer,), last=True)
        convert = module_converter(module)
        try:
            mapped = convert(module, self.call(node, last=True)) if convert is not None else None
        except Unmappable as err:
            return self.refuse(node, str(err), module)
        if mapped is None or mapped.kind not in PER_POSITION_KINDS:
            return self.refuse(node, CHANNELS_LAST_REASON, module)
        return self.emit(node, mapped, (tensor.layer,), last=True)

    def opaque_layer(self, node: fx.Node, module: nn.Module, inputs: tuple[int, ...]) -> Value:
        fields = {
            "params": sum(p.numel() for p in module.parameters()),
            "buffers": sum(b.numel() for b in module.buffers()),
            "out_shape": list(_shape(node)[1:]),
            "module": type(module).__name__,
        }
        layer = self.emit(node, Mapped("opaque", fields), inputs)
        return OpaqueParts(layer.layer) if _several(node.meta.get("tensor_meta")) else layer

    def function_call(self, node: fx.Node) -> Value:
        target = node.target
        method = node.op == "call_method"
        if target is getitem_target:
            return self.getitem(node)
        if target in ADD_TARGETS or (method and target in ("add", "add_", "__add__", "__iadd__")):
            return self.merge(node, "add")
        if target in MUL_TARGETS or (method and target in ("mul", "mul_", "__mul__")):
            return self.multiply(node)
        if target in CAT_TARGETS:
            return self.concat(node)
        if target in MEAN_TARGETS or (method and target == "mean"):
            return self.mean(node)
        if target in SPLIT_TARGETS or (method and target in ("chunk", "split")):
            return self.split(node)
        if target in NARROW_TARGETS or (method and target == "narrow"):
            return self.narrow(node)
        convert = METHODS.get(str(target)) if method else FUNCTIONS.get(target)
        padded = self.padded(node)
        if padded is not None:
            return self.unpad(node, padded, convert)
        first = node.args[0] if node.args else None
        tensor = self.tensor_of(node, first)
        if convert is None or tensor is None:
            return self.refuse(node, "no spec kind computes it" if convert is None else "its input is not a tensor")
        try:
            mapped = convert(self.call(node, last=tensor.last))
        except Unmappable as err:
            return self.refuse(node, str(err))
        if tensor.last and mapped.kind not in PER_POSITION_KINDS:
            return self.refuse(node, CHANNELS_LAST_REASON)
        # a functional conv's or linear's weight and bias are the layer's own parameters, not inputs
        return self.emit(node, mapped, (tensor.layer,), last=tensor.last)

    def getitem(self, node: fx.Node) -> Value:
        source = self.values[node.args[0]] if isinstance(node.args[0], fx.Node) else OTHER
        index = node.args[1]
        if isinstance(source, Parts) and isinstance(index, int):
            part = index % len(source.node.meta["tensor_meta"])
            fields = source.fields
            if "split_size" in fields:  # torch.split(x, size): this part's channels, at most 3 sections
                size, channels = fields["split_size"], fields["channels"]
                mapped = slice_split(part * size, min((part + 1) * size, channels), channels)
            else:
                mapped = Mapped("split", {**fields, "index": part})
            return self.emit(source.node, mapped, (source.tensor.layer,), shaped=node)
        if isinstance(source, OpaqueParts) and index == 0:
            return Tensor(source.layer)
        if isinstance(source, Other) and "tensor_meta" not in node.meta:
            return OTHER
        if isinstance(source, Tensor) and not source.last:
            channels = _shape(node.args[0])[1]  # type: ignore[arg-type]
            kept = channel_slice(self.call(node).arg(1, "index"), channels)
            if kept is not None:
                return self.channels(node, source, *kept)
        return self.refuse(node, "indexing or slicing a tensor (chunk or split along the channels is mapped)")

    def narrow(self, node: fx.Node) -> Value:
        """x.narrow(1, start, length): the channels [start, start + length)."""
        call = self.call(node)
        tensor = self.tensor_of(node, node.args[0] if node.args else None)
        if tensor is None or tensor.last or dims(call.arg(1, "dim"), len(call.in_shape)) != [1]:
            return self.refuse(node, "a narrow of other than the channels (dim 1) of a channels-first tensor")
        channels = call.in_shape[1]
        start = int(call.arg(2, "start")) % channels
        return self.channels(node, tensor, start, start + int(call.arg(3, "length")))

    def channels(self, node: fx.Node, tensor: Tensor, start: int, stop: int) -> Value:
        """The channels [start, stop) of `tensor`: all of them is the tensor, else a split's part."""
        channels = _shape(node.args[0])[1]  # type: ignore[arg-type]
        if (start, stop) == (0, channels):
            return tensor
        try:
            mapped = slice_split(start, stop, channels)
        except Unmappable as err:
            return self.refuse(node, str(err))
        return self.emit(node, mapped, (tensor.layer,), stem="slice")

    # ---- explicit padding: the reading layer's own ----

    def is_pad(self, node: fx.Node, module: nn.Module | None) -> bool:
        """F.pad, or a pad module not made opaque (under --opaque, one refused once is)."""
        if module is None:
            return node.op == "call_function" and node.target is F.pad
        return type(module) in PAD_MODULES and str(node.target) not in (self.opaque or ())

    def pad(self, node: fx.Node, module: nn.Module | None) -> Value:
        """A pad: held until the layer that reads it, which takes it as its own padding."""
        source = self.values[node.args[0]] if node.args and isinstance(node.args[0], fx.Node) else OTHER
        call = self.call(node)
        try:
            pad = pad_of_call(call) if module is None else pad_of_module(module, call.in_shape)
            if isinstance(source, Padded):
                return Padded(node, module, source.tensor, add_pads(source.pad, pad))
        except Unmappable as err:
            return self.refuse(node, str(err), module)
        tensor = self.tensor_of(node, node.args[0] if node.args else None)
        if tensor is None or tensor.last:
            return self.refuse(node, "a pad of other than a channels-first tensor", module)
        if not any(p for pair in pad.pairs for p in pair):  # U-Net's pad to the skip's size, where sizes agree
            return tensor
        return Padded(node, module, tensor, pad)

    def padded(self, node: fx.Node) -> Padded | None:
        """The pad a call reads as its first argument, if it reads one."""
        first = node.args[0] if node.args else None
        found = self.values.get(first) if isinstance(first, fx.Node) else None
        return found if isinstance(found, Padded) else None

    def unpad(self, node: fx.Node, padded: Padded, convert: Any, module: nn.Module | None = None) -> Value:
        """The call reading a pad, as one layer with the pad added to its padding."""
        if convert is None:
            return self.refuse(padded.node, PAD_REASON, padded.module)
        try:
            mapped = convert(self.call(node))
        except Unmappable as err:
            return self.refuse(node, str(err), module)
        try:
            folded = fold_pad(mapped, padded.pad)
        except Unmappable as err:
            return self.refuse(padded.node, str(err), padded.module)
        return self.emit(node, folded, (padded.tensor.layer,))

    def operands(self, node: fx.Node) -> list[Value | None]:
        return [self.values[a] if isinstance(a, fx.Node) else None for a in node.args[:2]]

    def merge(self, node: fx.Node, kind: str) -> Value:
        operands = self.operands(node)
        if len(operands) != 2 or node.kwargs.get("alpha", 1) != 1:
            return self.refuse(node, f"{kind} of other than two tensors")
        tensors = [self.tensor_of(node, a) for a in node.args[:2]]
        if any(t is None for t in tensors):
            return self.refuse(node, f"{kind} with a constant or a parameter (a spec's {kind} merges layer outputs)")
        first, second = tensors
        assert first is not None and second is not None
        if first.last != second.last:
            return self.refuse(node, f"{kind} of a channels-first and a channels-last tensor")
        return self.emit(node, Mapped(kind, {}), (first.layer, second.layer), last=first.last)

    def multiply(self, node: fx.Node) -> Value:
        operands = self.operands(node)
        params = [o for o in operands if isinstance(o, Param)]
        if len(params) == 1 and len(operands) == 2:
            other = node.args[1] if isinstance(operands[0], Param) else node.args[0]
            tensor = self.tensor_of(node, other)
            if tensor is None:
                return self.refuse(node, "a product of a parameter and no tensor")
            channels = _shape(other)[-1 if tensor.last else 1]  # type: ignore[arg-type]
            shape = _shape(params[0].node)
            if (
                sum(s != 1 for s in shape) > 1
                or max(shape, default=1) != channels
                or (not tensor.last and len(shape) > 1 and shape[-len(shape)] != channels)
            ):
                return self.refuse(node, f"a product with a parameter of shape {list(shape)}, not one per channel")
            return self.emit(node, Mapped("layer_scale", {}), (tensor.layer,), stem="layer_scale", last=tensor.last)
        return self.merge(node, "mul")

    def concat(self, node: fx.Node) -> Value:
        call = self.call(node)
        parts = node.args[0] if node.args else node.kwargs.get("tensors")
        tensors = [self.tensor_of(node, p) for p in parts] if isinstance(parts, (list, tuple)) else [None]
        if any(t is None or t.last for t in tensors):
            return self.refuse(node, "a concatenation of other than channels-first tensors")
        rank = len(call.out_shape)
        if dims(call.arg(1, "dim", 0), rank) != [1]:
            return self.refuse(node, "a concatenation along other than the channels (dim 1)")
        if len(tensors) == 1:  # DenseNet's first layer concatenates a list of one tensor: that tensor
            return tensors[0]  # type: ignore[return-value]
        return self.emit(node, Mapped("concat", {}), tuple(t.layer for t in tensors if t is not None))

    def mean(self, node: fx.Node) -> Value:
        call = self.call(node)
        tensor = self.tensor_of(node, node.args[0] if node.args else None)
        axes = call.arg(1, "dim")
        if tensor is None or tensor.last or axes is None:
            return self.refuse(node, "a mean over other than spatial dimensions of a channels-first tensor")
        over = dims(axes, len(call.in_shape))
        if 0 in over or 1 in over:
            return self.refuse(node, "a mean over the batch or the channels (a spec's mean is over spatial dimensions)")
        fields = {"dims": over, "keepdim": bool(call.arg(2, "keepdim", False))}
        return self.emit(node, Mapped("mean", fields), (tensor.layer,))

    def split(self, node: fx.Node) -> Value:
        call = self.call(node)
        tensor = self.tensor_of(node, node.args[0] if node.args else None)
        if tensor is None or tensor.last:
            return self.refuse(node, "a split of other than a channels-first tensor")
        name = node.target if isinstance(node.target, str) else node.target.__name__
        size = call.arg(1, "chunks" if name == "chunk" else "split_size_or_sections")
        if dims(call.arg(2, "dim", 0), len(call.in_shape)) != [1]:
            return self.refuse(node, f"a {name} along other than the channels (dim 1)")
        if name == "chunk":
            return Parts(node, tensor, {"chunks": int(size)})
        if isinstance(size, (list, tuple)):
            return Parts(node, tensor, {"sections": [int(s) for s in size]})
        # parts of `size` channels: each part read is written as its own slice (slice_split), never as
        # a list of channels / size sections, whose length would be a number from the model
        return Parts(node, tensor, {"split_size": int(size), "channels": call.in_shape[1]})


def _module_named(layers: list[TracedLayer], scopes: list[str]) -> list[TracedLayer]:
    """A module whose forward made one layer, by a function call, is that layer: it takes the module's
    path (a LayerNorm2d's `stem.1`, not `stem.1.layer_norm`), so rows line up with `state_dict()`."""
    under: Counter[tuple[str, ...]] = Counter()
    for layer in layers:
        for end in range(1, len(layer.path)):
            under[layer.path[:end]] += 1
    used = {layer.path for layer in layers}
    named = list(layers)
    for i, (layer, scope) in enumerate(zip(layers, scopes)):
        owner = tuple(scope.split(".")) if scope else ()
        if owner and under[owner] == 1 and owner not in used:
            named[i] = replace(layer, path=owner)
    return named


getitem_target: Any = __import__("operator").getitem


def _graph(module: nn.Module, input_shape: tuple[int, ...], leaves: frozenset[str]) -> tuple[fx.Graph, str]:
    """The module's graph and how it was read: traced symbolically, else recorded from a run."""
    try:
        return trace(module, leaves), METHOD
    except Exception as traced:  # the user's code under symbolic tracing: any failure means "cannot"
        try:
            return record(module, input_shape, leaves), RECORDED
        except RecordingFailed as err:
            raise SpecError(
                "cannot_trace",
                f"torch.fx cannot trace the model ({type(traced).__name__}: {traced}), "
                f"and running it at input {list(input_shape)} failed: {err}",
                hint="check that the model runs on an input of this shape (--input)",
            ) from None


def _read(
    module: nn.Module, input_shape: tuple[int, ...], opaque: frozenset[str] | None
) -> tuple[_Reader, tuple[int, ...], str]:
    graph, method = _graph(module, input_shape, opaque or frozenset())
    try:
        propagate(module, graph, input_shape)
    except Exception as err:  # the user's forward at this input (a kernel larger than its map, ...)
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise SpecError(
            "model_failed",
            f"the model fails on an input of shape {list(input_shape)}: {type(err).__name__}: {first_line}",
            hint="give the input it takes with --input (channels first, without the batch: 3x224x224)",
        ) from None
    reader = _Reader(module, graph, opaque)
    return reader, reader.read(graph), method


def read_module(module: nn.Module, input_shape: tuple[int, ...], name: str, opaque: bool = False) -> TracedModel:
    """The module's layers as spec kinds, traced with torch.fx at `input_shape` (no batch dimension).

    Unsupported calls raise `unsupported_op` naming the first; with `opaque`, the innermost module
    holding each becomes one `opaque` layer (its parameters, buffers and output shape)."""
    try:
        module.eval()  # torch recurses through the module tree here first
    except RecursionError:
        raise model_too_deep() from None
    # Every op the read runs is small (meta shapes, index tensors of one activation): with the
    # machine's other work, torch's thread pool cost more than it gave (a permute of 300,000
    # indices: 13 ms on one thread, 25 ms on two, on a loaded two-core machine).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _read_rounds(module, input_shape, name, opaque)
    except RecursionError:
        raise model_too_deep() from None
    finally:
        torch.set_num_threads(threads)


def _read_rounds(module: nn.Module, input_shape: tuple[int, ...], name: str, opaque: bool) -> TracedModel:
    leaves: frozenset[str] | None = frozenset() if opaque else None
    for _ in range(MAX_OPAQUE_ROUNDS):
        reader, outputs, method = _read(module, input_shape, leaves)
        if not reader.unsupported:
            return TracedModel(
                name=name,
                input_shape=tuple(input_shape),
                layers=tuple(reader.layers),
                outputs=outputs,
                method=method,
            )
        first, *more = reader.unsupported
        if leaves is None:
            raise first.error(more)
        holders = {u.path for u in reader.unsupported}
        if "" in holders:
            return _whole_model(module, input_shape, name, reader, method)
        if holders <= leaves:
            raise first.error(more)
        leaves = leaves | holders
    raise first.error(more)


def _whole_model(
    module: nn.Module, input_shape: tuple[int, ...], name: str, reader: _Reader, method: str
) -> TracedModel:
    """The model's own forward holds an unsupported op: the whole model is one opaque layer."""
    returned = [n for n in reader.graph.nodes if n.op == "output"][0]
    tensors = [n for n in returned.all_input_nodes if "tensor_meta" in n.meta]
    if not tensors:
        raise SpecError("unsupported_output", "the model returns no tensor")
    shape = _shape(tensors[0])[1:]
    layer = TracedLayer(
        path=(type(module).__name__.lower(),),
        kind="opaque",
        fields={
            "params": sum(p.numel() for p in module.parameters()),
            "buffers": sum(b.numel() for b in module.buffers()),
            "out_shape": list(shape),
            "module": type(module).__name__,
        },
        inputs=(MODEL_INPUT,),
        out_shape=shape,
        source=reader.unsupported[0].source,
        module_type=type(module).__name__,
    )
    return TracedModel(
        name=name,
        input_shape=tuple(input_shape),
        layers=(layer,),
        outputs=(0,),
        method=method,
        notes=(f"the model's own forward holds {reader.unsupported[0].op}: read as one opaque layer",),
    )
