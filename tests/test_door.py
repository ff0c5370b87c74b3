"""Numbers validated at the door (issue 13, rule 2): YAML scalars, counting costs, budgets, measured
JSON files, command-line sizes, COLUMNS and missing extras. Each bad input is one message and exit 2
(3 for a missing extra), never a traceback, a crash in int() or float(), or a silent wrong number.

Nothing here leans on one PyYAML's or one Python's limits: the digit limit is checked with Python's
own int limit lifted and at its lowest, and the YAML cases go through archcalc's own builder.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from archcalc import SpecError, analyze, load_spec, parse_spec
from archcalc.cli import main
from archcalc.conventions import OpCost
from archcalc.limits import MAX_BUDGET, MAX_COST, MAX_DIGITS
from archcalc.measured import MAX_MEASURED_BYTES, parse_measured
from archcalc.numfmt import fmt_bytes, fmt_si
from archcalc.sizes import SizeError, parse_bytes, parse_count
from archcalc.yaml_builder import parse_yaml

from .helpers import spec_text
from .test_bad_specs import ROOT, TIMEOUT_S, _limit_memory


@contextmanager
def int_digit_limit(limit: int):
    """Python's own int/str digit limit set to `limit` (0: none) for the duration."""
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(limit)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(before)


def run_archcalc(*args: str, env: dict[str, str] | None = None, hide: str | None = None) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess, with a timeout and a memory limit; `hide`: a package made
    unimportable (`sys.modules[name] = None`, as if it were not installed)."""
    code = (
        f"import sys; sys.modules[{hide!r}] = None; " if hide else "import sys; "
    ) + "from archcalc.cli import main; sys.argv[0] = 'archcalc'; main()"
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full_env.pop("ARCHCALC_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        preexec_fn=_limit_memory,
        env=full_env,
        cwd=ROOT,
    )


def spec_error(text: str) -> SpecError:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "door.yaml")
    return caught.value


# ---------------------------------------------------------------------------------------------
# YAML scalars


@pytest.mark.parametrize("text", ["2001-02-30", "2001-01-01", "2001-12-14t21:59:43.10-05:00", "2002-12-14"])
def test_date_like_scalars_are_text(text):
    """A timestamp is never constructed: a date, real or impossible, is the text as written."""
    data, _ = parse_yaml(f"title: {text}\nk: [{text}]\n", "door.yaml")
    assert data == {"title": text, "k": [text]}, data
    spec = parse_spec(f"name: t\ntitle: {text}\ninput: [1, 8, 8]\nlayers: [relu]\n")
    assert spec.title == text


BAD_SCALARS = [
    ('!!int "abc"', "'abc' is not an integer"),
    ('!!float "abc"', "'abc' is not a number"),
    ('!!bool "maybe"', "'maybe' is not a boolean"),
    ('!!float ""', "'' is not a number"),
    ('!!int ""', "'' is not an integer"),
    ('!!int "0x"', "'0x' is not an integer"),
    ('!!int "1:x"', "'1:x' is not an integer"),
    ('!!float "1e"', "'1e' is not a number"),
    (".nan", "'.nan' is not a finite number"),
    (".NaN", "'.NaN' is not a finite number"),
    (".inf", "'.inf' is not a finite number"),
    ("-.inf", "'-.inf' is not a finite number"),
    ("+.Inf", "'+.Inf' is not a finite number"),
    ("!!float nan", "'nan' is not a finite number"),
    ("!!float inf", "'inf' is not a finite number"),
    ("1.0e+999", "'1.0e+999' is not a finite number"),
    ("-1.5e+400", "'-1.5e+400' is not a finite number"),
    ("1" * 400 + ".0", "is not a finite number"),
    ("9" * 5000, "an integer of 5,000 digits"),
    ("-" + "9" * 41, "an integer of 41 digits"),
    ("0x" + "f" * 50, "an integer of 50 digits"),
    ('!!int "1' + ":59" * 30 + '"', "an integer of 61 digits"),  # plain, a base-60 form is text
    ('!!int "' + "7" * 100 + '"', "an integer of 100 digits"),
]


@pytest.mark.parametrize(("value", "snippet"), BAD_SCALARS, ids=[v[:24] for v, _ in BAD_SCALARS])
@pytest.mark.parametrize("where", ["negative_slope", "notes", "key"])
def test_bad_scalars_are_bad_values_at_their_line(value, snippet, where):
    """Whatever field holds it (a float or a text field): bad_value at its line. As a mapping key it
    is never constructed: a key is a name, so it is bad_key at its line (tests/test_yaml_forms.py)."""
    if where == "key":
        text = spec_text(f"- leaky_relu: {{{value}: 1}}", "[1, 8, 8]")
    elif where == "notes":
        text = f"name: t\ninput: [1, 8, 8]\nnotes: {value}\nlayers: [relu]\n"
    else:
        text = spec_text(f"- leaky_relu: {{negative_slope: {value}}}", "[1, 8, 8]")
    err = spec_error(text)
    expected_line = 3 if where == "notes" else 4
    expected_code = "bad_key" if where == "key" else "bad_value"
    assert (err.code, err.position.line) == (expected_code, expected_line), (err.code, err.position, str(err))
    assert where == "key" or snippet in err.message, f"{snippet!r} not in {err.message!r}"
    assert len(str(err)) < 400, "the message quotes a long value in full"


def test_explicit_timestamp_tag_is_unsupported():
    err = spec_error("name: t\ntitle: !!timestamp 2001-01-01\ninput: [1, 8, 8]\nlayers: [relu]\n")
    assert (err.code, err.position.line) == ("unsupported_tag", 2), str(err)


@pytest.mark.parametrize("python_limit", [0, 640], ids=["python-limit-lifted", "python-limit-lowest"])
def test_digit_limit_is_archcalc_s_own(python_limit):
    """Refused by the written length, before int(): the same with Python's limit lifted (where int()
    of 10^6 digits would crawl) or at its lowest; MAX_DIGITS digits still pass the door."""
    with int_digit_limit(python_limit):
        err = spec_error(spec_text(f"- conv: {{out: {'9' * 1_000_000}, kernel: 3}}"))
        assert err.code == "bad_value" and f"at most {MAX_DIGITS} digits" in err.message, str(err)
        at_limit = spec_error(spec_text(f"- conv: {{out: {'9' * MAX_DIGITS}, kernel: 3}}"))
        assert at_limit.code == "bad_value" and "less than or equal to" in at_limit.message, str(at_limit)


def test_plain_scalars_keep_their_types():
    data, _ = parse_yaml("a: 1_000\nb: 0x10\nc: 1.5\nd: -2.5e+3\ne: true\nf: ~\ng: 190:20:30\n", "door.yaml")
    assert data == {"a": 1000, "b": 16, "c": 1.5, "d": -2500.0, "e": True, "f": None, "g": "190:20:30"}  # base 60: text


SCALAR_TAGS = st.sampled_from(["", "!!int ", "!!float ", "!!bool ", "!!null ", "!!str ", "!!timestamp ", "!x ", "! "])
NUMBERISH = st.text(alphabet="0123456789+-._:eExXoObB nNaAiIfFtTrRuUlLsS", max_size=60)


@settings(max_examples=400, deadline=None)
@given(tag=SCALAR_TAGS, text=st.one_of(NUMBERISH, st.text(max_size=30)), quoted=st.booleans())
def test_no_scalar_escapes_as_anything_but_a_spec_error(tag, text, quoted):
    """Any scalar, tagged or not, quoted or plain: it loads as a finite value of at most MAX_DIGITS
    digits, or is one SpecError (bad_value for a value its tag cannot take); never another exception."""
    scalar = json.dumps(text) if quoted else text
    source = f"name: t\ninput: [1, 8, 8]\nlayers: [relu]\nnotes: {tag}{scalar}\n"
    try:
        data, _ = parse_yaml(source, "door.yaml")
    except SpecError as err:
        assert err.code in ("bad_value", "unsupported_tag", "yaml_syntax", "bad_key", "duplicate_key"), str(err)
        return
    value = data.get("notes") if isinstance(data, dict) else None
    if isinstance(value, float):
        assert math.isfinite(value), value
    if isinstance(value, int) and not isinstance(value, bool):
        assert abs(value) < 60 ** (MAX_DIGITS + 1), value
    assert not hasattr(value, "year"), f"a timestamp was constructed: {value!r}"


@settings(max_examples=400, deadline=None)
@given(
    tag=st.sampled_from(["!!int", "!!float", "!!bool", "!!null", ""]),
    text=st.one_of(NUMBERISH, st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)),
)
@example(tag="!!int", text="00")  # found by a CI run: YAML 1.1's octal zero, refused as ambiguous
@example(tag="!!int", text="1:0")  # found by a run: YAML 1.1's base 60 (60), refused as ambiguous
def test_a_value_its_tag_cannot_take_is_bad_value(tag, text):
    """Well-formed YAML (printable ASCII, double-quoted) with a scalar tag: it loads as PyYAML
    would construct it, or it is error[bad_value] at its line, and nothing else, ever."""
    source = f"notes: {tag} {json.dumps(text)}\n"
    try:
        expected = yaml.safe_load(source)["notes"]
    except Exception:  # noqa: BLE001 - PyYAML's constructor fails on it: whatever it raises
        expected = None
        failed = True
    else:
        failed = False
    try:
        data, _ = parse_yaml(source, "door.yaml")
    except SpecError as err:
        assert (err.code, err.position.line) == ("bad_value", 1), str(err)
        too_long = isinstance(expected, int) and len(text.replace("_", "").lstrip("+-")) > MAX_DIGITS
        # YAML 1.1 reads a leading zero as octal, YAML 1.2 as decimal: refused as ambiguous (issue 13)
        octal = isinstance(expected, int) and re.fullmatch(r"[-+]?0[0-7_]+", text) is not None
        infinite = isinstance(expected, float) and not math.isfinite(expected)
        # YAML 1.1 reads 1:0 as base 60, YAML 1.2 as text: refused as ambiguous (yaml_builder.py)
        base_60 = isinstance(expected, (int, float)) and ":" in text
        assert failed or too_long or octal or infinite or base_60, (source, expected)
        return
    assert not failed and data["notes"] == expected, (source, data, expected)


# ---------------------------------------------------------------------------------------------
# Counting conventions: costs are never negative


ROWS = [row for name in ("lenet5", "alexnet", "googlenet") for row in analyze(load_spec(name)).rows]
COSTS = ["per_input", "per_op_input", "per_output", "per_param", "per_vector", "affine_factor"]


@pytest.mark.parametrize("term", COSTS)
@pytest.mark.parametrize("value", [-1, -1_000_000, MAX_COST + 1, 1.5, "3", True])
def test_op_cost_terms_are_bounded_integers(term, value):
    text = spec_text("- relu") + f"convention: {{op_costs: {{relu: {{{term}: {json.dumps(value)}}}}}}}\n"
    err = spec_error(text)
    assert err.code in ("bad_value", "wrong_type") and err.position.line == 5, str(err)


@settings(max_examples=200, deadline=None)
@given(
    per_input=st.integers(0, MAX_COST),
    per_vector=st.integers(-MAX_COST, MAX_COST),
    others=st.lists(st.integers(0, MAX_COST), min_size=4, max_size=4),
)
def test_a_cost_that_validates_is_never_negative(per_input, per_vector, others):
    """per_vector alone may be negative, by at most per_input: every row of every shape costs >= 0."""
    fields = dict(
        zip(["per_op_input", "per_output", "per_param", "affine_factor"], others),
        per_input=per_input,
        per_vector=per_vector,
    )
    try:
        cost = OpCost.model_validate(fields)
    except ValueError:
        assert per_input + per_vector < 0
        return
    for row in ROWS:
        assert cost.cost(row) >= 0, (fields, row.path)


def test_reproduction_negative_relu_cost_is_refused(runner, tmp_path):
    path = tmp_path / "neg.yaml"
    path.write_text(spec_text("- relu", "[1, 8, 8]") + "convention: {op_costs: {relu: {per_input: -1000000}}}\n")
    result = runner.invoke(main, ["shapes", str(path), "--convention", "paper"], catch_exceptions=False)
    assert result.exit_code == 2 and "error[bad_value]" in result.output, result.output
    assert "-143" not in result.output


# ---------------------------------------------------------------------------------------------
# Budgets and SI formatting


@pytest.mark.parametrize("parse", [parse_count, parse_bytes])
@pytest.mark.parametrize("python_limit", [0, 640], ids=["python-limit-lifted", "python-limit-lowest"])
@pytest.mark.parametrize(
    "value",
    [
        "9" * 5000,
        "1" + "0" * 400,
        "1_" * 41 + "1",
        MAX_BUDGET + 1,
        str(MAX_BUDGET + 1),
        "1000000000000000001T",
        10**5000,
        "0." + "0" * 5000 + "1",
    ],
    ids=[
        "5000-digits",
        "400-zeros",
        "underscored",
        "int-past-max",
        "text-past-max",
        "T-past-max",
        "int-10^5000",
        "5000-decimals",
    ],
)
def test_sizes_past_the_door_are_size_errors(parse, python_limit, value):
    with int_digit_limit(python_limit), pytest.raises(SizeError) as caught:
        parse(value)
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize("parse", [parse_count, parse_bytes])
def test_the_largest_budget_is_accepted(parse):
    assert parse(MAX_BUDGET) == parse(str(MAX_BUDGET)) == MAX_BUDGET


@pytest.mark.parametrize("exponent", [0, 3, 24, 26, 27, 100, 300, 301, 308, 309, 400, 4299, 5000])
def test_si_formatting_is_total(exponent):
    for value in (10**exponent, 10**exponent * 7 // 3, -(10**exponent)):
        with int_digit_limit(640):
            si, size = fmt_si(value), fmt_bytes(abs(value))
        assert len(si) < 16 and len(size) < 24, (si, size)
        if 10**27 <= abs(value) < 2**1000:
            assert si == f"{value:.3g}", (si, f"{value:.3g}")
        if abs(value) >= 10**27:
            mantissa, power = si.split("e+")
            assert abs(Fraction(mantissa) * 10 ** int(power) - value) <= Fraction(5, 1000) * abs(value), si


@pytest.mark.parametrize("fmt", ["text", "github", "json", "junit"])
def test_reproduction_budget_of_400_zeros(runner, tmp_path, fmt):
    path = tmp_path / "b.yaml"
    path.write_text(spec_text("- relu", "[1, 8, 8]") + "budget: {max_params: 1" + "0" * 400 + "}\n")
    result = runner.invoke(main, ["check", str(path), "--format", fmt], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert "bad_value" in result.output and "OverflowError" not in result.output


@pytest.mark.parametrize("flag", ["--max-params", "--max-macs", "--max-activations"])
@pytest.mark.parametrize("value", ["9" * 5000, str(MAX_BUDGET + 1), "1" + "0" * 400 + "MB"])
def test_reproduction_huge_budget_flag_is_a_usage_error(runner, flag, value):
    result = runner.invoke(main, ["check", "lenet5", flag, value], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{flag}'" in result.output and len(result.output) < 1000, result.output


# ---------------------------------------------------------------------------------------------
# Measured figures (report --measured)


BAD_MEASURED = {
    "nan": ('{"params": NaN}', "NaN is not a JSON number"),
    "infinity": ('{"spec": "lenet5", "totals": {"macs": Infinity}}', "Infinity is not a JSON number"),
    "minus-infinity": ('{"layers": [{"path": "c1", "macs": -Infinity}]}', "-Infinity is not a JSON number"),
    "float-overflow": ('{"params": 1e999}', "not finite"),
    "float-huge": ('{"ms": 1e300}', "not below 10^40"),
    "5000-digits": ('{"params": ' + "9" * 5000 + "}", "an integer of 5,000 digits"),
    "41-digits-nested": ('{"x": [[{"y": -' + "1" * 41 + "}]]}", "an integer of 41 digits"),
    "negative-count": ('{"params": -5}', "params: is -5, but a measured figure is never negative"),
    "negative-layer-count": ('{"layers": {"C1": {"macs": -1}}}', 'layers["C1"].macs: is -1'),
    "duplicate-key": ('{"params": 1, "params": 2}', "the key 'params' appears twice"),
    "lone-surrogate": ('{"spec": "lenet5", "tool": "\\ud800"}', "lone surrogate"),
    "not-utf8": (b'{"tool": "\xff"}', "is not valid UTF-8"),
    "syntax": ('{"params": 1', "not valid JSON"),
    "deep": ("[" * 100_000 + "]" * 100_000, "nests too deeply"),
}


@pytest.mark.parametrize("name", BAD_MEASURED)
@pytest.mark.parametrize("python_limit", [0, 640], ids=["python-limit-lifted", "python-limit-lowest"])
def test_bad_measured_files_are_one_error(runner, tmp_path, name, python_limit):
    content, snippet = BAD_MEASURED[name]
    path = tmp_path / "m.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with int_digit_limit(python_limit):
        result = runner.invoke(
            main,
            ["report", "lenet5", "--measured", str(path), "--format", "json", "-o", str(tmp_path)],
            catch_exceptions=False,
        )
    assert result.exit_code == 2, result.output
    assert "error[bad_measured]" in result.output and f"{path}" in result.output, result.output
    assert snippet in result.output, f"{snippet!r} not in {result.output!r}"
    assert not (tmp_path / "lenet5.json").exists()


def test_measured_file_past_the_size_limit(tmp_path):
    big = b'{"params": 61706, "pad": "' + b"x" * MAX_MEASURED_BYTES + b'"}'
    with pytest.raises(SpecError, match="larger than the limit"):
        parse_measured(big, "m.json")


def test_measured_json_report_is_strict_json(runner, tmp_path):
    """A good measured file still reports, and the JSON report loads with NaN refused."""
    path = tmp_path / "m.json"
    path.write_text('{"spec": "lenet5", "tool": "t", "params": 61706, "ms": 0.25}')
    result = runner.invoke(
        main,
        ["report", "lenet5", "--measured", str(path), "--format", "json", "-o", str(tmp_path)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output

    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    report = json.loads((tmp_path / "lenet5.json").read_text(), parse_constant=refuse)
    assert report["measured"]["source"] == str(path)


@pytest.mark.parametrize("target", ["/dev/zero", "fifo", "directory"])
def test_measured_file_that_is_not_a_regular_file(tmp_path, target):
    """/dev/zero never ends and a FIFO blocks on open: both refused before a byte is read."""
    if target == "/dev/zero":
        if not Path("/dev/zero").exists():
            pytest.skip("no /dev/zero")
        path = "/dev/zero"
    elif target == "fifo":
        path = str(tmp_path / "fifo")
        os.mkfifo(path)
    else:
        path = str(tmp_path)
    result = run_archcalc("report", "lenet5", "--measured", path, "-o", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr


# ---------------------------------------------------------------------------------------------
# COLUMNS, missing extras, keys that look like pydantic's tags


TERMINAL_SIZES = [("COLUMNS", v) for v in ("abc", "", "0", "-5", "1.5", "٣", "9" * 5000, str(10**12))] + [
    ("LINES", v) for v in ("abc", "9" * 5000, str(10**12))
]


@pytest.mark.parametrize(("variable", "value"), TERMINAL_SIZES, ids=[f"{n}={v[:8]}" for n, v in TERMINAL_SIZES])
def test_unusable_terminal_sizes_are_ignored(runner, tmp_path, variable, value):
    for args in (["report", "lenet5", "-o", str(tmp_path)], ["shapes", "lenet5"], ["compare", "lenet5", "alexnet"]):
        result = runner.invoke(main, args, env={variable: value}, catch_exceptions=False)
        assert result.exit_code == 0, f"{variable}={value[:20]!r} {args}: {result.output}"
        assert "lenet5" in result.output


def test_reproduction_export_without_torch_is_a_missing_extra():
    result = run_archcalc("export", "lenet5", "--to", "torch", hide="torch")
    assert result.returncode == 3, result.stderr
    assert "error[missing_extra]" in result.stderr and "'torch'" in result.stderr, result.stderr
    assert "archcalc[verify]" in result.stderr and "Traceback" not in result.stderr


def test_export_onnx_without_onnx_names_the_counters_extra(tmp_path):
    result = run_archcalc("export", "lenet5", "--to", "onnx", "-o", str(tmp_path / "m.onnx"), hide="onnx")
    assert result.returncode == 3, result.stderr
    assert "'onnx'" in result.stderr and "archcalc[counters]" in result.stderr, result.stderr


@pytest.mark.parametrize("key", ["a[b", "x[0]", "[", "]", "function-after[x]", "list[int]", "tuple[int, ...]"])
@pytest.mark.parametrize("where", ["layer", "top", "budget", "op_cost"])
def test_unknown_keys_are_named_as_written(key, where):
    field = json.dumps(key)
    text = {
        "layer": spec_text(f"- relu: {{{field}: 1}}"),
        "top": spec_text("- relu") + f"{field}: 1\n",
        "budget": spec_text("- relu") + f"budget: {{{field}: 1}}\n",
        "op_cost": spec_text("- relu") + f"convention: {{op_costs: {{relu: {{{field}: 1}}}}}}\n",
    }[where]
    err = spec_error(text)
    assert err.code == "unknown_field" and f"unknown field {key!r}" in err.message, str(err)
    assert "the value" not in err.message
    assert err.position is not None and err.position.line >= 4, str(err)


def test_parsed_yaml_is_yaml_s_own_for_ordinary_specs():
    """The resolver change (no timestamps) leaves every bundled spec's data as PyYAML reads it."""
    for path in sorted((ROOT / "specs").glob("*.yaml")):
        text = path.read_text()
        ours, _ = parse_yaml(text, str(path))
        assert ours == yaml.safe_load(text), path.name


