"""TextTable lays tables out without rich; rich's own Table is the oracle for every table it draws."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from archcalc import analyze, bundled_names, load_spec, report
from archcalc.cli import main
from archcalc.conventions import PRESETS
from archcalc.counted import count, resolve_convention
from archcalc.table import TextTable


def _rich_text(table: TextTable, width: int = 200, encoding: str = "utf-8") -> str:
    """What rich prints for the same table on a console of `width` columns, without colour."""
    stream = io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors="replace")
    console = Console(file=stream, width=width, color_system=None, highlight=False)
    console.print(table.to_rich())
    stream.flush()
    return stream.buffer.getvalue().decode(encoding)


def _ours(table: TextTable, unicode: bool = True) -> str:
    return "".join(text + "\n" for text, _ in table.lines(unicode=unicode))


def _same(table: TextTable, unicode: bool = True) -> None:
    assert table.simple()
    width = max(200, table.width())  # as wide as it needs: narrower, rich wraps (the writer hands it over)
    ours, theirs = _ours(table, unicode), _rich_text(table, width, encoding="utf-8" if unicode else "ascii")
    assert ours == theirs, f"ours:\n{ours[:3000]}\n---\nrich:\n{theirs[:3000]}"


@pytest.mark.parametrize("name", bundled_names())
def test_zoo_tables_match_rich(name):
    analysis = analyze(load_spec(name))
    _same(report.shapes_table(analysis, count(analysis)))
    _same(report.params_table(analysis))


@pytest.mark.parametrize("convention", sorted(PRESETS))
def test_convention_tables_match_rich(convention):
    analysis = analyze(load_spec("googlenet"))
    counting = resolve_convention(convention, analysis.spec)
    _same(report.shapes_table(analysis, count(analysis, counting)))
    _same(report.convention_table(analysis, count(analysis, counting)))


def _table(title: str = "t: [b]title[/b]") -> TextTable:
    table = TextTable(title=title, show_footer=True)
    table.add_column("left", footer="total")
    table.add_column("words", footer="")
    table.add_column("right", justify="right", footer="1,234")
    table.add_column("mid", justify="center")
    table.add_row("a", "some words", "1", "x", style="dim")
    table.add_row("bb", "", "22", "")
    table.add_section()
    table.add_row("ccc", "w", "333", "yy")
    return table


def test_markup_emoji_codes_and_edge_spaces_are_literal_as_in_rich():
    table = _table()
    # (an emoji code inside a word: a colon opening a cell is escaped, see test_ci_log.py)
    for cell in ("[red]markup[/red]", "x:smile:", "·×→"):
        table.add_row(cell, cell, cell, cell)
    _same(table)
    assert "[red]markup[/red]" in _ours(table) and "x:smile:" in _ours(table)


def test_ascii_box_when_the_output_is_not_utf8():
    _same(_table(), unicode=False)
    assert set(_ours(_table(), unicode=False)) <= set(map(chr, range(128)))


def test_table_without_footer_or_title_matches_rich():
    table = TextTable()
    table.add_column("a")
    table.add_column("b", justify="right")
    for i in range(3):
        table.add_row(f"row{i}", str(i))
    _same(table)


@pytest.mark.parametrize("text", ["wide 漢字", "combining e\u0301", " edge "])
def test_text_the_direct_layout_cannot_measure_is_not_simple(text):
    table = _table()
    table.add_row(text, "", "", "")
    assert not table.simple()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("two\nlines", "two\\nlines"),
        ("tab\there", "tab\\there"),
        ("esc\x1b[2J", "esc\\x1b[2J"),
        ("rtl\u202e", "rtl\\u202e"),
    ],
    ids=["newline", "tab", "escape", "bidi"],
)
def test_a_cell_is_one_line_of_terminal_text(text, shown):
    table = _table(title=text)
    table.add_row(text, "", "", "")
    assert table.rows[-1].cells[0] == shown and table.title == shown
    assert table.simple() and all("\n" not in line for line, _ in table.lines())


def test_a_row_of_the_wrong_length_is_a_bug_not_a_misaligned_table():
    with pytest.raises(ValueError, match="a row of 2 cells in a table of 4 columns"):
        _table().add_row("a", "b")


def test_shapes_output_is_the_direct_layout_without_rich(runner, monkeypatch):
    monkeypatch.setattr(TextTable, "to_rich", lambda self: pytest.fail("a table that fits went to rich"))
    result = runner.invoke(main, ["shapes", "alexnet"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    analysis = analyze(load_spec("alexnet"))
    table = "".join(text + "\n" for text, _ in report.shapes_table(analysis, count(analysis)).lines())
    assert result.output.startswith(table)


def test_a_table_wider_than_the_output_goes_to_rich_which_wraps_it(runner):
    result = runner.invoke(main, ["shapes", "alexnet"], env={"COLUMNS": "90"})
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert max(len(line) for line in lines[:40]) <= 90
    assert "conv1" in result.output and "total" in result.output


def test_a_name_in_cjk_goes_to_rich_which_measures_it(runner, tmp_path):
    path = tmp_path / "cjk.yaml"
    path.write_text(
        "name: cjk\ninput: [3, 8, 8]\nlayers:\n  - conv: {name: 畳み込み, out: 4, kernel: 3}\n", encoding="utf-8"
    )
    result = runner.invoke(main, ["shapes", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    line = next(line for line in result.output.splitlines() if "畳み込み" in line)
    header = next(line for line in result.output.splitlines() if "layer" in line)
    from rich.cells import cell_len

    assert cell_len(line) == cell_len(header)  # rich measured the wide characters: the borders line up


@pytest.mark.parametrize(
    ("env", "styled"),
    [
        ({}, False),
        ({"FORCE_COLOR": "1"}, True),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
        ({"FORCE_COLOR": "1", "TERM": "dumb"}, False),
    ],
)
def test_styles_follow_no_color_and_force_color(runner, env, styled):
    """Off a terminal the output is plain; FORCE_COLOR styles it anyway, NO_COLOR and TERM=dumb never."""
    full = {"NO_COLOR": "", "FORCE_COLOR": "", "TERM": "xterm", "COLUMNS": "200", **env}
    result = runner.invoke(main, ["shapes", "lenet5"], env=full, color=False)  # as off a terminal
    assert result.exit_code == 0
    assert ("\x1b[" in result.output) is styled, result.output[:300]
