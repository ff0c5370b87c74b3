"""A convention is applied once (`count`); the renderers read the counted values and never ask the
convention for a cell."""

from __future__ import annotations

import pytest

from archcalc import analysis_view, analyze, bundled_names, load_spec
from archcalc.conventions import PRESETS, Convention
from archcalc.counted import count, resolve_convention

ROW_METHODS = ("params", "units", "connections", "ops", "terms")
CONVENTIONS = [*sorted(PRESETS), "paper"]


def _render(analysis, counted) -> list[str]:
    memory = analysis.memory("fp32")
    texts = ["".join(t for t, _ in analysis_view.shapes_table(analysis, counted).lines())]
    texts.append("".join(t for t, _ in analysis_view.convention_table(analysis, counted).lines()))
    texts += analysis_view.summary_lines(analysis, memory, counted)
    texts.append(repr(analysis_view.analysis_dict(analysis, memory, counted)))
    return texts


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_renderers_only_read_the_counted_values(convention, monkeypatch):
    analysis = analyze(load_spec("lenet5-1998"))  # declares its paper's convention
    counted = count(analysis, resolve_convention(convention, analysis.spec))
    before = _render(analysis, counted)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a renderer asked the convention for a value")

    for method in ROW_METHODS:
        monkeypatch.setattr(Convention, method, refuse)
    after = _render(analysis, counted)
    assert after == before, f"before:\n{before}\nafter:\n{after}"


@pytest.mark.parametrize("name", bundled_names())
@pytest.mark.parametrize("convention", sorted(PRESETS))
def test_published_rows_sum_to_the_totals(name, convention):
    """Grouping leaves into a publication's rows (blocks or leaves) loses and doubles nothing."""
    analysis = analyze(load_spec(name))
    counted = count(analysis, PRESETS[convention])
    summed = {key: sum(getattr(r, key) for r in counted.published) for key in ("params", "ops")}
    totals = {key: counted.totals[key] for key in ("params", "ops")}
    assert summed == totals, f"published rows {summed} vs totals {totals}"
    assert counted.totals["units"] == sum(counted.column("units")) + counted.input_units
    if convention == "archcalc":  # archcalc's own convention: the analysis's totals, counted apart
        t = analysis.totals
        assert (counted.totals["params"], counted.totals["ops"]) == (t.params, t.macs), (counted.totals, t)
        assert counted.totals["units"] == t.units, (counted.totals["units"], t.units)
