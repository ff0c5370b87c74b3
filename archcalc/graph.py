"""Lowering: a spec's nested layers as one flat graph, the single walk every command starts from.

`lower(spec)` visits the layer tree once and returns a `Graph`: nodes in topological (execution)
order, each reading tensors by id and writing one new tensor. Nested `block`, `residual`,
`parallel`, `repeat` and templates (`use:`) are spec syntax: each container says how it lowers
(`Layer.lower`), a merge is a node of its own, and a layer may read any earlier sibling by name
(`from:`). Every consumer (analysis rows, explanations, receptive fields, the training flow,
the torch builder) is one pass over `Graph.nodes`; none of them walks the tree again.

Pure: no I/O, no torch. Tensor 0 is the network input; node i writes tensor i + 1.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from math import prod
from typing import TYPE_CHECKING, Any

from .errors import LayerError, Loc, SpecError, format_loc
from .fields import MAX_ROWS
from .layers.base import Contents, Counts, NameTree, Shape, name_level, reference_names, splice

if TYPE_CHECKING:
    from .layers.base import Layer
    from .spec import Spec


@dataclass(slots=True)
class Call:
    """A layer called on an input: what it computes and costs, and where the spec writes it.

    The copies of a repeated layer share one Call (only their paths and tensors differ). `layer`
    is the kind's model (a merge a container generates holds the shared merge layer of its kind);
    `in_shape` is the shape of its first input (a container's merge: the container's input, as the
    tables have always shown); `trainable` says whether its parameters train; `loc` is its place in
    the spec, for errors.

    Slotted, not `frozen`: one is made per layer of every analysis, and with this and Counts frozen
    (each field set through object.__setattr__) an analysis cost a quarter more
    (tests/test_records.py HOT_RECORDS). Never written after construction; the rows (Node) are frozen.
    """

    kind: str
    layer: Layer
    in_shape: Shape
    counts: Counts
    summary: str
    depth: int
    trainable: bool
    loc: Loc


@dataclass(frozen=True, slots=True)
class Node:
    """One leaf layer or merge point of the graph: its path, the tensors it reads (`inputs`, ids)
    and the one it writes (`output`), and its `call` (what it computes, its shapes and counts).

    """

    path: str
    inputs: tuple[int, ...]
    output: int
    call: Call

    @property
    def kind(self) -> str:
        return self.call.kind

    @property
    def layer(self) -> Layer:
        return self.call.layer

    @property
    def in_shape(self) -> Shape:
        return self.call.in_shape

    @property
    def counts(self) -> Counts:
        return self.call.counts

    @property
    def summary(self) -> str:
        return self.call.summary

    @property
    def depth(self) -> int:
        return self.call.depth

    @property
    def trainable(self) -> bool:
        return self.call.trainable

    @property
    def loc(self) -> Loc:
        return self.call.loc

    @property
    def is_merge(self) -> bool:
        """Whether the node combines several tensors (a merge kind: add, concat, mul)."""
        return self.layer.merges

    # A node is also the analysis's row (archcalc.analysis.Row): its counts per example, read from
    # its call's `counts` rather than copied (a repeat's copies share their first copy's call).
    # Counts documents each term.

    @property
    def out_shape(self) -> Shape:
        return self.call.counts.out_shape

    @property
    def units(self) -> int:
        return self.call.counts.units

    @property
    def weights(self) -> int:
        return self.call.counts.weights

    @property
    def biases(self) -> int:
        return self.call.counts.biases

    @property
    def buffers(self) -> int:
        return self.call.counts.buffers

    @property
    def counters(self) -> int:
        return self.call.counts.counters

    @property
    def connections(self) -> int:
        return self.call.counts.connections

    @property
    def macs(self) -> int:
        return self.call.counts.macs

    @property
    def padded_connections(self) -> int:
        padded = self.call.counts.padded_connections
        return self.call.counts.connections if padded is None else padded

    @property
    def op(self) -> str:
        return self.call.counts.op

    @property
    def bias_adds(self) -> int:
        return self.call.counts.bias_adds

    @property
    def elementwise_adds(self) -> int:
        return self.call.counts.elementwise_adds

    @property
    def macs_on_output(self) -> int:
        on_output = self.call.counts.macs_on_output
        return self.call.counts.macs if on_output is None else on_output

    @property
    def op_in_elements(self) -> int:
        elements = self.call.counts.op_in_elements
        return prod(self.call.in_shape) if elements is None else elements

    @property
    def unshared_bias(self) -> bool:
        return self.call.counts.unshared_bias

    @property
    def stat_groups(self) -> int:
        return self.call.counts.stat_groups

    @property
    def opaque(self) -> bool:
        """An opaque module's row (`archcalc import --opaque`): its MACs are unknown, not 0."""
        return self.call.counts.opaque

    @property
    def params(self) -> int:
        """Trainable-kind parameters: weights + biases."""
        return self.call.counts.weights + self.call.counts.biases

    @property
    def flops(self) -> int:
        """FLOPs under the 2-per-multiply-accumulate convention (torch.utils.flop_counter)."""
        return 2 * self.call.counts.macs

    def to_dict(self) -> dict[str, Any]:
        """The row's fields as a plain dict (shapes as tuples), for the Python API and pandas.

        >>> from archcalc import analyze, load_spec
        >>> row = analyze(load_spec("lenet5")).rows[0].to_dict()
        >>> row["path"], row["out_shape"], row["params"], row["macs"]
        ('C1', (6, 28, 28), 156, 117600)
        """
        return {name: getattr(self, name) for name in ROW_FIELDS}


