"""Work is bounded by the size of the spec, not by its numbers: the issue's 10^12-wide inputs (each
hung past 30 s when a loop ran over positions, windows or taps) analyse at once, with exact counts.

Each case runs the real CLI in a subprocess with a generous timeout (a hang fails it; no timing is
asserted), and its numbers are checked against a count worked out by hand for that shape. The
closed forms themselves are checked against enumeration at small sizes in test_arith.py and
test_calculator.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
TIMEOUT_S = 60  # generous for a loaded CI machine: each command takes about a second, the old loops hours
T = 10**12


@dataclass(frozen=True)
class Big:
    spec: str
    out_shape: list[int]
    connections: int  # of the first layer, worked out by hand in the comment beside it


CASES = {
    # LRN across 10^11 channels, size 5: channel c reads c-2..c+2 clipped, 5C less 2+1+1+2 = 6 taps off the edges
    "lrn": Big("input: [100000000000, 1]\nlayers: [lrn]", [10**11, 1], 5 * 10**11 - 6),
    # adaptive pooling 10^12 + 7 -> 10^12: window lengths sum to W + O - gcd(W, O) = W + O - 1
    "adaptive_avgpool": Big(
        "input: [1, 1000000000007]\nlayers: [adaptive_avgpool: {out: 1000000000000}]", [1, T], (T + 7) + T - 1
    ),
    "adaptive_maxpool": Big(
        "input: [1, 1000000000007]\nlayers: [adaptive_maxpool: {out: 1000000000000}]", [1, T], (T + 7) + T - 1
    ),
    # kernel 10^12 - 1, padding 1 over 10^12: 4 outputs; the first and the last each put one tap on padding
    "conv": Big(
        "input: [1, 1000000000000]\nlayers: [conv: {out: 1, kernel: 999999999999, padding: 1}]", [1, 4], 4 * (T - 1) - 2
    ),
    # a kernel of 10^12 over one input: output 10^12, every tap lands in it
    "conv_transpose": Big("input: [1, 1]\nlayers: [conv_transpose: {out: 1, kernel: 1000000000000}]", [1, T], T),
}
COMMANDS = (("shapes", "--json"), ("shapes", "--explain"), ("rf",), ("memory",), ("roofline",), ("params",))


def archcalc(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "archcalc.cli", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env=env,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[tuple[str, tuple[str, ...]], subprocess.CompletedProcess]:
    """Every case under every command, four at a time."""
    directory = tmp_path_factory.mktemp("big")
    jobs = []
    for name, case in CASES.items():
        path = directory / f"{name}.yaml"
        path.write_text(f"name: {name.replace('_', '-')}\n{case.spec}\n")
        jobs += [((name, command), (command[0], str(path), *command[1:])) for command in COMMANDS]
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip((key for key, _ in jobs), pool.map(lambda job: archcalc(*job[1]), jobs)))


@pytest.mark.parametrize("name", CASES)
def test_huge_sizes_count_exactly(outcomes, name):
    result = outcomes[(name, ("shapes", "--json"))]
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)["layers"][0]
    expected = CASES[name]
    assert (row["output_shape"], row["connections"]) == (expected.out_shape, expected.connections), (
        f"archcalc {row['output_shape']} {row['connections']:,}, by hand {expected.out_shape} {expected.connections:,}"
    )


@pytest.mark.parametrize("command", COMMANDS[1:], ids=" ".join)
@pytest.mark.parametrize("name", CASES)
def test_every_command_finishes(outcomes, name, command):
    result = outcomes[(name, command)]
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "lines"),
    [
        # dilation 2, kernel 3, stride 1: the windows interleave, every input is read
        (("--input", "1000000000", "--kernel", "3", "--dilation", "2"), ["convolution output: 999999996"]),
        # a 1x1 kernel at stride 2 skips every second input: 5*10^7 runs, a few listed and all counted
        (
            ("--input", "100000000", "--kernel", "1", "--stride", "2"),
            ["note: input positions 2, 4, 6, 8, 10, 12, 14, 16 ... (1-based; 50000000 of 100000000) are never covered"],
        ),
        (
            ("--input", "1099511627776", "--kernel", "7", "--stride", "549755813885", "--dilation", "137438953473"),
            [
                "note: input positions 2-137438953473, 137438953475-274877906946, 274877906948-412316860419, "
                "412316860421-549755813892, 549755813894-687194767365, 687194767367-824633720838, "
                "824633720840-1099511627776 (1-based; 1099511627769 of 1099511627776)"
            ],
        ),
        # the solvers: once 10^6 candidates tried one by one (20 s) and 50,000 lines printed
        (
            ("--input", "999990", "--kernel", "3", "--padding", "0", "--output", "5"),
            [
                "stride giving output 5 from input 999990: 49,999 solutions",
                "  ... 49,987 more: every stride from 200,009 to 249,995, alike",
                "  stride 249996: floor((999990 - 3 + 2*0)/249996) + 1 = 5",
            ],
        ),
        # past the old candidate limit: 2^39 strides, solved at once
        (
            ("--input", "1099511627776", "--kernel", "1", "--padding", "0", "--output", "2"),
            [
                "stride giving output 2 from input 1099511627776: 549,755,813,888 solutions",
                "  stride 549755813888: floor((1099511627776 - 1 + 2*0)/549755813888) + 1 = 2",
            ],
        ),
        # a free output_padding of up to 10^12 - 1 at each padding: once 10^12 tries per candidate
        (
            ("--input", "4", "--kernel", "3", "--stride", "1000000000000", "--transposed", "--output", "5"),
            [
                "padding giving output 5 from input 4: 500,000,000,000 solutions",
                "  padding 1999999999998, output_padding 999999999998: (4 - 1)*1000000000000 - 2*1999999999998 + (3 - 1)"
                " + 999999999998 + 1 = 5",
            ],
        ),
        (
            ("--input", "1099511627776", "--kernel", "3", "--stride", "1000", "--output", "1000"),
            [
                "padding giving output 1000 from input 1099511627776: none; the smallest output any padding gives is"
                " 1099511628 (padding 0)"
            ],
        ),
    ],
    ids=[
        "dilated",
        "stride-2-1x1",
        "2^40-sparse",
        "solve-stride-50k",
        "solve-stride-2^39",
        "solve-transposed-5e11",
        "solve-padding-none",
    ],
)
def test_calculator_answers_without_enumerating(args, lines):
    """Unread inputs and solver solutions: counted in closed form, a bounded few listed."""
    result = archcalc("conv", *args)
    unanswered = any(line.startswith("none") or ": none" in line for line in lines)  # no answer: a finding
    assert result.returncode == (1 if unanswered else 0), result.stderr
    for line in lines:
        assert line in result.stdout, result.stdout
    assert len(result.stdout.splitlines()) <= 16, result.stdout


def test_calculator_json_lists_a_bounded_number_of_runs():
    data = json.loads(archcalc("conv", "--input", "100000000", "--kernel", "1", "--stride", "2", "--json").stdout)
    dim = data["dims"][0]
    assert dim["uncovered"][:2] == [[2, 2], [4, 4]] and len(dim["uncovered"]) == 8
    assert (dim["uncovered_total"], dim["uncovered_more"]) == (50_000_000, True)
    solved = json.loads(
        archcalc("conv", "--input", "999990", "--kernel", "3", "--padding", "0", "--output", "5", "--json").stdout
    )["dimensions"][0]
    assert (solved["count"], len(solved["solutions"])) == (49_999, 12)


def test_receptive_field_past_any_input_is_the_whole_input(tmp_path):
    """400 strides of 2^40: the jump would be 2^16000 (16,000 bits, past float and decimal printing);
    the field stays exact up to MAX_FIELD and is the whole input (an upper bound) from there on."""
    from archcalc.receptive import MAX_FIELD

    path = tmp_path / "deep-stride.yaml"
    path.write_text(
        "name: deep-stride\ninput: [1, 1]\nlayers:\n"
        "  - repeat: {times: 400, layers: [conv: {out: 1, kernel: 2, stride: 1099511627776, padding: 1}]}\n"
    )
    result = archcalc("rf", str(path), "--json")
    assert result.returncode == 0, result.stderr
    first, second, last = (json.loads(result.stdout)["layers"][i] for i in (0, 1, -1))
    assert first["axes"][0] == {
        "axis": "L",
        "size": 2,
        "jump": 2**40,
        "start": -1,
        "center": -0.5,
        "whole_input": False,
    }
    assert 2 + 2**40 <= MAX_FIELD < 2 + 2**40 + 2**80  # the second field, r + (K - 1)*j, passes the bound
    assert second["axes"][0]["whole_input"] and f"passes {MAX_FIELD:,} input pixels" in second["note"]
    assert last["axes"][0]["whole_input"] and last["note"] is None
    assert archcalc("rf", str(path)).returncode == 0
