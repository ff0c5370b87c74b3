"""A traced model's module tree as levels of units: the layers a module holds become one unit, a
`block` named by the module's last path step, where they read one tensor from outside and one of
them is read from outside (a module with one input and one output); a module that reads or gives
several (a U-Net decoder stage reading a skip, DenseNet's layers concatenating every earlier map)
is spliced: its units sit in the enclosing level, their names joined to its own by `_`
(`up1_conv`); where only its first merges read outside (DenseNet's `denselayer2.cat`), those alone
are (`denselayer2_cat`). Names are checked and made distinct per level (`names.level_names`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .names import level_names
from .traced import MODEL_INPUT, TracedModel

# the merge kinds: a module whose outside reads all go into merges can keep its other layers a block
MERGES = ("add", "concat", "mul")

# a unit's read of its level's input tensor (the block's input, or the model's at the top)
ENTRY = -1


@dataclass(frozen=True, slots=True)
class Unit:
    """One step of a level: a traced layer (`layer`, its index) or a block (`level`, its contents).
    `reads`: positions of units of the same level, or ENTRY; `first`: its first traced layer."""

    name: str
    reads: tuple[int, ...]
    first: int
    layer: int | None = None
    level: Level | None = None


@dataclass(frozen=True, slots=True)
class Level:
    """A module's contents, units in execution order; `outputs`: the positions whose values leave it
    (one for a block; the model's outputs at the top), ENTRY where the input itself leaves."""

    units: tuple[Unit, ...]
    outputs: tuple[int, ...]


def clean_paths(model: TracedModel) -> list[tuple[str, ...]]:
    """Each layer's path with every step a valid name, distinct among its siblings, and every
    layer's path distinct (a repeated path gets `_2`, ... on its last step)."""
    children: dict[tuple[str, ...], list[str]] = {}
    raw = [layer.path or (layer.kind,) for layer in model.layers]
    for path in raw:
        for k, step in enumerate(path):
            steps = children.setdefault(path[:k], [])
            if step not in steps:
                steps.append(step)
    mapping = {prefix: dict(zip(steps, level_names(steps))) for prefix, steps in children.items()}
    paths: list[tuple[str, ...]] = []
    seen: set[tuple[str, ...]] = set()
    for path in raw:
        clean = tuple(mapping[path[:k]][step] for k, step in enumerate(path))
        base, count = clean, 1
        while clean in seen:
            count += 1
            clean = (*base[:-1], f"{base[-1][:90]}_{count}")
        seen.add(clean)
        paths.append(clean)
    return paths


class _Tree:
    """The model with its clean paths and each layer's readers (a builder: filled once, read by
    `level`; a plain class with `__slots__`)."""

    __slots__ = ("model", "outputs", "paths", "readers")

    def __init__(self, model: TracedModel) -> None:
        self.model = model
        self.paths = clean_paths(model)
        self.readers: list[list[int]] = [[] for _ in model.layers]
        for i, layer in enumerate(model.layers):
            for j in layer.inputs:
                if j != MODEL_INPUT:
                    self.readers[j].append(i)
        self.outputs = set(model.outputs)

    def ends(self, members: list[int]) -> tuple[set[int], list[int]]:
        """The tensors `members` read from outside, and those of theirs read outside (or returned)."""
        inside = set(members)
        entries = {j for i in members for j in self.model.layers[i].inputs if j not in inside}
        exits = [i for i in members if i in self.outputs or any(r not in inside for r in self.readers[i])]
        return entries, exits

    def gather(self, depth: int, members: list[int], joined: str) -> list[tuple[str, list[int], int]]:
        """The units of a level at `depth`: (name, traced layers, the depth of a block's contents,
        0 for a layer), spliced modules' units included."""
        groups: dict[tuple[str, bool], list[int]] = {}
        for i in members:
            path = self.paths[i]
            leaf = len(path) <= depth + 1
            groups.setdefault((path[min(depth, len(path) - 1)], leaf), []).append(i)
        units: list[tuple[str, list[int], int]] = []
        for (step, leaf), group in groups.items():
            if leaf:
                units.extend((joined + step, [i], 0) for i in group)
                continue
            entries, exits = self.ends(group)
            if len(entries) == 1 and len(exits) == 1:
                units.append((joined + step, group, depth + 1))
                continue
            head = self.head(group)
            if head:  # its first merges spliced, the rest a block
                rest = [i for i in group if i not in head]
                units.extend((joined + "_".join(self.paths[i][depth:]), [i], 0) for i in head)
                units.append((joined + step, rest, depth + 1))
            else:
                units.extend(self.gather(depth + 1, group, f"{joined}{step}_"))
        return units

    def head(self, group: list[int]) -> list[int]:
        """The merges that make a module read several outside tensors, where they alone do and
        the rest is a block (DenseNet's layer concatenating every earlier map before its norm):
        spliced, they leave the module's own layers their module paths. Empty where not so."""
        inside = set(group)
        head = [i for i in group if any(j not in inside for j in self.model.layers[i].inputs)]
        rest = [i for i in group if i not in set(head)]
        if not rest or any(self.model.layers[i].kind not in MERGES for i in head):
            return []
        if any(r not in inside or r in head for i in head for r in self.readers[i]) or any(
            i in self.outputs for i in head
        ):
            return []
        entries, exits = self.ends(rest)
        return head if len(entries) == 1 and len(exits) == 1 else []

    def level(self, depth: int, members: list[int], outputs: tuple[int, ...]) -> Level:
        """The level holding `members` (traced layers under one module), returning `outputs`."""
        gathered = sorted(self.gather(depth, members, ""), key=lambda unit: unit[1][0])
        names = level_names([name for name, _, _ in gathered])
        position = {i: k for k, (_, group, _) in enumerate(gathered) for i in group}
        units = []
        for name, (_, group, inner) in zip(names, gathered):
            if inner:
                (entry,), (exit_,) = self.ends(group)
                level = self.level(inner, group, (exit_,))
                units.append(Unit(name, (position.get(entry, ENTRY),), group[0], level=level))
            else:
                (i,) = group
                units.append(Unit(name, tuple(position.get(j, ENTRY) for j in self.model.layers[i].inputs), i, layer=i))
        return Level(tuple(units), tuple(position.get(j, ENTRY) for j in outputs))


def model_level(model: TracedModel) -> Level:
    """The model's top level (`Level`), its blocks' levels inside."""
    tree = _Tree(model)
    return tree.level(0, list(range(len(model.layers))), tuple(model.outputs))
