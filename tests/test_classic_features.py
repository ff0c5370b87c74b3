"""The spec-language features of the classic networks, on small custom designs: connection tables,
unshared biases, trainable subsampling, RBF units, and the unit-counting terms of a convention.
(Their torch oracle rows are in test_layer_kinds.py.)"""

from __future__ import annotations

import json

import pytest

from archcalc.cli import main
from archcalc.conventions import Convention
from archcalc.counted import convention_totals
from archcalc.formulas.conv import bias_count

from .helpers import analyse_text, assert_one_error, spec_text

HEAD = "name: t\ninput: [6, 14, 14]\nlayers:\n"

# (id, layers, what the first row must count: units, weights, biases, connections, MACs)
COUNTS = [
    # 3 output maps seeing 3, 2 and 6 of the 6 input maps: 11 links of 5x5 kernels on 10x10 outputs
    (
        "table",
        "- conv: {out: 3, kernel: 5, table: [[0, 1, 2], [4, 5], [0, 1, 2, 3, 4, 5]]}",
        (300, 11 * 25, 3, 11 * 25 * 100, 11 * 25 * 100),
    ),
    # pad 1: per link and dimension 14 outputs x 3 taps less the 2 taps on padding = 40 edges
    (
        "table-padded",
        "- conv: {out: 2, kernel: 3, padding: 1, table: [[0], [1, 2]]}",
        (392, 27, 2, 3 * 40 * 40, 3 * 9 * 196),
    ),
    ("bias-per-unit", "- conv: {out: 4, kernel: 3, bias: per_unit}", (576, 216, 576, 216 * 144, 216 * 144)),
    ("bias-per-position", "- conv: {out: 4, kernel: 3, bias: per_position}", (576, 216, 144, 216 * 144, 216 * 144)),
    ("bias-false", "- conv: {out: 4, kernel: 3, bias: false}", (576, 216, 0, 216 * 144, 216 * 144)),
    ("subsample", "- subsample: {kernel: 2}", (294, 6, 6, 294 * 4, 294)),
    ("subsample-nobias-overlap", "- subsample: {kernel: 3, stride: 2, bias: false}", (216, 6, 0, 216 * 9, 216)),
    ("rbf", "- flatten\n- rbf: {out: 10}", (10, 11_760, 0, 11_760, 11_760)),
]


@pytest.mark.parametrize(("layers", "want"), [c[1:] for c in COUNTS], ids=[c[0] for c in COUNTS])
def test_counts(layers, want):
    row = [r for r in analyse_text(layers, "[6, 14, 14]").rows if r.units][0]
    got = (row.units, row.weights, row.biases, row.connections, row.macs)
    assert got == want, f"archcalc {got}, expected {want}"


def test_table_with_every_input_is_the_full_conv():
    full = analyse_text("- conv: {out: 2, kernel: 3, padding: 1}", "[3, 7, 7]").rows[0]
    table = analyse_text("- conv: {out: 2, kernel: 3, padding: 1, table: [[0, 1, 2], [2, 1, 0]]}", "[3, 7, 7]").rows[0]
    assert (full.weights, full.connections, full.macs, full.padded_connections) == (
        table.weights,
        table.connections,
        table.macs,
        table.padded_connections,
    )


@pytest.mark.parametrize(
    ("mode", "shape", "want"),
    [
        (True, (12, 8, 8), 12),
        (False, (12, 8, 8), 0),
        ("per_unit", (12, 8, 8), 768),
        ("per_position", (1, 19, 19), 361),
        ("per_unit", (5, 7), 35),
        ("per_position", (5, 2, 3, 4), 24),
    ],
    ids=["shared", "none", "per-unit", "per-position", "per-unit-1d", "per-position-3d"],
)
def test_bias_count(mode, shape, want):
    assert bias_count(mode, shape) == want


