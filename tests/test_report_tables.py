"""The shapes table computes each column once and sums it for the footer; these hold the footer
to the sum of the table's own cells and to convention_totals (the module the reports and the JSON
use), for every bundled spec under every convention."""

from __future__ import annotations

import pytest

from archcalc import analyze, bundled_names, load_spec, report
from archcalc.conventions import PRESETS
from archcalc.counted import convention_totals, count, resolve_convention


def _footer(table) -> dict[str, str]:
    return {column.header: column.footer for column in table.columns}


def _column_sum(table, header: str) -> int:
    """The printed cells of one column, read back as integers (a dot is zero; every zoo count is
    below 10^15, so cells are exact) and added up."""
    index = [column.header for column in table.columns].index(header)
    return sum(int(row.cells[index].replace(",", "")) for row in table.rows if row.cells[index] not in ("", "·"))


CASES = [(name, convention) for name in bundled_names() for convention in sorted(PRESETS)] + [
    (name, "paper") for name in bundled_names() if load_spec(name).convention is not None
]


@pytest.mark.parametrize(("name", "convention"), CASES)
def test_footer_is_the_convention_totals(name, convention):
    analysis = analyze(load_spec(name))
    counting = resolve_convention(convention, analysis.spec)
    table = report.shapes_table(analysis, count(analysis, counting))
    footer, totals = _footer(table), convention_totals(analysis, counting)
    keys = {"units": "units", "connections": "connections", counting.ops_label: "ops"}
    if "params" in footer:
        keys["params"] = "params"
    for column, key in keys.items():
        cells = _column_sum(table, column)
        assert footer[column] == report.fmt_count(cells), (
            f"{column}: footer {footer[column]}, cells add up to {cells:,}"
        )
        assert cells == totals[key], f"{column}: table {cells:,}, convention_totals {totals[key]:,}"
