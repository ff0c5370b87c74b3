"""Spec -> torch module, through a plan: the lowered graph (archcalc/graph.py) grouped by its
row paths into `Part`s, then instantiated (`instantiate`) or printed as source (`render`), so both
come from the same builder logic.

Each kind says which torch module computes it (`Layer.torch_call`, next to the kind's class);
this module only assembles. Every level of the row paths is a `Graph` module running its children
as steps over tensor ids, so the module names are the analyzer's row paths.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ..encode import py_identifier, py_literal
from ..errors import SpecError
from ..graph import Node, lower
from ..layers import TorchCall
from ..spec import Spec


@dataclass(frozen=True, slots=True)
class Part:
    """One module of the plan: its name in its level, the row path, the tensors it reads and the
    one it writes; a layer's module has its constructor (`call`), a level of the paths its parts."""

    name: str
    path: str
    inputs: tuple[int, ...]
    output: int
    call: TorchCall | None = None
    trainable: bool = True
    parts: tuple[Part, ...] = ()

    @property
    def entry(self) -> int:
        """A level's input tensor (every level of a lowered spec reads one tensor from outside)."""
        return self.inputs[0]


def _torch_call(node: Node) -> TorchCall:
    try:
        return node.layer.torch_call(node.in_shape)
    except NotImplementedError as err:
        raise SpecError(
            "no_torch_builder", str(err), layer=node.path, hint="add a torch_call method to the kind's class"
        ) from None


def _bug(code: str, message: str) -> SpecError:
    """The plan breaks a rule the spec's validation and the lowering keep (check_claims: one name
    per level; a level reads one tensor): building it would give another model than the analysed
    one, so it stops here instead."""
    return SpecError(code, message, hint="this is a bug in archcalc: please report it")


def _claim(taken: set[str], name: str, prefix: str) -> None:
    """One module per name in a level, or one would replace another in the built model."""
    if name in taken:
        raise _bug("duplicate_name", f"two modules would be named '{prefix}{name}' in the built model")
    taken.add(name)


def _parts(nodes: tuple[Node, ...], depth: int, prefix: str) -> tuple[Part, ...]:
    """The nodes under one level of the paths as that level's parts, in order: a node at this
    depth is a layer's module; a run of nodes sharing the next name is a level of its own."""
    parts: list[Part] = []
    taken: set[str] = set()
    i = 0
    while i < len(nodes):
        names = nodes[i].path.split(".")
        name = names[depth]
        _claim(taken, name, prefix)
        if len(names) == depth + 1:
            node = nodes[i]
            parts.append(
                Part(
                    name=name,
                    path=node.path,
                    inputs=node.inputs,
                    output=node.output,
                    call=_torch_call(node),
                    trainable=node.trainable,
                )
            )
            i += 1
            continue
        j = i
        while j < len(nodes) and len(split := nodes[j].path.split(".")) > depth + 1 and split[depth] == name:
            j += 1
        group = nodes[i:j]
        written = {node.output for node in group}
        entry = {t for node in group for t in node.inputs} - written
        if len(entry) != 1:
            raise _bug("builder_bug", f"'{prefix}{name}' reads {len(entry)} tensors from outside its level, not one")
        parts.append(
            Part(
                name=name,
                path=f"{prefix}{name}",
                inputs=tuple(entry),
                output=group[-1].output,
                parts=_parts(group, depth + 1, f"{prefix}{name}."),
            )
        )
        i = j
    return tuple(parts)


@dataclass(frozen=True, slots=True)
class Plan:
    """The whole module tree: the top level's parts (reading tensor 0) and the tensors returned."""

    parts: tuple[Part, ...]
    outputs: tuple[int, ...]


def plan(spec: Spec) -> Plan:
    """The spec's module tree as plain data (no torch import)."""
    graph = lower(spec)
    return Plan(_parts(graph.nodes, 0, ""), graph.outputs)


