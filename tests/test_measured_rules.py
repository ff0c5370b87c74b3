"""Measured-figure files (`report --measured`) hold figures archcalc can show: a count (a name archcalc
computes) is a non-negative integer, any other number finite and non-negative, and the shape is
what README states; anything else is one error[bad_measured] naming the file and the JSON path."""

from __future__ import annotations

import json

import pytest

from archcalc import analyze, load_spec
from archcalc.breakdown import COUNT_NAMES, static_row, static_totals
from archcalc.cli import main

BAD = [
    ("fractional-count", {"spec": "lenet5", "totals": {"params": 1.5}}, "totals.params", "count"),
    ("integral-float-count", {"totals": {"macs": 416520.0}}, "totals.macs", "non-negative integer"),
    ("exponent-count", {"totals": {"units": 1e3}}, "totals.units", "non-negative integer"),
    ("boolean-count", {"params": True}, "params", "boolean"),
    ("boolean-layer-count", {"layers": [{"path": "C1", "macs": False}]}, "layers[0].macs", "boolean"),
    ("negative-count", {"totals": {"connections": -1}}, "totals.connections", "negative"),
    ("negative-other", {"latency_ms": -5}, "latency_ms", "negative"),
    ("negative-other-float", {"totals": {"latency_ms": -0.5}}, "totals.latency_ms", "negative"),
    ("negative-in-unmatched-layer", {"layers": {"nope": {"ms": -1}}}, 'layers["nope"].ms', "negative"),
    ("layer-entry-number", {"layers": {"C1": 5}}, 'layers["C1"]', "must be an object"),
    ("layer-entry-list", {"layers": {"C1": [5]}}, 'layers["C1"]', "must be an object"),
    ("layer-entry-in-list", {"layers": ["C1"]}, "layers[0]", "must be an object"),
    ("layers-number", {"layers": 7}, "layers", "list of"),
    ("layers-string", {"layers": "C1"}, "layers", "list of"),
    ("totals-list", {"totals": [1, 2]}, "totals", "must be an object"),
    ("totals-number", {"totals": 3}, "totals", "must be an object"),
    ("path-number", {"layers": [{"path": 3, "params": 1}]}, "layers[0]", "`path` must be a string"),
    ("name-null", {"layers": [{"name": None}]}, "layers[0]", "`name` must be a string"),
    ("no-path", {"layers": [{"params": 1}]}, "layers[0]", "needs a `path`"),
]


@pytest.mark.parametrize(("data", "where", "fragment"), [row[1:] for row in BAD], ids=[row[0] for row in BAD])
def test_a_bad_measured_figure_is_one_error(runner, tmp_path, data, where, fragment):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data))
    result = runner.invoke(
        main,
        ["report", "lenet5", "--measured", str(path), "--format", "json", "-o", str(tmp_path / "out")],
        catch_exceptions=False,
    )
    assert result.exit_code == 2, result.output
    assert f"{path}: error[bad_measured]: {where}: " in result.output and fragment in result.output, result.output
    assert not (tmp_path / "out").exists()


def test_text_lists_and_records_stay_ignored(runner, tmp_path):
    """A verifier's JSON holds records under count names (`"params": {"static": ..}`): not figures, not refused."""
    data = {
        "spec": "lenet5",
        "tool": "t",
        "device": "cpu",
        "ok": True,
        "totals": {"params": 61706, "macs": {"status": "ok"}, "note": "text", "runs": [1, -2], "cuda": None},
        "layers": {"C1": {"params": 156, "kind": "conv", "shape": [6, 28, 28]}},
    }
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data))
    result = runner.invoke(
        main,
        ["report", "lenet5", "--measured", str(path), "--format", "json", "-o", str(tmp_path)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    measured = json.loads((tmp_path / "lenet5.json").read_text())["measured"]
    assert [f["key"] for f in measured["totals"]] == ["params"]


def test_count_names_are_every_static_figure():
    analysis = analyze(load_spec("lenet5"))
    names = set(static_totals(analysis, analysis.memory("fp32"))) | set(static_row(analysis.rows[0], 4))
    assert names == COUNT_NAMES
