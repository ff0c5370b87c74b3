"""Conventions are views over archcalc's columns: each term switches exactly what it names."""

from __future__ import annotations

import pytest

from archcalc import SpecError
from archcalc.conventions import PRESETS, Convention
from archcalc.counted import convention_totals, resolve_convention
from archcalc.layers import Op, Saves

from .helpers import analyse_text

# 1 input map 4x4, 3x3 conv with pad 1 -> 1 map 4x4: 16 units, 144 padded taps, 100 real taps
LAYER = "- conv: {out: 1, kernel: 3, padding: 1}"


@pytest.mark.parametrize(
    ("convention", "params", "connections", "ops"),
    [
        (Convention(), 10, 100, 144),
        (Convention(bias_is_connection=True), 10, 116, 144),
        (Convention(padding_is_connection=True), 10, 144, 144),
        (Convention(bias_is_connection=True, padding_is_connection=True), 10, 160, 144),
        (Convention(params_include_biases=False), 9, 100, 144),
        (Convention(ops_per_mac=2), 10, 100, 288),
    ],
    ids=["archcalc", "bias", "padding", "bias+padding", "weights-only", "two-per-mac"],
)
def test_each_term_switches_one_column(convention, params, connections, ops):
    totals = convention_totals(analyse_text(LAYER, "[1, 4, 4]"), convention)
    assert totals == {"units": 16, "params": params, "connections": connections, "ops": ops}


def test_paper_convention_comes_from_the_spec():
    from archcalc import parse_spec

    spec = parse_spec(
        "name: p\ninput: [1, 4, 4]\nconvention: {name: paper-x, bias_is_connection: true}\nlayers:\n  - relu\n"
    )
    assert resolve_convention("paper", spec).name == "paper-x"


@pytest.mark.parametrize(("name", "code"), [("paper", "no_paper_convention"), ("fvcor", "unknown_convention")])
def test_unknown_conventions_are_errors(name, code):
    from archcalc import load_spec

    with pytest.raises(SpecError) as info:
        resolve_convention(name, load_spec("lenet5"))
    assert info.value.code == code


def test_presets_are_named_after_their_keys():
    assert all(key == preset.name for key, preset in PRESETS.items())


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_are_valid_conventions(name):
    """Validating a preset's dump gives it back unchanged: every field round-trips."""
    preset = PRESETS[name]
    assert Convention.model_validate(preset.model_dump()) == preset
    assert set(preset.model_dump()) == set(Convention.model_fields)


@pytest.mark.parametrize(
    ("fields", "ops"),
    [({"bias_add": True}, []), ({}, [Op("relu", Saves(), costs={"x": {"per_inputs": 1}})])],
    ids=["convention-field", "op-cost-field"],
)
def test_a_misspelt_preset_field_is_an_error_not_dropped_silently(fields, ops):
    from archcalc.conventions import _preset

    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        _preset("x", fields, ops)
