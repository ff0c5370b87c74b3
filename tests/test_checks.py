"""`archcalc check`: exact human sizes, spec budgets, exit codes, and every CI output format."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from archcalc import parse_spec
from archcalc.cli import main
from archcalc.errors import SpecError
from archcalc.sizes import SizeError, parse_bytes, parse_count

LENET_PARAMS, LENET_MACS, LENET_UNITS = 61_706, 416_520, 8_094


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("5M", 5_000_000),
        ("2.5G", 2_500_000_000),
        ("61706", 61_706),
        ("61_706", 61_706),
        ("1,000", 1_000),
        ("60K", 60_000),
        ("60k", 60_000),
        ("0.5K", 500),
        ("1T", 10**12),
        (" 7 M ", 7_000_000),
        (12, 12),
        ("1.000001M", 1_000_001),
        ("123456789012345678901234567890", 123456789012345678901234567890),
    ],
    ids=str,
)
def test_parse_count_exact(text, value):
    assert parse_count(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("100MB", 100 * 10**6),
        ("100MiB", 100 * 2**20),
        ("1.5GiB", 3 * 2**29),
        ("1.5GB", 1_500_000_000),
        ("512KiB", 512 * 1024),
        ("4kB", 4000),
        ("4096", 4096),
        ("4096B", 4096),
        ("2TiB", 2 * 2**40),
        (7, 7),
    ],
    ids=str,
)
def test_parse_bytes_exact_decimal_vs_binary(text, value):
    assert parse_bytes(text) == value


@pytest.mark.parametrize(
    ("parse", "text", "fragment"),
    [
        (parse_count, "5m", "ambiguous"),
        (parse_count, "5MB", "byte size"),
        (parse_count, "lots", "a number"),
        (parse_count, "1.0001K", "not a whole number"),
        (parse_count, "5X", "unknown multiplier"),
        (parse_count, "-5", "a number"),
        (parse_count, -5, "negative"),
        (parse_count, True, "count"),
        (parse_count, "", "a number"),
        (parse_count, "1e6", "a number"),
        (parse_bytes, "100M", "ambiguous for a byte size"),
        (parse_bytes, "100Mb", "bits"),
        (parse_bytes, "1.5", "not a whole number"),
        (parse_bytes, "10 parsecs", "unknown unit"),
        (parse_bytes, "0.1B", "not a whole number"),
        (parse_bytes, "5..5MB", "a number"),
    ],
    ids=lambda v: v if isinstance(v, str) else getattr(v, "__name__", repr(v)),
)
def test_bad_sizes_are_refused_with_a_reason(parse, text, fragment):
    with pytest.raises(SizeError, match=fragment):
        parse(text)


def test_budget_section_in_a_spec():
    spec = parse_spec(
        "name: x\ninput: [10]\nlayers: [linear: {out: 5}]\n"
        "budget: {max_params: 5M, max_macs: 2.5G, max_activations: 1.5GiB, dtype: fp16}\n"
    )
    assert spec.budget.max_params == 5_000_000 and spec.budget.max_macs == 2_500_000_000
    assert spec.budget.max_activations == 3 * 2**29 and spec.budget.dtype == "fp16"


@pytest.mark.parametrize(
    ("budget", "code", "fragment"),
    [
        ("{max_param: 3}", "unknown_field", "did you mean 'max_params'"),
        ("{max_params: 5m}", "bad_value", "ambiguous"),
        ("{max_activations: 100M}", "bad_value", "100MB"),
        ("{dtype: fp33}", "bad_value", "fp32"),
    ],
    ids=["typo", "milli", "bytes-without-B", "dtype"],
)
def test_bad_budget_is_a_spec_error_at_its_line(budget, code, fragment):
    with pytest.raises(SpecError) as info:
        parse_spec(f"name: x\ninput: [10]\nlayers: [linear: {{out: 5}}]\nbudget: {budget}\n", "b.yaml")
    err = info.value
    assert err.code == code and err.position.line == 4
    assert fragment in str(err), str(err)


def _write(tmp_path, name, budget="", layers="  - conv: {out: 6, kernel: 5}\n"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\ninput: [1, 32, 32]\nlayers:\n{layers}{budget}")
    return path


LENET_BUDGET = "budget:\n  max_params: {params}\n  max_macs: 1M\n  max_activations: 32KiB\n"


@pytest.fixture
def folder(tmp_path):
    """Two valid specs: one within its budget, LeNet-5 with a parameter budget it exceeds by 1,706."""
    lenet = tmp_path / "lenet5.yaml"
    from archcalc.bundled import specs_dir

    lenet.write_text((specs_dir() / "lenet5.yaml").read_text() + LENET_BUDGET.format(params="60K"))
    _write(tmp_path, "small", "budget: {max_params: 1K}\n")
    return tmp_path


def _line_of(path, text):
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(text))


def _run(runner, *args):
    return runner.invoke(main, ["check", *args], catch_exceptions=False)


def test_exit_0_when_every_budget_holds(runner, tmp_path):
    _write(tmp_path, "small", "budget: {max_params: 156}\n")  # 6 x 25 weights + 6 biases: exactly at the limit
    result = _run(runner, str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "156 (156) within the limit 156" in result.output


def test_exit_1_names_file_budget_value_and_excess(runner, folder):
    result = _run(runner, str(folder))
    assert result.exit_code == 1, result.output
    line = next(x for x in result.output.splitlines() if "over budget" in x)
    assert f"lenet5.yaml:{_line_of(folder / 'lenet5.yaml', '  max_params:')}:" in line  # the budget's own line
    assert "max_params" in line and "61,706" in line and "60,000" in line and "by 1,706" in line


def test_exit_2_for_an_invalid_spec_even_beside_a_finding(runner, folder):
    _write(folder, "broken", layers="  - conv: {out: 4, kernel: 40}\n")
    result = _run(runner, str(folder))
    assert result.exit_code == 2
    assert "broken.yaml:4" in result.output and "kernel_too_large" in result.output


def test_command_line_budgets_apply_to_every_spec(runner):
    result = _run(runner, "lenet5", "alexnet", "--max-params", "5M", "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    by_name = {s["name"]: s["budgets"][0] for s in data["specs"]}
    assert by_name["lenet5"]["ok"] and by_name["lenet5"]["value"] == LENET_PARAMS
    assert by_name["alexnet"]["excess"] == 62_378_344 - 5_000_000 and by_name["alexnet"]["origin"] == "cli"


@pytest.mark.parametrize(
    ("dtype", "limit", "code"),
    [
        ("fp32", str(4 * LENET_UNITS), 0),
        ("fp32", str(4 * LENET_UNITS - 1), 1),
        ("fp16", str(2 * LENET_UNITS), 0),
        ("int8", "8KiB", 0),
    ],
    ids=["fp32-exact", "fp32-one-over", "fp16", "int8"],
)
def test_activation_budget_at_a_dtype(runner, dtype, limit, code):
    result = _run(runner, "lenet5", "--max-activations", limit, "--dtype", dtype)
    assert result.exit_code == code, result.output


def test_input_override_changes_what_is_checked(runner):
    base = _run(runner, "alexnet", "--max-macs", "1.2G")
    assert base.exit_code == 0
    assert _run(runner, "alexnet", "--max-macs", "1.2G", "--input", "3x260x260").exit_code == 1


@pytest.mark.parametrize(
    "args",
    [
        ["lenet5", "--max-params", "5m"],
        ["lenet5", "--max-activations", "100M"],
        ["no_such_spec"],
        ["lenet5", "--format", "xml"],
    ],
    ids=["ambiguous-count", "ambiguous-bytes", "missing-spec", "bad-format"],
)
def test_usage_and_missing_specs_exit_2(runner, args):
    result = _run(runner, *args)
    assert result.exit_code == 2, result.output


def test_empty_folder_exit_2(runner, tmp_path):
    result = _run(runner, str(tmp_path))
    assert result.exit_code == 2 and "no *.yaml" in result.output


def test_github_annotations_point_at_the_budget_line(runner, folder):
    _write(folder, "broken", layers="  - conv: {out: 4, kernel: 40}\n")
    result = _run(runner, str(folder), "--format", "github")
    lines = [x for x in result.stdout.splitlines() if x.startswith("::error ")]
    assert len(lines) == 2, result.stdout
    broken, lenet = lines
    assert broken.startswith(f"::error file={folder / 'broken.yaml'},line=4,col=")
    assert "title=archcalc%3A invalid spec [kernel_too_large]::" in broken
    line = _line_of(folder / "lenet5.yaml", "  max_params:")
    assert lenet.startswith(
        f"::error file={folder / 'lenet5.yaml'},line={line},col=3,title=archcalc budget max_params::"
    )
    assert "by 1,706" in lenet and "(+2.8%25)" in lenet  # '%' escaped as GitHub requires
    assert result.exit_code == 2


def test_junit_one_case_per_spec_and_budget(runner, folder, tmp_path):
    report = tmp_path / "out" / "junit.xml"
    result = _run(runner, str(folder), "--format", "junit", "--max-macs", "2G", "-o", str(report))
    assert result.exit_code == 1
    root = ET.fromstring(report.read_text())
    cases = root.findall("./testsuite/testcase")
    # lenet5: valid + 3 spec budgets + --max-macs; small: valid + 1 spec budget + --max-macs
    assert len(cases) == 8 and root.get("tests") == "8" and root.get("failures") == "1" and root.get("errors") == "0"
    failed = [c for c in cases if c.find("failure") is not None]
    assert [(c.get("classname").endswith("lenet5.yaml"), c.get("name")) for c in failed] == [
        (True, "max_params (spec budget)")
    ]
    assert "by 1,706" in failed[0].find("failure").get("message")


def test_json_contract(runner, folder):
    data = json.loads(_run(runner, str(folder), "--format", "json").stdout)
    assert set(data) == {"ok", "exit_code", "specs"} and data["exit_code"] == 1 and not data["ok"]
    lenet = next(s for s in data["specs"] if s["name"] == "lenet5")
    assert [(b["budget"], b["value"], b["limit"], b["ok"]) for b in lenet["budgets"]] == [
        ("max_params", LENET_PARAMS, 60_000, False),
        ("max_macs", LENET_MACS, 10**6, True),
        ("max_activations", 4 * LENET_UNITS, 32 * 1024, True),
    ]
