"""Designs far beyond today's: a multi-trillion-parameter spec and a 100,000-layer spec are analysed
exactly (counts past 2^63, checked against hand-computed products) and printed correctly: exact
integers in table cells at any size, in JSON and in the summary lines (which add an SI figure beside them)."""

from __future__ import annotations

import json

import pytest

from archcalc import analyze, parse_spec
from archcalc.cli import main
from archcalc.numfmt import fmt_count, fmt_si

# 4 linear layers of 2^20 x 2^20 (with biases), then a 3x3 conv of 1,024 maps on a 2^20 x 2^20 image
TRILLION = """\
name: trillion
input: [1048576]
layers:
  - repeat: {times: 4, layers: [linear: {out: 1048576}]}
"""
WIDE_CONV = """\
name: wide
input: [1024, 1048576, 1048576]
layers:
  - conv: {out: 1024, kernel: 3, padding: 1}
"""


def test_trillion_parameters_exact(tmp_path, runner):
    analysis = analyze(parse_spec(TRILLION, "trillion.yaml"))
    n = 2**20
    assert analysis.totals.params == 4 * (n * n + n) == 4_398_050_705_408
    assert analysis.totals.macs == 4 * n * n
    path = tmp_path / "trillion.yaml"
    path.write_text(TRILLION)
    table = runner.invoke(main, ["shapes", str(path)], catch_exceptions=False)
    assert table.exit_code == 0, table.output
    assert "4,398,050,705,408" in table.output  # below 10^15: exact in the table too
    data = json.loads(runner.invoke(main, ["shapes", str(path), "--json"], catch_exceptions=False).stdout)
    assert data["totals"]["params"] == 4_398_050_705_408


def test_counts_past_two_to_the_63(tmp_path, runner):
    analysis = analyze(parse_spec(WIDE_CONV, "wide.yaml"))
    side, c = 2**20, 1024
    macs = c * c * 9 * side * side  # every output position, padding taps included
    edge = side * 3 - 2  # covered (output, tap) pairs along one side with padding 1
    assert analysis.totals.macs == macs == 10_376_293_541_461_622_784 > 2**63
    assert analysis.totals.flops == 2 * macs
    assert analysis.totals.connections == c * c * edge * edge
    assert analysis.totals.units == c * side * side
    path = tmp_path / "wide.yaml"
    path.write_text(WIDE_CONV)
    data = json.loads(runner.invoke(main, ["shapes", str(path), "--json"], catch_exceptions=False).stdout)
    assert data["totals"]["macs"] == macs and data["layers"][0]["connections"] == c * c * edge * edge
    assert data["memory"]["activations_bytes"] == 4 * c * side * side
    table = runner.invoke(main, ["shapes", str(path)], catch_exceptions=False).output
    assert f"│ {macs:,} │" in table  # the MACs cell: exact at any size, never SI
    assert f"MACs: {macs:,} (10.4E" in table  # the summary line: exact, then SI in parentheses


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (999_999_999_999_999, "999,999,999,999,999"),
        (10**15, "1,000,000,000,000,000"),
        (1_135_256_096, "1,135,256,096"),
        (2**64, "18,446,744,073,709,551,616"),
        (10**27, "1," + ",".join(["000"] * 9)),
        (-(10**18), "-1,000,000,000,000,000,000"),
    ],
    ids=["below-1P", "1P", "alexnet-macs", "2^64", "10^27", "negative"],
)
def test_table_number_rule(value, text):
    assert fmt_count(value) == text


def test_si_keeps_three_digits():
    assert fmt_si(62_378_344) == "62.4M" and fmt_si(2**63) == "9.22E"


def test_hundred_thousand_layers_exact():
    """100,000 conv layers (8 -> 8 maps, 3x3, padding 1, on 16x16): one row each, exact totals."""
    text = "name: deep\ninput: [8, 16, 16]\nlayers:\n  - repeat: {times: 100000, layers: [conv: {out: 8, kernel: 3, padding: 1}]}\n"
    analysis = analyze(parse_spec(text, "deep.yaml"))
    assert len(analysis.rows) == 100_000
    assert analysis.totals.params == 100_000 * (8 * 8 * 9 + 8) == 58_400_000
    assert analysis.totals.macs == 100_000 * 8 * 8 * 9 * 16 * 16 == 14_745_600_000
    assert analysis.totals.connections == 100_000 * 8 * 8 * (16 * 3 - 2) ** 2
    assert analysis.rows[-1].path == "99999.conv1"


def test_long_tables_print_every_row_fast(tmp_path, runner):
    """Past RICH_ROWS_LIMIT rows the table is laid out directly even when wider than the output
    (rich's layout would take minutes): every row, and the totals."""
    from archcalc.analysis_view import RICH_ROWS_LIMIT

    times = RICH_ROWS_LIMIT + 500
    path = tmp_path / "long.yaml"
    path.write_text(
        f"name: long\ninput: [8, 16, 16]\nlayers:\n  - repeat: {{times: {times}, layers: [conv: {{out: 8, kernel: 3, padding: 1}}]}}\n"
    )
    result = runner.invoke(main, ["shapes", str(path)], catch_exceptions=False, env={"COLUMNS": "60"})
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert sum(line.startswith("│   conv1 ") for line in lines) == times  # each copy: a heading, its conv
    total = next(line for line in lines if line.startswith("│ total"))
    assert f"{times * 147_456:,}" in total and f"{times * 584:,}" not in total  # MACs total; params are not a column
    assert f"parameters: {times * 584:,}" in result.output
