"""Spec -> torch module, through a plan: the layer tree as plain data (`Node`s), then instantiated
(`instantiate`) or printed as source (`render`), so both come from the same builder logic.

Each kind says which torch module computes it (`Layer.torch_call`, next to the kind's class);
this module only assembles. Containers (`Chain`, `Fork`) are filled by walking the container
with the same Walker protocol the analyzer uses, so module names are the analyzer's row paths.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ..encode import py_identifier, py_literal
from ..errors import SpecError
from ..layers import Counts, Shape, TorchCall, layer_names
from ..spec import Spec


@dataclass
class Node:
    """One module of the plan: its attribute name, the row path it computes, its constructor."""

    name: str
    path: str
    call: TorchCall
    trainable: bool = True
    runs: list[tuple[str | None, list[Node]]] = field(default_factory=list)  # containers: (sub-name, nodes)
    merge: str | None = None  # Fork: the name of its merge module

    @property
    def is_container(self) -> bool:
        return self.call.cls in CONTAINERS


CONTAINERS = ("Chain", "Fork")


@dataclass(frozen=True)
class _Scope:
    path: tuple[str, ...]
    trainable: bool


class _Planner:
    """The Walker that plans modules: leaves become nodes, containers collect their runs."""

    def __init__(self) -> None:
        self.frames: list[tuple[Node, tuple[str, ...]]] = []
        self.top: list[Node] = []
        self.taken: dict[int, set[str]] = {}  # id(container node) -> its children's names

    def child(self, scope: _Scope, name: str, field: Any) -> _Scope:
        return _Scope(scope.path + (name,), scope.trainable)

    def _take(self, owner: Node | None, names: list[str], path: tuple[str, ...]) -> None:
        """Each container's children have different names, or one module would replace another.
        The spec's validation (layers/base.py check_claims) makes this hold; a builder that broke
        it would build a model other than the analysed one, so it stops here instead."""
        taken = self.taken.setdefault(id(owner), set())
        for name in names:
            if name in taken:
                raise SpecError(
                    "duplicate_name",
                    f"two modules would be named '{'.'.join((*path, name))}' in the built model",
                    hint="this is a bug in archcalc: please report it",
                )
            taken.add(name)

    def emit(self, scope: _Scope, kind: str, summary: str, in_shape: Shape, counts: Counts) -> None:
        node, owner_path = self.frames[-1]
        node.merge = scope.path[-1]
        self._take(node, [node.merge], owner_path)

    def run(self, layers: list[Any], shape: Shape, scope: _Scope, field: Any) -> Shape:
        nodes = []
        for layer, name in zip(layers, layer_names(layers)):
            path = scope.path + (name,)
            try:
                call = layer.torch_call(shape)
            except NotImplementedError as err:
                raise SpecError(
                    "no_torch_builder",
                    str(err),
                    layer=".".join(path),
                    hint="add a torch_call method to the kind's class",
                ) from None
            node = Node(name, ".".join(path), call, scope.trainable and layer.trainable)
            if node.is_container:
                self.frames.append((node, path))
                shape = layer.walk(shape, self, _Scope(path, node.trainable))
                self.frames.pop()
            else:
                shape = layer.counts(shape).out_shape
            nodes.append(node)
        if self.frames:
            owner, owner_path = self.frames[-1]
            rel = scope.path[len(owner_path) :]
            owner.runs.append((".".join(rel) or None, nodes))
            self._take(owner, [node.name for node in nodes] if not rel else [".".join(rel)], owner_path)
        else:
            self.top = nodes
            self._take(None, [node.name for node in nodes], ())
        return shape


def plan(spec: Spec) -> list[Node]:
    """The spec's top-level modules as plain data (no torch import)."""
    planner = _Planner()
    planner.run(spec.layers, tuple(spec.input), _Scope((), True), ("layers",))
    return planner.top


# ---------------------------------------------------------------------------------------------
# instantiate: plan -> torch modules


def _make(call: TorchCall):
    from torch import nn

    from . import modules

    if call.parts:
        return nn.Sequential(*(_make(part) for part in call.parts))
    cls = getattr(modules, call.cls, None) or getattr(nn, call.cls)
    return cls(**call.kwargs)


def _children(node: Node) -> tuple[OrderedDict, list[list[str]]]:
    """A container's children by name, and the names each run applies in order."""
    from torch import nn

    children: OrderedDict[str, Any] = OrderedDict()
    paths = []
    for sub, nodes in node.runs:
        if sub is None:
            for child in nodes:
                children[child.name] = instantiate(child)
            paths.append([child.name for child in nodes])
        else:
            children[sub] = nn.Sequential(OrderedDict((c.name, instantiate(c)) for c in nodes))
            paths.append([sub])
    return children, paths


def instantiate(node: Node):
    """The torch module for one planned node (and its children)."""
    from torch import nn

    from . import modules

    if node.call.cls == "Chain":
        module = nn.Sequential(_children(node)[0])
    elif node.call.cls == "Fork":
        children, paths = _children(node)
        children[node.merge] = modules.Merge(node.call.kwargs["merge"])
        module = modules.Fork(children, paths, node.merge)
    else:
        module = _make(node.call)
    if not node.trainable:
        module.requires_grad_(False)
    return module