FLAG_CASES = [
    ["conv", "--input", "9" * 5000, "--kernel", "3"],
    ["conv", "--input", str(2**40 + 1), "--kernel", "3"],
    ["conv", "--input", "9", "--kernel", "3", "--padding", str(2**40 + 1)],
    ["conv", "--input", "9", "--kernel", "3", "--channels", f"1,{'9' * 5000}"],
    ["conv", "--input", "9", "--kernel", "3", "--channels", "4,4", "--groups", str(2**40 + 1)],
    ["shapes", "lenet5", "--input", "9" * 5000],
    ["roofline", "lenet5", "--batch", "9" * 5000],
    ["memory", "lenet5", "--batch", str(2**24 + 1)],
    ["bench", "lenet5", "--iters", str(10**7)],
    ["verify", "lenet5", "--batch", "9" * 5000],
    ["check", "lenet5", "--max-macs", "9" * 5000],
]


@pytest.mark.parametrize("args", FLAG_CASES, ids=[" ".join(a)[:40] for a in FLAG_CASES])
@pytest.mark.parametrize("python_limit", [0, 640], ids=["python-limit-lifted", "python-limit-lowest"])
def test_integer_flags_are_range_checked(runner, args, python_limit):
    """A size flag past 2^40 or written with thousands of digits: a usage error that quotes the
    value cut short, exit 2, whatever Python's own digit limit."""
    with int_digit_limit(python_limit):
        result = runner.invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert "Invalid value for" in result.output and len(result.output) < 1000, result.output
