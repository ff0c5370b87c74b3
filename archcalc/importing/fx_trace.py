"""torch.fx symbolic tracing that remembers, for every node, the module path and the user's source line.

The mapping (fx_read.py) needs three things fx does not keep by default: the module whose forward
created a node (names are module paths), the line of the user's code that made it (messages), and
the concrete arguments each node ran with (`x.view(x.size(0), -1)`'s sizes, `interpolate`'s size
taken from another tensor). Tracing keeps the first two, `ShapeRecorder` the third and the shapes.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NamedTuple

import torch
from torch import fx
from torch.fx.passes.shape_prop import ShapeProp

PATH = "archcalc_path"  # node.meta key: the module path (dotted) of the forward that created the node
SOURCE = "archcalc_source"  # node.meta key: `file.py:123` of the user's call
ARGS = "archcalc_args"  # node.meta key: the node's arguments as run, each tensor as its TensorArg
VALUE = "archcalc_value"  # node.meta key: a non-tensor result (an int, a size), as run

_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep
_OWN_DIR = os.path.dirname(__file__) + os.sep

# Modules outside torch.nn that are kept whole (mapped by class name, never imported here): their
# forward is one kind (LayerNorm2d permutes around a layer norm; StochasticDepth is the identity at
# inference), and tracing through them would leave a sequence to recognise for nothing.
LEAF_CLASSES: frozenset[tuple[str, str]] = frozenset(
    {
        ("torchvision.models.convnext", "LayerNorm2d"),
        ("torchvision.ops.stochastic_depth", "StochasticDepth"),
        ("torchvision.ops.misc", "FrozenBatchNorm2d"),
    }
)


def class_key(module: torch.nn.Module) -> tuple[str, str]:
    """(defining module, class name): how a class outside torch.nn is recognised without importing it."""
    return (type(module).__module__, type(module).__name__)


def user_source() -> str:
    """`file.py:line` of the innermost frame outside torch and archcalc: the user's call."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if not (name.startswith(_TORCH_DIR) or name.startswith(_OWN_DIR)):
            return f"{name}:{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return ""


class PathTracer(fx.Tracer):
    """A Tracer that stamps each node with its module path and source line, and keeps as leaves
    torch.nn's modules, the classes in LEAF_CLASSES and any module path in `extra_leaves` (the
    modules `--opaque` turns into one layer)."""

    def __init__(self, extra_leaves: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.extra_leaves = extra_leaves

    def is_leaf_module(self, m: torch.nn.Module, module_qualified_name: str) -> bool:
        if module_qualified_name in self.extra_leaves or class_key(m) in LEAF_CLASSES:
            return True
        return super().is_leaf_module(m, module_qualified_name)

    def create_node(self, *args: Any, **kwargs: Any) -> fx.Node:
        node = super().create_node(*args, **kwargs)
        # call_module sets scope.module_path to the called module's path while it runs
        node.meta[PATH] = self.scope.module_path
        node.meta[SOURCE] = user_source()
        return node


def trace(module: torch.nn.Module, extra_leaves: frozenset[str] = frozenset()) -> fx.GraphModule:
    """The module's fx graph (as a GraphModule sharing the module's submodules and parameters)."""
    tracer = PathTracer(extra_leaves)
    graph = tracer.trace(module)
    return fx.GraphModule(tracer.root, graph, type(module).__name__)


class TensorArg(NamedTuple):
    """A tensor argument as recorded: its shape only (no activation is kept)."""

    shape: tuple[int, ...]


def _without_tensors(value: Any) -> Any:
    return fx.node.map_aggregate(value, lambda v: TensorArg(tuple(v.shape)) if isinstance(v, torch.Tensor) else v)


# Modules whose output has their input's shape, whatever their arguments: the shape run passes
# the input through instead of running them (batch norm's meta kernel is a Python decomposition
# that cost three quarters of resnet152's shape run).
SHAPE_KEEPING: tuple[type[torch.nn.Module], ...] = (
    torch.nn.modules.batchnorm._BatchNorm,
    torch.nn.GroupNorm,
    torch.nn.ReLU,
    torch.nn.ReLU6,
    torch.nn.SiLU,
    torch.nn.GELU,
    torch.nn.Hardswish,
    torch.nn.Hardsigmoid,
    torch.nn.Sigmoid,
    torch.nn.Tanh,
    torch.nn.Mish,
    torch.nn.LeakyReLU,
    torch.nn.Identity,
    torch.nn.modules.dropout._DropoutNd,
)


class ShapeRecorder(ShapeProp):
    """ShapeProp that also keeps each node's arguments as run (tensors left out, so no activation
    is held) and each non-tensor result: the sizes a view was given, the size an interpolate read."""

    def fetch_args_kwargs_from_env(self, n: fx.Node) -> tuple[tuple[Any, ...], dict[str, Any]]:
        args, kwargs = super().fetch_args_kwargs_from_env(n)
        if n.op in ("call_function", "call_method", "call_module"):
            n.meta[ARGS] = (_without_tensors(args), _without_tensors(kwargs))
        return args, kwargs

    def call_module(self, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        module = self.fetch_attr(target)
        if isinstance(module, SHAPE_KEEPING) and len(args) == 1 and not kwargs:
            return args[0]
        return super().call_module(target, args, kwargs)

    def run_node(self, n: fx.Node) -> Any:
        result = super().run_node(n)
        if not isinstance(result, torch.Tensor) and n.op != "output":
            n.meta[VALUE] = _without_tensors(result)
        return result


def propagate(graph_module: fx.GraphModule, input_shape: tuple[int, ...]) -> None:
    """Run the graph once on an input of batch 1 (eval mode, no gradients), recording shapes and arguments.

    On meta tensors (shapes without data: resnet152's 11.5 GMACs at 224 took 6 s on two cores
    for real, its shapes 0.3 s), the module's parameters and buffers swapped for meta ones only
    for the run; an op without a meta kernel makes it run again on real zeros."""
    from torch.nn.utils.stateless import _reparametrize_module

    meta = {
        name: torch.empty_like(tensor, device="meta")
        for name, tensor in (*graph_module.named_parameters(), *graph_module.named_buffers())
    }
    try:
        with _reparametrize_module(graph_module, meta), torch.inference_mode():
            ShapeRecorder(graph_module).propagate(torch.zeros((1, *input_shape), device="meta"))
        return
    except (NotImplementedError, RuntimeError):
        pass
    with torch.inference_mode():
        ShapeRecorder(graph_module).propagate(torch.zeros((1, *input_shape)))