def build_model(spec: Spec):
    """The spec as an nn.Sequential whose module names are the analyzer's row paths."""
    from torch import nn

    try:
        return nn.Sequential(OrderedDict((node.name, instantiate(node)) for node in plan(spec)))
    except SpecError:
        raise
    except (TypeError, ValueError, KeyError, RuntimeError) as err:
        raise SpecError("torch_build_failed", f"torch cannot build '{spec.name}': {err}") from None


# ---------------------------------------------------------------------------------------------
# render: plan -> readable PyTorch source
#
# Every value from the spec (names, titles, arguments) enters the source as a literal written by
# encode.py_literal, never as raw text in a docstring or comment: the source says what the spec
# says and can run nothing else.


def _is_helper(cls: str) -> bool:
    """Whether `cls` is one of archcalc's own modules (verify/modules.py), not torch.nn's."""
    from . import modules

    return isinstance(getattr(modules, cls, None), type)


def _call_source(call: TorchCall) -> str:
    if call.parts:
        inner = ", ".join(_call_source(part) for part in call.parts)
        return f"nn.Sequential({inner})"
    args = ", ".join(f"{py_identifier(k)}={py_literal(v)}" for k, v in call.kwargs.items())
    return f"{'' if _is_helper(call.cls) else 'nn.'}{call.cls}({args})"


def _helpers_used(nodes: list[Node]) -> set[str]:
    """The classes of verify/modules.py the plan uses (a Fork brings its Merge)."""
    used: set[str] = set()
    calls = [node.call for node in nodes]
    while calls:
        call = calls.pop()
        calls.extend(call.parts)
        if _is_helper(call.cls):
            used.add(call.cls)
    for node in nodes:
        if node.call.cls == "Fork":
            used |= {"Fork", "Merge"}
        for _, children in node.runs:
            used |= _helpers_used(children)
    return used


def _helpers_source(used: set[str]) -> str:
    """The source of the helper classes used, in their order in verify/modules.py (Merge with
    the MERGES table it reads)."""
    from . import modules

    source = inspect.getsource(modules)
    blocks = {name: inspect.getsource(getattr(modules, name)) for name in used}
    if "Merge" in used:
        start = source.index("MERGES = ")
        blocks["MERGES"] = source[start : source.index("\n}\n", start) + 2]
    ordered = [block.rstrip() for block in sorted(blocks.values(), key=source.index)]
    return "\n\n" + "\n\n\n".join(ordered) + "\n" if ordered else ""


def _sequential_source(named: list[tuple[str, str]], indent: str) -> str:
    if not named:
        return "nn.Sequential()"
    inner = "".join(f"{indent}    ({py_literal(name)}, {src}),\n" for name, src in named)
    return f"nn.Sequential(OrderedDict([\n{inner}{indent}]))"


def _node_source(node: Node, indent: str) -> str:
    deeper = indent + "    "
    if node.is_container:
        named, paths = [], []
        for sub, nodes in node.runs:
            if sub is None:
                named += [(c.name, _node_source(c, deeper + "    ")) for c in nodes]
                paths.append([c.name for c in nodes])
            else:
                named.append(
                    (
                        sub,
                        _sequential_source(
                            [(c.name, _node_source(c, deeper + "    ")) for c in nodes], deeper + "    "
                        ),
                    )
                )
                paths.append([sub])
        if node.call.cls == "Chain":
            src = _sequential_source(named, indent)
        else:
            named.append((node.merge, f"Merge({py_literal(node.call.kwargs['merge'])})"))
            inner = "".join(f"{deeper}    ({py_literal(name)}, {s}),\n" for name, s in named)
            src = f"Fork(OrderedDict([\n{inner}{deeper}]), paths={py_literal(paths)}, merge={py_literal(node.merge)})"
    else:
        try:
            src = _call_source(node.call)
        except ValueError as err:  # a NaN argument: no literal, no meaning
            raise SpecError("bad_value", f"cannot export this layer: {err}", layer=node.path) from None
    return src if node.trainable else f"{src}.requires_grad_(False)"


def render(spec: Spec) -> str:
    """Readable PyTorch source for the spec: a function returning the module, plus the helper
    classes it uses. Executing it defines `build()` and `model`."""
    nodes = plan(spec)
    body = _sequential_source([(n.name, _node_source(n, "    ")) for n in nodes], "    ")
    helpers = _helpers_source(_helpers_used(nodes))
    build = py_identifier("build_" + "".join(c if c.isascii() and c.isalnum() else "_" for c in spec.name))
    return (
        '"""A PyTorch module generated by `archcalc export --to torch` from the spec named in NAME (its\n'
        'title in TITLE); INPUT is one example\'s shape, channels first (add the batch dimension in front)."""\n\n'
        "import functools\nfrom collections import OrderedDict\n\nimport torch\nfrom torch import nn\n\n"
        f"NAME = {py_literal(spec.name)}\nTITLE = {py_literal(spec.title)}\nINPUT = {py_literal(list(spec.input))}\n"
        f"{helpers}\n\ndef {build}() -> nn.Module:\n    return {body}\n\n\nmodel = {build}()\n"
    )
