"""`export --to onnx`: the file passes onnx's checker and runs at any batch size (dim 0 of the input
and of every output is dynamic), giving what the torch module gives; without -o it is NAME.onnx here."""

from __future__ import annotations

from pathlib import Path

import pytest

from archcalc import load_spec
from archcalc.analysis import analyze
from archcalc.cli import main

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
np = pytest.importorskip("numpy")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run_onnx(path: str, x: np.ndarray) -> list[np.ndarray]:
    """The file's outputs on `x`: onnxruntime when installed, else onnx's reference evaluator."""
    try:
        import onnxruntime
    except ImportError:
        from onnx.reference import ReferenceEvaluator

        return list(ReferenceEvaluator(path).run(None, {"input": x}))
    return list(onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"input": x}))


CASES = [
    ("lenet5", None),  # conv, pooling, flatten, linear
    ("resnet18", (3, 16, 16)),  # residual adds, batch norm, global pooling
    (str(EXAMPLES / "fpn.yaml"), (3, 64, 64)),  # three outputs
]


@pytest.mark.parametrize(("ref", "shape"), CASES, ids=["lenet5", "resnet18", "fpn-three-outputs"])
def test_the_exported_batch_axis_is_dynamic(tmp_path, ref, shape):
    from archcalc.verify.build import build_model
    from archcalc.verify.export import write_onnx

    spec = load_spec(ref)
    spec = spec.with_input(shape) if shape else spec
    path = str(tmp_path / "model.onnx")
    torch.manual_seed(0)
    write_onnx(spec, path)
    graph = onnx.load(path)
    onnx.checker.check_model(graph)
    declared = [v.type.tensor_type.shape.dim[0] for v in [*graph.graph.input, *graph.graph.output]]
    assert all(d.dim_param == "batch" and not d.dim_value for d in declared), declared
    torch.manual_seed(0)  # the same weights as the exported module
    model = build_model(spec).eval()
    expected_shape = analyze(spec).output_shape
    for batch in (1, 3):
        x = torch.randn(batch, *spec.input)
        with torch.no_grad():
            wanted = model(x)
        wanted = list(wanted) if isinstance(wanted, (tuple, list)) else [wanted]
        got = _run_onnx(path, x.numpy())
        assert [g.shape for g in got] == [tuple(w.shape) for w in wanted], (batch, [g.shape for g in got])
        assert got[0].shape[0] == batch and (len(got) > 1 or got[0].shape[1:] == tuple(expected_shape))
        for g, w in zip(got, wanted):
            np.testing.assert_allclose(g, w.numpy(), rtol=1e-3, atol=1e-4)


def test_without_o_it_writes_name_onnx_here(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["export", "lenet5", "--to", "onnx"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stderr == "wrote lenet5.onnx\n" and result.stdout == "", (result.stdout, result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lenet5.onnx"]
    onnx.checker.check_model(onnx.load(str(tmp_path / "lenet5.onnx")))
