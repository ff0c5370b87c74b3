"""The spec writer (archcalc/importing/structure.py, spec_text.py): a traced model becomes a valid
spec whose analysis has one row per traced layer, read from YAML text as the loader reads any spec."""

from __future__ import annotations

import pytest

from archcalc import analyze
from archcalc.importing.spec_text import spec_yaml
from archcalc.importing.structure import nested_dict, spec_dict
from archcalc.importing.traced import TracedModel
from archcalc.loader import parse_spec
from tests import traced_models as tm

MODELS = {
    "chain": tm.chain,
    "resnet_like": tm.resnet_like,
    "inception_like": tm.inception_like,
    "squeeze_excitation": tm.squeeze_excitation,
    "densenet_like": tm.densenet_like,
    "fpn": tm.fpn,
}


def _analysis(spec: dict, header: list[str] | None = None):
    return analyze(parse_spec(spec_yaml(spec, header or ["test"])))


def _kinds_and_counts(model: TracedModel) -> list[tuple[str, int]]:
    return [(layer.kind, len(layer.inputs)) for layer in model.layers]


@pytest.mark.parametrize("build", MODELS.values(), ids=MODELS.keys())
def test_flat_form_has_a_row_per_traced_layer(build):
    model = build()
    analysis = _analysis(spec_dict(model))
    rows = [(row.kind, len(row.inputs)) for row in analysis.rows]
    assert rows == _kinds_and_counts(model)
    assert len(analysis.output_shapes) == len(model.outputs)


def test_flat_form_names_join_the_module_path():
    analysis = _analysis(spec_dict(tm.resnet_like()))
    paths = [row.path for row in analysis.rows]
    assert paths[:4] == ["conv1", "bn1", "relu", "layer1_0_conv1"], paths
    assert "layer2_0_downsample_0" in paths, paths


def test_a_later_read_of_the_model_input_gets_an_identity_row_named_input():
    net = tm.Net("two_heads")
    net.conv("a", 4, reads=-1)
    net.conv("b", 4, reads=-1)
    net.add("cat", "concat", [0, 1])
    spec = spec_dict(net.model())
    assert spec["layers"][0] == {"identity": {"name": "input"}}
    rows = _analysis(spec).rows
    assert [row.path for row in rows] == ["input", "a", "b", "cat"]


# ---------------------------------------------------------------------------------------------
# The nested form: the same rows as the flat form, named by the module paths


def _rows(analysis) -> list:
    """Every row but the identity rows the writer adds to name a tensor (these models have no identity)."""
    return [row for row in analysis.rows if row.kind != "identity"]


def _figures(row) -> tuple:
    """A row's figures; a merge's input shape is left out: a container's merge row shows the
    container's input, a graph-form merge its first input (graph.Call)."""
    c = row.counts
    in_shape = None if row.kind in ("add", "concat", "mul") else row.in_shape
    return (row.kind, in_shape, c.out_shape, c.weights, c.biases, c.buffers, c.macs, c.units, c.connections)


@pytest.mark.parametrize("build", MODELS.values(), ids=MODELS.keys())
def test_nested_form_has_the_flat_forms_rows(build):
    model = build()
    nested, flat = _analysis(nested_dict(model)), _analysis(spec_dict(model))
    got, want = [_figures(r) for r in _rows(nested)], [_figures(r) for r in _rows(flat)]
    assert got == want
    assert nested.totals == flat.totals
    assert nested.output_shapes == flat.output_shapes


def _module_paths(model: TracedModel) -> list[str]:
    return [".".join(layer.path) for layer in model.layers if layer.kind not in ("add", "concat", "mul")]


@pytest.mark.parametrize(
    "build",
    [tm.chain, tm.resnet_like, tm.inception_like, tm.squeeze_excitation],
    ids=["chain", "resnet_like", "inception_like", "squeeze_excitation"],
)
def test_nested_row_paths_are_the_module_paths(build):
    model = build()
    paths = [row.path for row in _rows(_analysis(nested_dict(model))) if row.kind not in ("add", "concat", "mul")]
    assert paths == _module_paths(model)


def _containers(value) -> list[str]:
    """The kinds of every container in a spec's layers, outermost first."""
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in ("block", "residual", "parallel", "repeat"):
                found.append(key)
            found.extend(_containers(inner))
    elif isinstance(value, list):
        for inner in value:
            found.extend(_containers(inner))
    return found


@pytest.mark.parametrize(
    ("build", "want"),
    [
        (tm.chain, []),
        (
            lambda: tm.resnet_like((2, 2)),
            ["block", "repeat", "residual", "block", "block", "residual", "block", "residual"],
        ),
        (tm.inception_like, ["block", "parallel", "block", "block", "block"]),
        (tm.squeeze_excitation, ["block", "parallel"]),
        (tm.densenet_like, ["block", "block"]),
    ],
    ids=["chain", "resnet_like", "inception_like", "squeeze_excitation", "densenet_like"],
)
def test_nested_structure(build, want):
    assert _containers(nested_dict(build())["layers"]) == want


def test_projection_shortcut_keeps_the_downsample_path():
    layers = nested_dict(tm.resnet_like((1, 1)))["layers"]
    residual = layers[4]["block"]["layers"][0]["block"]["layers"][0]["residual"]
    assert residual["shortcut_name"] == "downsample"
    assert [next(iter(v.values()))["name"] for v in residual["shortcut"]] == ["0", "1"]


def test_a_module_reading_several_outside_tensors_is_spliced_with_joined_names():
    analysis = _analysis(nested_dict(tm.densenet_like()))
    paths = [row.path for row in analysis.rows]
    assert "block.denselayer1.conv1" in paths, paths  # reads one tensor: a block
    assert "block.denselayer2_cat" in paths, paths  # its cat reads every earlier map: spliced
    assert "block.input" in paths, paths  # the dense block's input, read by name


def test_several_outputs_are_written_in_the_graph_form():
    spec = nested_dict(tm.fpn())
    assert spec["outputs"] == ["fpn_layer_0", "fpn_layer_1", "fpn_layer_2"]
    assert len(_analysis(spec).output_shapes) == 3
