"""The static analyzer: a pure fold over a spec's layers into per-layer rows and totals.

No I/O, no printing, no torch. Exact Python integers throughout, so counts past 2^63 stay exact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from math import prod
from typing import Any, NamedTuple

from .dtypes import COUNTER_BYTES, dtype_bytes
from .errors import LayerError, Loc, SpecError, format_loc
from .fields import MAX_ROWS
from .layers import Counts, Shape, layer_names
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


class Scope(NamedTuple):
    """Where the walk is: the dotted path of names, the spec location, whether weights train.

    `at` is the (location, path, kind) of the layer that errors are reported against; the label
    is formatted only when an error needs it, not once per layer.
    """

    path: tuple[str, ...]
    loc: Loc
    trainable: bool
    at: tuple[Loc, tuple[str, ...], str] | None = None

    @property
    def label(self) -> str:
        if self.at is None:
            return ""
        loc, path, kind = self.at
        return f"{format_loc(loc)} '{'.'.join(path)}' ({kind})"


def named_layers(layers: list[Any], scope: Scope, field: Loc) -> Iterator[tuple[Any, Scope]]:
    """Each layer of a list with its scope, named by `layer_names` (kind and count when unnamed)."""
    base = scope.loc + field
    for index, (layer, name) in enumerate(zip(layers, layer_names(layers))):
        loc = base + (index,)
        path = scope.path + (name,)
        yield layer, Scope(path, loc, scope.trainable and layer.trainable, (loc, path, layer.kind))


def locate(err: LayerError, scope: Scope) -> SpecError:
    """A layer's LayerError as a SpecError naming the layer and its spec location."""
    where = scope.loc + ((err.field,) if err.field else ())
    return SpecError(err.code, err.message, loc=where, hint=err.hint, layer=scope.label)


@contextmanager
def located(scope: Scope) -> Iterator[None]:
    """Turn a layer's LayerError into a SpecError naming the layer and its spec location."""
    try:
        yield
    except LayerError as err:
        raise locate(err, scope) from None


class _Walker:
    """Walks the layer tree depth-first, naming unnamed layers and collecting rows.

    A layer object visited again on the same input (every copy of a `repeat` after the first:
    ResNet-152's 36-block stage) gives the same rows under another path, so they are copied
    from its first visit rather than computed again. The walk is a pure function of the layer,
    its input shape and whether it trains, which is the memo's key; the memo lives as long as
    one analysis.
    """

    memoize = True

    def __init__(self) -> None:
        self.rows: list[Row] = []
        # (id(layer), input shape, trainable) -> (first row, end row, path, output shape)
        self._seen: dict[tuple[int, Shape, bool], tuple[int, int, tuple[str, ...], Shape]] = {}

    def child(self, scope: Scope, name: str, field: Loc) -> Scope:
        return Scope(scope.path + (name,), scope.loc + field, scope.trainable, scope.at)

    def run(self, layers: list[Any], shape: Shape, scope: Scope, field: Loc) -> Shape:
        for layer, child in named_layers(layers, scope, field):
            try:
                shape = self.visit(layer, shape, child)
            except LayerError as err:
                raise locate(err, child) from None
        return shape

    def visit(self, layer: Any, shape: Shape, scope: Scope) -> Shape:
        """One layer of the walk; subclasses (archcalc.explanation) hook in here."""
        if not self.memoize:
            return layer.walk(shape, self, scope)
        key = (id(layer), shape, scope.trainable)
        seen = self._seen.get(key)
        if seen is not None:
            return self._copy(seen, scope.path)
        start = len(self.rows)
        out = layer.walk(shape, self, scope)
        self._seen[key] = (start, len(self.rows), scope.path, out)
        return out

    def _copy(self, seen: tuple[int, int, tuple[str, ...], Shape], path: tuple[str, ...]) -> Shape:
        """The rows of an earlier visit again, renamed from its path to this one."""
        start, end, first_path, out = seen
        self._check_room(end - start)
        # the same object sits at the same depth wherever it recurs (a repeat's copies are siblings)
        new, cut = ".".join(path), len(".".join(first_path))
        rows, make = self.rows, tuple.__new__  # Row._replace, without its per-call overhead
        for row in rows[start:end]:
            rows.append(make(Row, (new + row[0][cut:], *row[1:])))
        return out

    def _check_room(self, more: int) -> None:
        if len(self.rows) + more > MAX_ROWS:  # nested repeats multiply: stop at the limit, not at the end
            raise LayerError(
                "too_many_layers", f"the network has more than {MAX_ROWS:,} layers", hint="use fewer or smaller repeats"
            )

    def emit(self, scope: Scope, kind: str, summary: str, in_shape: Shape, counts: Counts) -> None:
        self._check_room(1)
        macs = counts.macs
        self.rows.append(
            Row(
                ".".join(scope.path),
                kind,
                summary,
                len(scope.path) - 1,
                scope.trainable,
                in_shape,
                counts.out_shape,
                counts.units,
                counts.weights,
                counts.biases,
                counts.buffers,
                counts.counters,
                counts.connections,
                macs,
                counts.connections if counts.padded_connections is None else counts.padded_connections,
                counts.op,
                counts.bias_adds,
                counts.elementwise_adds,
                macs if counts.macs_on_output is None else counts.macs_on_output,
                prod(in_shape) if counts.op_in_elements is None else counts.op_in_elements,
                counts.unshared_bias,
            )
        )


ROOT = Scope((), (), True)


def clear_caches() -> None:
    """Empty the pure-function caches analyses share (window resolution, edge counts), so that a
    benchmark times each analysis from nothing rather than from the previous run's answers."""
    from . import arith
    from .layers import resolve_window

    for cached in (resolve_window, arith.covered_pairs, arith.transposed_covered_pairs):
        cached.cache_clear()


def walk_spec(spec: Spec, walk: Callable[[], Any]) -> Any:
    """Run a walk over a spec's layers; a SpecError gets the spec file's line and column.

    Every walk (analysis, receptive fields, explanations, the training flow) is refused here, before
    it starts, when the spec has more rows than MAX_ROWS: counted from the spec, not by walking."""
    rows = sum(layer.rows() for layer in spec.layers)
    if rows > MAX_ROWS:
        raise SpecError(
            "too_many_layers",
            f"the network has {rows:,} layers, more than the limit of {MAX_ROWS:,}",
            file=spec._source.file if spec._source else None,
            hint="use fewer or smaller repeats",
        )
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
    walker = _Walker()
    walk_spec(spec, lambda: walker.run(spec.layers, shape, ROOT, ("layers",)))
    rows = tuple(walker.rows)
    return Analysis(spec=spec, input_shape=shape, rows=rows, totals=_sum(rows))
