"""Numbers in flags and sizes are read in ASCII digits only: Python's int() and `\\d` read every
Unicode digit (`٣` Arabic-Indic, `３` fullwidth, `३` Devanagari) as its ASCII value, so `--batch ٣`
was read as 3. Each reader refuses them (and a superscript `²`, which int() refuses but isdigit() accepts)."""

from __future__ import annotations

import pytest

from archcalc.cli import main
from archcalc.errors import SpecError
from archcalc.limits import flag_int
from archcalc.sizes import SizeError, parse_bytes, parse_count

DIGITS = {"arabic-indic": "٣", "fullwidth": "３", "superscript": "²", "devanagari": "३", "bengali": "৩"}


@pytest.mark.parametrize("digit", DIGITS.values(), ids=DIGITS.keys())
@pytest.mark.parametrize("template", ["{d}", "1{d}", "{d}0", " {d} ", "1_{d}"])
def test_flag_int_reads_ascii_digits_only(digit, template):
    with pytest.raises(ValueError, match="ASCII"):
        flag_int(template.format(d=digit))


def test_flag_int_refuses_unicode_space():
    with pytest.raises(ValueError, match="ASCII"):
        flag_int("\u20033")


@pytest.mark.parametrize("digit", DIGITS.values(), ids=DIGITS.keys())
@pytest.mark.parametrize("parse", [parse_count, parse_bytes], ids=["count", "bytes"])
@pytest.mark.parametrize("template", ["{d}", "{d}M", "1.{d}G", "1{d}", "\u2003{d}"])
def test_sizes_read_ascii_digits_only(parse, digit, template):
    with pytest.raises((SizeError, SpecError)):
        parse(template.format(d=digit))


# Every command-line reader of numbers: the flag and a value with one non-ASCII digit in it.
FLAGS = {
    "roofline --batch": ["roofline", "lenet5", "--batch", "{d}"],
    "memory --batch": ["memory", "lenet5", "--batch", "{d}"],
    "analyze --input": ["analyze", "lenet5", "--input", "1x{d}2x32"],
    "analyze --input spatial": ["analyze", "lenet5", "--input", "{d}2"],
    "check --max-params": ["check", "lenet5", "--max-params", "{d}M"],
    "check --max-macs": ["check", "lenet5", "--max-macs", "{d}"],
    "check --max-activations": ["check", "lenet5", "--max-activations", "{d}MB"],
    "conv --input": ["conv", "--input", "{d}x{d}", "--kernel", "3"],
    "conv --kernel": ["conv", "--input", "32", "--kernel", "{d}"],
    "conv --stride": ["conv", "--input", "32", "--kernel", "3", "--stride", "{d}"],
    "conv --padding": ["conv", "--input", "32", "--kernel", "3", "--padding", "{d}"],
    "conv --padding pair": ["conv", "--input", "32", "--kernel", "3", "--padding", "1,{d}"],
    "conv --dilation": ["conv", "--input", "32", "--kernel", "3", "--dilation", "{d}"],
    "conv --channels": ["conv", "--input", "32", "--kernel", "3", "--channels", "3,{d}"],
    "conv --groups": ["conv", "--input", "32", "--kernel", "3", "--channels", "3,3", "--groups", "{d}"],
    "conv --output": ["conv", "--input", "32", "--kernel", "3", "--output", "{d}0"],
    "bench --batch": ["bench", "lenet5", "--batch", "1,{d}"],
    "bench --iters": ["bench", "lenet5", "--iters", "{d}"],
}


@pytest.mark.parametrize("digit", DIGITS.values(), ids=DIGITS.keys())
@pytest.mark.parametrize("args", FLAGS.values(), ids=FLAGS.keys())
def test_every_number_flag_refuses_non_ascii_digits(runner, args, digit):
    result = runner.invoke(main, [a.format(d=digit) for a in args], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.output


def test_a_budget_in_a_spec_refuses_non_ascii_digits(runner, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        'name: s\ninput: [1, 8, 8]\nbudget: {max_params: "\u0663M"}\nlayers:\n  - {kind: conv, out: 2, kernel: 3}\n',
        encoding="utf-8",
    )
    result = runner.invoke(main, ["check", str(spec)], catch_exceptions=False)
    assert result.exit_code == 2, result.output
