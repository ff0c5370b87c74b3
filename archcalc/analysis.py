"""The static analyzer: the lowered graph's nodes (archcalc/graph.py) as table rows, and their totals.

No I/O, no printing, no torch. Exact Python integers throughout, so counts past 2^63 stay exact.
"""

from __future__ import annotations

from math import prod
from typing import NamedTuple

from .dtypes import COUNTER_BYTES, dtype_bytes
from .graph import Graph, Node, lower
from .layers import Shape
from .spec import Spec


class Row(NamedTuple):
    """One leaf layer (or merge point) of the analysed network, per example.

    A named tuple, not a frozen dataclass: a network has hundreds to tens of thousands of rows,
    and a frozen dataclass costs several times as much to construct.
    """

    path: str
    kind: str
    summary: str
    depth: int
    trainable: bool
    in_shape: Shape
    out_shape: Shape
    units: int
    weights: int
    biases: int
    buffers: int
    counters: int
    connections: int
    macs: int
    padded_connections: int
    # terms other tools count (Counts documents them); conventions.py weighs them
    op: str = ""
    bias_adds: int = 0
    elementwise_adds: int = 0
    macs_on_output: int = 0
    op_in_elements: int = 0
    unshared_bias: bool = False

    @property
    def params(self) -> int:
        """Trainable-kind parameters: weights + biases."""
        return self.weights + self.biases

    @property
    def flops(self) -> int:
        """FLOPs under the 2-per-multiply-accumulate convention (torch.utils.flop_counter)."""
        return 2 * self.macs


class Totals(NamedTuple):
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


class Memory(NamedTuple):
    """Bytes at one dtype: trainable parameters, buffers (+ int64 counters) and activations."""

    dtype: str
    params: int
    buffers: int
    activations: int

    @property
    def total(self) -> int:
        return self.params + self.buffers + self.activations


class Analysis(NamedTuple):
    """The result of analysing a spec: rows in execution order and their totals.

    The result types here are named tuples, not dataclasses: cheaper to create and to define
    (a dataclass costs about a millisecond of every command's start-up)."""

    spec: Spec
    input_shape: Shape
    rows: tuple[Row, ...]  # one per graph node, in the same order
    totals: Totals
    graph: Graph

    @property
    def output_shape(self) -> Shape:
        """The shape of the network's (first) output."""
        return self.graph.shapes[self.graph.outputs[0]]

    def memory(self, dtype: str = "fp32") -> Memory:
        """Memory of parameters, buffers and all units (activations) for one example."""
        size = dtype_bytes(dtype)
        t = self.totals
        return Memory(dtype, t.params * size, t.buffers * size + t.counters * COUNTER_BYTES, t.units * size)

    def by_kind(self) -> dict[str, Totals]:
        """Totals grouped by layer kind, in first-seen order (where parameters and compute sit)."""
        groups: dict[str, list[Row]] = {}
        for row in self.rows:
            groups.setdefault(row.kind, []).append(row)
        return {kind: _sum(rows) for kind, rows in groups.items()}


def _sum(rows: list[Row] | tuple[Row, ...]) -> Totals:
    units = weights = biases = buffers = counters = connections = macs = trainable = 0
    for row in rows:
        units += row.units
        weights += row.weights
        biases += row.biases
        buffers += row.buffers
        counters += row.counters
        connections += row.connections
        macs += row.macs
        if row.trainable:
            trainable += row.weights + row.biases
    return Totals(units, weights, biases, buffers, counters, connections, macs, trainable)


def _row(node: Node) -> Row:
    """A graph node as a table row: its counts, with the terms other tools count filled in."""
    counts = node.counts
    return Row(
        path=node.path,
        kind=node.kind,
        summary=node.summary,
        depth=node.depth,
        trainable=node.trainable,
        in_shape=node.in_shape,
        out_shape=counts.out_shape,
        units=counts.units,
        weights=counts.weights,
        biases=counts.biases,
        buffers=counts.buffers,
        counters=counts.counters,
        connections=counts.connections,
        macs=counts.macs,
        padded_connections=counts.connections if counts.padded_connections is None else counts.padded_connections,
        op=counts.op,
        bias_adds=counts.bias_adds,
        elementwise_adds=counts.elementwise_adds,
        macs_on_output=counts.macs if counts.macs_on_output is None else counts.macs_on_output,
        op_in_elements=prod(node.in_shape) if counts.op_in_elements is None else counts.op_in_elements,
        unshared_bias=counts.unshared_bias,
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
    rows = tuple(map(_row, graph.nodes))
    return Analysis(spec=spec, input_shape=graph.input_shape, rows=rows, totals=_sum(rows), graph=graph)
