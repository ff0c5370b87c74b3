"""Hostile targets for `archcalc import` and `verify --against`: user code that prints, exits,
interrupts, returns one tensor twice or nests past Python's recursion limit gets one message and
exit 2 (never a spec with the user's text in it, a success, an internal error or exit 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from archcalc.cli import main
from archcalc.errors import ExitCode
from archcalc.loader import parse_spec

pytest.importorskip("torch")

MODELS = """\
import sys

import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(x)


class Printing(Net):
    def __init__(self):
        super().__init__()
        print("name: injected")

    def forward(self, x):
        print("- not: yaml")
        return self.conv(x)


class ExitsInForward(Net):
    def forward(self, x):
        sys.exit(0)


class InterruptsInForward(Net):
    def forward(self, x):
        raise KeyboardInterrupt


class ReturnsTwice(Net):
    def forward(self, x):
        y = self.conv(x)
        return y, y


def nested(depth=1000):
    module = nn.ReLU()
    for _ in range(depth):
        module = nn.Sequential(module)
    return module
"""

SPEC = """\
name: net
input: [3, 8, 8]
layers:
  - conv: {name: conv, out_channels: 4, kernel_size: 3}
"""


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "hostile_models.py"
    path.write_text(MODELS)
    return path


def test_what_the_target_prints_stays_off_the_spec(runner, models):
    result = runner.invoke(main, ["import", f"{models}:Printing", "--input", "3x8x8"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "injected" in result.stderr and "not: yaml" in result.stderr, result.stderr
    spec = parse_spec(result.stdout)  # the user's text would have made it another spec, or no YAML
    assert spec.name == "Printing", result.stdout


@pytest.mark.parametrize(
    ("command", "target", "says"),
    [
        ("import", "ExitsInForward", "raised SystemExit: 0"),
        ("import", "InterruptsInForward", "raised KeyboardInterrupt"),
        ("verify", "ExitsInForward", "raised SystemExit: 0"),
        ("verify", "InterruptsInForward", "raised KeyboardInterrupt"),
    ],
    ids=["import-exit-0", "import-interrupt", "verify-exit-0", "verify-interrupt"],
)
def test_an_exit_or_interrupt_in_the_forward_is_the_targets_failure(runner, models, tmp_path, command, target, says):
    """`sys.exit(0)` in a forward once ended `verify --against` with exit 0 (a CI check passed
    without comparing) and `import` with exit 0 and no spec; an interrupt was exit 1, a finding."""
    spec = tmp_path / "net.yaml"
    spec.write_text(SPEC)
    args = ["import", f"{models}:{target}", "--input", "3x8x8"]
    if command == "verify":
        args = ["verify", str(spec), "--against", f"{models}:{target}"]
    result = runner.invoke(main, args, catch_exceptions=False)
    assert result.exit_code == ExitCode.BAD_SPEC, result.output
    assert "error[target_raised]" in result.stderr and says in result.stderr, result.stderr
    assert result.stdout == "", result.stdout


def test_a_model_returning_one_tensor_twice_is_refused_by_name(runner, models):
    """It once fell through every spec form to an `internal` error."""
    result = runner.invoke(main, ["import", f"{models}:ReturnsTwice", "--input", "3x8x8"], catch_exceptions=False)
    assert result.exit_code == ExitCode.BAD_SPEC, result.output
    assert "error[unsupported_output]: the model returns the conv layer 'conv' twice" in result.stderr, result.stderr


@pytest.mark.parametrize("command", ["import", "verify"], ids=["import", "verify"])
def test_a_model_nested_past_the_recursion_limit_is_one_message(runner, models, tmp_path, command):
    """1,000 nested Sequentials: torch's own `.eval()` recursed out, an internal error (exit 4)."""
    spec = tmp_path / "net.yaml"
    spec.write_text("name: nested\ninput: [3, 8, 8]\nlayers:\n  - relu\n")
    args = ["import", f"{models}:nested", "--input", "3x8x8"]
    if command == "verify":
        args = ["verify", str(spec), "--against", f"{models}:nested"]
    result = runner.invoke(main, args, catch_exceptions=False)
    assert result.exit_code == ExitCode.BAD_SPEC, result.output
    assert "error[model_too_deep]" in result.stderr, result.stderr


def test_a_model_too_deep_to_write_nested_is_written_flat(runner, models):
    """150 nested Sequentials trace, but the nested spec recursed out of the YAML emitter (exit 4)."""
    result = runner.invoke(
        main, ["import", f"{models}:nested", "--input", "3x8x8", "--kwargs", '{"depth": 150}'], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "written flat (the nested form was refused: too_deep)" in result.stderr, result.stderr
    assert parse_spec(result.stdout).name == "nested"


def test_a_target_returning_more_tensors_than_the_spec_differs(runner, models, tmp_path):
    """Only the first returned tensor was compared: a spec of one output agreed with `return y, y`."""
    pytest.importorskip("fvcore")
    spec = tmp_path / "net.yaml"
    spec.write_text(SPEC)
    result = runner.invoke(main, ["verify", str(spec), "--against", f"{models}:ReturnsTwice"], catch_exceptions=False)
    assert result.exit_code == ExitCode.FINDING, result.output
    assert "output shape: spec [[4, 6, 6]] vs target [[4, 6, 6], [4, 6, 6]]" in result.stdout, result.stdout
    agrees = runner.invoke(main, ["verify", str(spec), "--against", f"{models}:Net"], catch_exceptions=False)
    assert agrees.exit_code == 0, agrees.output
