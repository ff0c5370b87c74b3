"""Structural kinds: named blocks, parallel branches (concat, add or mul), residuals, repetition.

They hold other layers (annotated as the `LayerSpec` union, resolved by the registry in
`__init__.py`) and implement `lower` (how they become graph nodes) instead of `counts`. The merge
kinds (`add`, `concat`, `mul`) combine tensors: a container generates them, and the graph form
writes them with `from:`.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from math import prod
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ..errors import LayerError
from ..fields import Count, LayerName, Start
from ..formulas import Derivation, volume
from ..numfmt import fmt_int
from .base import (
    LEVEL_HINT,
    Claim,
    Counts,
    Layer,
    Shape,
    TorchCall,
    check_claims,
    check_shape,
    check_spliced,
    graph_list,
    layer_list,
    level_claims,
    level_graph_list,
    numbered,
    splice,
)
from .ops import Op, Saves

# the merge ops: add's and concat's backward needs no tensor; mul's needs every input (each
# gradient is the other inputs' product); ptflops counts merge adds (elementwise_adds) and torch.mul
ADD = Op("add", Saves(), fusion="pointwise", grad_passes=True)  # AddBackward returns its gradient to both inputs
CONCAT = Op("concat", Saves(), fusion="concat", grad_passes=True)  # CatBackward returns slices (views) of it
MUL = Op(
    "mul", Saves(inputs=True), fusion="pointwise", costs={"ptflops": {"per_output": 1}}, grad_sums_broadcast=True
)  # squeeze-and-excitation's scaling

if TYPE_CHECKING:
    LayerSpec = Layer


def _listing(shapes: list[Shape]) -> str:
    """The merged shapes as an error quotes them: each one while they are few; past eight (a merge
    of 10,000 inputs) each distinct shape once, with how many inputs have it and the position
    (1-based, in `from:` or branch order) of the first, so the odd one is named, not cut off.

    >>> _listing([(1, 4, 4)] * 9 + [(2, 4, 4)])
    '[1, 4, 4] x9 (first at position 1), [2, 4, 4] x1 (first at position 10)'
    """
    if len(shapes) <= 8:
        return ", ".join(str(list(s)) for s in shapes)
    first: dict[Shape, int] = {}
    for position, shape in enumerate(shapes, 1):
        first.setdefault(shape, position)
    count = Counter(shapes)
    return ", ".join(f"{list(s)} x{count[s]:,} (first at position {first[s]:,})" for s in first)


def _broadcast(shapes: list[Shape], what: str) -> Counts:
    """Element-wise product with broadcasting: per dimension, sizes agree or are 1 (squeeze-and-
    excitation multiplies [C, H, W] by [C, 1, 1]). Ranks must agree: channels-first shapes aligned
    from the right (torch's rule) would pair a [C] vector with W, never what a spec means.

    Each output element reads one element of every branch (connections); the products are
    element-wise work, not multiply-accumulates of a conv or linear layer, so MACs stay 0.
    """
    if any(len(s) != len(shapes[0]) for s in shapes):
        raise LayerError(
            "branch_mismatch",
            f"{what} cannot be multiplied: their outputs {_listing(shapes)} differ in rank",
            hint="keep singleton dimensions (global pooling does) so that shapes such as [C, 1, 1] broadcast",
        )
    out = []
    for sizes in zip(*shapes):
        wide = {n for n in sizes if n != 1}
        if len(wide) > 1:
            raise LayerError(
                "branch_mismatch",
                f"{what} cannot be multiplied: their outputs are {_listing(shapes)}",
                hint="in every dimension the sizes must agree or be 1 (broadcast)",
            )
        out.append(wide.pop() if wide else 1)
    units = prod(out)
    return Counts(
        out_shape=tuple(out),
        units=units,
        connections=units * len(shapes),
        op=MUL.name,
        op_in_elements=sum(prod(s) for s in shapes),
    )


def _merge(kind: str, shapes: list[Shape], what: str = "branches") -> Counts:
    """Output of merging tensors by channel concatenation, element-wise addition, or element-wise
    multiplication with broadcasting; its sizes within MAX_SIZE (`check_shape`). `what` names the
    merged tensors in errors: a container's branches, or the layers a graph-form merge reads."""
    counts = _merged(kind, shapes, what)
    check_shape(counts.out_shape, f"the {kind} of {'its branches' if what == 'branches' else what}")
    return counts


def _merged(kind: str, shapes: list[Shape], what: str) -> Counts:
    first = shapes[0]
    if kind == "mul":
        return _broadcast(shapes, what)
    if kind == "concat":
        if any(len(s) != len(first) or s[1:] != first[1:] for s in shapes):
            raise LayerError(
                "branch_mismatch",
                f"{what} cannot be concatenated along channels: their outputs are {_listing(shapes)}",
                hint="every one must keep the same spatial size (check strides and padding)",
            )
        return Counts(
            out_shape=(sum(s[0] for s in shapes), *first[1:]),
            op=CONCAT.name,
            op_in_elements=sum(prod(s) for s in shapes),
        )
    if any(s != first for s in shapes):
        raise LayerError(
            "branch_mismatch",
            f"{what} cannot be added: their outputs are {_listing(shapes)}",
            hint="use a projection shortcut (1x1 conv with the same stride and channels) to match shapes",
        )
    units = prod(first)
    return Counts(
        out_shape=first,
        units=units,
        connections=units * len(shapes),
        op=ADD.name,
        elementwise_adds=units * (len(shapes) - 1),
        op_in_elements=units * len(shapes),
    )


def merge_derivations(kind: str, counts: Counts, inputs: int) -> tuple[Derivation, ...]:
    """How a merge node's output comes about (`shapes --explain`), beside `_merge`'s rules: from its
    kind, its counts and how many tensors it reads."""
    out = counts.out_shape
    if kind == "concat":
        return (Derivation("output", f"branch outputs concatenated along channels -> {volume(out)}", out[0]),)
    how = "added" if kind == "add" else "multiplied (broadcast)" if kind == "mul" else f"merged ({kind})"
    text = f"{fmt_int(inputs)} inputs {how} element-wise -> {volume(out)}, {counts.units:,} units"
    return (Derivation("output", text, counts.units),)


class Merge(Layer):
    """Tensors combined into one: `concat` along channels, element-wise `add`, or `mul` with broadcasting.

    Written in the graph form as `{kind: add, from: [a, b]}`; `parallel` and `residual` generate
    one for their branches.
    """

    kind: Literal["add", "concat", "mul"]
    summaries = {
        "add": "The element-wise sum of two or more tensors of one shape (graph form: `from: [a, b]`).",
        "concat": "Two or more tensors joined along channels; other sizes agree (graph form: `from: [a, b]`).",
        "mul": "The element-wise product of two or more tensors, broadcast (squeeze-and-excitation's gate).",
    }
    ops = (ADD, CONCAT, MUL)
    merges: ClassVar[bool] = True

    def merge_counts(self, shapes: list[Shape]) -> Counts:
        # a merge written in the spec reads the layers its `from:` names; one a container generates
        # (merge_layer: no `from:`) reads the container's branches
        return _merge(self.kind, shapes, "branches" if self.from_ is None else "the layers it reads")

    def lower(self, lowering: Any, inputs: tuple[int, ...], scope: Any) -> int:
        return lowering.merge(scope, self, f"{fmt_int(len(inputs))} inputs", inputs, lowering.shapes[inputs[0]])

    def torch_call(self, shape: Shape) -> TorchCall:
        return TorchCall("Merge", {"op": self.kind})


@cache
def merge_layer(kind: str) -> Merge:
    """The merge layer a container generates (one per merge kind, made on first use)."""
    return Merge(kind=kind)


def _own_level(layer: Layer) -> None:
    """A named container starts a level of the paths: what it holds there differs (`level_claims`).
    An unnamed one's contents are checked with the level that holds them."""
    if layer.name is not None:
        check_claims(level_claims(layer), LEVEL_HINT)
        check_spliced(layer, splice(layer, (), Counter(), None)[0])


class Block(Layer):
    """A sequential group of layers (a `use:` site becomes one): a level of the paths when named."""

    kind: Literal["block"]
    ops = ()  # its layers' rows only
    container = True
    layers: Annotated[list[LayerSpec], BeforeValidator(layer_list), AfterValidator(graph_list)] = Field(
        min_length=1, description="the layers, applied in order"
    )

    @model_validator(mode="after")
    def _one_namespace(self) -> Block:
        _own_level(self)
        return self

    def spliced(self) -> tuple[tuple[tuple[str | int, ...], list[Any]], ...]:
        return ((("layers",), self.layers),)

    def rows(self) -> int:
        return sum(layer.rows() for layer in self.layers)

    def lower(self, lowering: Any, inputs: tuple[int, ...], scope: Any) -> int:
        (names,), _ = lowering.contents(self, scope)
        return lowering.sequence(self.layers, inputs[0], scope, ("layers",), names=names)

    def torch_call(self, shape: Shape) -> TorchCall:
        return TorchCall("Chain")


class Branch(BaseModel):
    """One path of a `parallel` layer; an empty branch is the identity."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    name: LayerName | None = Field(
        None, description="the branch's step in its row paths (default: b1, b2, ... by position in its level)"
    )
    spliced: bool = Field(
        False,
        description="its layers sit in the parallel's level, with no step of their own (as a residual's body's do), "
        "so rows keep a model's module paths (squeeze-and-excitation's `se.fc1`); not with `name`",
    )
    layers: Annotated[list[LayerSpec], BeforeValidator(layer_list), AfterValidator(graph_list)] = Field(
        default_factory=list, description="the branch's layers, in order (none: the identity)"
    )

    @model_validator(mode="after")
    def _own_level(self) -> Branch:
        """A branch with a step of its own is a level: its names and `from:` are checked here; a
        spliced one's by the level it sits in (`Parallel.spliced`), which knows their steps."""
        if self.spliced and self.name is not None:
            raise LayerError(
                "bad_value",
                f"a spliced branch has no step of its own, but it is named '{self.name}'",
                hint="leave out `name` (its layers sit in the parallel's level) or `spliced` (a level named `name`)",
            )
        if not self.spliced:
            level_graph_list(self.layers)
        return self


def _branch_from_list(value: Any) -> Any:
    return {"layers": value} if isinstance(value, list) else value


class Parallel(Layer):
    """Branches that read the same input, merged by concat (Inception), add, or mul (broadcast).

    mul is the element-wise product with broadcasting: squeeze-and-excitation's x * gate(x).
    """

    kind: Literal["parallel"]
    ops = (CONCAT, ADD, MUL)  # its merge row's
    merge: Literal["concat", "add", "mul"] = Field(
        description="how the branch outputs combine: concat along channels, element-wise add, or mul (broadcast)"
    )
    branches: list[Annotated[Branch, BeforeValidator(_branch_from_list)]] = Field(
        min_length=1, description="the paths, each a list of layers or {name, layers}; each reads the same input"
    )

    container = True

    def spliced(self) -> tuple[tuple[tuple[str | int, ...], list[Any]], ...]:
        return tuple((("branches", i, "layers"), b.layers) for i, b in enumerate(self.branches) if b.spliced)

    def generated(self, seen: Counter[str]) -> list[Claim]:
        """Each branch's step: its own `name`, else b1, b2, ... by its position, counted on from the
        branches of the level's earlier parallels (a spliced branch has none, but counts); then the
        merge row, named after the merge (concat, add, mul; the level's second one of that name concat2, ...)."""
        claims = []
        before = seen["#branch"]  # branches of the level's earlier parallels: positions go on from there
        seen["#branch"] += len(self.branches)
        for i, branch in enumerate(self.branches):
            if branch.spliced:
                continue
            if branch.name:
                what = f"the parallel's branch {i + 1} (branches[{i}])"
                claims.append(Claim(branch.name, what, at=("branches", i), written=True))
            else:
                name = f"b{before + i + 1}"
                what = f"the parallel's branch {i + 1} (branches[{i}]; unnamed: named {name} by its position)"
                claims.append(Claim(name, what, at=("branches", i)))
        merge = numbered(seen, self.merge)
        claims.append(Claim(merge, f"the parallel's merge row (merge: {self.merge})"))
        return claims

    @model_validator(mode="after")
    def _one_namespace(self) -> Parallel:
        _own_level(self)
        return self

    def rows(self) -> int:
        return 1 + sum(layer.rows() for branch in self.branches for layer in branch.layers)

    def lower(self, lowering: Any, inputs: tuple[int, ...], scope: Any) -> int:
        """Every branch reads the parallel's input; a merge node of the `merge` kind reads them all.
        A spliced branch's layers are named in the enclosing level, as a residual's body's are."""
        trees, (*names, merge) = lowering.contents(self, scope)
        steps, lists = iter(names), iter(trees)
        outs = tuple(
            lowering.sequence(branch.layers, inputs[0], scope, ("branches", i, "layers"), names=next(lists))
            if branch.spliced
            else lowering.level(branch.layers, inputs[0], scope.child(next(steps), ("branches", i)), ("layers",))
            for i, branch in enumerate(self.branches)
        )
        summary = f"{fmt_int(len(outs))} branches"
        return lowering.merge(
            scope.child(merge, ()), merge_layer(self.merge), summary, outs, lowering.shapes[inputs[0]]
        )

    def torch_call(self, shape: Shape) -> TorchCall:
        return TorchCall("Fork", {"merge": self.merge})


class Residual(Layer):
    """body(x) + shortcut(x); the shortcut is the identity unless layers are given (projection)."""

    kind: Literal["residual"]
    ops = (ADD,)  # its merge row's
    body: Annotated[list[LayerSpec], BeforeValidator(layer_list), AfterValidator(graph_list)] = Field(
        min_length=1, description="the residual path's layers, in order"
    )
    shortcut: Annotated[list[LayerSpec], BeforeValidator(layer_list), AfterValidator(level_graph_list)] = Field(
        default_factory=list, description="the shortcut's layers (none: the identity; a 1x1 conv: a projection)"
    )
    shortcut_name: LayerName | None = Field(
        None,
        description="the shortcut's step in its layers' row paths (default: shortcut, shortcut2, ... in its level); "
        "a model's projection module, e.g. torchvision's `downsample`",
    )
    # the names a residual generates beside its body's layers: the shortcut's step of the path
    # (an identity shortcut too: the built module holds it, empty) and the merge row
    SHORTCUT: ClassVar[str] = "shortcut"
    MERGE: ClassVar[str] = "add"
    container = True

    def spliced(self) -> tuple[tuple[tuple[str | int, ...], list[Any]], ...]:
        return ((("body",), self.body),)

    def generated(self, seen: Counter[str]) -> list[Claim]:
        """Its shortcut's step and its merge row: `shortcut` (or its `shortcut_name`) and `add`
        for the level's first residual, then shortcut2 and add2, ... (`numbered`)."""
        named = self.shortcut_name is not None
        shortcut = self.shortcut_name or numbered(seen, self.SHORTCUT)
        merge = numbered(seen, self.MERGE)
        return [
            Claim(
                shortcut,
                f"the residual's shortcut ('{shortcut}': its projection layers' path)",
                at=("shortcut_name",) if named else None,
                written=named,
            ),
            Claim(merge, f"the residual's merge row ('{merge}': body + shortcut)"),
        ]

    @model_validator(mode="after")
    def _one_namespace(self) -> Residual:
        _own_level(self)
        return self

    def rows(self) -> int:
        return 1 + sum(layer.rows() for layer in (*self.body, *self.shortcut))

    def lower(self, lowering: Any, inputs: tuple[int, ...], scope: Any) -> int:
        """The body and the shortcut (the identity when empty) read the input; an add node merges them."""
        (names,), (shortcut, merge_name) = lowering.contents(self, scope)
        body = lowering.sequence(self.body, inputs[0], scope, ("body",), names=names)
        short = lowering.level(self.shortcut, inputs[0], scope.child(shortcut, ()), ("shortcut",))
        merge = scope.child(merge_name, ())
        return lowering.merge(merge, merge_layer("add"), "residual", (body, short), lowering.shapes[inputs[0]])

    def torch_call(self, shape: Shape) -> TorchCall:
        return TorchCall("Fork", {"merge": "add"})


class Repeat(Layer):
    """The same layers applied `times` times in sequence, each copy a level named by its index.

    Zero copies (`times: 0`) are the identity: they add no rows: the input passes through, so a template's `times: "${n - 1}"` holds for n = 1."""

    # Copies number from `start`, else on from the level's earlier copies (0 for the first): two
    # unnamed repeats in one level number 0, 1, then 2, 3, so they never clash. A named repeat adds
    # its name before the index.

    kind: Literal["repeat"]
    ops = ()  # its copies' rows only
    container = True
    times: Count = Field(description="how many copies, applied one after another (0: none, the identity)")
    start: Start | None = Field(
        None, description="the first copy's index in the path (default: on from the level's earlier copies, else 0)"
    )
    layers: Annotated[list[LayerSpec], BeforeValidator(layer_list), AfterValidator(level_graph_list)] = Field(
        min_length=1, description="the layers of one copy"
    )

    # the level's running count of copy indices (`seen`, name_level's counter)
    COPIES: ClassVar[str] = "#copies"

    def generated(self, seen: Counter[str]) -> list[Claim]:
        first = seen[self.COPIES] if self.start is None else self.start
        seen[self.COPIES] = max(seen[self.COPIES], first + self.times)
        return [
            Claim(f"{first}..{first + self.times - 1}", "the repeat's copy", copies=range(first, first + self.times))
        ]

    def rows(self) -> int:
        return self.times * sum(layer.rows() for layer in self.layers)

    def lower(self, lowering: Any, inputs: tuple[int, ...], scope: Any) -> int:
        """`times` copies in sequence: `graph.lower` refuses a spec whose `rows()` pass MAX_ROWS
        before lowering starts, so this loop is bounded by the limit, not by the number written."""
        _, (copies,) = lowering.contents(self, scope)
        tensor = inputs[0]
        for copy in copies:
            tensor = lowering.level(self.layers, tensor, scope.child(str(copy), ()), ("layers",))
        return tensor

    def torch_call(self, shape: Shape) -> TorchCall:
        return TorchCall("Chain")
