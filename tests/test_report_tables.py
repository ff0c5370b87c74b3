"""The shapes table computes each column once and sums it for the footer; these hold the footer
to convention_totals, for every bundled spec under every convention."""

from __future__ import annotations

import pytest

from archcalc import analyze, bundled_names, load_spec, report
from archcalc.conventions import PRESETS, convention_totals, resolve_convention


def _footer(table) -> dict[str, str]:
    return {column.header: column.footer for column in table.columns}


CASES = [(name, convention) for name in bundled_names() for convention in sorted(PRESETS)] + [
    (name, "paper") for name in bundled_names() if load_spec(name).convention is not None
]


@pytest.mark.parametrize(("name", "convention"), CASES)
def test_footer_is_the_convention_totals(name, convention):
    analysis = analyze(load_spec(name))
    counting = resolve_convention(convention, analysis.spec)
    footer, totals = _footer(report.shapes_table(analysis, counting)), convention_totals(analysis, counting)
    for column, key in (("units", "units"), ("connections", "connections"), (counting.ops_label, "ops")):
        assert footer[column] == report.fmt_count(totals[key]), f"{column}: table {footer[column]}, totals {totals[key]:,}"
    if "params" in footer:
        assert footer["params"] == report.fmt_count(totals["params"])
