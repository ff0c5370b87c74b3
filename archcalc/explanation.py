"""Every layer's derivation, in execution order: a second walk that asks each layer to `explain`.

Kept out of `analyze` so the counting fold stays as it is; this pass walks the same tree with
the same names (`archcalc.analysis.named_layers`), so its paths match the analysis rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .analysis import ROOT, Scope, _Walker, walk_spec
from .formulas import Derivation
from .layers import Counts, Shape
from .layers.structure import merge_derivations
from .spec import Spec


@dataclass(frozen=True, slots=True)
class Explained:
    """One row of the analysis (same path and kind) with its derivations."""

    path: str
    kind: str
    derivations: tuple[Derivation, ...]


class _ExplainWalker(_Walker):
    memoize = False  # every row needs its layer's own derivation, so nothing is copied

    def __init__(self) -> None:
        super().__init__()
        self.layers: dict[tuple[str, ...], Any] = {}
        self.explained: list[Explained] = []

    def visit(self, layer: Any, shape: Shape, scope: Scope) -> Shape:
        self.layers[scope.path] = layer
        return super().visit(layer, shape, scope)

    def emit(self, scope: Scope, kind: str, summary: str, in_shape: Shape, counts: Counts) -> None:
        super().emit(scope, kind, summary, in_shape, counts)
        layer = self.layers.get(scope.path)
        lines = layer.explain(in_shape) if layer is not None else merge_derivations(kind, counts)
        self.explained.append(Explained(".".join(scope.path), kind, tuple(lines)))


def explain(spec: Spec, input_shape: Shape | None = None) -> tuple[Explained, ...]:
    """Each analysis row's derivation: output sizes as (W - K + 2P)/S + 1, parameters, MACs.

    >>> from archcalc import load_spec
    >>> rows = explain(load_spec("alexnet"))
    >>> rows[0].derivations[0].formula
    '(227 - 11 + 2*0)/4 + 1 = 55'
    >>> next(r for r in rows if r.path == "fc6").derivations[0].formula
    '9216 x 4096 + 4096 = 37,752,832 parameters'
    """
    shape = tuple(input_shape or spec.input)
    walker = _ExplainWalker()
    walk_spec(spec, lambda: walker.run(spec.layers, shape, ROOT, ("layers",)))
    return tuple(walker.explained)