# (id, layers, error code, line, text the message must contain)
BAD = [
    (
        "table-index-out-of-range",
        "  - conv: {out: 2, kernel: 5, table: [[0, 1], [1, 7]]}\n",
        "bad_connection_table",
        4,
        "row 1 of the connection table names input map 7, but the input has 6 maps (0 to 5)",
    ),
    (
        "table-rows-vs-out",
        "  - conv: {out: 4, kernel: 5, table: [[0], [1], [2]]}\n",
        "bad_value",
        4,
        "'table' has 3 rows but the layer has 4 output maps",
    ),
    (
        "table-duplicate",
        "  - conv:\n      out: 2\n      kernel: 5\n      connection_table: [[0, 1], [1, 1]]\n",
        "bad_value",
        7,
        "row 1 lists input map 1 more than once",
    ),
    (
        "table-empty-row",
        "  - conv: {out: 2, kernel: 5, table: [[0], []]}\n",
        "bad_value",
        4,
        "row 1 must be a non-empty list",
    ),
    ("table-negative", "  - conv: {out: 2, kernel: 5, table: [[0, -1], [1]]}\n", "bad_value", 4, "row 0 has -1"),
    ("table-not-a-list", "  - conv: {out: 2, kernel: 5, table: 3}\n", "wrong_type", 4, "one row per output map"),
    (
        "table-row-not-a-list",
        "  - conv: {out: 2, kernel: 5, table: [0, 1]}\n",
        "bad_value",
        4,
        "row 0 must be a non-empty list",
    ),
    (
        "table-with-groups",
        "  - conv: {out: 2, kernel: 5, groups: 2, table: [[0], [1]]}\n",
        "bad_value",
        4,
        "and groups cannot be combined",
    ),
    (
        "bias-mode",
        "  - conv: {out: 2, kernel: 5, bias: per_map}\n",
        "bad_value",
        4,
        "'bias' must be true, false, 'per_unit' or 'per_position', got 'per_map'",
    ),
    (
        "subsample-unknown-field",
        "  - subsample: {kernel: 2, coefficient: 1}\n",
        "unknown_field",
        4,
        "unknown field 'coefficient'",
    ),
    ("subsample-too-large", "  - subsample: {kernel: 15}\n", "kernel_too_large", 4, "padded input has only 14"),
    (
        "rbf-on-volume",
        "  - rbf: {out: 10}\n",
        "wrong_input_rank",
        4,
        "add a flatten layer before it (it would see 1176 features)",
    ),
    ("rbf-bias", "  - flatten\n  - rbf: {out: 10, bias: true}\n", "unknown_field", 5, "unknown field 'bias'"),
]


@pytest.mark.parametrize(("layers", "code", "line", "snippet"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input(tmp_path, runner, layers, code, line, snippet):
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD + layers)
    assert_one_error(runner, path, code, line, snippet)


def test_bad_table_as_json(tmp_path, runner):
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD + BAD[0][1])
    result = runner.invoke(main, ["shapes", str(path), "--json"], catch_exceptions=False)
    error = json.loads(result.stdout)["error"]
    assert (result.exit_code, error["code"], error["line"], error["loc"]) == (
        2,
        "bad_connection_table",
        4,
        "layers[0].connection_table",
    )


# ---------------------------------------------------------------------------------------------
# Convention terms for units and trainable parameters: each switches what it names

# 1x8x8 input (64 units) -> conv 2@6x6 (72 units, 18 + 2 params) -> maxpool 2@3x3 (18 units)
# -> flatten -> frozen linear 18 -> 4 (4 units, 72 + 4 params)
NET = """\
- conv: {out: 2, kernel: 3}
- relu
- maxpool: {kernel: 2}
- flatten
- linear: {out: 4, trainable: false}
- softmax
"""


@pytest.mark.parametrize(
    ("convention", "units", "params"),
    [
        (Convention(), 72 + 18 + 4, 20 + 76),
        (Convention(input_units_counted=True), 64 + 72 + 18 + 4, 96),
        (Convention(output_units_counted=False), 72 + 18, 96),
        (Convention(units_weighted_layers_only=True), 72 + 4, 96),
        (Convention(params_trainable_only=True), 94, 20),
        (
            Convention(input_units_counted=True, output_units_counted=False, units_weighted_layers_only=True),
            64 + 72,
            96,
        ),
    ],
    ids=["archcalc", "input", "no-output", "weighted-only", "trainable-only", "combined"],
)
def test_unit_and_param_terms(convention, units, params):
    analysis = analyse_text(NET, "[1, 8, 8]")
    totals = convention_totals(analysis, convention)
    assert (totals["units"], totals["params"]) == (units, params), totals
    assert totals["connections"] == analysis.totals.connections and totals["ops"] == analysis.totals.macs


def test_each_new_term_is_named_in_the_differences():
    terms = {
        "params_trainable_only": True,
        "input_units_counted": True,
        "output_units_counted": False,
        "units_weighted_layers_only": True,
    }
    for term, value in terms.items():
        assert len(Convention(**{term: value}).differences()) == 1, term


def test_input_units_show_in_the_table(tmp_path, runner):
    path = tmp_path / "net.yaml"
    text = spec_text(NET, "[1, 8, 8]").replace(
        "layers:", "convention: {name: mine, input_units_counted: true}\nlayers:"
    )
    path.write_text(text)
    result = runner.invoke(main, ["shapes", str(path), "--convention", "paper"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    input_line = next(line for line in result.stdout.splitlines() if "input" in line and "8x8x1" in line)
    assert "64" in input_line, input_line
    assert "units 158" in result.stdout, result.stdout
