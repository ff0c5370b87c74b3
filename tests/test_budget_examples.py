"""docs/examples/budgets/, the README's `archcalc check` example: one spec within every budget it
sets, one over one budget, so the example shows a pass, a failure and exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archcalc import load_spec
from archcalc.analysis import analyze
from archcalc.cli import main

FOLDER = Path(__file__).resolve().parent.parent / "docs" / "examples" / "budgets"
# spec file -> the budgets it exceeds
EXPECTED = {"keyword-spotter.yaml": set(), "phone-classifier.yaml": {"max_macs"}}


def test_the_folder_holds_the_examples():
    assert sorted(p.name for p in FOLDER.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_example_sets_budgets_and_exceeds_the_ones_it_should(runner, name):
    path = FOLDER / name
    spec = load_spec(str(path))
    assert spec.budget is not None
    result = runner.invoke(main, ["check", str(path), "--json"], catch_exceptions=False)
    data = json.loads(result.stdout)
    budgets = data["specs"][0]["budgets"]
    exceeded = {b["budget"] for b in budgets if not b["ok"]}
    assert exceeded == EXPECTED[name], budgets
    assert result.exit_code == (1 if exceeded else 0), result.output
    totals = analyze(spec).totals
    figures = {"max_params": totals.params, "max_macs": totals.macs}
    for b in budgets:
        if b["budget"] in figures:  # the value checked is the analysis's own figure
            assert b["value"] == figures[b["budget"]], (b, figures)
        assert b["ok"] == (b["value"] <= b["limit"]), b


def test_the_folder_checks_to_one_pass_one_failure_exit_1(runner):
    result = runner.invoke(main, ["check", str(FOLDER)], catch_exceptions=False)
    lines = result.stdout.splitlines()
    assert result.exit_code == 1, result.output
    assert sum(line.startswith("✓ ") for line in lines) == 4 and sum("✗ over budget" in line for line in lines) == 1
    assert "valid (no budget set)" not in result.stdout
