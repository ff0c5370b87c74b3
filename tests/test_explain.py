"""`archcalc shapes --explain`: every layer's derivation, and its numbers equal to the analysis's."""

from __future__ import annotations

import json

import pytest

from archcalc import analyze, explain, load_spec, parse_spec
from archcalc.cli import main

from .helpers import spec_text
from .test_layer_kinds import CASES


@pytest.mark.parametrize(
    ("spec", "path", "formula"),
    [
        ("alexnet", "conv1", "(227 - 11 + 2*0)/4 + 1 = 55"),
        ("alexnet", "conv2", "256 x (96 x 5 x 5) + 256 = 614,656 parameters"),
        ("alexnet", "pool3", "(13 - 3 + 2*0)/2 + 1 = 6"),
        ("alexnet", "flatten1", "6 x 6 x 256 = 9,216 features"),
        ("alexnet", "fc6", "9216 x 4096 + 4096 = 37,752,832 parameters"),
        ("lenet5", "C1", "(32 - 5 + 2*0)/1 + 1 = 28"),
        ("lenet5", "C3", "16 x (6 x 5 x 5) + 16 = 2,416 parameters"),
        ("lenet5", "F5", "400 x 120 + 120 = 48,120 parameters"),
    ],
)
def test_seed_derivations(spec, path, formula):
    rows = {row.path: row for row in explain(load_spec(spec))}
    got = [d.formula for d in rows[path].derivations]
    assert formula in got, f"{path}: {got}"


@pytest.mark.parametrize(("yaml", "shape"), [c[2:4] for c in CASES], ids=[c[0] for c in CASES])
def test_every_kind_explains_with_the_analysis_numbers(yaml, shape):
    """Each derivation's value is the analysis's own: output sizes, parameters, MACs, per row."""
    spec = parse_spec(spec_text(yaml, str(list(shape))), "inline.yaml")
    rows = analyze(spec).rows
    explained = explain(spec)
    assert [(e.path, e.kind) for e in explained] == [(r.path, r.kind) for r in rows]
    for row, entry in zip(rows, explained):
        assert entry.derivations, f"{row.path} has no derivation"
        for d in entry.derivations:
            if d.what == "parameters":
                assert d.value == row.params, f"{row.path}: derivation {d.value}, analysis {row.params}"
            elif d.what == "MACs":
                assert d.value == row.macs, f"{row.path}: derivation {d.value}, analysis {row.macs}"
            elif d.what.startswith("output ") and d.what.split()[1] in ("H", "W", "D", "L"):
                axis = {"L": -1, "W": -1, "H": -2, "D": -3}[d.what.split()[1]]
                assert d.value == row.out_shape[axis], f"{row.path} {d.what}: {d.value} vs {row.out_shape}"
            elif d.what == "output (every dimension)" or (d.what == "output" and len(row.out_shape) == 2):
                assert all(v == d.value for v in row.out_shape[1:]), f"{row.path}: {d.value} vs {row.out_shape}"


def test_explain_per_dimension_when_dimensions_differ():
    spec = parse_spec(spec_text("- conv: {out: 2, kernel: [3, 5], stride: 2}", "[1, 13, 15]"), "x.yaml")
    (row,) = explain(spec)
    assert [d.what for d in row.derivations[:2]] == ["output H", "output W"]
    assert row.derivations[1].formula == "(15 - 5 + 2*0)/2 + 1 = 6"


def test_shapes_explain_cli(runner):
    result = runner.invoke(main, ["shapes", "alexnet", "--explain"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "conv1: (227 - 11 + 2*0)/4 + 1 = 55" in result.output
    assert "fc6: 9216 x 4096 + 4096 = 37,752,832 parameters" in result.output
    data = json.loads(runner.invoke(main, ["shapes", "alexnet", "--explain", "--json"], catch_exceptions=False).stdout)
    conv1 = data["layers"][0]
    assert conv1["explain"][0] == {
        "what": "output (every dimension)",
        "formula": "(227 - 11 + 2*0)/4 + 1 = 55",
        "value": 55,
    }
    plain = json.loads(runner.invoke(main, ["shapes", "alexnet", "--json"], catch_exceptions=False).stdout)
    assert "explain" not in plain["layers"][0]  # the JSON contract without --explain is unchanged
