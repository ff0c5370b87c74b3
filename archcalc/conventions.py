"""Counting conventions as data: what a published table, or another tool, counts.

archcalc's own columns never change; a convention is a view over them. A paper that counts a bias
as a connection, a table that counts weights only, a tool that counts two FLOPs per
multiply-accumulate: each is a `Convention`, named, so the tool reproduces that column itself and
says how it differs from archcalc's.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from .errors import SpecError

if TYPE_CHECKING:
    from .analyze import Analysis, Row
    from .spec import Spec


class Convention(BaseModel):
    """Which terms the params, connections and ops columns count. Defaults are archcalc's own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "archcalc"
    description: str = "archcalc's conventions (see README: counting conventions)"
    bias_is_connection: bool = Field(False, description="each unit of a layer with biases has one more input line")
    padding_is_connection: bool = Field(False, description="taps that fall on zero padding count as connections")
    params_include_biases: bool = Field(True, description="params = weights + biases (else weights only)")
    ops_per_mac: Literal[1, 2] = Field(1, description="1: one op per multiply-accumulate (MACs); 2: two FLOPs")
    ops_label: str = Field("MACs", description="what the ops column is called under this convention")
    params_unit: Literal[1, 1000, 1024] = Field(
        1, description="the unit a published params column is printed in (GoogLeNet's K is 1024)"
    )
    rows: Literal["layers", "blocks"] = Field(
        "layers", description="blocks: one row per top-level layer, its leaves summed, as a paper's table lists modules"
    )

    def params(self, row: Row) -> int:
        return row.weights + (row.biases if self.params_include_biases else 0)

    def connections(self, row: Row) -> int:
        edges = row.padded_connections if self.padding_is_connection else row.connections
        return edges + (row.units if self.bias_is_connection and row.biases else 0)

    def ops(self, row: Row) -> int:
        return row.macs * self.ops_per_mac

    def differences(self) -> list[str]:
        """How this convention departs from archcalc's, one phrase per term."""
        base = Convention()
        notes = []
        if self.bias_is_connection != base.bias_is_connection:
            notes.append("a bias counts as one connection per unit")
        if self.padding_is_connection != base.padding_is_connection:
            notes.append("taps on zero padding count as connections")
        if self.params_include_biases != base.params_include_biases:
            notes.append("params count weights only")
        if self.ops_per_mac != base.ops_per_mac:
            notes.append(f"{self.ops_per_mac} ops per multiply-accumulate")
        if self.params_unit != base.params_unit:
            notes.append(f"params printed in units of {self.params_unit}")
        if self.rows != base.rows:
            notes.append("one row per top-level layer")
        return notes


ARCHCALC = Convention()

PRESETS: dict[str, Convention] = {
    "archcalc": ARCHCALC,
    "torch": Convention(
        name="torch",
        description="torch.utils.flop_counter.FlopCounterMode: 2 FLOPs per multiply-accumulate, conv/linear only",
        ops_per_mac=2,
        ops_label="FLOPs",
    ),
}


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
    close = difflib.get_close_matches(name, [*PRESETS, "paper"], n=1)
    raise SpecError(
        "unknown_convention",
        f"unknown convention '{name}'",
        hint=(f"did you mean '{close[0]}'? " if close else "") + "choose one of: " + ", ".join([*PRESETS, "paper"]),
    )


def convention_totals(analysis: Analysis, convention: Convention) -> dict[str, int]:
    """params, connections and ops summed over the rows under a convention."""
    rows = analysis.rows
    return {
        "params": sum(convention.params(r) for r in rows),
        "connections": sum(convention.connections(r) for r in rows),
        "ops": sum(convention.ops(r) for r in rows),
    }


@dataclass(frozen=True, slots=True)
class ConventionRow:
    """One row of a published table: a top-level layer (its leaves summed) or one leaf.

    depth counts the layers with multiply-accumulates (conv, linear), as the GoogLeNet table's
    "depth" column does; params and ops are exact, under the convention.
    """

    name: str
    out_shape: tuple[int, ...]
    depth: int
    params: int
    ops: int

    def params_in_unit(self, convention: Convention) -> Fraction:
        return Fraction(self.params, convention.params_unit)


def convention_rows(analysis: Analysis, convention: Convention) -> list[ConventionRow]:
    """The rows of a table under a convention: one per leaf, or one per top-level layer."""
    groups: dict[str, list[Row]] = {}
    for row in analysis.rows:
        key = row.path.split(".")[0] if convention.rows == "blocks" else row.path
        groups.setdefault(key, []).append(row)
    return [
        ConventionRow(
            name=name,
            out_shape=rows[-1].out_shape,
            depth=sum(1 for r in rows if r.macs),
            params=sum(convention.params(r) for r in rows),
            ops=sum(convention.ops(r) for r in rows),
        )
        for name, rows in groups.items()
    ]
