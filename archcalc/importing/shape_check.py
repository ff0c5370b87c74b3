"""An imported spec held to the model it came from: each row's output shape is the one torch gave.

The reader names each layer's kind and fields; archcalc's own shape inference then has to land on
the shape torch (or ONNX) reported for that layer. A difference is a wrong mapping, a bug in
archcalc, never the user's: it is raised as `ImportMismatch` (exit 4), with both shapes.
"""

from __future__ import annotations

from collections import Counter

from ..analysis import Analysis, analyze
from ..errors import SpecError
from ..loader import parse_spec
from .traced import TracedLayer, TracedModel


class ImportMismatch(Exception):
    """The spec written for a model does not load, or computes another shape than the model's: a bug."""


def checked_analysis(model: TracedModel, text: str) -> Analysis:
    """`text`, a spec written for `model` (flat or nested), loaded and analysed, each traced layer's
    output shape found among the rows. A row whose path is the layer's module path (dotted, or the
    flat form's `_`-joined name) is compared directly; then every (kind, shape) the model has must
    be some row's, as many times (a nested spec may order and name its rows otherwise)."""
    try:
        analysis = analyze(parse_spec(text, f"<{model.name}>"))
    except SpecError as err:
        raise ImportMismatch(f"the spec written for the model does not load: {err}") from None
    rows = {row.path: row for row in analysis.rows}
    have: Counter[tuple[str, tuple[int, ...]]] = Counter(
        (row.kind, tuple(row.counts.out_shape)) for row in analysis.rows
    )
    for layer in model.layers:
        row = rows.get(".".join(layer.path)) or rows.get("_".join(layer.path))
        if row is not None and row.kind == layer.kind and tuple(row.counts.out_shape) != layer.out_shape:
            raise _mismatch(layer, f"archcalc computes output shape {list(row.counts.out_shape)} at row {row.path}")
        key = (layer.kind, layer.out_shape)
        if have[key] < 1:
            shapes = sorted({list(s).__repr__() for k, s in have if k == layer.kind})
            raise _mismatch(
                layer, f"no {layer.kind} row computes that shape (its rows compute {', '.join(shapes) or 'none'})"
            )
        have[key] -= 1
    return analysis


def _mismatch(layer: TracedLayer, what: str) -> ImportMismatch:
    return ImportMismatch(
        f"layer {'.'.join(layer.path)} ({layer.module_type} as {layer.kind}): torch gave output shape "
        f"{list(layer.out_shape)}; {what}"
    )