# ---------------------------------------------------------------------------------------------
# instantiate: plan -> torch modules


def _make(call: TorchCall) -> Any:
    from torch import nn

    from . import modules

    if call.parts:
        return nn.Sequential(*(_make(part) for part in call.parts))
    cls = getattr(modules, call.cls, None) or getattr(nn, call.cls)
    return cls(**call.kwargs)


def _steps(parts: tuple[Part, ...]) -> list[tuple[str, tuple[int, ...], int]]:
    return [(part.name, part.inputs, part.output) for part in parts]


def instantiate(part: Part) -> Any:
    """The torch module for one planned part (a level: a Graph of its parts)."""
    from . import modules

    if part.call is None:
        children = OrderedDict((child.name, instantiate(child)) for child in part.parts)
        return modules.Graph(children, _steps(part.parts), part.entry, (part.output,))
    module = _make(part.call)
    if not part.trainable:
        module.requires_grad_(False)
    return module


def build_model(spec: Spec) -> Any:
    """The spec as a Graph module whose module names are the analyzer's row paths."""
    from . import modules

    try:
        built = plan(spec)
        children = OrderedDict((part.name, instantiate(part)) for part in built.parts)
        return modules.Graph(children, _steps(built.parts), 0, built.outputs)
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


def _helpers_used(parts: tuple[Part, ...]) -> set[str]:
    """The classes of verify/modules.py the plan uses (Graph always: every level is one)."""
    used = {"Graph"}
    calls = [part.call for part in parts if part.call is not None]
    while calls:
        call = calls.pop()
        calls.extend(call.parts)
        if _is_helper(call.cls):
            used.add(call.cls)
    for part in parts:
        used |= _helpers_used(part.parts) if part.parts else set()
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


def _graph_source(parts: tuple[Part, ...], entry: int, outputs: tuple[int, ...], indent: str) -> str:
    """A Graph(...) expression: its children, then its steps, entry and outputs as literals."""
    deeper = indent + "    "
    children = "".join(f"{deeper}    ({py_literal(p.name)}, {_part_source(p, deeper + '    ')}),\n" for p in parts)
    steps = py_literal(_steps(parts))
    return (
        f"Graph(\n{deeper}OrderedDict([\n{children}{deeper}]),\n"
        f"{deeper}steps={steps},\n{deeper}entry={entry},\n{deeper}outputs={py_literal(outputs)},\n{indent})"
    )


def _part_source(part: Part, indent: str) -> str:
    if part.call is None:
        return _graph_source(part.parts, part.entry, (part.output,), indent)
    try:
        src = _call_source(part.call)
    except ValueError as err:  # a NaN argument: no literal, no meaning
        raise SpecError("bad_value", f"cannot export this layer: {err}", layer=part.path) from None
    return src if part.trainable else f"{src}.requires_grad_(False)"


def render(spec: Spec) -> str:
    """Readable PyTorch source for the spec: a function returning the module, plus the helper
    classes it uses. Executing it defines `build()` and `model`."""
    built = plan(spec)
    body = _graph_source(built.parts, 0, built.outputs, "    ")
    helpers = _helpers_source(_helpers_used(built.parts))
    build = py_identifier("build_" + "".join(c if c.isascii() and c.isalnum() else "_" for c in spec.name))
    return (
        '"""A PyTorch module generated by `archcalc export --to torch` from the spec named in NAME (its\n'
        'title in TITLE); INPUT is one example\'s shape, channels first (add the batch dimension in front)."""\n\n'
        "import functools\nfrom collections import OrderedDict\n\nimport torch\nfrom torch import nn\n\n"
        f"NAME = {py_literal(spec.name)}\nTITLE = {py_literal(spec.title)}\nINPUT = {py_literal(list(spec.input))}\n"
        f"{helpers}\n\ndef {build}() -> nn.Module:\n    return {body}\n\n\nmodel = {build}()\n"
    )
