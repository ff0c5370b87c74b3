"""`archcalc import FILE.onnx` end to end: the spec on standard output or in -o's file with the
model's counts, a summary on standard error, and exit 2 with one message for each bad file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("onnx")

from onnx import helper  # noqa: E402

from archcalc import analyze  # noqa: E402
from archcalc.cli import main  # noqa: E402
from archcalc.loader import parse_spec  # noqa: E402
from tests.onnx_files import onnx_file, weight  # noqa: E402

node = helper.make_node

# a small network: conv (bias), relu, global pooling, flatten, linear: 3*8*9 + 8 + 8*10 + 10 parameters
NODES = [
    node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="/features/conv/Conv"),
    node("Relu", ["c"], ["r"], name="/features/relu/Relu"),
    node("GlobalAveragePool", ["r"], ["p"], name="/pool/GlobalAveragePool"),
    node("Flatten", ["p"], ["f"], name="/flatten/Flatten"),
    node("Gemm", ["f", "fw", "fb"], ["y"], transB=1, name="/fc/Gemm"),
]
WEIGHTS = (weight("w", 8, 3, 3, 3), weight("b", 8), weight("fw", 10, 8), weight("fb", 10))


def _invoke(runner, *args: str):
    return runner.invoke(main, ["import", *args], catch_exceptions=False)


def test_import_writes_the_spec_with_the_models_counts(runner, tmp_path):
    path = onnx_file(tmp_path / "small.onnx", NODES, (3, 16, 16), WEIGHTS)
    result = _invoke(runner, str(path))
    assert result.exit_code == 0, result.output
    analysis = analyze(parse_spec(result.stdout))
    assert analysis.totals.params == 3 * 8 * 9 + 8 + 8 * 10 + 10, result.stdout
    assert [row.kind for row in analysis.rows] == ["conv", "relu", "global_avgpool", "flatten", "linear"], result.stdout
    assert "onnx" in result.stderr and "5 layers" in result.stderr, result.stderr


def test_import_to_a_file(runner, tmp_path):
    path = onnx_file(tmp_path / "small.onnx", NODES, (3, 16, 16), WEIGHTS)
    out = tmp_path / "net.yaml"
    result = _invoke(runner, str(path), "-o", str(out))
    assert result.exit_code == 0 and result.stdout == "", result.output
    assert analyze(parse_spec(out.read_text())).output_shape == (10,)


def test_input_fixes_a_symbolic_size(runner, tmp_path):
    path = onnx_file(tmp_path / "open.onnx", [node("Relu", ["x"], ["y"])], (3, "H", "W"))
    refused = _invoke(runner, str(path))
    assert refused.exit_code == 2 and "error[symbolic_shape]" in refused.stderr, refused.output
    result = _invoke(runner, str(path), "--input", "3x8x6")
    assert result.exit_code == 0 and parse_spec(result.stdout).input == (3, 8, 6), result.output


BAD = [
    ("garbage", lambda p: p.write_bytes(b"\x08\xff" * 50), "error[bad_onnx]"),
    ("unsupported-op", lambda p: onnx_file(p, [node("Elu", ["x"], ["y"], name="/act/Elu")], (3, 4, 4)), "'Elu'"),
    ("no-file", lambda p: None, "error["),
]


@pytest.mark.parametrize(("make", "words"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_file_exits_2_with_one_message(runner, tmp_path, make, words):
    path = tmp_path / "bad.onnx"
    make(path)
    result = _invoke(runner, str(path))
    assert result.exit_code == 2 and words in result.stderr, result.output
    assert "Traceback" not in result.output and result.stdout == "", result.output


def test_onnx_import_needs_no_torch(tmp_path):
    """An ONNX file is read with onnx alone: the command runs with torch unimportable."""
    path = onnx_file(tmp_path / "small.onnx", NODES, (3, 16, 16), WEIGHTS)
    code = "import sys; sys.modules['torch'] = None; from archcalc.cli import main; sys.argv[0] = 'archcalc'; main()"
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    result = subprocess.run(
        [sys.executable, "-c", code, "import", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=root,
    )
    assert result.returncode == 0 and "linear" in result.stdout, result.stderr
