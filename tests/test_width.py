"""Tables and lines fit the width: columns give way in their order, text wraps or is cut short, and
no number is ever cut, at any width (issue 15)."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from rich.table import Table

from archcalc import analysis_view, analyze, bundled_names, load_spec
from archcalc.analysis import Analysis
from archcalc.cli import main
from archcalc.commands.common import Output
from archcalc.counted import count
from archcalc.fit import fit, wrap_line, wrap_words
from archcalc.layers import KIND_TO_CLASS
from archcalc.table import TextTable, column_name

WIDTHS = (60, 80, 120, 200)
SPECS = ("lenet5", "alexnet", "resnet50")
NUMBER = re.compile(r"^-?\d{1,3}(,\d{3})*$")
# Each table's count columns and the Row attribute each holds (the archcalc convention).
COUNTS = {
    "shapes": {
        "units": "units",
        "weights": "weights",
        "biases": "biases",
        "connections": "connections",
        "macs": "macs",
    },
    "params": {
        "weights": "weights",
        "biases": "biases",
        "params": "params",
        "buffers": "buffers",
        "counters": "counters",
    },
}


def _run(args: list[str], env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _cells(line: str) -> list[str]:
    """The stripped cells of a table line (`│ a │ b │` or `┃ a ┃ b ┃`)."""
    return [cell.strip() for cell in re.split("[│┃]", line)[1:-1]]


def _parsed(output: str, footer: bool = True) -> tuple[list[str], list[list[str]], list[str]]:
    """Headers, data rows (the input row first where there is one; no footer) and the lines after the table."""
    lines = output.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("┃"))
    bottom = next(i for i in range(head, len(lines)) if lines[i].startswith("└"))
    rows = [_cells(line) for line in lines[head + 2 : bottom] if line.startswith("│")]
    return _cells(lines[head]), rows[:-1] if footer else rows, lines[bottom + 1 :]


def _note(after: list[str]) -> str:
    """The drop note under a table, its wrapped lines joined."""
    start = next((i for i, line in enumerate(after) if line.startswith("not shown")), None)
    if start is None:
        return ""
    text = after[start]
    for line in after[start + 1 :]:
        if not line.startswith("  "):
            break
        text += " " + line.strip()
    return text


def _table_rows(command: str, analysis: Analysis) -> list:
    """The analysis rows the table prints, in order (shapes: every row; params: those holding state)."""
    if command == "shapes":
        return list(analysis.rows)
    return [row for row in analysis.rows if row.params or row.buffers or row.counters]


def _full_table(command: str, analysis: Analysis) -> TextTable:
    if command == "shapes":
        return analysis_view.shapes_table(analysis, count(analysis))
    return analysis_view.params_table(analysis)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("command", ["shapes", "params"])
def test_every_number_whole_and_no_line_wider_than_the_width(command: str, name: str, width: int) -> None:
    output = _run([command, name, "--width", str(width)])
    too_long = [line for line in output.splitlines() if len(line) > width]
    assert not too_long, f"{len(too_long)} lines wider than {width}, e.g. {too_long[0]!r}"
    analysis = analyze(load_spec(name))
    printed_headers, rows, after = _parsed(output)
    headers = list(map(column_name, printed_headers))
    data = rows[1:] if command == "shapes" else rows  # shapes' first row is the input
    data = [cells for cells in data if any(cells[1:])]  # a container's heading line (tree_view.py) has no cells
    expected = _table_rows(command, analysis)
    assert len(data) == len(expected), f"{len(data)} rows printed, {len(expected)} in the analysis"
    checked = 0
    for column, attribute in COUNTS[command].items():
        if column not in headers:
            continue
        index = headers.index(column)
        for cells, row in zip(data, expected):
            cell = cells[index]
            assert cell == "·" or NUMBER.match(cell), f"{row.path} {column}: {cell!r} is not a whole number"
            printed = 0 if cell == "·" else int(cell.replace(",", ""))
            assert printed == getattr(row, attribute), (
                f"{row.path} {column}: printed {cell}, exact {getattr(row, attribute):,}"
            )
            checked += 1
    assert checked >= len(expected), f"only {checked} count cells checked: at least one count column stays"
    full = [column.header for column in _full_table(command, analysis).columns]
    missing = [header for header in full if header not in printed_headers]
    note = _note(after)
    if missing:
        named = note.split(": ", 1)[1].split(";")[0].split(", ") if note else []
        assert sorted(named) == sorted(missing), f"the note names {named}, the table lacks {missing}"
        assert "--wide" in note and "--columns" in note, note
    else:
        assert not note, note


@pytest.mark.parametrize("width", [20, 25])
def test_a_width_too_narrow_for_any_layout_still_prints_every_number_whole(width: int) -> None:
    output = _run(["shapes", "alexnet", "--width", str(width)])
    headers, rows, after = _parsed(output)
    assert headers == ["layer", "MACs"], headers
    analysis = analyze(load_spec("alexnet"))
    for cells, row in zip(rows[1:], analysis.rows):
        assert cells[1] == ("·" if not row.macs else f"{row.macs:,}"), (cells, row.macs)
    said = " ".join(line.strip() for line in after)
    assert "numbers are never cut" in said, said


def test_columns_env_sets_the_width_off_a_terminal() -> None:
    output = _run(["shapes", "alexnet"], env={"COLUMNS": "80"})
    assert max(map(len, output.splitlines())) <= 80
    assert "not shown, to fit 80 columns" in output


def test_width_flag_wins_over_columns_env() -> None:
    output = _run(["shapes", "alexnet", "--width", "120"], env={"COLUMNS": "60"})
    assert "to fit 120 columns" in output
    assert max(map(len, output.splitlines())) <= 120


@pytest.mark.parametrize(
    "args, headers",
    [
        (["--columns", "layer,macs"], ["layer", "MACs"]),
        (["--columns", "MACs,Layer,output"], ["layer", "output (HxWxC)", "MACs"]),
        (["--columns", "weights,hyper-parameters", "--width", "60"], ["hyper-parameters", "weights"]),
    ],
    ids=["two", "any-case-table-order", "text-shortened-not-dropped"],
)
def test_columns_picks_columns_in_table_order(args: list[str], headers: list[str]) -> None:
    output = _run(["shapes", "alexnet", *args])
    printed, _, after = _parsed(output)
    assert printed == headers
    assert not _note(after)


def test_columns_unknown_name_is_a_usage_error_with_a_suggestion() -> None:
    result = CliRunner().invoke(main, ["params", "lenet5", "--columns", "layer,bufers"])
    assert result.exit_code == 2, result.output
    assert "no column 'bufers'" in result.output and "did you mean 'buffers'" in result.output, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name", ["a" * 100_000, "x\x1b]0;title\x07"], ids=["100k-characters", "escape-sequence"])
def test_columns_unknown_name_is_quoted_cut_short_and_escaped(name: str) -> None:
    """The name as typed is quoted as every refused value is (limits.shown): at most 60 characters,
    control characters escaped, so a message never floods or drives the terminal."""
    result = CliRunner().invoke(main, ["shapes", "lenet5", "--columns", name], color=True)  # ANSI kept as printed
    assert len(result.output) < 400 and "\x1b" not in result.output, (len(result.output), result.output[:300])


def test_wide_prints_every_column_whatever_the_width() -> None:
    output = _run(["shapes", "alexnet", "--width", "60", "--wide"])
    headers, _, after = _parsed(output)
    full = analysis_view.shapes_table(analyze(load_spec("alexnet")), count(analyze(load_spec("alexnet"))))
    assert len(headers) == len(full.columns)
    assert not _note(after)


@pytest.mark.parametrize("name", bundled_names())
@pytest.mark.parametrize("command", ["shapes", "params"])
def test_every_count_column_adds_up_to_its_footer(command: str, name: str) -> None:
    analysis = analyze(load_spec(name))
    table = _full_table(command, analysis)
    summed = set()
    for index, column in enumerate(table.columns):
        if column.name not in COUNTS[command]:
            continue
        cells = [row.cells[index] for row in table.rows]
        total = sum(0 if cell in ("", "·") else int(cell.replace(",", "")) for cell in cells)
        assert f"{total:,}" == column.footer, f"{name} {column.header}: rows add to {total:,}, footer {column.footer}"
        summed.add(column.name)
    assert summed == set(COUNTS[command]), f"columns summed: {sorted(summed)}"


def test_params_shows_counters_apart_from_float_buffers() -> None:
    headers, rows, _ = _parsed(_run(["params", "resnet50", "--columns", "layer,buffers,counters"]))
    assert headers == ["layer", "buffers", "counters"], headers
    bn1 = rows[[r[0] for r in rows].index("bn1")]
    assert bn1 == ["bn1", "128", "1"], bn1


def test_kinds_descriptions_wrap_at_words_never_cut() -> None:
    output = _run(["kinds", "--width", "80"])
    assert max(map(len, output.splitlines())) <= 80
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("┡")) + 1
    described: dict[str, str] = {}
    kind = ""
    for line in lines[start:]:
        if line.startswith("└"):
            break
        cells = _cells(line)
        kind = cells[0] or kind
        described[kind] = (described.get(kind, "") + " " + cells[1]).strip()
    for name, cls in KIND_TO_CLASS.items():
        doc = cls.summary(name)
        assert described[name] == doc, f"{name}: printed {described[name]!r}, described {doc!r}"


@pytest.mark.parametrize(
    "args",
    [
        ["compare", "lenet5", "alexnet", "resnet50"],
        ["memory", "alexnet"],
        ["roofline", "alexnet"],
        ["diff", "alexnet", "alexnet-torchvision"],
        ["rf", "alexnet"],
    ],
    ids=["compare", "memory", "roofline", "diff", "rf"],
)
def test_other_tables_never_cut_a_number(args: list[str]) -> None:
    """Every number in the table at 400 columns is printed, whole, at 40 (with --wide: no column left out)."""

    def numbers(output: str) -> list[str]:
        rows = [line for line in output.splitlines() if line.startswith("│")]
        return sorted(re.findall(r"\d[\d,.]*", " ".join(rows)))

    wide = numbers(_run([*args, "--width", "400"]))
    extra = ["--wide"] if args[0] in ("memory", "roofline", "diff", "rf") else []
    narrow = numbers(_run([*args, "--width", "40", *extra]))
    assert wide and narrow == wide, f"at 40: {narrow[:20]}\nat 400: {wide[:20]}"


def test_rich_fallback_keeps_numbers_whole(capsys: pytest.CaptureFixture[str]) -> None:
    table = TextTable(title="wide characters")
    table.add_column("layer", shorten=True)
    table.add_column("note", drop=1)
    table.add_column("macs", justify="right")
    table.add_row("層" * 30, "a long note " * 5, "1,135,256,096")
    assert not table.simple()
    Output(width=30).table(table)
    printed = capsys.readouterr().out
    assert "1,135,256,096" in printed, printed
    assert "not shown, to fit 30 columns: note" in " ".join(printed.split()), printed


def test_rich_table_words_stay_whole(capsys: pytest.CaptureFixture[str]) -> None:
    table = Table(title="t")
    table.add_column("what")
    table.add_column("value")
    table.add_row("a description of some length that wraps", "≈ 62,367,776 vs 62,378,344 (biases)")
    Output(width=30).rich_table(table)
    printed = capsys.readouterr().out
    assert "62,367,776" in printed and "62,378,344" in printed, printed


@pytest.mark.parametrize(
    "text, width, lines",
    [
        ("a b c", 80, ["a b c"]),
        ("alpha beta gamma", 11, ["alpha beta", "  gamma"]),
        ("  indented words here", 12, ["  indented", "    words", "    here"]),
        ("x ::error::forged", 8, ["x", "  ::error::forged"]),
        ("1,234,567,890 fits", 5, ["1,234,567,890", "  fits"]),
    ],
    ids=["fits", "wraps", "keeps-indent", "no-line-opens-with-user-text", "number-whole"],
)
def test_wrap_line(text: str, width: int, lines: list[str]) -> None:
    assert wrap_line(text, width) == lines


def test_wrap_words_keeps_every_word() -> None:
    text = "Batch normalisation per channel, running mean and variance as buffers."
    for width in range(1, len(text) + 1):
        wrapped = wrap_words(text, width)
        assert " ".join(wrapped) == text
        assert all(len(line) <= width or " " not in line for line in wrapped), (width, wrapped)


def test_fit_leaves_columns_out_in_their_order_then_shortens() -> None:
    table = TextTable(title="t")
    table.add_column("name", shorten=True)
    table.add_column("second", drop=2)
    table.add_column("first", drop=1)
    table.add_column("count", justify="right")
    table.add_row("a-rather-long-name", "xxxxxxxxxx", "yyyyyyyyyy", "123,456")
    widths = [(w, fit(table, w)) for w in range(10, table.width() + 1)]
    for width, fitted in widths:
        kept = [column.header for column in fitted.table.columns]
        assert kept in (["name", "second", "first", "count"], ["name", "second", "count"], ["name", "count"]), kept
        assert fitted.table.rows[0].cells[-1] == "123,456"
        assert fitted.too_wide == (fitted.table.width() > width), (width, fitted)
        if not fitted.too_wide and fitted.table.rows[0].cells[0] != "a-rather-long-name":
            assert kept == ["name", "count"], f"text cut at {width} while a column could still go"


@pytest.mark.parametrize("value", ["0", "abc", "10001", "-5"], ids=["zero", "word", "past-max", "negative"])
def test_width_flag_refuses_what_is_not_a_width(value: str) -> None:
    result = CliRunner().invoke(main, ["shapes", "lenet5", "--width", value])
    assert result.exit_code == 2, result.output
    assert "--width" in result.output and "Traceback" not in result.output, result.output


def test_static_commands_fit_without_importing_rich() -> None:
    """A table too wide for the width is fitted and laid out directly: rich's import stays off the path."""
    import subprocess
    import sys

    code = (
        "import sys; from archcalc.cli import main\n"
        "try:\n    main(['shapes', 'resnet50', '--width', '60'])\nexcept SystemExit:\n    pass\n"
        "print('rich' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stderr.strip().endswith("False"), done.stderr[-2000:]


@pytest.mark.parametrize("width", [60, 80])
def test_list_keeps_name_and_every_total_whole(width: int) -> None:
    output = _run(["list", "--width", str(width)])
    assert max(map(len, output.splitlines())) <= width
    headers, rows, _ = _parsed(output, footer=False)
    assert headers[0] == "name" and "params" in headers, headers
    params = {cells[0]: cells[headers.index("params")] for cells in rows}
    for name in ("lenet5", "alexnet", "resnet50"):
        assert params[name] == f"{analyze(load_spec(name)).totals.params:,}", (name, params[name])
