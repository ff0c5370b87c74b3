"""FastTable lays out plain tables itself; rich's own Table is the oracle for every table it draws."""

from __future__ import annotations

import pytest
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.table import Table

from archcalc import analyze, bundled_names, load_spec, report
from archcalc.conventions import PRESETS, resolve_convention
from archcalc.table import FastTable


def _as_rich(table: FastTable) -> Table:
    """The same table as a plain rich Table (rich lays it out)."""
    plain = Table.__new__(Table)
    plain.__dict__.update(table.__dict__)
    return plain


def _segments(console: Console, renderable) -> list[tuple[str, Style]]:
    """Rendered segments, adjacent runs of one style merged (rich splits a cell into several)."""
    segments = [Segment(s.text, s.style or Style.null()) for s in console.render(renderable, console.options)]
    return [(s.text, s.style) for s in Segment.simplify(segments)]


def _same(table: FastTable, width: int = 200) -> None:
    console = Console(width=width, force_terminal=True, color_system="truecolor", highlight=False)
    ours, theirs = _segments(console, table), _segments(console, _as_rich(table))
    assert ours == theirs, "\n".join(t for t, _ in ours[:40]) + "\n---\n" + "\n".join(t for t, _ in theirs[:40])


@pytest.mark.parametrize("name", bundled_names())
def test_shapes_table_matches_rich(name):
    analysis = analyze(load_spec(name))
    _same(report.shapes_table(analysis))
    _same(report.params_table(analysis, analysis.memory("fp32")))


@pytest.mark.parametrize("convention", sorted(PRESETS))
def test_convention_tables_match_rich(convention):
    analysis = analyze(load_spec("googlenet"))
    counting = resolve_convention(convention, analysis.spec)
    _same(report.shapes_table(analysis, counting))
    _same(report.convention_table(analysis, counting))


def _table(**options) -> FastTable:
    table = FastTable(title="t: [b]title[/b]", show_footer=True, header_style="bold", **options)
    table.add_column("left", footer="total", no_wrap=True)
    table.add_column("wrap me", footer="")
    table.add_column("right", justify="right", footer="1,234", no_wrap=True)
    table.add_column("mid", justify="center")
    table.add_row("a", "some words", "1", "x", style="dim")
    table.add_row("bb", "", "22", "")
    table.add_section()
    table.add_row("ccc", "w", "333", "yy")
    return table


@pytest.mark.parametrize(
    "width, cells",
    [
        (200, ()),  # the direct layout
        (30, ()),  # too wide for the console: rich wraps and crops
        (200, ("[red]markup[/red]", ":smile:", " edge ", "two\nlines", "tab\there")),  # rich's cases
    ],
    ids=["fits", "narrow", "rich-cells"],
)
def test_fast_table_matches_rich(width, cells):
    table = _table()
    for cell in cells:
        table.add_row(cell, cell, cell, cell)
    _same(table, width)


def test_options_it_does_not_model_go_to_rich():
    for options in ({"show_lines": True}, {"expand": True}, {"row_styles": ["dim", ""]}, {"show_edge": False},
                    {"padding": (0, 2)}, {"border_style": "blue"}, {"caption": "c"}):  # fmt: skip
        table = _table(**options)
        assert not table._fast_ok(), options
        _same(table)
    assert _table()._fast_ok()


def test_table_without_footer_matches_rich():
    table = FastTable(title="no footer", header_style="bold")
    table.add_column("a")
    table.add_column("b", justify="right")
    for i in range(3):
        table.add_row(f"row{i}", str(i))
    assert table._fast_ok()
    _same(table)
