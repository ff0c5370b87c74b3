"""An imported spec held to the model it came from: each row's output shape is the one torch gave.

The reader names each layer's kind and fields; archcalc's own shape inference then has to land on
the shape torch (or ONNX) reported for that layer. A difference is a wrong mapping, a bug in
archcalc, never the user's: it is raised as `ImportMismatch` (exit 4), with both shapes.
"""

from __future__ import annotations

from ..analysis import Analysis, analyze
from ..errors import SpecError
from ..loader import parse_spec
from .spec_text import spec_yaml
from .structure import spec_dict
from .traced import TracedModel


class ImportMismatch(Exception):
    """The spec written for a model does not load, or computes another shape than the model's: a bug."""


def checked_analysis(model: TracedModel, text: str) -> Analysis:
    """The analysis of `text`, the spec written for `model` (nested or flat), held to the model:
    the flat form's rows (one per traced layer, in order) each give the traced output shape, and
    the written spec's totals equal the flat form's, so nesting and templates changed no count."""
    flat = _loaded(model, spec_yaml(spec_dict(model), []))
    _same_shapes(model, flat)
    written = _loaded(model, text)
    for what in ("weights", "biases", "buffers", "connections", "macs", "units"):
        ours, theirs = getattr(written.totals, what), getattr(flat.totals, what)
        if ours != theirs:
            raise ImportMismatch(f"the spec written for the model counts {what} {ours:,}, its flat form {theirs:,}")
    return written


def _loaded(model: TracedModel, text: str) -> Analysis:
    try:
        return analyze(parse_spec(text, f"<{model.name}>"))
    except SpecError as err:
        raise ImportMismatch(f"the spec written for the model does not load: {err}") from None


def _same_shapes(model: TracedModel, analysis: Analysis) -> None:
    """Rows follow the layers in order (the flat form may put an `input` identity row first, for
    `from:` to name the input)."""
    rows = analysis.rows[len(analysis.rows) - len(model.layers) :]
    for row, layer in zip(rows, model.layers):
        ours = tuple(row.counts.out_shape)
        if ours != layer.out_shape:
            raise ImportMismatch(
                f"layer {'.'.join(layer.path)} ({layer.module_type} as {layer.kind}): archcalc computes output "
                f"shape {list(ours)}, torch gave {list(layer.out_shape)}"
            )
