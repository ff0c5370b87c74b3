"""Counting conventions as data: what a published table, or another tool, counts.

archcalc's own columns never change; a convention is a view over them. A paper that counts a bias
as a connection, a table that counts weights only, a tool that counts two FLOPs per
multiply-accumulate: each is a `Convention`, named, so the tool reproduces that column itself and
says how it differs from archcalc's.
"""

from __future__ import annotations

import difflib
from math import prod
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
    params_trainable_only: bool = Field(
        False, description="params count trainable layers only (LeNet-5's fixed RBF output vectors are not counted)"
    )
    input_units_counted: bool = Field(False, description="the input's units count in the units total (LeNet-1989)")
    output_units_counted: bool = Field(True, description="the output layer's units count in the units total")
    units_weighted_layers_only: bool = Field(
        False, description="only layers with weights count units (AlexNet's neurons: pooling and LRN outputs are not)"
    )

    def params(self, row: Row) -> int:
        if self.params_trainable_only and not row.trainable:
            return 0
        return row.weights + (row.biases if self.params_include_biases else 0)

    def units(self, row: Row, *, output: bool = False) -> int:
        """The row's units as this convention counts them; `output`: the row is the network's output layer."""
        if output and not self.output_units_counted:
            return 0
        if self.units_weighted_layers_only and not (row.weights or row.biases):
            return 0
        return row.units

    def unit_column(self, analysis: Analysis) -> list[int]:
        """Units per row; the output layer is the last row that produces units."""
        producing = [i for i, row in enumerate(analysis.rows) if row.units]
        last = producing[-1] if producing else -1
        return [self.units(row, output=i == last) for i, row in enumerate(analysis.rows)]

    def input_units(self, analysis: Analysis) -> int:
        """The input's units when this convention counts them (else 0)."""
        return prod(analysis.input_shape) if self.input_units_counted else 0

    def connections(self, row: Row) -> int:
        edges = row.padded_connections if self.padding_is_connection else row.connections
        return edges + (row.units if self.bias_is_connection and row.biases else 0)

    def ops(self, row: Row) -> int:
        return row.macs * self.ops_per_mac

    def differences(self) -> list[str]:
        """How this convention departs from archcalc's, one phrase per term."""
        base = Convention()
        return [
            phrase.format(value=getattr(self, term))
            for term, phrase in _DIFFERENCES.items()
            if getattr(self, term) != getattr(base, term)
        ]


# What each term says when it departs from archcalc's default, in the order they are listed.
_DIFFERENCES = {
    "bias_is_connection": "a bias counts as one connection per unit",
    "padding_is_connection": "taps on zero padding count as connections",
    "params_include_biases": "params count weights only",
    "ops_per_mac": "{value} ops per multiply-accumulate",
    "params_trainable_only": "params count trainable layers only",
    "input_units_counted": "units include the input",
    "output_units_counted": "units exclude the output layer",
    "units_weighted_layers_only": "units of layers with weights only",
}


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
    """units, params, connections and ops summed over the rows under a convention."""
    rows = analysis.rows
    return {
        "units": convention.input_units(analysis) + sum(convention.unit_column(analysis)),
        "params": sum(convention.params(r) for r in rows),
        "connections": sum(convention.connections(r) for r in rows),
        "ops": sum(convention.ops(r) for r in rows),
    }
