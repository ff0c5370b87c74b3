"""The spec writer (archcalc/importing/structure.py, spec_text.py): a traced model becomes a valid
spec whose analysis has one row per traced layer, read from YAML text as the loader reads any spec."""

from __future__ import annotations

import pytest

from archcalc import analyze
from archcalc.importing.spec_text import spec_yaml
from archcalc.importing.structure import spec_dict
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
