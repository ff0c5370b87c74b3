"""A module torch.fx cannot trace symbolically, recorded by running it once into the same fx graph.

Symbolic tracing fails on code that branches on or iterates over sizes (`*x.shape[2:]`,
`if x.size(-1) > 7`) or data. Running the model answers those questions: forward hooks record each
leaf module's call (the same leaves the tracer keeps) and a TorchFunctionMode each torch function
and tensor method called between them, as fx nodes stamped with module path and source line. The
result reads exactly as a traced graph does (fx_read), for the one input shape it ran at. The run
is on meta tensors (shapes only) where the code allows, else on real zeros.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import fx, nn
from torch.overrides import TorchFunctionMode

from .fx_trace import PATH, SOURCE, PathTracer, user_source

METHOD = "forward hooks"

# tensor dunders as the operators fx writes for them (`x + y` traces to operator.add)
_OPERATORS: dict[str, Callable[..., Any]] = {
    "__add__": operator.add,
    "__iadd__": operator.iadd,
    "__mul__": operator.mul,
    "__imul__": operator.imul,
    "__getitem__": operator.getitem,
}
_SWAPPED: dict[str, Callable[..., Any]] = {"__radd__": operator.add, "__rmul__": operator.mul}


class RecordingFailed(Exception):
    """The model could not be run at this input (its own exception, as the message)."""


def _has_tensor(value: Any) -> bool:
    found = False

    def visit(v: Any) -> Any:
        nonlocal found
        found = found or isinstance(v, torch.Tensor)
        return v

    fx.node.map_aggregate(value, visit)
    return found


class _Recording:
    """The graph being recorded and what it knows of each tensor: a builder, filled call by call."""

    __slots__ = ("graph", "nodes", "keep", "parts", "attrs", "scope", "inside", "calls")

    def __init__(self, attrs: dict[int, str]) -> None:
        self.graph = fx.Graph()
        self.nodes: dict[int, fx.Node] = {}  # id(tensor) -> the node that made it
        self.keep: list[Any] = []  # every recorded value, alive, so no id is reused during the run
        self.parts: dict[int, tuple[fx.Node, int]] = {}  # id(tensor) -> (call returning several, index)
        self.attrs = attrs  # id(parameter or buffer) -> its qualified name
        self.scope: list[str] = [""]
        self.inside = 0  # > 0 while a leaf module runs: its own calls are not recorded
        self.calls: list[tuple[Any, Any]] = []  # the arguments of each leaf call under way, as nodes

    def node(self, op: str, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any], path: str) -> fx.Node:
        node = self.graph.create_node(op, target, self.arg(args), self.arg(kwargs))
        node.meta[PATH] = path
        node.meta[SOURCE] = user_source()
        return node

    def arg(self, value: Any) -> Any:
        return fx.node.map_aggregate(value, lambda v: self.tensor(v) if isinstance(v, torch.Tensor) else v)

    def tensor(self, value: torch.Tensor) -> fx.Node:
        key = id(value)
        if key in self.nodes:
            return self.nodes[key]
        if key in self.parts:
            parent, index = self.parts[key]
            made = self.node("call_function", operator.getitem, (parent, index), {}, parent.meta[PATH])
        elif key in self.attrs:
            made = self.node("get_attr", self.attrs[key], (), {}, self.scope[-1])
        else:
            raise RecordingFailed("a tensor made outside torch's functions (from NumPy or a Python list) was read")
        self.nodes[key] = made
        return made

    def result(self, node: fx.Node, value: Any) -> None:
        """Remember which node made `value` (each tensor of a tuple as a getitem of it, made when read)."""
        self.keep.append(value)
        if isinstance(value, torch.Tensor):
            self.nodes[id(value)] = node
        elif isinstance(value, (tuple, list)):
            for index, item in enumerate(value):
                if isinstance(item, torch.Tensor):
                    self.parts[id(item)] = (node, index)


class _Functions(TorchFunctionMode):
    """Records each torch function and tensor method that returns a tensor, outside leaf modules."""

    def __init__(self, recording: _Recording) -> None:
        super().__init__()
        self.recording = recording

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        rec = self.recording
        if rec.inside or not _has_tensor(result):
            return result
        name = getattr(func, "__name__", "")
        method = "Tensor" in getattr(func, "__qualname__", "").split(".")[0]
        path = rec.scope[-1]
        if method and name in _OPERATORS:
            node = rec.node("call_function", _OPERATORS[name], args, kwargs, path)
        elif method and name in _SWAPPED:
            node = rec.node("call_function", _SWAPPED[name], (args[1], args[0], *args[2:]), kwargs, path)
        elif method:
            node = rec.node("call_method", name, args, kwargs, path)
        else:
            node = rec.node("call_function", func, args, kwargs, path)
        rec.result(node, result)
        return result


@contextmanager
def _hooks(root: nn.Module, recording: _Recording, tracer: PathTracer) -> Iterator[None]:
    handles = []
    for path, module in root.named_modules():
        if module is root:
            continue
        leaf = tracer.is_leaf_module(module, path)
        handles.append(module.register_forward_pre_hook(_before(recording, path, leaf), with_kwargs=True))
        handles.append(module.register_forward_hook(_after(recording, path, leaf), with_kwargs=True))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _before(rec: _Recording, path: str, leaf: bool) -> Callable[..., None]:
    def hook(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if leaf and not rec.inside:
            # the arguments as nodes before the module runs (an in-place module rebinds nothing here)
            rec.calls.append((rec.arg(args), rec.arg(kwargs)))
        rec.inside += leaf
        rec.scope.append(path)

    return hook


def _after(rec: _Recording, path: str, leaf: bool) -> Callable[..., None]:
    def hook(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> None:
        rec.scope.pop()
        rec.inside -= leaf
        if leaf and not rec.inside:
            node_args, node_kwargs = rec.calls.pop()
            node = rec.graph.create_node("call_module", path, node_args, node_kwargs)
            node.meta[PATH] = path
            node.meta[SOURCE] = user_source()
            rec.result(node, output)

    return hook


def record(module: nn.Module, input_shape: tuple[int, ...], extra_leaves: frozenset[str]) -> fx.Graph:
    """The module's calls at `input_shape`, as an fx graph over the module's own submodules."""
    from torch.nn.utils.stateless import _reparametrize_module

    named = dict((*module.named_parameters(), *module.named_buffers()))
    meta = {name: torch.empty_like(tensor, device="meta") for name, tensor in named.items()}
    first_error: Exception | None = None
    for device, swapped in (("meta", meta), ("cpu", named)):
        recording = _Recording({id(tensor): name for name, tensor in swapped.items()})
        placeholder = recording.graph.placeholder("x")
        placeholder.meta[PATH] = ""
        x = torch.zeros((1, *input_shape), device=device)
        recording.nodes[id(x)] = placeholder
        try:
            with _reparametrize_module(module, swapped), torch.inference_mode():
                with _hooks(module, recording, PathTracer(extra_leaves)), _Functions(recording):
                    output = module(x)
            recording.graph.output(recording.arg(output))
        except Exception as err:  # the user's code at this input; the meta run may fail where a real one runs
            first_error = first_error or err
            continue
        return recording.graph
    raise RecordingFailed(f"{type(first_error).__name__}: {first_error}")
