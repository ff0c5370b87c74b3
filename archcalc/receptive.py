"""Receptive fields: for every layer, the input region one output unit sees, per spatial dimension.

Pure. Each layer kind says how it moves positions (`Layer.rf_step`: a window's span, stride
and leading padding, or "the whole input"); a merge takes the union of its inputs' fields. This
module holds the field arithmetic and one pass over the lowered graph. The recurrence (Araujo, Norris & Sim, "Computing
receptive fields of convolutional neural networks", Distill 2019), with r the field size, j the
jump (distance in input pixels between neighbouring units) and s the input pixel under the first
tap of unit 0, for a window of span K = D*(k - 1) + 1, stride S and leading padding P:

    r' = r + (K - 1) * j        j' = j * S        s' = s - P * j

Fields ignore the image border: s may be negative (padding) and r may exceed the input. A
branch point takes the union over its paths (the largest field). Where its paths move with
different jumps no one jump describes the merged units: the field is widened until, at the
largest jump, it holds every output unit's true field. It is then a bound, not exact, and so is
every field computed from it (the recurrence carries a bound forward as a bound).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from .errors import SpecError
from .graph import Graph, Node, located, lower
from .layers import Shape
from .layers.base import RFStep
from .spec import Spec, require_spec

Number = int | Fraction


@dataclass(frozen=True, slots=True)
class AxisField:
    """The receptive field along one spatial dimension, in input pixels.

    size: pixels from the first to the last one an output unit can see; jump: input pixels
    between neighbouring output units (the effective stride); start: the first input pixel
    (0-based) of output unit 0's field (negative: it starts in the padding); whole: the unit
    sees the whole input (after global pooling, flatten, linear), so size is the input's.
    Unit u's field is [start + u*jump, start + u*jump + size - 1].
    """

    size: Number
    jump: Number | None
    start: Number
    whole: bool = False

    @property
    def center(self) -> Number:
        """Centre of output unit 0's field: start + (size - 1)/2."""
        return self.start + Fraction(self.size - 1, 2) if not self.whole else Fraction(self.size - 1, 2)


Field = tuple[AxisField, ...]


@dataclass(frozen=True, slots=True)
class FieldRow:
    """One layer (or merge point) of the network with its field per spatial dimension."""

    path: str
    kind: str
    out_shape: Shape
    axes: Field
    note: str | None = None
    exact: bool = True  # False: a bound that holds every unit's true field, which may be smaller
    after: str | None = None  # the inexact row this one follows (its own step may be exact)

    @property
    def bound_note(self) -> str | None:
        """What `--json` gives as the row's note: its own, or why it is a bound when it inherits one."""
        if self.note or self.after is None:
            return self.note
        return f"a bound, not exact: it follows {self.after}, whose field is a bound"


# A field is exact while it stays within this many input pixels: far past any input (sizes are at
# most 2^40), yet a chain of strides (2^40 each, a thousand layers) would otherwise grow numbers of
# 40,000 bits, each layer's arithmetic slower than the last. Past it the field is taken as the whole
# input: an upper bound.
MAX_FIELD = 2**64


def _huge(value: Number) -> bool:
    if isinstance(value, Fraction):
        return abs(value.numerator) > MAX_FIELD or value.denominator > MAX_FIELD
    return abs(value) > MAX_FIELD


def _plain(value: Number) -> Number:
    return int(value) if isinstance(value, Fraction) and value.denominator == 1 else value


def apply_step(field: Field, step: RFStep | None, input_sizes: tuple[int, ...]) -> Field:
    """One layer's step: r' = r + (K - 1)*j, j' = j*S, s' = s - P*j (see the module docstring).

    A transposed conv is read as a stride-1 conv over its zero-stuffed input (Dumoulin & Visin,
    relationship 14): jump j/S, span K, padding K - 1 - P; its size is an upper bound, as a
    unit's extreme taps may fall on inserted zeros. A field past MAX_FIELD pixels (or a jump
    finer than 1/MAX_FIELD) is taken as the whole input.

    >>> conv1 = RFStep(span=(11,), stride=(4,), pad_before=(0,))  # AlexNet conv1
    >>> f = apply_step((AxisField(size=1, jump=1, start=0),), conv1, (227,))
    >>> f[0].size, f[0].jump, f[0].start
    (11, 4, 0)
    """
    if step is None:
        return field
    if step.whole or any(axis.whole for axis in field):
        return tuple(AxisField(size=n, jump=None, start=0, whole=True) for n in input_sizes)
    out = []
    for axis, span, stride, pad in zip(field, step.span, step.stride, step.pad_before):
        j = axis.jump
        if step.transposed:
            j = Fraction(j, stride)  # type: ignore[arg-type]
            out.append(
                AxisField(
                    size=_plain(axis.size + (span - 1) * j),
                    jump=_plain(j),
                    start=_plain(axis.start - (span - 1 - pad) * j),
                )
            )
        else:
            out.append(
                AxisField(
                    size=_plain(axis.size + (span - 1) * j),  # type: ignore[operator]
                    jump=_plain(j * stride),  # type: ignore[operator]
                    start=_plain(axis.start - pad * j),  # type: ignore[operator]
                )
            )
    out = [axis for k, axis in enumerate(out) if k not in step.dropped]  # dimensions the layer removes
    if any(_huge(value) for axis in out for value in (axis.size, axis.jump, axis.start)):  # type: ignore[arg-type]
        return tuple(AxisField(size=n, jump=None, start=0, whole=True) for n in input_sizes)
    return tuple(out)


