"""The spec writer (archcalc/importing/structure.py, spec_text.py): a traced model becomes a valid
spec whose analysis has one row per traced layer, read from YAML text as the loader reads any spec."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archcalc import analyze
from archcalc.errors import SpecError
from archcalc.importing.spec_text import spec_yaml
from archcalc.importing.structure import nested_dict, readable_spec, spec_dict
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
        (tm.densenet_like, ["block", "block", "block", "block"]),
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


def test_a_modules_leading_merge_of_outside_tensors_is_spliced_and_the_rest_stays_a_block():
    """DenseNet's layer concatenates every earlier map, then runs its own layers: the cat sits in
    the enclosing level (`denselayer2_cat`), the layers keep their module paths."""
    analysis = _analysis(nested_dict(tm.densenet_like()))
    paths = [row.path for row in analysis.rows]
    assert "block.denselayer1.conv1" in paths, paths  # reads one tensor: a block
    assert "block.denselayer2_cat" in paths, paths  # its cat reads every earlier map: spliced
    assert "block.denselayer2.conv1" in paths, paths  # the rest reads the cat alone: a block
    assert "block.input" in paths, paths  # the dense block's input, read by name


def test_several_outputs_are_written_in_the_graph_form():
    spec = nested_dict(tm.fpn())
    assert spec["outputs"] == ["fpn_layer_0", "fpn_layer_1", "fpn_layer_2"]
    assert len(_analysis(spec).output_shapes) == 3


def test_unet_skips_nest_as_concat_parallels_and_decoder_stages_are_spliced():
    """Each skip is an identity branch of a concat whose other branch holds everything deeper; a
    decoder stage reads its skip and the deeper map (two outside tensors), so it is spliced."""
    model = tm.unet()
    spec = nested_dict(model)
    assert _containers(spec["layers"]) == ["block", "parallel", "block", "parallel", "block", "parallel", "block"]
    paths = [row.path for row in _analysis(spec).rows]
    assert {"inc.conv", "down1.conv", "up1_up", "up3_conv"} <= set(paths), paths
    test_nested_form_has_the_flat_forms_rows(tm.unet)


def test_shuffle_units_are_concat_parallels_whose_branches_begin_with_split():
    model = tm.shuffle_units()
    stage = nested_dict(model)["layers"][1]["block"]["layers"]
    parallel = stage[0]["repeat"]["layers"][0]["parallel"]  # the two equal units: one repeat
    assert parallel["merge"] == "concat"
    firsts = [branch["layers"][0] for branch in parallel["branches"]]
    assert [next(iter(f.values()))["index"] for f in firsts] == [0, 1], firsts
    test_nested_form_has_the_flat_forms_rows(tm.shuffle_units)


# ---------------------------------------------------------------------------------------------
# Repeated blocks: repeat, and templates with parameters


def test_equal_index_named_blocks_become_a_repeat_numbered_from_start():
    stage = nested_dict(tm.resnet_like((1, 4)))["layers"][4]["block"]["layers"]
    assert [next(iter(item)) for item in stage] == ["block", "repeat"], stage
    assert stage[1]["repeat"]["start"] == 1 and stage[1]["repeat"]["times"] == 3


def test_blocks_differing_in_values_become_one_template_with_parameters():
    model = tm.bottleneck_net((3, 4, 3))
    spec, note = readable_spec(model)
    assert note == "written nested", note
    ((name, template),) = spec["blocks"].items()
    assert template["params"] == ["out", "n", "stride"], template
    text = spec_yaml(spec, ["t"])
    assert "'${4 * out}'" in text, text
    uses = [item for item in spec["layers"] if "use" in item]
    assert [(u["name"], u["with"]) for u in uses] == [
        ("layer1", {"out": 4, "n": 2, "stride": 1}),
        ("layer2", {"out": 8, "n": 3, "stride": 2}),
        ("layer3", {"out": 16, "n": 2, "stride": 2}),
    ]
    nested, flat = _analysis(spec), _analysis(spec_dict(model))
    assert [(r.path, _figures(r)) for r in _rows(nested) if r.kind not in ("add",)] == [
        (".".join(layer.path), _figures(r)) for layer, r in zip(model.layers, _rows(flat)) if layer.kind != "add"
    ]


def test_readable_spec_of_every_model_loads():
    for build in MODELS.values():
        spec, note = readable_spec(build())
        assert note.startswith("written nested"), note
        _analysis(spec)


# ---------------------------------------------------------------------------------------------
# Untrusted names and text


HOSTILE = [
    "a.b",
    "line\nbreak",
    "_x",
    "features",
    "train",
    "x" * 200,
    "ü",
    "\u2028",
    "0",
    "# comment: {x}",
    "'\"",
    "-minus",
    "a.b",
]


@pytest.mark.parametrize("form", [spec_dict, nested_dict], ids=["flat", "nested"])
def test_hostile_module_names_give_a_valid_spec(form):
    model = tm.hostile(HOSTILE)
    text = spec_yaml(form(model), ["from user code: line\nbreak\u2028 # x"])
    assert all(line.startswith("#") for line in text.splitlines()[:1]), text
    assert text.splitlines()[1].startswith("name:"), text
    analysis = analyze(parse_spec(text))
    assert len(analysis.rows) == len(model.layers)
    assert all(len(step) <= 100 for row in analysis.rows for step in row.path.split("."))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(min_size=0, max_size=30), min_size=3, max_size=6), st.text(max_size=40))
def test_any_step_text_gives_a_spec_that_loads(steps, header):
    model = tm.hostile(steps)
    for form in (spec_dict, nested_dict):
        text = spec_yaml(form(model), [header])
        assert text.startswith("# ") and text.splitlines()[1].startswith("name:"), text
        assert len(analyze(parse_spec(text)).rows) == len(model.layers)


def test_a_layer_whose_value_nothing_uses_is_named_in_one_error():
    net = tm.Net("dead")
    net.conv("a", 4, reads=-1)
    net.add("unused\nhead", "relu")
    net.add("b", "relu", 0)
    with pytest.raises(SpecError, match="unused_output|never uses") as err:
        readable_spec(net.model())
    assert "'unused\\nhead'" in str(err.value), str(err.value)
