"""The `archcalc report` formatters: one module per output format behind one interface (`Format`).

Each format turns a `breakdown.Breakdown` into a report, and a list of them into an index page; none
computes a number. `svg.chart` draws the chart that markdown links and HTML embeds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..breakdown import Breakdown


@dataclass(frozen=True, slots=True)
class Format:
    """One output format. `report(report, chart_file)`: chart_file is the SVG written beside it, or None."""

    name: str
    extension: str
    report: Callable[[Breakdown, str | None], str]
    index: Callable[[list[Breakdown], dict[str, str]], str]
    wants_chart_file: bool = False


def formats() -> dict[str, Format]:
    """The formats by name (imported here, lazily, so importing the package stays cheap)."""
    from . import csv, html, json, markdown

    return {f.name: f for f in (markdown.FORMAT, html.FORMAT, json.FORMAT, csv.FORMAT)}
