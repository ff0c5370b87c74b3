"""The static analyzer: a pure fold over a spec's layers into per-layer rows and totals.

No I/O, no printing, no torch. Exact Python integers throughout, so counts past 2^63 stay exact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from math import prod
from typing import Any

from .errors import LayerError, Loc, SpecError, format_loc
from .fields import MAX_ROWS
from .layers import Counts, Shape, layer_names
from .spec import Spec

DTYPE_BYTES: dict[str, int] = {"fp64": 8, "fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}
COUNTER_BYTES = 8  # num_batches_tracked and friends are int64 whatever the model's dtype


def dtype_bytes(dtype: str) -> int:
    """Bytes per element of a named dtype (fp32, fp16, bf16, int8, fp64)."""
    try:
        return DTYPE_BYTES[dtype]
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPE_BYTES)}") from None


@dataclass(frozen=True, slots=True)
class Row:
    """One leaf layer (or merge point) of the analysed network, per example."""

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


COUNT_FIELDS = ("units", "weights", "biases", "buffers", "counters", "connections", "macs")


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


@dataclass(frozen=True)
class Analysis:
    """The result of analysing a spec: rows in execution order and their totals."""

    spec: Spec
    input_shape: Shape
    rows: tuple[Row, ...]
    totals: Totals

    @property
    def output_shape(self) -> Shape:
        return self.rows[-1].out_shape if self.rows else self.input_shape

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
    sums = {name: 0 for name in COUNT_FIELDS}
    trainable = 0
    for row in rows:
        for name in COUNT_FIELDS:
            sums[name] += getattr(row, name)
        if row.trainable:
            trainable += row.weights + row.biases
    return Totals(**sums, trainable_params=trainable)


@dataclass(frozen=True, slots=True)
class Scope:
    """Where the walk is: the dotted path of names, the spec location, whether weights train."""

    path: tuple[str, ...]
    loc: Loc
    trainable: bool
    label: str


def named_layers(layers: list[Any], scope: Scope, field: Loc) -> Iterator[tuple[Any, Scope]]:
    """Each layer of a list with its scope, named by `layer_names` (kind and count when unnamed)."""
    for index, (layer, name) in enumerate(zip(layers, layer_names(layers))):
        loc = scope.loc + field + (index,)
        label = f"{format_loc(loc)} '{'.'.join(scope.path + (name,))}' ({layer.kind})"
        yield layer, Scope(scope.path + (name,), loc, scope.trainable and layer.trainable, label)


@contextmanager
def located(scope: Scope) -> Iterator[None]:
    """Turn a layer's LayerError into a SpecError naming the layer and its spec location."""
    try:
        yield
    except LayerError as err:
        where = scope.loc + ((err.field,) if err.field else ())
        raise SpecError(err.code, err.message, loc=where, hint=err.hint, layer=scope.label) from None


class _Walker:
    """Walks the layer tree depth-first, naming unnamed layers and collecting rows."""

    def __init__(self) -> None:
        self.rows: list[Row] = []

    def child(self, scope: Scope, name: str, field: Loc) -> Scope:
        return Scope(scope.path + (name,), scope.loc + field, scope.trainable, scope.label)

    def run(self, layers: list[Any], shape: Shape, scope: Scope, field: Loc) -> Shape:
        for layer, child in named_layers(layers, scope, field):
            with located(child):
                shape = self.visit(layer, shape, child)
        return shape

    def visit(self, layer: Any, shape: Shape, scope: Scope) -> Shape:
        """One layer of the walk; subclasses (archcalc.explain) hook in here."""
        return layer.walk(shape, self, scope)

    def emit(self, scope: Scope, kind: str, summary: str, in_shape: Shape, counts: Counts) -> None:
        if len(self.rows) >= MAX_ROWS:  # nested repeats multiply: stop at the limit, not at the end
            raise LayerError("too_many_layers", f"the network has more than {MAX_ROWS:,} layers",
                             hint="use fewer or smaller repeats")  # fmt: skip
        self.rows.append(
            Row(
                path=".".join(scope.path),
                kind=kind,
                summary=summary,
                depth=len(scope.path) - 1,
                trainable=scope.trainable,
                in_shape=in_shape,
                out_shape=counts.out_shape,
                units=counts.units,
                weights=counts.weights,
                biases=counts.biases,
                buffers=counts.buffers,
                counters=counts.counters,
                connections=counts.connections,
                macs=counts.macs,
                padded_connections=(
                    counts.connections if counts.padded_connections is None else counts.padded_connections
                ),
                op=counts.op,
                bias_adds=counts.bias_adds,
                elementwise_adds=counts.elementwise_adds,
                macs_on_output=counts.macs if counts.macs_on_output is None else counts.macs_on_output,
                op_in_elements=prod(in_shape) if counts.op_in_elements is None else counts.op_in_elements,
                unshared_bias=counts.unshared_bias,
            )
        )


ROOT = Scope((), (), True, "")


def walk_spec(spec: Spec, walk: Callable[[], Any]) -> Any:
    """Run a walk over a spec's layers; a SpecError gets the spec file's line and column."""
    try:
        return walk()
    except SpecError as err:
        source = spec._source
        raise (source.locate_error(err) if source is not None else err) from None


def analyze(spec: Spec, input_shape: Shape | None = None) -> Analysis:
    """Analyse a spec: every layer's output shape and counts, and their totals.

    Raises SpecError (with file and line when the spec was loaded from a file) when a layer
    cannot be applied to what reaches it.
    """
    shape = tuple(input_shape or spec.input)
    rows = sum(layer.rows() for layer in spec.layers)
    if rows > MAX_ROWS:
        raise SpecError("too_many_layers", f"the network has {rows:,} layers, more than the limit of {MAX_ROWS:,}",
                        file=spec._source.file if spec._source else None, hint="use fewer or smaller repeats")  # fmt: skip
    walker = _Walker()
    walk_spec(spec, lambda: walker.run(spec.layers, shape, ROOT, ("layers",)))
    rows = tuple(walker.rows)
    return Analysis(spec=spec, input_shape=shape, rows=rows, totals=_sum(rows))