# The fields of an analysis row, in table order (Node.to_dict; the Python API documents them).
ROW_FIELDS = (
    "path",
    "kind",
    "summary",
    "depth",
    "trainable",
    "in_shape",
    "out_shape",
    "units",
    "weights",
    "biases",
    "params",
    "buffers",
    "counters",
    "connections",
    "padded_connections",
    "macs",
    "flops",
    "op",
    "bias_adds",
    "elementwise_adds",
    "macs_on_output",
    "op_in_elements",
    "unshared_bias",
)


@dataclass(frozen=True, slots=True)
class Graph:
    """A lowered network: nodes in execution order, every tensor's shape, the output tensors."""

    input_shape: Shape
    nodes: tuple[Node, ...]
    shapes: tuple[Shape, ...]  # tensor id -> shape (per example); 0 is the input
    outputs: tuple[int, ...]  # the tensors the network returns


class Scope:
    """Where lowering is: the dotted path of names, the spec location, whether weights train.

    `at` is the (location, path, kind) of the layer errors are reported against; its label is
    formatted only when an error needs it, not once per layer. The lowering's cursor, not a record:
    nothing keeps it past the call it is passed to, and it is made for every layer of every list,
    so it is a plain slotted class (a frozen dataclass's per-field `object.__setattr__` cost a
    twentieth of an analysis, measured with callgrind on resnet152).
    """

    __slots__ = ("path", "loc", "trainable", "at", "names")

    def __init__(
        self,
        *,
        path: tuple[str, ...],
        loc: Loc,
        trainable: bool,
        at: tuple[Loc, tuple[str, ...], str] | None = None,
        names: Contents | None = None,
    ) -> None:
        self.path = path
        self.loc = loc
        self.trainable = trainable
        self.at = at
        # an unnamed container's contents sit in the enclosing level: their path steps, as that
        # level's `name_level` gave them (None: the layer is a step of its own)
        self.names = names

    @property
    def label(self) -> str:
        if self.at is None:
            return ""
        loc, path, kind = self.at
        return f"{format_loc(loc)} '{'.'.join(path)}' ({kind})"

    def child(self, name: str, field: Loc) -> Scope:
        """A step down the path that is not a layer of its own (a branch, a copy, a merge row)."""
        return Scope(path=(*self.path, name), loc=self.loc + field, trainable=self.trainable, at=self.at)


ROOT = Scope(path=(), loc=(), trainable=True)


def locate(err: LayerError, scope: Scope) -> SpecError:
    """A layer's LayerError as a SpecError naming the layer and its spec location."""
    where = scope.loc + ((err.field,) if err.field else ())
    return SpecError(err.code, err.message, loc=where, hint=err.hint, layer=scope.label)


def node_scope(node: Node) -> Scope:
    """The scope a node was lowered in, for errors a later pass finds (a receptive-field step)."""
    path = tuple(node.path.split("."))
    return Scope(path=path, loc=node.loc, trainable=node.trainable, at=(node.loc, path, node.kind))


@contextmanager
def located(node: Node) -> Iterator[None]:
    """Turn a LayerError a pass raises for a node into a SpecError naming the layer and its line."""
    try:
        yield
    except LayerError as err:
        raise locate(err, node_scope(node)) from None


