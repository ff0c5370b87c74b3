"""torch.fx symbolic tracing that remembers, for every node, the module path and the user's source line.

The mapping (fx_read.py) needs three things fx does not keep by default: the module whose forward
created a node (names are module paths), the line of the user's code that made it (messages), and
the concrete arguments each node ran with (`x.view(x.size(0), -1)`'s sizes, `interpolate`'s size
taken from another tensor). Tracing keeps the first two, `ShapeRecorder` the third and the shapes.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx

from ..arith import window_output_size
from ..errors import LayerError

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


def trace(module: torch.nn.Module, extra_leaves: frozenset[str] = frozenset()) -> fx.Graph:
    """The module's fx graph, over the module's own submodules (no GraphModule: its generated
    code is never run here, and compiling it cost a tenth of resnet152's read)."""
    tracer = PathTracer(extra_leaves)
    graph = tracer.trace(module)
    return graph


@dataclass(frozen=True, slots=True)
class TensorArg:
    """A tensor argument as recorded: its shape only (no activation is kept)."""

    shape: tuple[int, ...]


def _as_arg(value: Any) -> Any:
    return TensorArg(tuple(value.shape)) if isinstance(value, torch.Tensor) else value


def _without_tensors(value: Any) -> Any:
    return fx.node.map_aggregate(value, _as_arg)


# The shape run is a real forward pass on zeros, with the modules that cost time and whose output
# shape torch documents left unrun: a convolution's output is zeros of the shape its formula gives,
# and a module that keeps its input's shape (normalisations, activations, dropout) passes the input
# on. resnet152 at 224 took 6 s run in full on two cores; its shapes now take a tenth of a second.
# (Meta tensors, shapes without data, were tried: the first meta convolution imports sympy and
# the first meta linear torch._dynamo, 5 s of imports in each process.)
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
CONVOLUTIONS: frozenset[type[torch.nn.Module]] = frozenset({torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d})


def _channels_fit(module: torch.nn.Module, x: torch.Tensor) -> bool:
    """The input is one torch takes: a norm's channels are its own (a wrong count raises in torch)."""
    channels = getattr(module, "num_features", None) or getattr(module, "num_channels", None)
    return x.dim() >= 2 and (channels is None or x.shape[1] == channels)


def _convolves(conv: Any, x: torch.Tensor) -> bool:
    """An input torch convolves as the formula says: the rank, channels and padding it takes, and
    an output at least 1 wide."""
    if not (
        conv.padding_mode == "zeros"
        and isinstance(conv.padding, tuple)
        and x.dim() == len(conv.kernel_size) + 2
        and x.shape[1] == conv.in_channels
    ):
        return False
    try:
        conv_shape(x.shape, conv)
    except LayerError:  # an output under 1 wide
        return False
    return True


def conv_shape(shape: torch.Size, conv: Any) -> tuple[int, ...]:
    """[N, C_out, L_out...], each L_out by the analyzer's formula (arith.window_output_size, torch's);
    a LayerError where the window does not fit.

    >>> conv_shape(torch.Size((1, 3, 224, 224)), torch.nn.Conv2d(3, 64, 7, stride=2, padding=3))
    (1, 64, 112, 112)
    """
    sizes = zip(shape[2:], conv.kernel_size, conv.stride, conv.padding, conv.dilation)
    return (shape[0], conv.out_channels, *(window_output_size(n, k, s, p, p, d) for n, k, s, p, d in sizes))


@dataclass(frozen=True, slots=True)
class TensorMeta:
    """A tensor result as recorded: its shape (ShapeProp's TensorMetadata is costlier to make:
    its first use imports sympy, two seconds)."""

    shape: tuple[int, ...]


class ShapeRecorder(fx.Interpreter):
    """ShapeProp's job (each tensor result's shape in node.meta["tensor_meta"]), plus each node's
    arguments as run (tensors as their shapes, so no activation is held) and each non-tensor
    result: the sizes a view was given, the size an interpolate read."""

    def fetch_args_kwargs_from_env(self, n: fx.Node) -> tuple[tuple[Any, ...], dict[str, Any]]:
        args, kwargs = super().fetch_args_kwargs_from_env(n)
        if n.op in ("call_function", "call_method", "call_module"):
            n.meta[ARGS] = (_without_tensors(args), _without_tensors(kwargs))
        return args, kwargs

    def call_module(self, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        module = self.fetch_attr(target)
        if len(args) == 1 and not kwargs and isinstance(args[0], torch.Tensor):
            x = args[0]
            if isinstance(module, SHAPE_KEEPING) and _channels_fit(module, x):
                return x
            if type(module) in CONVOLUTIONS and _convolves(module, x):
                return torch.zeros(conv_shape(x.shape, module))
        # anything else, or an input the module would refuse: run it, for torch's own error
        return super().call_module(target, args, kwargs)

    def run_node(self, n: fx.Node) -> Any:
        result = super().run_node(n)
        found = False

        def shape(value: Any) -> Any:
            nonlocal found
            if isinstance(value, torch.Tensor):
                found = True
                return TensorMeta(tuple(value.shape))
            return value

        recorded = fx.node.map_aggregate(result, shape)
        if found:
            n.meta["tensor_meta"] = recorded
        elif n.op != "output":
            n.meta[VALUE] = recorded
        return result


def propagate(module: torch.nn.Module, graph: fx.Graph, input_shape: tuple[int, ...]) -> None:
    """Run the graph once on zeros of batch 1 (no gradients), recording shapes and arguments."""
    with torch.inference_mode():
        ShapeRecorder(module, graph=graph).run(torch.zeros((1, *input_shape)))
