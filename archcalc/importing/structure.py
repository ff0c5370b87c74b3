"""A traced model -> a spec as plain data, ready for `spec_text.spec_yaml`.

`spec_dict` writes the flat graph form: every layer at the top level, named by its module path
with the steps joined by `_` (`layer1_0_conv1`), `from:` where a layer does not read the layer
before it, `outputs:` when the model returns several tensors. It is valid for any traced model.
`nested_dict` writes the readable form: modules as named blocks (`hierarchy`), series-parallel
parts as `residual`/`parallel` and the rest in the graph form (`nesting`), runs of equal blocks as
`repeat` (`repeats`); `readable_spec` falls back to the flat form where that would not load.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..errors import SpecError
from ..loader import parse_spec
from .blocks import shared_blocks
from .hierarchy import MERGES, model_level
from .leaf import leaf
from .names import level_names, spec_name
from .nesting import LevelWriter
from .repeats import repeats
from .spec_text import spec_yaml
from .traced import MODEL_INPUT, TracedModel

# an identity row put first where a later layer reads the model's input: `from:` reads only a
# named layer of the list, and the list's input has no name
INPUT_NAME = "input"


def one_input_merges(model: TracedModel) -> TracedModel:
    """The model with each merge of one tensor (DenseNet's first `torch.cat([x], 1)`) as the
    `identity` it computes: a spec's merge reads two or more."""
    if not any(layer.kind in MERGES and len(layer.inputs) == 1 for layer in model.layers):
        return model
    layers = tuple(
        replace(layer, kind="identity", fields={}) if layer.kind in MERGES and len(layer.inputs) == 1 else layer
        for layer in model.layers
    )
    return replace(model, layers=layers)


def _refuse_unused(model: TracedModel) -> None:
    """A spec computes nothing for nothing (`error[unused_output]`): a traced layer whose value no
    layer reads and the model does not return is named, rather than left to a later error."""
    read = {j for layer in model.layers for j in layer.inputs} | set(model.outputs)
    unused = [i for i in range(len(model.layers)) if i not in read]
    if unused:
        layer = model.layers[unused[0]]
        where = f" ({layer.source})" if layer.source else ""
        raise SpecError(
            "unused_output",
            f"the {layer.kind} layer {'.'.join(layer.path)!r}{where} computes a value the model never uses"
            + (f", as do {len(unused) - 1:,} more" if len(unused) > 1 else ""),
            hint="a spec has no such layers: the model reader drops them or the model returns them",
        )


def _refuse_repeated_outputs(model: TracedModel, names: list[str]) -> None:
    """A model that returns one value twice (`return y, y`): a spec's `outputs` names each layer once."""
    seen: dict[int, int] = {}
    for place, j in enumerate(model.outputs):
        if j in seen:
            what = "its input" if j == MODEL_INPUT else f"the {model.layers[j].kind} layer {names[j]!r}"
            raise SpecError(
                "unsupported_output",
                f"the model returns {what} twice (outputs {seen[j]} and {place}); a spec names each output once",
                hint="return each tensor once (the caller can repeat it)",
            )
        seen[j] = place


def _reads_input_later(model: TracedModel) -> bool:
    return any(MODEL_INPUT in layer.inputs for layer in model.layers[1:]) or MODEL_INPUT in model.outputs


def spec_dict(model: TracedModel) -> dict[str, Any]:
    """The model as a valid spec in the flat graph form (see the module docstring)."""
    if not model.layers:
        raise SpecError("empty_model", f"the model '{spec_name(model.name)}' has no layers to write")
    model = one_input_merges(model)
    _refuse_unused(model)
    first_input = _reads_input_later(model)
    joined = ["_".join(layer.path) if layer.path else layer.kind for layer in model.layers]
    names = level_names(joined, (INPUT_NAME,) if first_input else ())
    _refuse_repeated_outputs(model, names)
    layers: list[Any] = [{"identity": {"name": INPUT_NAME}}] if first_input else []
    for i, layer in enumerate(model.layers):
        refs = [INPUT_NAME if j == MODEL_INPUT else names[j] for j in layer.inputs]
        follows = len(layer.inputs) == 1 and (layer.inputs[0] == i - 1 or (i == 0 and not first_input))
        if i == 0 and first_input and layer.inputs == (MODEL_INPUT,):
            follows = True  # the identity row just before it
        reads: str | list[str] | None = None
        if len(refs) > 1 or layer.kind in MERGES:
            reads = refs
        elif not follows:
            reads = refs[0]
        layers.append(leaf(layer.kind, layer.fields, names[i], reads))
    spec: dict[str, Any] = {"name": spec_name(model.name), "input": list(model.input_shape), "layers": layers}
    last = len(model.layers) - 1
    if tuple(model.outputs) != (last,):
        spec["outputs"] = [INPUT_NAME if j == MODEL_INPUT else names[j] for j in model.outputs]
    return spec


def readable_spec(model: TracedModel) -> tuple[dict[str, Any], str]:
    """The most readable spec that loads: the nested one with templates (`shared_blocks`), else
    without, else the flat one (either fallback is a bug to report: the line returned says which
    was written and why)."""
    flat = spec_dict(model)  # refuses what no form can write
    nested = nested_dict(model)
    shared = shared_blocks(nested)
    why = ""
    for spec, what in ((shared, "nested"), (nested, "nested, without templates"), (flat, "flat")):
        try:
            parse_spec(spec_yaml(spec, []))
        except SpecError as err:
            why = why or f" (the nested form was refused: {err.code})"
            continue
        except RecursionError:  # nested past what the YAML emitter recurses through: the loader's too_deep
            why = why or " (the nested form was refused: too_deep)"
            continue
        return spec, f"written {what}{why}"
    from .shape_check import ImportMismatch  # a bug, exit 4: shape_check imports this module

    raise ImportMismatch(f"no form of the imported spec loads{why}")


def nested_dict(model: TracedModel) -> dict[str, Any]:
    """The model as a readable spec: its modules as named blocks (row paths = module paths),
    series-parallel parts as `residual` and `parallel`, the rest in the graph form."""
    if not model.layers:
        raise SpecError("empty_model", f"the model '{spec_name(model.name)}' has no layers to write")
    model = one_input_merges(model)
    layers, outputs = LevelWriter(model, model_level(model)).layers()
    layers = repeats(layers, outputs)
    spec: dict[str, Any] = {"name": spec_name(model.name), "input": list(model.input_shape), "layers": layers}
    if outputs:
        spec["outputs"] = outputs
    return spec
