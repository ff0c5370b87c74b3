"""Every layer's derivation, in execution order: one pass over the lowered graph asking each
node's layer to `explain` itself, so its paths are the analysis rows' paths."""

from __future__ import annotations

from dataclasses import dataclass

from .formulas import Derivation
from .graph import Graph, lower
from .layers import Shape
from .layers.structure import merge_derivations
from .spec import Spec


@dataclass(frozen=True, slots=True)
class Explained:
    """One row of the analysis (same path and kind) with its derivations."""

    path: str
    kind: str
    derivations: tuple[Derivation, ...]


def explain(spec: Spec, input_shape: Shape | None = None) -> tuple[Explained, ...]:
    """Each analysis row's derivation: output sizes as (W - K + 2P)/S + 1, parameters, MACs.

    >>> from archcalc import load_spec
    >>> rows = explain(load_spec("alexnet"))
    >>> rows[0].derivations[0].formula
    '(227 - 11 + 2*0)/4 + 1 = 55'
    >>> next(r for r in rows if r.path == "fc6").derivations[0].formula
    '9216 x 4096 + 4096 = 37,752,832 parameters'
    """
    return explain_graph(lower(spec, input_shape))


def explain_graph(graph: Graph) -> tuple[Explained, ...]:
    """Each node's derivation: its layer's own, or the merge rule's for a merge node."""
    return tuple(
        Explained(
            node.path,
            node.kind,
            merge_derivations(node.kind, node.counts, len(node.inputs))
            if node.is_merge
            else node.layer.explain(node.in_shape),
        )
        for node in graph.nodes
    )
