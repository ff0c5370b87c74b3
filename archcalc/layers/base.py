"""What every layer kind shares: the Counts it reports, the walk protocol, window resolution."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache, lru_cache, wraps
from math import prod
from typing import Annotated, Any, ClassVar, cast, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

from .. import arith
from ..errors import LayerError, close_matches
from ..fields import LAYER_NAMES_SCHEMA, MAX_SIZE, LayerName, PadPair
from ..formulas import Derivation, volume, window_formula
from .ops import Op

Shape = tuple[int, ...]

SPATIAL_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}

# The meanings of fields several kinds share, for `archcalc kinds KIND` and the JSON schema
# (each kind's own fields state theirs beside them).
OUT_CHANNELS = "output channels (feature maps)"
KERNEL = "window size: one value for every spatial dimension, or one per dimension"
STRIDE = "step between neighbouring windows"
PADDING = "zeros added around the input: valid (none), same (output = input/stride, rounded up), N, or per side"
DILATION = "spacing between kernel taps (1: adjacent)"
GROUPS = "input and output channels split into this many groups; depthwise: one group per input channel"
OUT_FEATURES = "output features"


@dataclass(slots=True)
class Counts:
    """What one layer produces and costs, per example.

    units: new activations it produces (element-wise layers applied in place produce none);
    weights / biases: multiplicative / additive trainable parameters; buffers: non-trainable
    float state (batch-norm running statistics); counters: int64 scalars (num_batches_tracked);
    connections: input-to-output edges, biases and zero padding excluded;
    padded_connections: the same edges with taps on zero padding counted too (None: no padding
    involved, equal to connections);
    macs: multiply-accumulates of a dense implementation, padding positions included.

    The terms other tools count (see conventions.py), per example:
    op: the elementary operation a counter sees (a torch functional name: "conv", "max_pool",
    "relu", "batch_norm", "add", ...); bias_adds: one add per output element of a layer with a
    bias; elementwise_adds: adds of a merge (branches - 1 per element); macs_on_output: MACs of a
    transposed convolution counted on output positions (None: equal to macs); op_in_elements:
    elements the op reads after padding it applies separately (SAME padding before a pool, LRN's
    channel padding; None: the input's elements); unshared_bias: the biases are a tensor of
    their own (one per unit or per position) added after the op, not the op's per-map bias;
    stat_groups: the groups, per example, a normalisation computes statistics over (group norm:
    num_groups), whose mean and inverse std autograd saves (`Saves.group_stats`);
    opaque: a module archcalc cannot see into (layers/opaque.py): its MACs are unknown, not 0.

    Slotted but not `frozen`, like archcalc.graph.Call: one is made per layer of every analysis, and
    with both frozen (each field set through object.__setattr__) an analysis cost a quarter more
    (tests/test_records.py HOT_RECORDS). Never written after construction.
    """

    out_shape: Shape
    units: int = 0
    weights: int = 0
    biases: int = 0
    buffers: int = 0
    counters: int = 0
    connections: int = 0
    macs: int = 0
    padded_connections: int | None = None
    op: str = ""
    bias_adds: int = 0
    elementwise_adds: int = 0
    macs_on_output: int | None = None
    op_in_elements: int | None = None
    unshared_bias: bool = False
    stat_groups: int = 0
    opaque: bool = False


@dataclass(frozen=True, slots=True)
class TorchCall:
    """A torch module constructor as plain data, so the layer kinds import no torch.

    `cls` names a class of torch.nn (`Conv2d`) or of archcalc.verify.modules (`Fork`); the builder
    calls `cls(**kwargs)`. `parts` makes an `nn.Sequential` of several calls (a pad, then a conv).
    Containers (`Chain`, `Fork`) get their children from the walk, not from here.
    """

    cls: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    parts: tuple[TorchCall, ...] = ()


def layer_names(layers: list[Any]) -> list[str]:
    """Each layer's name counted within its own list: its own `name`, else kind + count
    (`conv1`, `relu2`), kept distinct by `unique_names`. Rows and references (`from:`, `outputs:`)
    use `name_level`'s steps instead, which count across the whole level (`reference_names`)."""
    seen: Counter[str] = Counter()
    names = []
    for layer in layers:
        seen[layer.kind] += 1
        names.append(layer.name or f"{layer.kind}{seen[layer.kind]}")
    return names


@dataclass(frozen=True, slots=True)
class Claim:
    """A name put at one level of the row paths: a layer's or branch's (`written` in the spec, or
    automatic: conv1, b2) or one a container generates (a merge row, a shortcut). `at` is where
    the layer or branch sits, relative to the value being validated; None for a container's own.
    `copies`: a repeat's copy indices (the name is then their range as text), checked against the
    level's other names without listing them (a repeat may make 2^40 copies)."""

    name: str
    what: str
    at: tuple[str | int, ...] | None = None
    written: bool = False
    copies: range | None = None


# A level's name tree (`name_level`): per layer of a list, its path step, or, for an unnamed
# container whose contents sit in the enclosing level, its `Contents` there.
NameTree = list[Any]
# A container's contents in a level (`splice`): the name trees of the lists it splices there, and
# the names it generates (a residual's shortcut and merge row, a parallel's branches and merge
# row, a repeat's copy indices as a range).
Contents = tuple[tuple[NameTree, ...], tuple[Any, ...]]


def name_level(
    layers: list[Any],
    field: tuple[str | int, ...] = (),
    seen: Counter[str] | None = None,
    claims: list[Claim] | None = None,
) -> NameTree:
    """The path steps a list of layers puts at its level, and (into `claims`, when given; the
    lowering needs only the steps) each with where it is.

    A layer with a `name`, and any leaf, is one step: its name, else kind + count, counted across
    the whole level (`seen`), layers of unnamed containers spliced into it included. An unnamed
    container adds no step of its own: its lists' layers and the names it generates (`Layer.spliced`,
    `Layer.generated`: a residual's `shortcut` and `add`, a parallel's branches and merge row, a
    repeat's copy indices) sit in the enclosing level. The analyzer's row paths, the verifier's torch
    module names and the collision check (`check_claims`) all come from here.
    """
    seen = Counter() if seen is None else seen
    tree: NameTree = []
    for index, layer in enumerate(layers):
        if layer.name is not None:
            name = layer.name
            if claims is not None:
                claims.append(Claim(name=name, what=location(field, index), at=(*field, index), written=True))
        elif layer.container:
            tree.append(splice(layer, (*field, index), seen, claims))
            continue
        else:
            seen[layer.kind] += 1
            name = f"{layer.kind}{seen[layer.kind]}"
            if claims is not None:
                what = f"{location(field, index)} (an unnamed {layer.kind}: named by kind and count)"
                claims.append(Claim(name=name, what=what, at=(*field, index)))
        tree.append(name)
    return tree


def location(field: tuple[str | int, ...], index: int) -> str:
    """Where a layer is, in full, relative to the list being validated (`layers[1].body[0]`): an
    index alone would not say which nested list it counts in.

    >>> location((), 2), location((1, "layers"), 0), location((0, "body"), 1)
    ('layers[2]', 'layers[1].layers[0]', 'layers[0].body[1]')
    """
    text = "layers"
    for step in field:
        text += f"[{step}]" if isinstance(step, int) else f".{step}"
    if field and isinstance(field[0], str):  # a container's own list: its field starts the path
        text = text.removeprefix("layers.")
    return f"{text}[{index}]"


def splice(layer: Any, at: tuple[str | int, ...], seen: Counter[str], claims: list[Claim] | None) -> Contents:
    """A container's contents at a level (`name_level`): the trees of the lists it splices there,
    and the names it generates (claimed after them; a repeat's copy indices as a range). `at` is
    the container's place (() for the container being validated, whose own names then point at
    it, `at=None`)."""
    trees = tuple(name_level(items, (*at, *where), seen, claims) for where, items in layer.spliced())
    generated = layer.generated(seen)
    if claims is not None:
        for claim in generated:  # its `at` is relative to the container: rebase it here
            where = (*at, *claim.at) if claim.at else at or None
            # which container's: two parallels' first branches are both "branch 1"
            what = claim.what
            if at:
                own, there = f"the {layer.kind}'s ", f"the {layer.kind} at {location(at[:-1], cast(int, at[-1]))}"
                what = there + "'s " + what.removeprefix(own) if what.startswith(own) else f"{what}, of {there}"
            claims.append(Claim(claim.name, what, where, claim.written, claim.copies))
    return trees, tuple(claim.name if claim.copies is None else claim.copies for claim in generated)


def numbered(seen: Counter[str], name: str) -> str:
    """A generated name in a level: `add` for the first of its kind there, then `add2`, `add3`, ...
    (`seen` counts them under `#name`, apart from the kind counts of auto names).

    >>> seen = Counter(); numbered(seen, "add"), numbered(seen, "add")
    ('add', 'add2')
    """
    seen["#" + name] += 1
    count = seen["#" + name]
    return name if count == 1 else f"{name}{count}"


def level_claims(layer: Any) -> list[Claim]:
    """The names a named container's own level holds (its contents, `splice`)."""
    claims: list[Claim] = []
    splice(layer, (), Counter(), claims)
    return claims


def _index(name: str) -> int | None:
    """A name as a copy index (`3`), if it is one: decimal digits, no leading zero."""
    return int(name) if name.isdecimal() and name.isascii() and (name == "0" or name[0] != "0") else None


def check_claims(claims: list[Claim], hint: str) -> None:
    """One namespace per path level: generated names and user names alike must differ, or two rows
    (and two torch modules) would share a path and one would replace the other in the built model.

    The error points at a written name (the later one when both are written); the loader turns
    `at` into the line of that layer and `other` into the line of the other one.
    """
    first: dict[str, Claim] = {}
    ranges: list[Claim] = []
    for claim in claims:
        if claim.copies is not None:
            ranges.append(claim)
            continue
        other = first.setdefault(claim.name, claim)
        if other is not claim:
            _duplicate(claim, other, claim.name, hint)
    for k, copies in enumerate(ranges):
        for other in ranges[:k]:
            assert copies.copies is not None and other.copies is not None
            shared = range(max(copies.copies.start, other.copies.start), min(copies.copies.stop, other.copies.stop))
            if shared:
                _duplicate(copies, other, str(shared.start), hint)
        for name, other in first.items():
            index = _index(name)
            if index is not None and index in copies.copies:  # type: ignore[operator]
                _duplicate(copies, other, name, hint)


def _duplicate(claim: Claim, other: Claim, name: str, hint: str) -> None:
    here, there = (other, claim) if other.written and not claim.written else (claim, other)
    raise PydanticCustomError(
        "duplicate_name",
        "{what} is named '{name}', as is {other_what}",
        {
            "what": here.what,
            "name": name,
            "other_what": there.what,
            "at": here.at,
            "other": there.at,
            "hint": hint,
        },
    )


LIST_HINT = "give each layer its own `name` (an unnamed layer is named after its kind and count: conv1, relu2)"
LEVEL_HINT = (
    "give each layer its own `name`; an unnamed block, residual, parallel, repeat or `use:` puts its layers and the "
    "names it generates (shortcut, add, b1, concat, copy indices) in the enclosing level: name it to make a level of its own"
)


def layer_claims(layers: list[Any], field: tuple[str | int, ...] = ()) -> list[Claim]:
    """The names a list gives its layers (`layer_names`), each with where it is written."""
    claims = []
    for index, (layer, name) in enumerate(zip(layers, layer_names(layers))):
        what = location(field, index)
        what += "" if layer.name else f" (an unnamed {layer.kind}: named by kind and count)"
        claims.append(Claim(name=name, what=what, at=(*field, index), written=bool(layer.name)))
    return claims


def check_level(layers: list[Any], field: tuple[str | int, ...] = ()) -> NameTree:
    """A list that starts a level of the paths (the spec's, a branch's, a shortcut's, a repeat's
    copy): its path steps, spliced contents included, differ (`name_level`); the `from:` of the
    layers spliced into it read them by those steps (`spliced_references`). Returns its steps."""
    claims: list[Claim] = []
    tree = name_level(layers, field, None, claims)
    check_claims(claims, LEVEL_HINT)
    spliced_references(layers, tree, field)
    return tree


def spliced_references(layers: list[Any], tree: NameTree, field: tuple[str | int, ...] = ()) -> None:
    """The graph form's rules (`check_references`) for the lists unnamed containers splice into a
    level: only the level knows the steps their layers are named by (counts continue across it),
    so they are checked here rather than by the container, which may not know its level yet."""
    for index, (layer, step) in enumerate(zip(layers, tree)):
        if not isinstance(step, str):
            check_spliced(layer, step[0], (*field, index))


def check_spliced(layer: Any, trees: tuple[NameTree, ...], at: tuple[str | int, ...] = ()) -> None:
    """`check_references` for each list a container splices (`trees`: their steps), and theirs."""
    for (where, items), subtree in zip(layer.spliced(), trees):
        check_references(items, None, (*at, *where), subtree)
        spliced_references(items, subtree, (*at, *where))


def unique_names(layers: list[Any]) -> list[Any]:
    """A list's layers must have different names (`layer_names`), the rule a list has kept since
    before names counted across levels (the level's steps differ too: `check_level`)."""
    check_claims(layer_claims(layers), LIST_HINT)
    return layers


def level_list(layers: list[Any]) -> list[Any]:
    """The spec's top-level list: its names differ, as the list's and as the level's."""
    unique_names(layers)
    check_level(layers)
    return layers


@dataclass(frozen=True, slots=True)
class RFStep:
    """How a layer maps positions along each spatial dimension, for receptive fields.

    A window layer reads, for output o, inputs o*stride - pad_before + [0, span) (span: the
    dilated kernel). `whole`: every output sees the whole input (global pooling, flatten).
    `transposed`: a transposed conv, read as a stride-1 conv over the zero-stuffed input.
    Adaptive pooling's uneven windows take fractions (a stride of W/O) that bound every window;
    `note` then says the field is a bound, and why. `dropped`: the spatial dimensions (0-based) the
    layer removes (a mean without keepdim): their fields end there.
    """

    span: tuple[int | Fraction, ...] = ()
    stride: tuple[int | Fraction, ...] = ()
    pad_before: tuple[int | Fraction, ...] = ()
    whole: bool = False
    transposed: bool = False
    note: str | None = None
    dropped: tuple[int, ...] = ()


# the graph form's error codes (check_references): the loader reports their message and hint as written
GRAPH_ERRORS = (
    "unknown_reference",
    "forward_reference",
    "cycle",
    "unused_output",
    "missing_from",
    "empty_from",
    "too_few_inputs",
    "too_many_inputs",
    "duplicate_output",
)


def quoted(name: str) -> str:
    """A name as a reference error quotes it, with the code points of any letter past ASCII, so a
    look-alike (Cyrillic 'а' for Latin 'a') is told apart from the name it resembles.

    >>> quoted("c3"), quoted("\u0430")
    ("'c3'", "'а' (U+0430)")
    """
    if name.isascii():
        return f"'{name}'"
    return f"'{name}' ({', '.join(f'U+{ord(c):04X}' for c in name if not c.isascii())})"


def _graph_error(code: str, message: str, at: tuple[str | int, ...], hint: str, **ctx: Any) -> PydanticCustomError:
    assert code in GRAPH_ERRORS, code  # else the loader would report it as a generic `invalid`
    return PydanticCustomError(code, message, {**ctx, "at": at, "hint": hint})


def _tree_names(tree: Any) -> list[str]:
    """Every name an unnamed container puts in the level (`Contents`), its nested ones included."""
    if isinstance(tree, str):
        return [tree]
    if isinstance(tree, range):  # a repeat's copy indices: the rows are named by them
        return [str(tree.start), str(tree.stop - 1)] if tree else []
    if isinstance(tree, tuple | list):
        return [name for item in tree for name in _tree_names(item)]
    return []


def reference_names(tree: NameTree) -> tuple[list[str | None], dict[str, int]]:
    """The names `from:` and `outputs:` read a list's layers by: exactly the path steps the level
    gives them (`name_level`), so a name means the row the table shows under it. An unnamed
    container has no step (None); the names inside it map to its index, so a reference to one is
    refused with where it is rather than read as a different row."""
    names: list[str | None] = []
    inside: dict[str, int] = {}
    for index, step in enumerate(tree):
        if isinstance(step, str):
            names.append(step)
        else:
            names.append(None)
            for name in _tree_names(step):
                inside.setdefault(name, index)
    return names, inside


def _inside_error(
    source: str, what: str, layers: list[Any], j: int, field: tuple[str | int, ...], at: tuple[str | int, ...]
) -> PydanticCustomError:
    where = "".join(f"[{step}]" if isinstance(step, int) else ("." if k else "") + step for k, step in enumerate(field))
    return _graph_error(
        "unknown_reference",
        "{what} names {name}, a layer inside the unnamed {kind} at {where}[{index}]; a reference reads a layer of this"
        " list, not one inside a container",
        at,
        f"name the {layers[j].kind} (`name: ...`) and read its output by that name, or move the layer out of it",
        what=what,
        name=quoted(source),
        kind=layers[j].kind,
        where=where or "layers",
        index=j,
    )


def check_references(
    layers: list[Any],
    outputs: list[str] | None = None,
    field: tuple[str | int, ...] = (),
    tree: NameTree | None = None,
) -> None:
    """The graph form's rules for one list of layers (`from:` names earlier siblings):
    every name it reads is an earlier sibling (a later one is a forward reference, or a cycle when
    that layer reads this one back); a merge kind reads two or more, any other kind one; and every
    layer's output is used: read by a later sibling (the next one reads it unless it has `from:`),
    named in `outputs:` (at the top), or the list's last where no `outputs:` is given.
    """
    steps, inside = reference_names(name_level(layers) if tree is None else tree)
    index_of = {name: i for i, name in enumerate(steps) if name is not None}
    names = [name for name in steps if name is not None]
    reads: list[tuple[int, ...]] = []
    for i, layer in enumerate(layers):
        sources = layer.sources()
        at = (*field, i, "from")
        if sources is None:
            if layer.merges:
                raise _graph_error(
                    "missing_from",
                    "this {kind} layer merges earlier layers but names none",
                    (*field, i),
                    "add `from: [a, b]` naming the layers it merges",
                    kind=layer.kind,
                )
            reads.append((i - 1,) if i else ())
            continue
        if not sources:  # `from: []`: no input at all, not "the layer before" (that is no `from`)
            raise _graph_error(
                "empty_from",
                "`from` names no layer: this {kind} layer would read nothing",
                at,
                "name the layers it reads, or leave `from` out to read the layer before it",
                kind=layer.kind,
            )
        if len(sources) < 2 and layer.merges:
            raise _graph_error(
                "too_few_inputs",
                "this {kind} layer merges two or more layers, `from` names one",
                at,
                "name every layer it merges: `from: [a, b]`",
                kind=layer.kind,
            )
        if len(sources) > 1 and not layer.merges:
            raise _graph_error(
                "too_many_inputs",
                "this {kind} layer reads one layer, `from` names {count}",
                at,
                "merge them first with an add, concat or mul layer (`{kind: add, from: [a, b]}`), then read the merge",
                kind=layer.kind,
                count=len(sources),
            )
        found = []
        for source in sources:
            j = index_of.get(source)
            if j is None and source in inside:
                raise _inside_error(source, "`from`", layers, inside[source], field, at)
            if j is None:
                before = [name for name in steps[:i] if name is not None]
                close = close_matches(source, before, n=1)
                hint = (
                    f"did you mean '{close[0]}'?"
                    if close
                    else f"name one of the layers before it in the same list ({', '.join(before[-8:]) or 'none'});"
                    " a layer inside a block or branch reads only its own list: give the block itself `from:`"
                )
                raise _graph_error(
                    "unknown_reference",
                    "`from` names {name}, which is no layer of this list",
                    at,
                    hint,
                    name=quoted(source),
                )
            if j >= i:
                cyclic = j == i or _reaches(layers, index_of, j, i)
                raise _graph_error(
                    "cycle" if cyclic else "forward_reference",
                    "`from` names '{name}', "
                    + ("which reads this layer's output: a cycle" if cyclic else "which comes later in the list"),
                    at,
                    "a layer reads only layers before it: "
                    + ("break the loop" if cyclic else "move it after the layer it reads"),
                    name=source,
                )
            found.append(j)
        reads.append(tuple(found))
    # the list's value is its last layer's output, unless `outputs:` says what the network returns:
    # then a last layer it does not name is computed for nothing (and torch's tracers drop it)
    used = {j for sources in reads for j in sources} | ({len(layers) - 1} if outputs is None else set())
    returned: set[str] = set()
    for k, name in enumerate(outputs or ()):
        if name in returned:  # the network would return one tensor twice
            raise _graph_error(
                "duplicate_output",
                "`outputs` names '{name}' twice",
                ("outputs", k),
                "name each layer the network returns once",
                name=name,
            )
        returned.add(name)
        if name not in index_of and name in inside:
            raise _inside_error(name, "`outputs`", layers, inside[name], ("layers",), ("outputs", k))
        if name not in index_of:
            close = close_matches(name, names, n=1)
            raise _graph_error(
                "unknown_reference",
                "`outputs` names {name}, which is no top-level layer",
                ("outputs", k),
                f"did you mean '{close[0]}'?" if close else "name top-level layers",
                name=quoted(name),
            )
        used.add(index_of[name])
    for j, step in enumerate(steps):
        name = step if step is not None else f"the unnamed {layers[j].kind} at layers[{j}]"
        if j not in used:
            raise _graph_error(
                "unused_output",
                "the output of '{name}' is read by no layer",
                (*field, j),
                "read it with `from:` in a later layer, name it in the spec's `outputs:`, or remove it",
                name=name,
            )


def _reaches(layers: list[Any], index_of: dict[str, int], start: int, target: int) -> bool:
    """Whether layer `start` reads layer `target`, directly or through the layers it reads
    (`index_of`: each layer's name to its position, as check_references built it)."""
    seen, todo = set(), [start]
    while todo:
        i = todo.pop()
        if i in seen:
            continue
        seen.add(i)
        sources = layers[i].sources()
        reads = [i - 1] if sources is None and i else [index_of[s] for s in sources or () if s in index_of]
        if target in reads:
            return True
        todo.extend(r for r in reads if r >= 0)
    return False


def layer_list(value: Any, info: ValidationInfo) -> Any:
    """Before a list of layers is read: one layer value (a pydantic model iterates as its fields, which
    pydantic would take as a list of them, one error each) is refused as one error."""
    if isinstance(value, BaseModel):
        name = type(value).__name__
        raise PydanticCustomError(
            "wrong_type",
            "`{field}` must be a list of layers, got one {name}: write {field}=[{name}(...)]",
            {"field": info.field_name, "name": name},
        )
    return value


def graph_list(layers: list[Any]) -> list[Any]:
    """A container's list of layers: names differ (`unique_names`). Its `from:` references are
    read by the steps of the level it sits in, so the level checks them: `level_graph_list`, the
    container's own check when it is named (`_own_level`), else the enclosing level's."""
    unique_names(layers)
    return layers


def level_graph_list(layers: list[Any]) -> list[Any]:
    """A container's list that starts a level of its own (a branch, a shortcut, a repeat's copy):
    `graph_list`'s rules, its path steps differ (`check_level`), and its `from:` references keep
    the graph form's rules (`check_references`)."""
    graph_list(layers)
    check_references(layers, None, (), check_level(layers))
    return layers


def check_shape(out: Shape, what: str = "its output") -> Shape:
    """Every size a layer or merge derives (channels, features, each spatial dimension) is at
    most MAX_SIZE, as every size written in a spec is: so each count stays below 2^200 (rank <= 4)
    and no later step (a float in the roofline, a string of digits) meets an unbounded number.

    >>> check_shape((3, 2**40))
    (3, 1099511627776)
    """
    for axis, n in enumerate(out):
        if n > MAX_SIZE:
            name = (
                "feature count"
                if len(out) == 1
                else "channel count"
                if axis == 0
                else f"size along {SPATIAL_NAMES[len(out) - 1][axis - 1]}"
            )
            # one step from bounded inputs and parameters: below 2^200, so its digits print at once
            raise LayerError(
                "too_large",
                f"the {name} of {what} would be {n:,}, more than the limit of {MAX_SIZE:,} (2^40)",
                hint="a size this large comes from a chain that grows it (concatenation, transposed convolution, "
                "flatten of a large volume): shrink the sizes or the repeats",
            )
    return out


def _bounded(counts: Any) -> Any:
    """A kind's `counts`, with its output shape checked against MAX_SIZE (`check_shape`)."""

    @wraps(counts)
    def bounded(self: Any, shape: Shape) -> Counts:
        result = counts(self, shape)
        check_shape(result.out_shape)
        return result

    bounded.bounded = True  # type: ignore[attr-defined]
    return bounded


def _dims_text(values: tuple[int, ...]) -> str:
    return "x".join(str(v) for v in values)


def _compact(values: tuple[int, ...]) -> str:
    """One number when every dimension agrees (stride 4), else all of them (stride 2x1)."""
    return str(values[0]) if len(set(values)) == 1 else _dims_text(values)


def leave_out(cls: type[Layer], fields: dict[str, Any]) -> dict[str, Any]:
    """A layer's fields with each one its class lets it leave out (REQUIRED_UNLESS) set to None
    where it is left out: `{groups: depthwise}` gets `out_channels: None`. The union validator's
    `normalize_layer` and the Python constructor call it, so no validator runs per layer.

    >>> from archcalc.layers import Conv
    >>> leave_out(Conv, {"kernel": 3, "groups": "depthwise"})
    {'kernel': 3, 'groups': 'depthwise', 'out_channels': None}
    >>> leave_out(Conv, {"kernel": 3, "groups": "depthwise", "out": 8})
    {'kernel': 3, 'groups': 'depthwise', 'out': 8}
    >>> leave_out(Conv, {"kernel": 3, "groups": "Depthwise"})  # groups' own error is reported, not a missing out
    {'kernel': 3, 'groups': 'Depthwise', 'out_channels': None}
    """
    for name, (other, _value) in cls.REQUIRED_UNLESS.items():
        # any text there is the value (depthwise) or a bad value of `other`: that error is the one to report, alone
        if isinstance(fields.get(other), str) and not any(spelling in fields for spelling in _spellings(cls, name)):
            fields = {**fields, name: None}
    return fields


@cache
def _spellings(cls: type[Layer], name: str) -> tuple[str, ...]:
    """A field's name and its aliases (`out_channels`, `out`)."""
    alias = cls.model_fields[name].validation_alias
    return (name, *(str(choice) for choice in getattr(alias, "choices", ())))


def own_kinds(cls: type) -> tuple[str, ...]:
    """The kinds a layer class's `kind` field admits (its Literal's values)."""
    return tuple(get_args(cls.model_fields["kind"].annotation))  # type: ignore[attr-defined]


class Layer(BaseModel):
    """Fields and behaviour every kind shares."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    name: LayerName | None = Field(
        None, description="the layer's step in its row path (default: its kind and count in its list: conv1, relu2)"
    )
    trainable: bool = Field(True, description="its weights and biases learn (false: frozen, as LeNet-5's RBF vectors)")
    # the graph form: the earlier siblings this layer reads (one name; a merge kind: several),
    # instead of the layer before it
    from_: LayerName | Annotated[list[LayerName], WithJsonSchema(LAYER_NAMES_SCHEMA)] | None = Field(
        default=None,
        alias="from",
        description="graph form: the earlier layer of this list it reads (a merge kind: two or more)",
    )
    # merge kinds (add, concat, mul) combine several tensors (`merge_counts`) rather than map one
    merges: ClassVar[bool] = False
    # required fields a layer may leave out where another field has a value, as field -> (other, value):
    # a depthwise conv's out_channels. `leave_out` gives them None, which the kind resolves on use.
    REQUIRED_UNLESS: ClassVar[dict[str, tuple[str, str]]] = {}
    # a class that serves several kinds (relu, gelu, ...) says what each one is, one sentence each;
    # a class of one kind says it in its docstring's first line (`summary`)
    summaries: ClassVar[dict[str, str]] = {}
    # the ops its rows run, each with its rules (layers/ops.py); every kind states them, `()` for a
    # container with no row of its own, or `register_ops` refuses it at import
    ops: ClassVar[tuple[Op, ...] | None] = None

    def __init__(self, /, **data: Any) -> None:
        """Built in Python, a kind's class needs no `kind=`: `Conv(out=16, kernel=3)`. A class of
        several kinds (Activation, AdaptivePool, GlobalPool, Merge) takes `kind=`, or its per-kind
        class (`ReLU()`, layers/by_kind.py). Validation from YAML does not pass through here."""
        if "kind" not in data:
            kinds = own_kinds(type(self))
            if len(kinds) == 1:
                data["kind"] = kinds[0]
        try:
            super().__init__(**leave_out(type(self), data))
        except ValidationError as err:
            from ..constructor_errors import with_suggestions  # the error path only

            raise with_suggestions(err, type(self)) from None

    # Marked as pydantic marks BaseModel's and RootModel's own __init__: validation (a spec's
    # layers, from YAML or Python) then builds instances without calling it, as it would call an
    # overriding __init__ for every layer (a quarter more time per conv); Python's call `Conv(...)`
    # still runs it.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Every kind's `counts` is the one place a leaf's output shape comes from, for every walk
        (analysis, explanation, receptive fields, training, the torch builder, the calculator):
        wrap it once here so no kind can derive a size past MAX_SIZE (`check_shape`)."""
        super().__pydantic_init_subclass__(**kwargs)
        own = cls.__dict__.get("counts")
        if own is not None and not getattr(own, "bounded", False):
            cls.counts = _bounded(own)  # type: ignore[method-assign]

    @classmethod
    def summary(cls, kind: str) -> str:
        """What `kind` is, in one sentence (`archcalc kinds`): its line in `summaries`, else the first
        line of the class's docstring, which is therefore a whole sentence."""
        return cls.summaries.get(kind) or (cls.__doc__ or "").strip().splitlines()[0]

    def sources(self) -> tuple[str, ...] | None:
        """The sibling names `from:` gives (None: the layer reads the one before it)."""
        if self.from_ is None:
            return None
        return (self.from_,) if isinstance(self.from_, str) else tuple(self.from_)

    def lower(self, lowering: Any, inputs: tuple[int, ...], scope: Any) -> int:
        """Add this layer to the graph (`archcalc.graph.Lowering`): a leaf is one node reading one
        tensor; containers override this to lower their contents (the one walk of the tree)."""
        return lowering.leaf(self, inputs[0], scope)

    def rows(self) -> int:
        """How many rows the analysis of this layer produces (containers: their contents and merge)."""
        return 1

    # a container holds other layers: unnamed, it adds no step to the row paths (`name_level`)
    container: ClassVar[bool] = False

    def spliced(self) -> tuple[tuple[tuple[str | int, ...], list[Any]], ...]:
        """The lists (each with its field) whose layers sit in this container's level: its own level
        when it is named, else the enclosing one."""
        return ()

    def generated(self, seen: Counter[str]) -> list[Claim]:
        """The path steps this container puts in that level after its lists' layers (a merge row, a
        shortcut, branches, copy indices), each `at` relative to the container (None: itself);
        `seen` is the level's running counts (a repeat's copies continue the level's indices)."""
        return []

    def counts(self, shape: Shape) -> Counts:  # pragma: no cover - every leaf overrides it
        raise NotImplementedError

    def describe(self, shape: Shape) -> str:
        return ""

    def explain(self, shape: Shape) -> tuple[Derivation, ...]:
        """The derivation of this layer's output (and counts), formulas with numbers put in.

        The default suits element-wise kinds: the output is the input's shape.
        """
        out = self.counts(shape).out_shape
        if out == shape:
            return (Derivation("output", f"element-wise, output = input = {volume(out)}"),)
        return (Derivation("output", volume(out)),)

    def rf_step(self, shape: Shape) -> RFStep | None:
        """This kind's receptive-field step; None: position-wise (each output sees its own input).

        The default serves kinds that keep the spatial size (element-wise) or work on flat
        vectors; a kind that moves positions (a window, a resize) must override it.
        """
        out = self.counts(shape).out_shape
        if len(shape) == 1 or out[1:] == shape[1:]:
            return None
        if len(out) == 1:
            return RFStep(whole=True)
        raise LayerError(
            "no_receptive_field",
            f"{self.kind} changes the spatial size {shape[1:]} -> {out[1:]} but declares no receptive-field step",  # type: ignore[attr-defined]
            hint="give the kind an rf_step method (archcalc/layers/base.py: RFStep)",
        )

    def torch_call(self, shape: Shape) -> TorchCall:
        """The torch module that computes this layer on an input of `shape` (channels first)."""
        raise NotImplementedError(f"layer kind '{self.kind}' has no torch builder")  # type: ignore[attr-defined]


def torch_pad(padding: tuple[PadPair, ...]) -> tuple[int, ...]:
    """Per-dimension (before, after) pairs in torch's F.pad order: last dimension first.

    >>> torch_pad(((1, 2), (3, 4)))   # H: top 1, bottom 2; W: left 3, right 4
    (3, 4, 1, 2)
    """
    return tuple(v for pair in reversed(padding) for v in pair)


def padded_call(call: TorchCall, padding: tuple[PadPair, ...], value: float = 0.0) -> TorchCall:
    """`call` with its padding: symmetric padding goes to the op itself; asymmetric (SAME, per
    side) padding becomes a ConstantPad before it, as torch ops take symmetric padding only."""
    if all(a == b for a, b in padding):
        return TorchCall(call.cls, {**call.kwargs, "padding": tuple(a for a, _ in padding)})
    pad = TorchCall(f"ConstantPad{len(padding)}d", {"padding": torch_pad(padding), "value": value})
    return TorchCall("Sequential", parts=(pad, call))


def _spatial(shape: Shape, kind: str) -> tuple[int, tuple[int, ...]]:
    if not 2 <= len(shape) <= 4:
        got = f"a flat vector of {shape[0]} features" if len(shape) == 1 else f"shape {list(shape)}"
        raise LayerError(
            "wrong_input_rank",
            f"{kind} needs a [C, L], [C, H, W] or [C, D, H, W] input but receives {got}",
            hint="move the flatten after the last spatial layer" if len(shape) == 1 else None,
        )
    return shape[0], shape[1:]


def _flat(shape: Shape, kind: str) -> int:
    """The feature count of a flat input; a volume is an error that says where a flatten goes."""
    if len(shape) != 1:
        raise LayerError(
            "wrong_input_rank",
            f"{kind} needs a flat input but receives shape {list(shape)}",
            hint=f"add a flatten layer before it (it would see {prod(shape)} features)",
        )
    return shape[0]


def _expand(values: tuple[int, ...], dims: int, field: str) -> tuple[int, ...]:
    if len(values) == 1:
        return values * dims
    if len(values) != dims:
        names = "x".join(SPATIAL_NAMES[dims])
        raise LayerError(
            "wrong_rank",
            f"{field} has {len(values)} values but the input has {dims} spatial dimension(s) ({names})",
            field=field,
            hint=f"give one value or {dims} values",
        )
    return values


@dataclass(frozen=True, slots=True)
class Window:
    """A sliding window resolved against one input: everything per spatial dimension."""

    sizes: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[PadPair, ...]
    out: tuple[int, ...]

    def covered(self) -> int:
        """Edges per (input channel, output channel) pair: padding taps excluded."""
        return prod(
            arith.covered_pairs(n, o, k, s, p[0], d)
            for n, o, k, s, p, d in zip(self.sizes, self.out, self.kernel, self.stride, self.padding, self.dilation)
        )

    def derivations(self, ceil_mode: bool = False) -> tuple[Derivation, ...]:
        """Output size per dimension as the seeds write it; one line when every dimension agrees."""
        lines = [
            window_formula(n, k, s, p[0], p[1], d, o, ceil_mode)
            for n, k, s, p, d, o in zip(self.sizes, self.kernel, self.stride, self.padding, self.dilation, self.out)
        ]
        if len(set(lines)) == 1:
            return (Derivation("output" if len(lines) == 1 else "output (every dimension)", lines[0], self.out[0]),)
        names = SPATIAL_NAMES[len(lines)]
        return tuple(Derivation(f"output {name}", line, o) for name, line, o in zip(names, lines, self.out))

    def rf_step(self) -> RFStep:
        spans = tuple(arith.effective_kernel(k, d) for k, d in zip(self.kernel, self.dilation))
        return RFStep(span=spans, stride=self.stride, pad_before=tuple(p[0] for p in self.padding))

    def summary(self) -> str:
        text = _dims_text(self.kernel)
        if any(s != 1 for s in self.stride):
            text += f"/{_compact(self.stride)}"
        if any(p != (0, 0) for p in self.padding):
            if all(a == b for a, b in self.padding):
                text += f" p{_compact(tuple(a for a, _ in self.padding))}"
            else:
                text += " p" + ",".join(f"{a}+{b}" for a, b in self.padding)
        if any(d != 1 for d in self.dilation):
            text += f" d{_compact(self.dilation)}"
        return text


# A pure function of hashable values returning a frozen Window: the same conv or pool applied
# to the same input (a repeated block, a deep chain) resolves once.
@lru_cache(maxsize=4096)
def resolve_window(
    sizes: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    padding: Any,
    ceil_mode: bool = False,
) -> Window:
    """Resolve per-dimension kernel, stride, dilation and padding against input sizes."""
    dims = len(sizes)
    kernel = _expand(kernel, dims, "kernel_size")
    stride = _expand(stride, dims, "stride")
    dilation = _expand(dilation, dims, "dilation")
    if padding == "valid":
        pads: tuple[PadPair, ...] = ((0, 0),) * dims
    elif padding == "same":
        pads = tuple(arith.same_padding(n, k, s, d) for n, k, s, d in zip(sizes, kernel, stride, dilation))
    else:
        pads = padding * dims if len(padding) == 1 else padding
        if len(pads) != dims:
            raise LayerError(
                "wrong_rank",
                f"padding has {len(pads)} entries but the input has {dims} spatial dimension(s)",
                field="padding",
                hint=f"give one value or {dims} values",
            )
    out = []
    for axis, (n, k, s, p, d) in enumerate(zip(sizes, kernel, stride, pads, dilation)):
        try:
            out.append(arith.window_output_size(n, k, s, p[0], p[1], d, ceil_mode))
        except LayerError as err:
            err.message = f"in dimension {SPATIAL_NAMES[dims][axis]}, {err.message}"
            err.args = (err.message,)
            raise
    return Window(sizes=tuple(sizes), kernel=kernel, stride=stride, dilation=dilation, padding=pads, out=tuple(out))
