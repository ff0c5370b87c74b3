"""A counting convention applied once to an analysis: the table of counted values (per row, per
published row, in total) that the renderers read, so no renderer asks the convention for a cell."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import TYPE_CHECKING

from .conventions import ARCHCALC, PRESETS, Convention
from .errors import SpecError, close_matches

if TYPE_CHECKING:
    from fractions import Fraction

    from .analysis import Analysis
    from .layers import Shape
    from .spec import Spec

COLUMNS = ("units", "params", "connections", "ops")


@dataclass(frozen=True, slots=True)
class CountedRow:
    """One analysed row's units, params, connections and ops under a convention."""

    units: int
    params: int
    connections: int
    ops: int


@dataclass(frozen=True, slots=True)
class ConventionRow:
    """One row of a published table: a top-level layer (its leaves summed) or one leaf.

    depth counts the layers with multiply-accumulates (conv, linear), as the GoogLeNet table's
    "depth" column does; params and ops are exact, under the convention.
    """

    name: str
    out_shape: Shape
    depth: int
    params: int
    ops: int

    def params_in_unit(self, convention: Convention) -> Fraction:
        """Params in the unit the publication prints them in (GoogLeNet's K is 1024)."""
        from fractions import Fraction  # only GoogLeNet's table (params in K) needs it

        return Fraction(self.params, convention.params_unit)


@dataclass(frozen=True, slots=True)
class Counted:
    """An analysis counted under one convention: `rows` align with the analysis' rows; `totals`
    sum them (units with the input's, when the convention counts it); `published` is the table a
    publication prints (one row per leaf, or per top-level layer)."""

    convention: Convention
    input_units: int
    rows: tuple[CountedRow, ...]
    published: tuple[ConventionRow, ...]
    totals: dict[str, int]

    def column(self, name: str) -> list[int]:
        """One of `COLUMNS`, per row."""
        return [getattr(row, name) for row in self.rows]


def count(analysis: Analysis, convention: Convention = ARCHCALC) -> Counted:
    """Every value a convention counts, each computed once; the output layer (whose units a
    convention may leave out) is the last row that produces units."""
    producing = [i for i, row in enumerate(analysis.rows) if row.units]
    last = producing[-1] if producing else -1
    rows = tuple(
        CountedRow(
            units=convention.units(row, output=i == last),
            params=convention.params(row),
            connections=convention.connections(row),
            ops=convention.ops(row),
        )
        for i, row in enumerate(analysis.rows)
    )
    input_units = prod(analysis.input_shape) if convention.input_units_counted else 0
    totals = {name: sum(getattr(r, name) for r in rows) for name in COLUMNS}
    totals["units"] += input_units
    return Counted(
        convention=convention,
        input_units=input_units,
        rows=rows,
        published=_published(analysis, convention, rows),
        totals=totals,
    )


def _published(
    analysis: Analysis, convention: Convention, counted: tuple[CountedRow, ...]
) -> tuple[ConventionRow, ...]:
    """The rows of a published table from the counted rows: one per leaf, or per top-level layer."""
    groups: dict[str, list[int]] = {}
    for i, row in enumerate(analysis.rows):
        key = row.path.split(".")[0] if convention.rows == "blocks" else row.path
        groups.setdefault(key, []).append(i)
    return tuple(
        ConventionRow(
            name=name,
            out_shape=analysis.rows[members[-1]].out_shape,
            depth=sum(1 for i in members if analysis.rows[i].macs),
            params=sum(counted[i].params for i in members),
            ops=sum(counted[i].ops for i in members),
        )
        for name, members in groups.items()
    )


def convention_totals(analysis: Analysis, convention: Convention) -> dict[str, int]:
    """units, params, connections and ops summed over the rows under a convention."""
    return count(analysis, convention).totals


def convention_rows(analysis: Analysis, convention: Convention) -> list[ConventionRow]:
    """The rows of a table under a convention: one per leaf, or one per top-level layer."""
    return list(count(analysis, convention).published)


def resolve_convention(name: str, spec: Spec | None = None) -> Convention:
    """A named preset, or `paper`: the convention the spec declares for its source."""
    if name == "paper":
        if spec is None or spec.convention is None:
            raise SpecError(
                "no_paper_convention",
                f"spec '{spec.name if spec else '?'}' declares no `convention:` for its source",
                hint="use a named convention: " + ", ".join(PRESETS),
            )
        return spec.convention
    if name in PRESETS:
        return PRESETS[name]
    close = close_matches(name, [*PRESETS, "paper"])
    raise SpecError(
        "unknown_convention",
        f"unknown convention '{name}'",
        hint=(f"did you mean '{close[0]}'? " if close else "") + "choose one of: " + ", ".join([*PRESETS, "paper"]),
    )
