"""A level of units (`hierarchy.Level`) written as a spec list: series-parallel parts as nested
`residual` and `parallel`, the rest in the graph form (`from:`), every row keeping its module path.

Between two units every path of the level passes through (cuts), the units either follow one
another or fork from the first cut and merge at the second: a merge reading each branch once,
each branch reading only the fork's tensor, is a `residual` (an `add` of two, whose shortcut is
the identity or one module, named by `shortcut_name`) or a `parallel`, whose branches are the
identity, one module (a named branch) or `spliced` (their layers in the level). Anything else is
written as it is, each unit reading its inputs by name; a tensor that has no name there (the
list's input, a container's output) is given one by an `identity` row just after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..errors import SpecError
from ..layers import LayerSpec
from .hierarchy import ENTRY, MERGES, Level
from .leaf import leaf
from .spec_lists import container, map_lists
from .traced import TracedModel

_LAYER: TypeAdapter[Any] = TypeAdapter(LayerSpec)


def _stubbed(layers: list[Any]) -> list[Any]:
    """The list with each named block's contents (a level of its own, checked when it was
    written) as one identity: validating a level then costs its own layers, not all below it."""
    out: list[Any] = []
    for item in layers:
        found = container(item)
        if found is not None and found[0] == "block":
            out.append({"block": {**found[1], "layers": ["identity"]}})
        else:
            out.append(map_lists(item, _stubbed))
    return out


@dataclass(frozen=True, slots=True)
class _Entry:
    """One item of a list being written: a unit (`unit`, its position) or a container (`value`)
    whose merge is the unit `out`; `reads`: the units (or the list's input) it reads."""

    out: int
    reads: tuple[int, ...]
    value: Any = None
    unit: bool = True
    branches: list[Any] = field(default_factory=list)


class LevelWriter:
    """Writes one level (a block's contents or the top level) as a spec list. A builder: made per
    level, its names (`taken`) grow as identity rows are added; a plain class with `__slots__`."""

    __slots__ = ("level", "model", "readers", "taken", "written")

    def __init__(self, model: TracedModel, level: Level) -> None:
        self.model, self.level = model, level
        self.taken = {unit.name for unit in level.units}
        self.readers: dict[int, list[int]] = {ENTRY: []}
        for k, unit in enumerate(level.units):
            self.readers[k] = []
            for r in unit.reads:
                self.readers[r].append(k)
        self.written: dict[int, list[Any]] = {}  # a block unit's contents, written once

    # -- the whole level ---------------------------------------------------------------------

    def layers(self) -> tuple[list[Any], list[str] | None]:
        """The level's list, and the names it returns where it returns several (the top level)."""
        units = list(range(len(self.level.units)))
        outputs = self.level.outputs
        if len(outputs) == 1 and outputs[0] != ENTRY and units and outputs[0] == units[-1]:
            nested = self.render(ENTRY, self.series(ENTRY, units, outputs[0]), ())
            if self.valid(nested[0]):
                return nested[0], None
            self.taken = {unit.name for unit in self.level.units}
        return self.render(ENTRY, [self.unit_entry(k) for k in units], outputs)

    def valid(self, layers: list[Any]) -> bool:
        """Whether the list holds as a block's contents (names distinct in the level, `from:`
        read by the level's names); where not, the level is written in the graph form alone."""
        try:
            _LAYER.validate_python({"block": {"name": "level", "layers": _stubbed(layers)}})
        except (ValidationError, SpecError):
            return False
        return True

    # -- series-parallel -----------------------------------------------------------------------

    def unit_entry(self, k: int) -> _Entry:
        return _Entry(out=k, reads=self.level.units[k].reads)

    def series(self, src: int, nodes: list[int], sink: int) -> list[_Entry]:
        """The entries of the units `nodes` (in order, ending at `sink`), reading `src`."""
        where = {u: i for i, u in enumerate(nodes)}

        def reach(u: int) -> int:
            return max((where[r] for r in self.readers[u] if r in where), default=-1)

        entries: list[_Entry] = []
        inner: list[int] = []
        prev, furthest = src, reach(src)
        for i, u in enumerate(nodes):
            if furthest <= i:  # every path from src to sink passes through u
                entries.extend(self.segment(prev, inner, u))
                prev, inner = u, []
            else:
                inner.append(u)
            furthest = max(furthest, reach(u))
        return entries

    def segment(self, prev: int, inner: list[int], cut: int) -> list[_Entry]:
        if inner:
            fork = self.fork(prev, inner, cut)
            if fork is not None:
                return [fork]
        return [*(self.unit_entry(u) for u in inner), self.unit_entry(cut)]

    def fork(self, prev: int, inner: list[int], cut: int) -> _Entry | None:
        """The units between two cuts as branches from `prev` merged by `cut`, or None."""
        merge = self.level.units[cut]
        if merge.layer is None or self.model.layers[merge.layer].kind not in MERGES:
            return None
        part = self._components(inner)
        exits: dict[int, int] = {}
        for r in merge.reads:
            if r == prev:
                continue
            if r not in part or part[r] in exits:
                return None
            exits[part[r]] = r
        if len(exits) != len(set(part.values())):
            return None
        members = set(inner)
        for u in inner:
            if any(r != prev and r not in members for r in self.level.units[u].reads):
                return None
            if any(r != cut and r not in members for r in self.readers[u]) or (
                cut in self.readers[u] and exits.get(part[u]) != u
            ):
                return None
        branches: list[list[_Entry]] = []
        for r in merge.reads:
            if r == prev:
                branches.append([])
            else:
                nodes = [u for u in inner if part[u] == part[r]]
                branches.append(self.series(prev, nodes, r))
        return _Entry(out=cut, reads=(prev,), unit=False, branches=branches)

    def _components(self, inner: list[int]) -> dict[int, int]:
        """Each unit's connected component among `inner` (linked by reads either way)."""
        members = set(inner)
        part: dict[int, int] = {}
        for u in inner:
            if u in part:
                continue
            part[u], todo = u, [u]
            while todo:
                v = todo.pop()
                for w in (*self.level.units[v].reads, *self.readers[v]):
                    if w in members and w not in part:
                        part[w] = u
                        todo.append(w)
        return part

    # -- writing -------------------------------------------------------------------------------

    def name_for(self, base: str) -> str:
        name, count = base, 1
        while name in self.taken:
            count += 1
            name = f"{base[:90]}_{count}"
        self.taken.add(name)
        return name

    def render(self, src: int, entries: list[_Entry], outputs: tuple[int, ...]) -> tuple[list[Any], list[str] | None]:
        """The entries as a spec list reading `src`: a unit reads by `from:` unless it reads the
        entry before it; a tensor read by name that has none gets an identity row after it."""
        follows, prev = [], src
        for entry in entries:
            kind = self.kind(entry.out) if entry.unit else ""
            follows.append(not entry.unit or (kind not in MERGES and entry.reads == (prev,)))
            prev = entry.out
        nameless = {src} | {e.out for e in entries if not e.unit}
        wanted = {r for e, f in zip(entries, follows) if not f for r in e.reads if r in nameless}
        wanted |= {r for r in outputs if r in nameless}
        alias = {r: self.name_for("input" if r == src else self.level.units[r].name + "_out") for r in wanted}
        values: list[Any] = []
        if src in alias:
            values.append({"identity": {"name": alias[src]}})
        for entry, follow in zip(entries, follows):
            values.append(
                self.value(entry, None if follow else [alias.get(r) or self.level.units[r].name for r in entry.reads])
            )
            if entry.out in alias and entry.out != src:
                values.append({"identity": {"name": alias[entry.out]}})
        names = [alias.get(r) or self.level.units[r].name for r in outputs] if outputs else None
        if names is not None and len(names) == 1 and outputs[0] == entries[-1].out:
            names = None
        return values, names

    def kind(self, k: int) -> str:
        unit = self.level.units[k]
        return self.model.layers[unit.layer].kind if unit.layer is not None else "block"

    def value(self, entry: _Entry, reads: list[str] | None) -> Any:
        if not entry.unit:
            return self.container(entry)
        unit = self.level.units[entry.out]
        source: str | list[str] | None = None
        if reads is not None:
            source = reads if unit.layer is not None and self.kind(entry.out) in MERGES else reads[0]
        if unit.layer is None:
            body: dict[str, Any] = {"name": unit.name}
            if source is not None:
                body["from"] = source
            body["layers"] = self.contents(entry.out)
            return {"block": body}
        layer = self.model.layers[unit.layer]
        return leaf(layer.kind, layer.fields, unit.name, source)

    def contents(self, k: int) -> list[Any]:
        """A block unit's contents, its own level written by its own writer."""
        if k not in self.written:
            level = self.level.units[k].level
            assert level is not None
            self.written[k] = LevelWriter(self.model, level).layers()[0]
        return self.written[k]

    def branch(self, src: int, entries: list[_Entry]) -> tuple[str | None, list[Any]] | None:
        """A branch as (its name, its layers): one block unit is that module's level; None where
        the branch must be spliced (its layers in the level)."""
        if len(entries) == 1 and entries[0].unit and self.level.units[entries[0].out].layer is None:
            if entries[0].reads == (src,):
                return self.level.units[entries[0].out].name, self.contents(entries[0].out)
        return None

    def container(self, entry: _Entry) -> Any:
        (src,) = entry.reads
        merge = self.kind(entry.out)
        if merge == "add" and len(entry.branches) == 2:
            body, short = entry.branches
            if not body and short:
                body, short = short, body
            named = self.branch(src, short) if short else None
            if body and (not short or named is not None):
                residual: dict[str, Any] = {"body": self.render(src, body, ())[0]}
                if named is not None:
                    residual["shortcut"] = named[1]
                    residual["shortcut_name"] = named[0]
                return {"residual": residual}
        branches: list[Any] = []
        for entries in entry.branches:
            named = self.branch(src, entries) if entries else None
            if not entries:
                branches.append([])
            elif named is not None:
                branches.append({"name": named[0], "layers": named[1]})
            else:
                branches.append({"spliced": True, "layers": self.render(src, entries, ())[0]})
        return {"parallel": {"merge": merge, "branches": branches}}