class Lowering:
    """Builds a Graph: containers call `sequence`, `leaf` and `merge` from their `lower` method.

    A layer object lowered again on the same input (every copy of a `repeat` after the first:
    ResNet-152's 36-block stage) gives the same nodes under another path, so they are copied from
    its first lowering rather than computed again: a visit reads only its input tensor and the
    tensors it writes itself (`from:` names siblings only), so the copy is the first one shifted.
    The memo is keyed by the layer object, its input shape, whether it trains and its depth.
    """

    memoize = True  # tests turn copying off to hold the copies equal to computed nodes

    def __init__(self, input_shape: Shape) -> None:
        self.nodes: list[Node] = []
        self.shapes: list[Shape] = [input_shape]
        # (id(layer), input shape, trainable, depth) -> (first node, end node, its input tensor, path)
        self._seen: dict[tuple[int, Shape, bool, int], tuple[int, int, int, tuple[str, ...]]] = {}
        self._names: dict[int, NameTree] = {}  # id(a list starting a level) -> its path steps (the spec outlives this)
        self._contents: dict[int, Contents] = {}
        self._refs: dict[int, list[str | None]] = {}  # id(a list's path steps) -> the names references read

    def sequence(
        self,
        layers: list[Any],
        tensor: int,
        scope: Scope,
        field: Loc,
        written: dict[str, int] | None = None,
        names: NameTree | None = None,
    ) -> int:
        """Lower a list of layers: each reads the one before it, or the siblings its `from:` names;
        the list's value is its last layer's output. `written` collects each layer's output tensor
        by the name `from:` and `outputs:` read it by (the spec's `outputs:` name top-level layers).
        `names`: the list's path steps when it sits in an enclosing level (an unnamed container's
        list); None when it starts a level of its own."""
        base = scope.loc + field
        if names is None:
            names = self._names.get(id(layers))
            if names is None:
                names = self._names[id(layers)] = name_level(layers)
        # `from:` and `outputs:` read a layer by its path step (check_references): the row's name
        refs = None
        if written is not None or any(layer.from_ is not None for layer in layers):
            refs = self._refs.get(id(names))
            if refs is None:  # a repeat lowers its list once per copy: look once
                refs = self._refs[id(names)] = reference_names(names)[0]
        written = {} if written is None else written
        for index, layer in enumerate(layers):
            step = names[index]
            loc = base + (index,)
            if isinstance(step, str):
                path = (*scope.path, step)
                child = Scope(
                    path=path, loc=loc, trainable=scope.trainable and layer.trainable, at=(loc, path, layer.kind)
                )
            else:  # an unnamed container: no step of its own
                path = scope.path
                at = (loc, path, layer.kind)
                child = Scope(path=path, loc=loc, trainable=scope.trainable and layer.trainable, at=at, names=step)
            inputs = (tensor,) if layer.from_ is None else tuple(written[source] for source in layer.sources())
            try:
                tensor = self.visit(layer, inputs, child)
            except LayerError as err:
                raise locate(err, child) from None
            name = refs[index] if refs is not None else None
            if name is not None:
                written[name] = tensor
        return tensor

    def level(self, layers: list[Any], tensor: int, scope: Scope, field: Loc) -> int:
        """A list that starts a level of its own (a repeat's copy, a branch, a shortcut), lowered
        as `sequence` does; a list lowered again on the same input at the same depth (a repeat's
        next copy) is copied from its first lowering (`visit`'s memo, keyed by the list)."""
        if not self.memoize:
            return self.sequence(layers, tensor, scope, field)
        key = (id(layers), self.shapes[tensor], scope.trainable, len(scope.path))
        seen = self._seen.get(key)
        if seen is not None:
            return self._copy(seen, tensor, scope.path)
        start = len(self.nodes)
        out = self.sequence(layers, tensor, scope, field)
        self._seen[key] = (start, len(self.nodes), tensor, scope.path)
        return out

    def contents(self, layer: Any, scope: Scope) -> Contents:
        """The path steps of the lists a container splices into its level (`splice`): given by the
        enclosing level when the container is unnamed, else its own level's, named once."""
        if scope.names is not None:
            return scope.names
        trees = self._contents.get(id(layer))
        if trees is None:
            trees = self._contents[id(layer)] = splice(layer, (), Counter(), None)
        return trees

    def visit(self, layer: Any, inputs: tuple[int, ...], scope: Scope) -> int:
        # an unnamed container's nodes sit in the enclosing level, named by its count: not copied
        if len(inputs) != 1 or not self.memoize or scope.names is not None:
            return layer.lower(self, inputs, scope)
        # the depth too: a copy keeps its first visit's Call, depth included
        key = (id(layer), self.shapes[inputs[0]], scope.trainable, len(scope.path))
        seen = self._seen.get(key)
        if seen is not None:
            return self._copy(seen, inputs[0], scope.path)
        start = len(self.nodes)
        out = layer.lower(self, inputs, scope)
        self._seen[key] = (start, len(self.nodes), inputs[0], scope.path)
        return out

    def _copy(self, seen: tuple[int, int, int, tuple[str, ...]], tensor: int, path: tuple[str, ...]) -> int:
        """The nodes of an earlier visit again, renamed from its path to this one and reading
        this visit's input; the tensors they write are shifted as the nodes are."""
        start, end, first_input, first_path = seen
        if end == start:  # an empty visit: its value is its input
            return tensor
        self._check_room(end - start)
        shift = len(self.nodes) - start
        # the key holds the depth, so the first visit's path has as many steps as this one's
        new, cut = ".".join(path), len(".".join(first_path))
        nodes, shapes = self.nodes, self.shapes
        for node in nodes[start:end]:
            inputs = node.inputs
            if len(inputs) == 1:  # most nodes: spare a generator
                inputs = (tensor,) if inputs[0] == first_input else (inputs[0] + shift,)
            else:
                inputs = tuple(tensor if t == first_input else t + shift for t in inputs)
            nodes.append(Node(path=new + node.path[cut:], inputs=inputs, output=node.output + shift, call=node.call))
            shapes.append(shapes[node.output])
        return self.nodes[end - 1].output + shift

    def _check_room(self, more: int) -> None:
        if len(self.nodes) + more > MAX_ROWS:  # nested repeats multiply: stop at the limit, not at the end
            raise LayerError(
                "too_many_layers",
                f"the network has more than {MAX_ROWS:,} layers",
                hint="use fewer or smaller repeats",
            )

    def leaf(self, layer: Any, tensor: int, scope: Scope) -> int:
        """A layer that computes one tensor from one: its counts from its kind's rules."""
        shape = self.shapes[tensor]
        counts = layer.counts(shape)
        return self.add(scope, layer, layer.kind, layer.describe(shape), (tensor,), shape, counts)

    def merge(self, scope: Scope, layer: Any, summary: str, inputs: tuple[int, ...], in_shape: Shape) -> int:
        """A merge node: the merge kind's counts over the shapes of the tensors it reads."""
        counts = layer.merge_counts([self.shapes[t] for t in inputs])
        return self.add(scope, layer, layer.kind, summary, inputs, in_shape, counts)

    def add(
        self,
        scope: Scope,
        layer: Any,
        kind: str,
        summary: str,
        inputs: tuple[int, ...],
        in_shape: Shape,
        counts: Counts,
    ) -> int:
        self._check_room(1)
        output = len(self.shapes)
        call = Call(
            kind=kind,
            layer=layer,
            in_shape=in_shape,
            counts=counts,
            summary=summary,
            depth=len(scope.path) - 1,
            trainable=scope.trainable,
            loc=scope.loc,
        )
        self.nodes.append(Node(path=".".join(scope.path), inputs=inputs, output=output, call=call))
        self.shapes.append(counts.out_shape)
        return output


