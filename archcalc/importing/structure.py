"""A traced model -> a spec as plain data, ready for `spec_text.spec_yaml`.

`spec_dict` writes the flat graph form: every layer at the top level, named by its module path
with the steps joined by `_` (`layer1_0_conv1`), `from:` where a layer does not read the layer
before it, `outputs:` when the model returns several tensors. It is valid for any traced model,
and the nested form (`nested`) is checked against it.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import SpecError
from .leaf import leaf
from .names import level_names
from .traced import MODEL_INPUT, TracedModel

# an identity row put first where a later layer reads the model's input: `from:` reads only a
# named layer of the list, and the list's input has no name
INPUT_NAME = "input"


def spec_name(name: str) -> str:
    """The model's name as the spec's `name:` (letters, digits, `_ . + -`, starting with a letter
    or digit, at most 100 characters).

    >>> spec_name("ResNet"), spec_name("my model!"), spec_name("__x"), spec_name("")
    ('ResNet', 'my_model_', 'x', 'model')
    """
    text = re.sub(r"[^A-Za-z0-9_.+-]", "_", name).lstrip("_.+-")[:100]
    return text or "model"


def _reads_input_later(model: TracedModel) -> bool:
    return any(MODEL_INPUT in layer.inputs for layer in model.layers[1:]) or MODEL_INPUT in model.outputs


def spec_dict(model: TracedModel) -> dict[str, Any]:
    """The model as a valid spec in the flat graph form (see the module docstring)."""
    if not model.layers:
        raise SpecError("empty_model", f"the model '{spec_name(model.name)}' has no layers to write")
    first_input = _reads_input_later(model)
    joined = ["_".join(layer.path) if layer.path else layer.kind for layer in model.layers]
    names = level_names(joined, (INPUT_NAME,) if first_input else ())
    layers: list[Any] = [{"identity": {"name": INPUT_NAME}}] if first_input else []
    for i, layer in enumerate(model.layers):
        refs = [INPUT_NAME if j == MODEL_INPUT else names[j] for j in layer.inputs]
        follows = len(layer.inputs) == 1 and (layer.inputs[0] == i - 1 or (i == 0 and not first_input))
        if i == 0 and first_input and layer.inputs == (MODEL_INPUT,):
            follows = True  # the identity row just before it
        reads: str | list[str] | None = None
        if len(refs) > 1 or _merges(layer.kind):
            reads = refs
        elif not follows:
            reads = refs[0]
        layers.append(leaf(layer.kind, layer.fields, names[i], reads))
    spec: dict[str, Any] = {"name": spec_name(model.name), "input": list(model.input_shape), "layers": layers}
    last = len(model.layers) - 1
    if tuple(model.outputs) != (last,):
        spec["outputs"] = [INPUT_NAME if j == MODEL_INPUT else names[j] for j in model.outputs]
    return spec


def _merges(kind: str) -> bool:
    return kind in ("add", "concat", "mul")
