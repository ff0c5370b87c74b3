"""`archcalc import TARGET`: the spec on standard output, one summary line on standard error, and
one message and exit code for each way it can fail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

from archcalc.analysis import analyze  # noqa: E402
from archcalc.cli import main  # noqa: E402
from archcalc.errors import ExitCode  # noqa: E402
from archcalc.loader import parse_spec  # noqa: E402

MODELS = Path(__file__).parent / "import_models.py"


def _import(runner, *args: str):
    return runner.invoke(main, ["import", *args], catch_exceptions=False)


def test_a_model_becomes_a_spec_that_loads(runner):
    result = _import(runner, "tests.import_models:SENet", "--input", "3x16x16")
    assert result.exit_code == 0, result.output
    spec = parse_spec(result.stdout)
    assert spec.input == (3, 16, 16)
    assert result.stderr.startswith("read with torch.fx: "), result.stderr
    assert "wrote" not in result.stdout


def test_unsupported_op_names_op_path_and_line(runner):
    result = _import(runner, f"{MODELS}:AttentionNet", "--input", "3x32x32")
    assert result.exit_code == ExitCode.BAD_SPEC, result.output
    assert "error[unsupported_op]: attn: MultiheadAttention" in result.stderr, result.stderr
    assert f"{MODELS}:" in result.stderr and "--opaque" in result.stderr, result.stderr
    assert result.stdout == ""


def test_a_target_that_fails_to_build_is_one_message(runner, tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("class Net:\n    def __init__(self):\n        raise ValueError('no weights here')\n")
    result = _import(runner, f"{path}:Net")
    assert result.exit_code == ExitCode.BAD_SPEC, result.output
    assert "no weights here" in result.stderr and "Traceback" not in result.output, result.output


def test_a_wrong_mapping_is_an_internal_error_with_both_shapes(runner, monkeypatch):
    """The shape check catches a converter that writes the wrong field (here a pooling kernel)."""
    from torch import nn

    from archcalc.importing import torch_kinds

    wrong = torch_kinds.Mapped("maxpool", {"kernel_size": [3, 3], "stride": [2, 2]})
    monkeypatch.setitem(torch_kinds.MODULES, nn.MaxPool2d, lambda m, call: wrong)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.MaxPool2d(2))
    monkeypatch.setattr(sys.modules["tests.import_models"], "WrongPool", lambda: model, raising=False)
    result = _import(runner, "tests.import_models:WrongPool", "--input", "3x8x8")
    assert result.exit_code == ExitCode.INTERNAL, result.output
    assert "archcalc computes output shape [4, 3, 3], torch gave [4, 4, 4]" in result.stderr, result.stderr


def test_without_torch_it_names_the_extra(tmp_path):
    code = "import sys; sys.modules['torch'] = None; from archcalc.cli import main; main()"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    result = subprocess.run(
        [sys.executable, "-c", code, "import", f"{MODELS}:SENet"], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == ExitCode.MISSING_EXTRA, result.stderr
    assert "error[missing_extra]" in result.stderr, result.stderr


@pytest.mark.parametrize(
    "builder,shape", [("resnet18", "3x64x64"), ("shufflenet_v2_x0_5", "3x64x64")], ids=["resnet18", "shufflenet"]
)
def test_torchvision_models_import_with_their_parameter_counts(runner, torchvision, builder, shape):
    """ResNet's shared relu (relu, relu_1) and residual adds; ShuffleNet's chunk and channel shuffle."""
    result = _import(runner, f"torchvision.models:{builder}", "--input", shape, "--kwargs", '{"weights": null}')
    assert result.exit_code == 0, result.output
    analysis = analyze(parse_spec(result.stdout))
    module = getattr(torchvision.models, builder)(weights=None)
    params = sum(p.numel() for p in module.parameters())
    buffers = sum(b.numel() for b in module.buffers())
    totals = analysis.totals
    assert (totals.params, totals.buffers + totals.counters) == (params, buffers), (totals, params, buffers)


OPAQUE_MODEL = """
import torch.nn as nn


class Tokens(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Conv2d(3, 8, 4, stride=4)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x):
        y = self.proj(x).flatten(2).transpose(1, 2)
        return self.attn(y, y, y)[0]
"""


def test_opaque_reads_the_module_holding_an_unsupported_op_with_its_parameters(runner, tmp_path):
    path = tmp_path / "tokens.py"
    path.write_text(OPAQUE_MODEL)
    result = _import(runner, f"{path}:Tokens", "--input", "3x8x8", "--opaque")
    assert result.exit_code == 0, result.output
    analysis = analyze(parse_spec(result.stdout))
    rows = {row.path: row for row in analysis.rows}
    assert rows["proj"].kind == "conv" and rows["attn"].kind == "opaque", list(rows)
    import torch

    attention = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    assert rows["attn"].layer.params == sum(p.numel() for p in attention.parameters())


@pytest.mark.parametrize(
    "shape,says", [("5x32x32", "to have 3 channels, but got 5"), ("3x4x4", "Output size is too small")], ids=str
)
def test_an_input_the_model_refuses_is_one_message(runner, shape, says):
    """The shape run takes convolutions' shapes from their formula: an input torch would refuse
    (wrong channels, too small) still fails with torch's own words, never a spec of other counts."""
    result = _import(runner, "tests.import_models:UNet", "--input", shape)
    assert result.exit_code == ExitCode.BAD_SPEC, result.output
    assert "error[model_failed]" in result.stderr and says in result.stderr, result.stderr


SETTINGS_NO_SPEC_HOLDS = """
import torch
from torch import nn
import torch.nn.functional as F


class TanhGelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.act = nn.Conv2d(3, 4, 3), nn.GELU(approximate="tanh")

    def forward(self, x):
        return self.act(self.conv(x))


class FunctionalTanhGelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return F.gelu(self.conv(x), approximate="tanh")


class CumulativeBatchNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, momentum=None)

    def forward(self, x):
        return self.bn(self.conv(x))


class ExactGelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return F.gelu(self.conv(x), approximate="none")
"""


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("TanhGelu", "approximate='tanh'"),
        ("FunctionalTanhGelu", "approximate='tanh'"),
        ("CumulativeBatchNorm", "momentum=None"),
    ],
)
def test_a_setting_no_spec_field_holds_is_refused_not_dropped(runner, tmp_path, name, says):
    """Written as the plain kind, each would be another model: the exact GELU, a momentum of 0.1."""
    path = tmp_path / "settings.py"
    path.write_text(SETTINGS_NO_SPEC_HOLDS)
    result = _import(runner, f"{path}:{name}", "--input", "3x8x8")
    assert result.exit_code == ExitCode.BAD_SPEC, result.output
    assert "error[unsupported_op]" in result.stderr and says in result.stderr, result.stderr


def test_the_exact_gelu_imports(runner, tmp_path):
    path = tmp_path / "settings.py"
    path.write_text(SETTINGS_NO_SPEC_HOLDS)
    result = _import(runner, f"{path}:ExactGelu", "--input", "3x8x8")
    assert result.exit_code == 0 and "gelu" in result.stdout, result.output
