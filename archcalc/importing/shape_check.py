"""An imported spec held to the model it came from: each row's output shape is the one torch gave.

The reader names each layer's kind and fields; archcalc's own shape inference then has to land on
the shape torch (or ONNX) reported for that layer. A difference is a wrong mapping, a bug in
archcalc, never the user's: it is raised as `ImportMismatch` (exit 4), with both shapes.
"""

from __future__ import annotations

from ..analysis import Analysis, analyze
from ..errors import SpecError
from ..loader import parse_spec
from .traced import TracedModel


class ImportMismatch(Exception):
    """The spec written for a model does not load, or computes another shape than the model's: a bug."""


def checked_analysis(model: TracedModel, text: str) -> Analysis:
    """`text`, the flat spec of `model` (structure.spec_dict, as spec_text writes it), loaded and
    analysed, every layer's output shape compared with the traced one. Rows follow the layers in
    order (the flat form may put an `input` identity row first, for `from:` to name the input)."""
    try:
        analysis = analyze(parse_spec(text, f"<{model.name}>"))
    except SpecError as err:
        raise ImportMismatch(f"the spec written for the model does not load: {err}") from None
    rows = analysis.rows[len(analysis.rows) - len(model.layers) :]
    for row, layer in zip(rows, model.layers):
        ours = tuple(row.counts.out_shape)
        if ours != layer.out_shape:
            raise ImportMismatch(
                f"layer {'.'.join(layer.path)} ({layer.module_type} as {layer.kind}): archcalc computes output "
                f"shape {list(ours)}, torch gave {list(layer.out_shape)}"
            )
    return analysis
