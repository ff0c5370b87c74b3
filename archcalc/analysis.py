"""The static analyzer: the lowered graph's nodes (archcalc/graph.py) as table rows, and their totals.

No I/O, no printing, no torch. Exact Python integers throughout, so counts past 2^63 stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass

from .dtypes import COUNTER_BYTES, dtype_bytes
from .graph import Graph, Node, lower
from .layers import Shape
from .spec import Spec

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
    graph = lower(spec, input_shape)
    rows = graph.nodes
    return Analysis(spec=spec, input_shape=graph.input_shape, rows=rows, totals=_sum(rows), graph=graph)
