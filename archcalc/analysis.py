"""The static analyzer: the lowered graph's nodes (archcalc/graph.py) as table rows, and their totals.

No I/O, no printing, no torch. Exact Python integers throughout, so counts past 2^63 stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .dtypes import COUNTER_BYTES, dtype_bytes
from .errors import SpecError
from .graph import ROW_FIELDS, Graph, Node, lower
from .layers import Shape
from .spec import Spec, require_spec

INT64_MAX = 2**63 - 1  # numpy's integers: a pandas column past it keeps Python's (to_pandas)

# One row of the analysis per graph node: its path, kind, shapes and counts per example (the
# node's own properties; `Row.to_dict()` lists them). A node is a row: nothing is copied.
Row = Node


@dataclass(frozen=True, slots=True)
class Totals:
    """Column sums over all rows."""

    units: int = 0
    weights: int = 0
    biases: int = 0
    buffers: int = 0
    counters: int = 0
    connections: int = 0
    macs: int = 0
    trainable_params: int = 0

    @property
    def params(self) -> int:
        return self.weights + self.biases

    @property
    def frozen_params(self) -> int:
        return self.params - self.trainable_params

    @property
    def flops(self) -> int:
        return 2 * self.macs

    def to_dict(self) -> dict[str, int]:
        """The sums and the figures derived from them as a plain dict (the JSON output's `totals`).

        >>> from archcalc import analyze, load_spec
        >>> totals = analyze(load_spec("lenet5")).totals.to_dict()
        >>> totals["params"], totals["macs"], totals["flops"]
        (61706, 416520, 833040)
        """
        return {name: getattr(self, name) for name in TOTALS_FIELDS}


# The totals' fields and derived figures, in the JSON output's order (Totals.to_dict).
TOTALS_FIELDS = (
    "units",
    "weights",
    "biases",
    "params",
    "trainable_params",
    "frozen_params",
    "buffers",
    "counters",
    "connections",
    "macs",
    "flops",
)


@dataclass(frozen=True, slots=True)
class Memory:
    """Bytes at one dtype: trainable parameters, buffers (+ int64 counters) and activations."""

    dtype: str
    params: int
    buffers: int
    activations: int

    @property
    def total(self) -> int:
        return self.params + self.buffers + self.activations


@dataclass(frozen=True, slots=True)
class Analysis:
    """The result of analysing a spec: rows in execution order and their totals."""

    spec: Spec
    input_shape: Shape
    rows: tuple[Row, ...]  # the graph's nodes, in execution order
    totals: Totals
    graph: Graph

    @property
    def output_shape(self) -> Shape:
        """The shape of the network's (first) output."""
        return self.graph.shapes[self.graph.outputs[0]]

    @property
    def output_shapes(self) -> tuple[Shape, ...]:
        """The shapes of every output the network returns (the spec's `outputs:`, else the last layer's)."""
        return tuple(self.graph.shapes[t] for t in self.graph.outputs)

    @property
    def opaque_rows(self) -> tuple[Row, ...]:
        """The rows of opaque modules (`archcalc import --opaque`): their MACs (and connections)
        are unknown, so the totals of those columns count the other rows only."""
        return tuple(row for row in self.rows if row.opaque)

    def memory(self, dtype: str = "fp32") -> Memory:
        """Memory of parameters, buffers and all units (activations) for one example."""
        size = dtype_bytes(dtype)
        t = self.totals
        return Memory(
            dtype=dtype,
            params=t.params * size,
            buffers=t.buffers * size + t.counters * COUNTER_BYTES,
            activations=t.units * size,
        )

    def to_dicts(self) -> list[dict[str, Any]]:
        """Every row as a plain dict (`Row.to_dict`: path, kind, shapes and counts), in execution order.

        >>> from archcalc import analyze, load_spec
        >>> rows = analyze(load_spec("lenet5")).to_dicts()
        >>> rows[0]["path"], rows[0]["params"], sum(row["params"] for row in rows)
        ('C1', 156, 61706)
        """
        return [row.to_dict() for row in self.rows]

    def to_pandas(self) -> Any:
        """The rows as a pandas DataFrame, a column per field of `to_dicts` (ROW_FIELDS), a row per
        layer. pandas is optional (`pip install 'archcalc[pandas]'`); without it this raises a
        SpecError (code missing_extra) that says so. A column whose sum would pass int64 keeps
        Python integers (dtype object), so no sum of a column or of its rows overflows."""
        try:
            import pandas
        except ImportError:
            raise SpecError(
                "missing_extra",
                "Analysis.to_pandas() needs the Python package 'pandas', which is not installed",
                hint="install the pandas extra: pip install 'archcalc[pandas]' (or use Analysis.to_dicts())",
            ) from None
        rows = self.to_dicts()
        columns = {}
        for name in ROW_FIELDS:
            values = [row[name] for row in rows]
            exact = all(type(v) is int for v in values) and sum(abs(v) for v in values) > INT64_MAX
            columns[name] = pandas.Series(values, dtype=object if exact else None)
        return pandas.DataFrame(columns)

    def by_kind(self) -> dict[str, Totals]:
        """Totals grouped by layer kind, in first-seen order (where parameters and compute sit)."""
        groups: dict[str, list[Row]] = {}
        for row in self.rows:
            groups.setdefault(row.kind, []).append(row)
        return {kind: _sum(rows) for kind, rows in groups.items()}


def _sum(rows: list[Row] | tuple[Row, ...]) -> Totals:
    units = weights = biases = buffers = counters = connections = macs = trainable = 0
    for row in rows:
        counts = row.call.counts  # the row's properties read these: once each here
        units += counts.units
        weights += counts.weights
        biases += counts.biases
        buffers += counts.buffers
        counters += counts.counters
        connections += counts.connections
        macs += counts.macs
        if row.call.trainable:
            trainable += counts.weights + counts.biases
    return Totals(
        units=units,
        weights=weights,
        biases=biases,
        buffers=buffers,
        counters=counters,
        connections=connections,
        macs=macs,
        trainable_params=trainable,
    )


def clear_caches() -> None:
    """Empty the pure-function caches analyses share (window resolution, edge counts), so that a
    benchmark times each analysis from nothing rather than from the previous run's answers."""
    from . import arith
    from .layers import resolve_window

    for cached in (resolve_window, arith.covered_pairs, arith.transposed_covered_pairs):
        cached.cache_clear()


def analyze(spec: Spec, input_shape: Shape | None = None) -> Analysis:
    """Analyse a spec: every layer's output shape and counts, and their totals.

    Raises SpecError (with file and line when the spec was loaded from a file) when a layer
    cannot be applied to what reaches it.
    """
    graph = lower(require_spec(spec, "analyze"), input_shape)
    rows = graph.nodes
    return Analysis(spec=spec, input_shape=graph.input_shape, rows=rows, totals=_sum(rows), graph=graph)
