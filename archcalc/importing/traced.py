"""What a reader found in a model: its layers as spec kinds, in execution order, as plain data.

The one record every reader (torch.fx, torch.export, ONNX) produces and `structure` consumes, so
nesting, naming and templates are written once, whatever the model came from. No torch here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# `TracedLayer.inputs` entry for the model's input tensor
MODEL_INPUT = -1


@dataclass(frozen=True, slots=True)
class TracedLayer:
    """One layer of the model, as a spec layer: `kind` and `fields` are what the spec writes
    (canonical field names, plain Python values: `{"out_channels": 64, "kernel_size": [7, 7]}`).

    `path` is the module path of the call (`("layer1", "0", "conv1")`); a module called more than
    once gets `relu`, `relu_1`, `relu_2` as its last step, in call order. A function or tensor method
    called inside a module's forward (`torch.cat`, `x + y`) has that module's path plus its own step
    (`("layer1", "0", "add")`). `inputs` are indices of earlier layers in `TracedModel.layers`, or
    `MODEL_INPUT`. `out_shape` is the shape torch (or ONNX shape inference) gave the output, without
    the batch dimension: the spec's own shape inference is checked against it. `source` is where the
    call is written (`file.py:123`), for messages."""

    path: tuple[str, ...]
    kind: str
    fields: dict[str, Any]
    inputs: tuple[int, ...]
    out_shape: tuple[int, ...]
    source: str = ""
    module_type: str = ""  # the torch class (`Conv2d`) or op (`aten::add`, ONNX `Add`), for messages


@dataclass(frozen=True, slots=True)
class TracedModel:
    """A whole model read by one reader: `input_shape` without the batch dimension, `layers` in
    execution order, `outputs` the layers the model returns (in order), `method` how it was read
    (`torch.fx`, `torch.export`, `forward hooks`, `onnx`), `name` for the spec's `name:`."""

    name: str
    input_shape: tuple[int, ...]
    layers: tuple[TracedLayer, ...]
    outputs: tuple[int, ...]
    method: str
    notes: tuple[str, ...] = field(default=())
