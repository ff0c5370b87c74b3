"""Sizes archcalc derives are bounded like the sizes a spec writes: every output dimension, channel
and feature count a layer or merge produces is at most MAX_SIZE (2^40), else error[too_large]
naming the layer, at once, through every command (no internal error, no 10-second walk)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from archcalc import analyze, parse_spec
from archcalc.errors import SpecError
from archcalc.fields import MAX_SIZE

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 20  # a generous bound for a subprocess that must answer in well under a second

# conv_transposes of kernel = stride = 2^40: the length multiplies by 2^40 per layer
GROW_TRANSPOSE = """\
name: grow
input: [1, 2]
layers:
  - repeat:
      times: {times}
      layers:
        - conv_transpose: {{out: 1, kernel: 1099511627776, stride: 1099511627776}}
{tail}"""
# no large number written at all: concatenating the input with itself doubles the channels
DOUBLE_CONCAT = """\
name: double
input: [1, 1]
layers:
  - repeat: {{times: {times}, layers: [parallel: {{merge: concat, branches: [[], []]}}]}}
{tail}"""
CONV = "  - conv: {out: 1, kernel: 1}\n"

REPRODUCTIONS = {
    "transpose-400": (GROW_TRANSPOSE.format(times=400, tail=""), 7),
    "transpose-27-conv": (GROW_TRANSPOSE.format(times=27, tail=CONV), 7),
    "concat-15000": (DOUBLE_CONCAT.format(times=15000, tail=""), 4),
    "concat-1100-conv": (DOUBLE_CONCAT.format(times=1100, tail=CONV), 4),
}
COMMANDS = {
    "shapes": ["shapes", "{a}"],
    "shapes-json": ["shapes", "{a}", "--json"],
    "explain": ["shapes", "{a}", "--explain"],
    "rf": ["rf", "{a}"],
    "rf-json": ["rf", "{a}", "--json"],
    "memory": ["memory", "{a}"],
    "params": ["params", "{a}"],
    "report": [
        "report",
        "{a}",
        "--format",
        "md",
        "--format",
        "json",
        "--format",
        "csv",
        "--format",
        "html",
        "-o",
        "{out}",
    ],
    "compare": ["compare", "{a}", "{a}"],
    "diff": ["diff", "{a}", "{a}"],
    "roofline": ["roofline", "{a}"],
    "check-1": ["check", "{a}", "--max-macs", "1"],
    "check-5M": ["check", "{a}", "--max-macs", "5M"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", REPRODUCTIONS)
def test_grown_size_is_bad_input_in_every_command(tmp_path, case, command):
    text, line = REPRODUCTIONS[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    args = [arg.format(a=path, out=tmp_path / "out") for arg in COMMANDS[command]]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    env.pop("ARCHCALC_DEBUG", None)
    result = subprocess.run(
        [sys.executable, "-m", "archcalc.cli", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env=env,
        cwd=ROOT,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "error[too_large]" in output or '"too_large"' in output, output
    assert "internal error" not in output and "Traceback" not in output
    assert f"{path}:{line}:" in output or f'"line": {line}' in output, output
    assert "1,099,511,627,776 (2^40)" in output, output


def _error(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        analyze(parse_spec(text, "edge.yaml"))
    return info.value


# (what, the spec at exactly 2^40, the spec one past it); each derives that size in its line 4
FLAT = "name: e\ninput: [{}, {}]\nlayers:\n  - flatten: {{}}\n  - linear: {{out: 1}}\n"
CONCAT = (
    "name: e\ninput: [{}, 1]\nlayers:\n  - parallel: {{merge: concat, branches: [[], [conv: {{out: 1, kernel: 1}}]]}}\n"
)
# length (L - 1) * stride + kernel, with L = 2
TRANSPOSE = "name: e\ninput: [1, 2]\nlayers:\n  - conv_transpose: {{out: 1, kernel: {}, stride: 549755813888}}\n"
EDGES = [
    pytest.param(CONCAT.format(MAX_SIZE - 1), CONCAT.format(MAX_SIZE), "channel count", id="concat-channels"),
    pytest.param(TRANSPOSE.format(2**39), TRANSPOSE.format(2**39 + 1), "size along L", id="conv_transpose-output"),
    # 2^40 + 1 = 257 x 4,278,255,361: the features a linear layer receives from a flatten
    pytest.param(FLAT.format(2**20, 2**20), FLAT.format(257, 4_278_255_361), "feature count", id="linear-features"),
]


@pytest.mark.parametrize(("edge", "past", "what"), EDGES)
def test_the_limit_is_inclusive(edge, past, what):
    assert analyze(parse_spec(edge, "edge.yaml")).rows  # exactly 2^40: allowed
    err = _error(past)
    assert err.code == "too_large" and f"{what} of " in err.message, err
    assert f"would be {MAX_SIZE + 1:,}, more than the limit of {MAX_SIZE:,}" in err.message, err
    assert err.position is not None and err.position.line == 4, err


def test_linear_out_features_are_bounded_at_the_door():
    ok = "name: e\ninput: [4]\nlayers:\n  - linear: {out: %d}\n"
    assert analyze(parse_spec(ok % MAX_SIZE, "edge.yaml")).output_shape == (MAX_SIZE,)
    with pytest.raises(SpecError):
        parse_spec(ok % (MAX_SIZE + 1), "edge.yaml")


# every size at the limit, rank 4: a conv3d's MACs are 2^200, the largest counts a spec can reach
EXTREME = f"""\
name: extreme
input: [{MAX_SIZE}, {MAX_SIZE}, {MAX_SIZE}, {MAX_SIZE}]
layers:
  - conv: {{out: {MAX_SIZE}, kernel: 1}}
  - parallel: {{merge: add, branches: [[], []]}}