def lower(spec: Spec, input_shape: Shape | None = None) -> Graph:
    """The spec as a flat graph on `input_shape` (default: the spec's input).

    Refused before it starts when the spec has more rows than MAX_ROWS (counted from the spec,
    not by lowering it); a SpecError gets the spec file's line and column.

    >>> from archcalc import load_spec
    >>> g = lower(load_spec("lenet5"))
    >>> [n.path for n in g.nodes[:3]], g.nodes[0].inputs, g.nodes[0].output, g.shapes[1]
    (['C1', 'tanh1', 'S2'], (0,), 1, (6, 28, 28))
    """
    from .spec import require_spec  # spec.py imports the layers, which import this module

    spec = require_spec(spec, "lower")
    shape = tuple(input_shape or spec.input)
    source = spec._source
    rows = sum(layer.rows() for layer in spec.layers)
    if rows > MAX_ROWS:
        raise SpecError(
            "too_many_layers",
            f"the network has {rows:,} layers, more than the limit of {MAX_ROWS:,}",
            file=source.file if source else None,
            hint="use fewer or smaller repeats",
        )
    lowering = Lowering(shape)
    try:
        top: dict[str, int] = {}
        last = lowering.sequence(spec.layers, 0, ROOT, ("layers",), top)
    except SpecError as err:
        raise (source.locate_error(err) if source is not None else err) from None
    outputs = tuple(top[name] for name in spec.outputs) if spec.outputs else (last,)
    return Graph(input_shape=shape, nodes=tuple(lowering.nodes), shapes=tuple(lowering.shapes), outputs=outputs)
