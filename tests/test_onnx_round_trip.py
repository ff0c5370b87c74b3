"""`export --to onnx`, then the ONNX reader: every bundled spec comes back with its parameters,
buffers, MACs and every layer's output shape, except those the README lists under "ONNX round trip
exceptions" (held both ways: a listed spec that starts to round-trip fails here too). The default
run takes a handful of specs; the whole zoo runs under the slow marker."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")

from archcalc import analyze, load_spec  # noqa: E402
from archcalc.bundled import bundled_names  # noqa: E402
from archcalc.errors import SpecError  # noqa: E402
from archcalc.importing.onnx_read import read_onnx  # noqa: E402
from archcalc.importing.structure import spec_dict  # noqa: E402
from archcalc.loader import parse_spec  # noqa: E402
from archcalc.spec import Spec  # noqa: E402
from archcalc.verify.export import write_onnx  # noqa: E402

README = Path(__file__).resolve().parent.parent / "README.md"

# a handful of small specs: Gemm, tanh, average pooling, a connection table with unshared biases, a
# parallel's concatenation, depthwise convs
FAST = ["lenet5", "lenet-1989", "simple-cnn", "separable-3x3x3x5"]
# one small spec of the kinds the large ones add (the whole zoo runs under the slow marker): batch
# norm, SiLU, torch's LRN subgraph, squeeze-and-excitation's product, a residual, relu6 (Clip), an
# unshared bias, per-side padding (a Pad before a conv and a pool), a transposed conv, ceil-mode average
# pooling without the padding, dropout, a linear layer without a bias (MatMul)
MIXED = """
name: onnx-mix
input: [3, 16, 16]
layers:
  - conv: {name: stem, out: 8, kernel: 3, padding: 1, bias: false}
  - batchnorm: {eps: 0.001}
  - silu
  - lrn: {size: 3, alpha: 0.0002, beta: 0.7, k: 2.0}
  - parallel:
      name: scale
      merge: mul
      branches:
        - {name: x, layers: []}
        - {name: gate, layers: [global_avgpool, conv: {out: 2, kernel: 1}, silu, conv: {out: 8, kernel: 1}, sigmoid]}
  - residual: {body: [conv: {out: 8, kernel: 3, padding: 1}, relu6]}
  - conv: {name: shared, out: 4, kernel: 1, bias: per_position}
  - conv: {name: same, out: 4, kernel: 2, padding: same}
  - maxpool: {kernel: 2, padding: [[0, 1], [1, 0]]}
  - conv_transpose: {out: 4, kernel: 3, stride: 2, padding: 1, output_padding: 1}
  - avgpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true, count_include_pad: false}
  - flatten
  - dropout
  - linear: {out: 12, bias: false}
  - linear: {out: 10}
  - log_softmax
"""
# rows the exporter leaves out: identity at inference, no parameters or MACs
DROPPED_KINDS = ("dropout", "identity")


def readme_exceptions() -> dict[str, str]:
    """The README's table of specs that do not round-trip: name -> reason."""
    section = README.read_text(encoding="utf-8").split("### ONNX round trip exceptions", 1)[1]
    table = section.split("| spec |", 1)[1].split("\n\n", 1)[0]
    return dict(re.findall(r"^\| `([^`]+)` \| (.+?) \|$", table, re.MULTILINE))


def round_trip_differences(spec: Spec, tmp_path: Path) -> list[str]:
    """What differs between `spec` and its ONNX export read back; [] when nothing does."""
    path = tmp_path / f"{spec.name}.onnx"
    write_onnx(spec, str(path))
    try:
        traced = read_onnx(path)
        back = analyze(Spec.model_validate(spec_dict(traced)))
    except SpecError as err:
        return [f"import: {err}"]
    original = analyze(spec)
    found = []
    for figure in ("params", "buffers", "macs"):
        a, b = getattr(original.totals, figure), getattr(back.totals, figure)
        if a != b:
            found.append(f"total {figure}: spec {a:,}, imported {b:,}")
    rows = {".".join(layer.path): row for layer, row in zip(traced.layers, [r for r in back.rows if r.path != "input"])}
    for row in original.rows:
        other = rows.pop(row.path, None)
        if other is None:
            if row.kind not in DROPPED_KINDS:
                found.append(f"{row.path} ({row.kind}): not imported")
            continue
        # not the kind: an adaptive pooling to 1x1 is ONNX's GlobalAveragePool, read as global_avgpool
        want = (row.counts.out_shape, row.counts.weights, row.counts.biases, row.counts.macs)
        got = (other.counts.out_shape, other.counts.weights, other.counts.biases, other.counts.macs)
        if want != got:
            found.append(f"{row.path} ({row.kind}): spec {want}, imported {got} (shape, weights, biases, MACs)")
    found.extend(f"{path}: imported, not in the spec" for path in rows)
    return found


@pytest.mark.parametrize("name", FAST)
def test_round_trip(tmp_path, name):
    assert round_trip_differences(load_spec(name), tmp_path) == []


def test_round_trip_of_the_fused_patterns(tmp_path):
    assert round_trip_differences(parse_spec(MIXED), tmp_path) == []


def test_exceptions_name_bundled_specs_with_a_reason():
    listed = readme_exceptions()
    assert listed and set(listed) <= set(bundled_names()), sorted(set(listed) - set(bundled_names()))
    assert all(reason.strip() for reason in listed.values()), listed


def test_a_listed_exception_does_not_round_trip(tmp_path):
    assert "lenet5-1998" in readme_exceptions()
    assert round_trip_differences(load_spec("lenet5-1998"), tmp_path) != []


@pytest.mark.slow
@pytest.mark.parametrize("name", bundled_names())
def test_round_trip_zoo(tmp_path, name):
    found = round_trip_differences(load_spec(name), tmp_path)
    if name in readme_exceptions():
        assert found, f"{name} now round-trips: take it out of the README's ONNX round trip exceptions"
    else:
        assert found == [], f"{name} does not round-trip; fix the reader or list it in the README with why"