"""
EXTREME_COMMANDS = {
    "roofline": ["roofline", "{a}", "--batch", str(2**24), "--json"],
    "check": ["check", "{a}", "--max-macs", "1", "--max-params", "1", "--max-activations", "1B"],
    "check-json": ["check", "{a}", "--max-macs", "1", "--format", "json"],
    "memory": ["memory", "{a}"],
    "params": ["params", "{a}"],
    "report": [
        "report",
        "{a}",
        "--format",
        "md",
        "--format",
        "json",
        "--format",
        "csv",
        "--format",
        "html",
        "-o",
        "{out}",
    ],
    "shapes": ["shapes", "{a}", "--explain"],
}


@pytest.mark.parametrize("command", EXTREME_COMMANDS)
def test_counts_at_the_limit_print_without_overflow(runner, tmp_path, command):
    from archcalc.cli import main

    analysis = analyze(parse_spec(EXTREME, "extreme.yaml"))
    assert analysis.totals.macs == 2**200
    path = tmp_path / "extreme.yaml"
    path.write_text(EXTREME)
    args = [arg.format(a=path, out=tmp_path / "out") for arg in EXTREME_COMMANDS[command]]
    result = runner.invoke(main, args, catch_exceptions=False)
    assert result.exit_code == (1 if command.startswith("check") else 0), result.output
    assert "internal error" not in result.output


# receptive-field centres are half-integers: printed exactly (never %g's 1e+09), in text and JSON
RF_HALF = """\
name: rf
input: [1, 3000000000]
layers:
  - avgpool: {kernel: 1000000007}
  - subsample: {kernel: 2}
"""
# jumps of 2^39 and padding 2^15 carry the centre past 2^53, where a float has no halves
RF_PAST_FLOAT = """\
name: rf
input: [1, 1099511627776]
layers:
  - repeat: {times: 3, layers: [avgpool: {kernel: 8192}]}
  - conv: {out: 1, kernel: 32768, padding: 32768}
"""


@pytest.mark.parametrize(
    ("text", "centre", "in_json"),
    [
        (RF_HALF, "1000000006.5", 1000000006.5),
        (RF_PAST_FLOAT, "-9007199254740992.5", "-9007199254740992.5"),  # exact text where a float would round
    ],
)
def test_rf_centres_print_exactly(runner, tmp_path, text, centre, in_json):
    import json

    from archcalc.cli import main

    path = tmp_path / "rf.yaml"
    path.write_text(text)
    table = runner.invoke(main, ["rf", str(path)], catch_exceptions=False)
    assert table.exit_code == 0 and f" {centre} " in table.output and "e+" not in table.output, table.output
    data = json.loads(runner.invoke(main, ["rf", str(path), "--json"], catch_exceptions=False).stdout)
    assert data["layers"][-1]["axes"][0]["center"] == in_json
