"""Structural kinds: named blocks, parallel branches (concat or add), residuals, repetition.

They hold other layers (annotated as the `LayerSpec` union, resolved by the registry in
`__init__.py`) and implement `walk` instead of `counts`.
"""

from __future__ import annotations

from math import prod
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ..errors import LayerError
from ..fields import Size
from .base import Counts, FieldWalker, Layer, Shape, Walker

if TYPE_CHECKING:
    LayerSpec = Layer


def _merge(kind: str, shapes: list[Shape]) -> Counts:
    """Output of merging branch outputs by channel concatenation or element-wise addition."""
    first = shapes[0]
    listing = ", ".join(str(list(s)) for s in shapes)
    if kind == "concat":
        if any(len(s) != len(first) or s[1:] != first[1:] for s in shapes):
            raise LayerError(
                "branch_mismatch",
                f"branches cannot be concatenated along channels: their outputs are {listing}",
                hint="every branch must keep the same spatial size (check strides and padding)",
            )
        return Counts(out_shape=(sum(s[0] for s in shapes), *first[1:]))
    if any(s != first for s in shapes):
        raise LayerError(
            "branch_mismatch",
            f"branches cannot be added: their outputs are {listing}",
            hint="use a projection shortcut (1x1 conv with the same stride and channels) to match shapes",
        )
    units = prod(first)
    return Counts(out_shape=first, units=units, connections=units * len(shapes))


class Block(Layer):
    """A named sequential group of layers."""

    kind: Literal["block"]
    layers: list[LayerSpec] = Field(min_length=1)

    def walk(self, shape: Shape, walker: Walker, scope: Any) -> Shape:
        return walker.run(self.layers, shape, scope, ("layers",))

    def receptive(self, shape: Shape, field: Any, walker: FieldWalker, scope: Any) -> tuple[Shape, Any]:
        return walker.run(self.layers, shape, field, scope, ("layers",))


class Branch(BaseModel):
    """One path of a `parallel` layer; an empty branch is the identity."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str | None = None
    layers: list[LayerSpec] = Field(default_factory=list)


def _branch_from_list(value: Any) -> Any:
    return {"layers": value} if isinstance(value, list) else value


class Parallel(Layer):
    """Branches applied to the same input, merged by channel concat (Inception) or by add."""

    kind: Literal["parallel"]
    merge: Literal["concat", "add"]
    branches: list[Annotated[Branch, BeforeValidator(_branch_from_list)]] = Field(min_length=1)

    def walk(self, shape: Shape, walker: Walker, scope: Any) -> Shape:
        outs = []
        for i, branch in enumerate(self.branches):
            sub = walker.child(scope, branch.name or f"b{i + 1}", ("branches", i))
            outs.append(walker.run(branch.layers, shape, sub, ("layers",)))
        counts = _merge(self.merge, outs)
        walker.emit(walker.child(scope, self.merge, ()), self.merge, f"{len(outs)} branches", shape, counts)
        return counts.out_shape

    def receptive(self, shape: Shape, field: Any, walker: FieldWalker, scope: Any) -> tuple[Shape, Any]:
        """Every branch starts from the same field; the merge takes the largest over paths."""
        outs, fields = [], []
        for i, branch in enumerate(self.branches):
            sub = walker.child(scope, branch.name or f"b{i + 1}", ("branches", i))
            out, branch_field = walker.run(branch.layers, shape, field, sub, ("layers",))
            outs.append(out)
            fields.append(branch_field)
        out_shape = _merge(self.merge, outs).out_shape
        return out_shape, walker.merge(walker.child(scope, self.merge, ()), self.merge, shape, out_shape, fields)


class Residual(Layer):
    """body(x) + shortcut(x); the shortcut is the identity unless layers are given (projection)."""

    kind: Literal["residual"]
    body: list[LayerSpec] = Field(min_length=1)
    shortcut: list[LayerSpec] = Field(default_factory=list)

    def walk(self, shape: Shape, walker: Walker, scope: Any) -> Shape:
        body = walker.run(self.body, shape, scope, ("body",))
        short = walker.run(self.shortcut, shape, walker.child(scope, "shortcut", ()), ("shortcut",))
        counts = _merge("add", [body, short])
        walker.emit(walker.child(scope, "add", ()), "add", "residual", shape, counts)
        return counts.out_shape

    def receptive(self, shape: Shape, field: Any, walker: FieldWalker, scope: Any) -> tuple[Shape, Any]:
        """The body's field and the shortcut's (the input's own, for the identity), merged."""
        body, body_field = walker.run(self.body, shape, field, scope, ("body",))
        short, short_field = walker.run(self.shortcut, shape, field, walker.child(scope, "shortcut", ()), ("shortcut",))
        out_shape = _merge("add", [body, short]).out_shape
        return out_shape, walker.merge(walker.child(scope, "add", ()), "add", shape, out_shape, [body_field, short_field])


class Repeat(Layer):
    """The same layers applied `times` times in sequence (copies named 0, 1, ...)."""

    kind: Literal["repeat"]
    times: Size
    layers: list[LayerSpec] = Field(min_length=1)

    def walk(self, shape: Shape, walker: Walker, scope: Any) -> Shape:
        for copy in range(self.times):
            shape = walker.run(self.layers, shape, walker.child(scope, str(copy), ()), ("layers",))
        return shape

    def receptive(self, shape: Shape, field: Any, walker: FieldWalker, scope: Any) -> tuple[Shape, Any]:
        for copy in range(self.times):
            shape, field = walker.run(self.layers, shape, field, walker.child(scope, str(copy), ()), ("layers",))
        return shape, field