def union(fields: list[Field], out_sizes: tuple[int, ...]) -> tuple[Field, str | None]:
    """The largest field over paths, per dimension: from the earliest start to the latest end.

    Paths with different jumps j_i (starts s_i, sizes r_i) over n output units: at the largest
    jump J, unit u's union lies inside [S + u*J, S + u*J + R - 1] for every u < n when
    S = min(s_i - (n - 1)*(J - j_i)) and R = max(s_i + r_i) - S. That bound is what is kept.

    >>> a, b = AxisField(size=1, jump=2, start=0), AxisField(size=5, jump=1, start=0)
    >>> merged, note = union([(a,), (b,)], (4,))
    >>> merged[0].size, merged[0].jump, merged[0].start
    (8, 2, -3)
    """
    note = None
    out = []
    for axes, n in zip(zip(*fields), out_sizes):
        if any(axis.whole for axis in axes):
            out.append(next(axis for axis in axes if axis.whole))
            continue
        jumps = {axis.jump for axis in axes}
        top = max(jumps)
        start = min(axis.start - (n - 1) * (top - axis.jump) for axis in axes)
        end = max(axis.start + axis.size - 1 for axis in axes)
        if len(jumps) > 1:
            note = (
                f"paths move with different jumps ({', '.join(map(str, sorted(jumps)))}): the field is a bound that "
                f"holds every unit's field at the largest jump, not exact; so are the fields after it"
            )
        out.append(AxisField(size=_plain(end - start + 1), jump=top, start=_plain(start)))
    return tuple(out), note


def _step_row(node: Node, field: Field, input_sizes: tuple[int, ...]) -> FieldRow:
    """A layer's field: its kind's step (`rf_step`) applied to the field of the tensor it reads."""
    with located(node):
        step = node.layer.rf_step(node.in_shape)
    new = apply_step(field, step, input_sizes)
    note = step.note if step is not None and new and not new[0].whole else None
    if new and new[0].whole and not (field[0].whole or step is None or step.whole):
        note = f"the field passes {MAX_FIELD:,} input pixels: taken as the whole input (an upper bound)"
    return FieldRow(path=node.path, kind=node.kind, out_shape=node.out_shape, axes=new, note=note)


def graph_fields(graph: Graph) -> tuple[FieldRow, ...]:
    """One pass over the graph carrying each tensor's field: a layer steps the field of the tensor
    it reads, a merge takes the union of the fields it merges. A row is exact unless its own step
    is a bound (its note says why) or it reads a bound (`after` names the first one on its way)."""
    sizes = graph.input_shape[1:]
    fields: list[Field] = [tuple(AxisField(size=1, jump=1, start=0) for _ in sizes)]  # tensor id -> its field
    afters: list[str | None] = [None]  # tensor id -> the inexact row its field follows, if any
    rows = []
    for node in graph.nodes:
        if node.is_merge:
            new, note = union([fields[t] for t in node.inputs], node.out_shape[1:])
            row = FieldRow(path=node.path, kind=node.kind, out_shape=node.out_shape, axes=new, note=note)
            after = next((afters[t] for t in node.inputs if afters[t] is not None), None)
        else:
            row = _step_row(node, fields[node.inputs[0]], sizes)
            after = afters[node.inputs[0]]
        if row.note is not None:
            after = after or node.path
        elif row.axes and row.axes[0].whole:  # sees the whole input: exact whatever came before
            after = None
        if after is not None:
            row = replace(row, exact=False, after=None if after == node.path else after)
        fields.append(row.axes)
        afters.append(after)
        rows.append(row)
    return tuple(rows)


def receptive_fields(spec: Spec, input_shape: Shape | None = None) -> tuple[FieldRow, ...]:
    """Every layer's receptive field size, jump and start per spatial dimension, in order.

    r' = r + (K - 1)*j, j' = j*S, start' = start - P*j; branches take the union over paths.

    >>> from archcalc import load_spec
    >>> last = [row for row in receptive_fields(load_spec("alexnet")) if row.path == "pool3"][0]
    >>> last.axes[0].size, last.axes[0].jump, last.axes[0].start, last.axes[0].center
    (195, 32, -64, Fraction(33, 1))
    """
    graph = lower(require_spec(spec, "receptive_fields"), input_shape)
    try:
        return graph_fields(graph)
    except SpecError as err:
        raise (spec._source.locate_error(err) if spec._source is not None else err) from None
