"""The width's edge cases (issue 15, fix round): counts whole at any size, text measured as the
terminal shows it (CJK two columns, combining marks none), every table that cannot fit says so,
lines under tables wrap, COLUMNS wins over the terminal, and --columns names as --help says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from archcalc.analysis import analyze
from archcalc.cli import main
from archcalc.commands import common
from archcalc.commands.bench import timing
from archcalc.loader import load_spec
from archcalc.table import cut_to_width, text_width

# A count far past 10^15 in every column: 10^18 input positions, a million maps, a 3x3 kernel.
HUGE = "name: huge\ninput: [1000000, 1000000, 1000000]\nlayers:\n  - conv: {out: 1000000, kernel: 3}\n"
HUGE_MACS = 1_000_000 * 1_000_000 * 9 * 999_998 * 999_998
SI_CELL = re.compile(r"^-?\d+(\.\d+)?[KMGTPEZY]$")
CJK_NAME = "漢" * 48
COMBINING_TITLE = "e\u0301" * 70  # 70 columns on screen, 140 characters (a name holds letters only)


def _run(args: list[str], env: dict[str, str] | None = None, code: int = 0) -> str:
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def _cells(output: str) -> list[str]:
    """Every cell of every table line in `output`, stripped."""
    return [cell.strip() for line in output.splitlines() if line[:1] in "│┃" for cell in re.split("[│┃]", line)[1:-1]]


def _spec(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _named(tmp_path: Path, layer: str, title: str = "") -> str:
    """A conv named `layer` and a relu, in a spec titled `title`."""
    head = f"name: named\ntitle: {title}\n" if title else "name: named\n"
    body = f"input: [3, 32, 32]\nlayers:\n  - conv: {{name: {layer}, out: 16, kernel: 3}}\n  - relu\n"
    return _spec(tmp_path, "named", head + body)


def _too_wide_said(output: str, width: int) -> None:
    """Every line fits `width`, or the output says the table could not fit, numbers whole."""
    widest = max(map(text_width, output.splitlines()))
    if widest > width:
        said = " ".join(output.split())  # the note wraps at the width like any line under a table
        assert f"wider than {width}: numbers are never cut" in said, f"{widest} columns, no note:\n{output}"


@pytest.mark.parametrize(
    "args",
    [["shapes", "--wide"], ["params", "--wide"], ["memory", "--wide"], ["roofline", "--wide"], ["compare", "lenet5"]],
    ids=["shapes", "params", "memory", "roofline", "compare"],
)
def test_table_cells_print_huge_counts_whole(tmp_path: Path, args: list[str]) -> None:
    output = _run([args[0], *args[1:], _spec(tmp_path, "huge", HUGE)])
    rounded = [cell for cell in _cells(output) if SI_CELL.match(cell)]
    assert not rounded, f"SI-rounded cells {rounded} in:\n{output}"
    if args[0] != "params":  # params has no MACs column
        assert f"{HUGE_MACS:,}" in output or f"{2 * HUGE_MACS:,}" in output, output


def test_summary_line_keeps_si_beside_the_exact_figure(tmp_path: Path) -> None:
    output = _run(["shapes", _spec(tmp_path, "huge", HUGE), "--wide"])
    assert f"MACs: {HUGE_MACS:,} (9Y " in output, output
    assert f"│ {HUGE_MACS:,} │" in output, output


@pytest.mark.parametrize(
    "value, decimals, text",
    [
        (1234.5678, 2, "1,234.57"),
        (999_999_999.0, 2, "999,999,999.00"),
        (18_192_771_376_664_648.0, 2, "1.819e+16"),
        (19_859.4, 0, "19,859"),
        (5.5e-11, 0, "5.5e-11"),
        (0.0, 2, "0.00"),
        (0.001, 3, "0.001"),
        (4.71e-05, 3, "4.71e-05"),
        (0.0031, 2, "0.0031"),
    ],
    ids=[
        "small",
        "last-fixed",
        "past-double-digits",
        "rate",
        "rate-below-one",
        "zero",
        "at-the-last-decimal",
        "below-the-last-decimal",
        "below-two-decimals",
    ],
)
def test_timing_text(value: float, decimals: int, text: str) -> None:
    assert timing(value, decimals) == text


def test_roofline_prints_no_digits_past_a_doubles_precision(tmp_path: Path) -> None:
    output = _run(["roofline", _spec(tmp_path, "huge", HUGE), "--wide"])
    assert "18,192,771,376,664,648.00" not in output and "1.819e+16" in output, output
    assert "(0 images/s" not in output, output


@pytest.mark.parametrize(
    "text, width",
    [("conv1", 5), ("漢字", 4), ("e\u0301", 1), ("a漢\u0301b", 4), ("", 0)],
    ids=["ascii", "cjk", "combining", "mixed", "empty"],
)
def test_text_width(text: str, width: int) -> None:
    assert text_width(text) == width


@pytest.mark.parametrize(
    "text, width, start", [("漢字漢字", 5, "漢字"), ("漢字", 4, "漢字"), ("ab漢", 3, "ab"), ("conv1", 3, "con")]
)
def test_cut_to_width(text: str, width: int, start: str) -> None:
    assert cut_to_width(text, width) == start


@pytest.mark.parametrize(
    "name, title", [(CJK_NAME, ""), ("conv_" + "a" * 40, COMBINING_TITLE)], ids=["cjk-name", "combining-title"]
)
@pytest.mark.parametrize("command", ["shapes", "params", "rf", "roofline"])
def test_wide_characters_are_measured_as_shown(tmp_path: Path, command: str, name: str, title: str) -> None:
    output = _run([command, _named(tmp_path, name, title), "--width", "60"])
    widest = max(map(text_width, output.splitlines()))
    assert widest <= 60, f"{widest} columns at --width 60:\n{output}"
    if title == "" or command == "shapes":  # the long text shown (the title: shapes only) is cut to fit
        assert "…" in output, output


@pytest.mark.parametrize(
    "a, b, width",
    [
        ("lenet5", "docs/examples/my_lenet.yaml", 100),
        ("lenet5", "lenet5-1998", 80),
        ("lenet5", "lenet5-1998", 60),
        ("alexnet", "vgg16", 80),
    ],
    ids=["my-lenet-100", "lenet-1998-80", "lenet-1998-60", "alexnet-vgg-80"],
)
def test_diff_fits_the_width_or_says_so(a: str, b: str, width: int) -> None:
    output = _run(["diff", a, b, "--width", str(width)])
    _too_wide_said(output, width)
    assert max(map(text_width, output.splitlines())) <= width or "wider than" in output


def test_diff_leaves_columns_out_and_names_them() -> None:
    output = _run(["diff", "lenet5", "lenet5-1998", "--width", "80"])
    assert max(map(text_width, output.splitlines())) <= 80, output
    assert "not shown, to fit 80 columns: output (A → B)" in output, output
    macs = analyze(load_spec("lenet5-1998")).totals.macs - analyze(load_spec("lenet5")).totals.macs
    assert f"{macs:+,}" in output and "avgpool → subsample" in output, (macs, output)


def test_compare_wider_than_the_width_says_so() -> None:
    specs = ["lenet5", "alexnet", "resnet50", "vgg16", "resnet18", "mobilenet-v1"]
    output = _run(["compare", *specs, "--width", "80"])
    _too_wide_said(output, 80)
    assert "wider than 80" in output, output


@pytest.mark.parametrize("width", [40, 60])
def test_rf_fits_with_its_columns_options(width: int) -> None:
    output = _run(["rf", "resnet50", "--width", str(width)])
    _too_wide_said(output, width)
    assert "not shown, to fit" in output, output
    assert _run(["rf", "resnet50", "--width", str(width), "--wide"]).count("output (HxWxC)") == 1


def test_verify_lines_wrap_to_the_width() -> None:
    output = _run(["verify", "lenet5", "--width", "60"])
    _too_wide_said(output, 60)
    lines = [line for line in output.splitlines() if line[:1] not in "┏┃┡│├└" and not line.startswith(" " * 10)]
    assert all(text_width(line) <= 60 for line in lines), output
    assert any(line.startswith("lenet5: verified:") for line in lines), output


def test_bench_lines_wrap_and_its_table_says_when_it_cannot_fit() -> None:
    args = ["bench", "lenet5", "--device", "cpu", "--batch", "1", "--iters", "1", "--warmup", "0", "--width", "40"]
    output = _run(args)
    flops = next(i for i, line in enumerate(output.splitlines()) if line.startswith("FLOPs:"))
    after = output.splitlines()[flops:]
    assert all(text_width(line) <= 40 for line in after), output
    _too_wide_said(output, 40)


def test_columns_env_wins_over_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common.sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("COLUMNS", "77")
    assert common._stdout_width() == 77
    monkeypatch.delenv("COLUMNS")
    monkeypatch.setattr(
        common.shutil, "get_terminal_size", lambda fallback=(200, 24): __import__("os").terminal_size((91, 24))
    )
    assert common._stdout_width() == 91
    assert "COLUMNS when set, else the terminal's" in " ".join(_run(["shapes", "--help"]).split())


@pytest.mark.parametrize(
    "args, header",
    [
        (["memory", "lenet5", "--columns", "layer,weight"], "weight grad MACs"),
        (["shapes", "lenet5", "--columns", "hyper"], "hyper-parameters"),
        (["roofline", "lenet5", "--columns", "layer,intensity"], "FLOP/byte"),
        (["roofline", "lenet5", "--columns", "layer,FLOP/byte"], "FLOP/byte"),
        (["rf", "lenet5", "--columns", "layer,rf-size"], "RF size"),
        (["diff", "lenet5", "lenet5-1998", "--columns", "layer,what"], "what changed (A → B)"),
    ],
    ids=["memory-prefix", "shapes-prefix", "roofline-name", "roofline-header", "rf-hyphen", "diff-prefix"],
)
def test_columns_take_names_headers_and_unique_prefixes(args: list[str], header: str) -> None:
    output = _run(args)
    assert header in output, output


@pytest.mark.parametrize(
    "value, message",
    [("", "name at least one column"), (",", "name at least one column"), ("b", "could name any of biases, buffers")],
    ids=["empty", "only-commas", "ambiguous-prefix"],
)
def test_columns_refused_with_one_message(value: str, message: str) -> None:
    output = _run(["params", "lenet5", "--columns", value], code=2)
    assert message in output and "Traceback" not in output, output
