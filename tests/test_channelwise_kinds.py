"""ConvNeXt's block kinds (layernorm, channel_linear, layer_scale, stochastic_depth) and the opaque
stand-in: counts checked by hand, a hand-written ConvNeXt-T against torchvision's (its published
parameter count, its state_dict loaded and run, fvcore's and FlopCounterMode's totals), and the
opaque layer marked in every output and refused by a MACs budget.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from archcalc import analyze, load_spec
from archcalc.cli import main

from .helpers import analyse_text, spec_text

CONVNEXT_TINY = Path(__file__).parent / "data" / "convnext-tiny.yaml"

# (id, layers, input, counts worked by hand, the working written as the expression). C = 96 at
# 56x56 (ConvNeXt-T's first stage): 56 * 56 positions, 56 * 56 * 96 elements.
POSITIONS = 56 * 56
HAND = [
    ("layernorm", "- layernorm", "[96, 56, 56]", dict(units=POSITIONS * 96, weights=96, biases=96, macs=0)),
    ("layernorm-nobias", "- layernorm: {bias: false}", "[96, 56, 56]", dict(weights=96, biases=0, macs=0)),
    ("layernorm-noaffine", "- layernorm: {affine: false}", "[96, 56, 56]", dict(weights=0, biases=0)),
    ("layernorm-flat", "- layernorm", "[768]", dict(units=768, weights=768, biases=768)),
    # a 1x1 convolution's counts with a Linear's [out, in] weight
    (
        "channel-linear",
        "- channel_linear: {out: 384}",
        "[96, 56, 56]",
        dict(
            units=POSITIONS * 384,
            weights=96 * 384,
            biases=384,
            connections=POSITIONS * 96 * 384,
            macs=POSITIONS * 96 * 384,
        ),
    ),
    ("layer-scale", "- layer_scale", "[96, 56, 56]", dict(units=POSITIONS * 96, weights=96, biases=0, macs=0)),
    ("stochastic-depth", "- stochastic_depth: {p: 0.1}", "[96, 56, 56]", dict(units=0, weights=0, macs=0)),
    (
        "opaque",
        "- opaque: {params: 1000, buffers: 7, out_shape: [4, 2, 2]}",
        "[3, 8, 8]",
        dict(units=16, weights=1000, biases=0, buffers=7, macs=0),
    ),
    # one CNBlock: depthwise 7x7 conv, layer norm, two pointwise linears, layer scale
    (
        "cnblock",
        "- residual: {body: [conv: {out: 96, kernel: 7, padding: 3, groups: depthwise}, layernorm, "
        "channel_linear: {out: 384}, gelu, channel_linear: {out: 96}, layer_scale, stochastic_depth: {p: 0.1}]}",
        "[96, 56, 56]",
        dict(
            params=(96 * 49 + 96) + 2 * 96 + (96 * 384 + 384) + (384 * 96 + 96) + 96,
            macs=POSITIONS * 96 * 49 + 2 * POSITIONS * 96 * 384,
        ),
    ),
]


@pytest.mark.parametrize(("layers", "shape", "expected"), [c[1:] for c in HAND], ids=[c[0] for c in HAND])
def test_counts_by_hand(layers, shape, expected):
    totals = analyse_text(layers, shape).totals
    got = {name: getattr(totals, name) for name in expected}
    assert got == expected, f"archcalc {got}, by hand {expected}"


def test_channel_linear_keeps_positions_and_layer_norm_its_shape():
    rows = analyse_text("- channel_linear: {out: 5}\n- layernorm\n- layer_scale", "[3, 4, 6]").rows
    assert [r.out_shape for r in rows] == [(5, 4, 6)] * 3


def test_convnext_tiny_has_torchvisions_published_parameters():
    """torchvision's convnext_tiny meta: num_params 28,589,128 (published figure, the test's data)."""
    assert analyze(load_spec(str(CONVNEXT_TINY))).totals.params == 28_589_128


@pytest.mark.parametrize(
    ("layers", "snippet"),
    [
        ("- channel_linear: {out: 4}", "channel_linear needs a [C, L], [C, H, W] or [C, D, H, W] input"),
        ("- opaque: {params: 1, out_shape: [1, 2, 3, 4, 5]}", "must be a list of 1 to 4 sizes"),
        ("- opaque: {params: -1, out_shape: [4]}", "params"),
        ("- opaque: {params: 2000000000000, out_shape: [4]}", "params"),
        ("- opaque: {out_shape: [4], module: 'os.system(1)'}", "must be a Python class name"),
        ("- stochastic_depth: {p: 1.5}", "must be a number in [0, 1]"),
        ("- layernorm: {eps: 0}", "eps"),
    ],
    ids=["linear-flat", "opaque-rank", "opaque-negative", "opaque-too-many", "opaque-module", "sd-p", "ln-eps"],
)
def test_bad_fields_are_one_clear_error(runner, tmp_path, layers, snippet):
    path = tmp_path / "bad.yaml"
    path.write_text(spec_text(layers, "[6, 4, 4]" if "channel_linear" not in layers else "[24]"))
    result = runner.invoke(main, ["shapes", str(path)], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert snippet in result.output and result.output.count("error[") == 1, result.output


# ---------------------------------------------------------------------------------------------
# opaque: marked everywhere, refused by MACs budgets

OPAQUE = "- conv: {out: 4, kernel: 3}\n- opaque: {params: 100, buffers: 4, out_shape: [8, 2, 2], module: nn.Attention}\n- flatten\n- linear: {out: 2}"


@pytest.fixture
def opaque_spec(tmp_path) -> Path:
    path = tmp_path / "op.yaml"
    path.write_text(spec_text(OPAQUE, "[3, 8, 8]", name="op"))
    return path


def test_opaque_is_marked_in_the_table_and_json(runner, opaque_spec):
    text = runner.invoke(main, ["shapes", str(opaque_spec)], catch_exceptions=False).output
    row = next(line for line in text.splitlines() if "opaque1" in line)
    assert row.rstrip(" │").endswith("?"), row
    assert "opaque: 1 layer whose MACs are unknown (opaque1: nn.Attention)" in text
    total = next(line for line in text.splitlines() if "total" in line)
    assert "+ ?" in total, total
    data = json.loads(runner.invoke(main, ["shapes", "--json", str(opaque_spec)], catch_exceptions=False).output)
    row = next(layer for layer in data["layers"] if layer["path"] == "opaque1")
    assert row["opaque"] is True and row["macs"] is None and row["flops"] is None, row
    assert all("opaque" not in layer for layer in data["layers"] if layer["path"] != "opaque1")
    assert data["opaque"]["layers"] == [{"path": "opaque1", "module": "nn.Attention"}]


def test_opaque_is_marked_in_every_report(runner, opaque_spec, tmp_path):
    out = tmp_path / "reports"
    args = ["report", str(opaque_spec), "-o", str(out)] + [
        a for f in ("md", "html", "json", "csv") for a in ("--format", f)
    ]
    result = runner.invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "opaque layers (MACs unknown)" in (out / "op.md").read_text()
    assert "opaque layers (MACs unknown)" in (out / "op.html").read_text()
    assert "MACs unknown (opaque)" in (out / "op.svg").read_text()
    assert json.loads((out / "op.json").read_text())["opaque"]["layers"][0]["path"] == "opaque1"
    rows = {r[0]: r for r in csv.reader(io.StringIO((out / "op.csv").read_text()))}
    header = rows["path"]
    assert rows["opaque1"][header.index("macs")] == "?", rows["opaque1"]
    assert rows["total"][header.index("macs")].endswith(" + ?"), rows["total"]
    # the per-kind table, the summary and the leaders hold no opaque layer's MACs as 0 (they once did)
    md = (out / "op.md").read_text()
    kind_row = next(line for line in md.splitlines() if line.startswith("| opaque |"))
    assert kind_row.count("?") >= 2, kind_row
    assert not any(line.startswith("Most MACs") or line.startswith("Most connections") for line in md.splitlines())
    macs_row = next(line for line in md.splitlines() if line.startswith("| MACs"))
    assert "+ ?" in macs_row, macs_row
    by_kind = {k["kind"]: k for k in json.loads((out / "op.json").read_text())["by_kind"]}
    assert by_kind["opaque"]["macs"] is None and by_kind["opaque"]["connections"] is None, by_kind["opaque"]


@pytest.mark.parametrize(
    ("flags", "budget"),
    [
        (["--max-macs", "1M"], ""),
        ([], "budget: {max_macs: 1M}\n"),
        (["--max-params", "1M"], "budget: {max_macs: 1G}\n"),
    ],
    ids=["flag", "spec-budget", "spec-budget-beside-params"],
)
def test_check_refuses_a_macs_budget_on_opaque_layers(runner, opaque_spec, flags, budget):
    opaque_spec.write_text(opaque_spec.read_text() + budget)
    result = runner.invoke(main, ["check", str(opaque_spec), *flags], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert "error[opaque_macs]" in result.output and "opaque1" in result.output, result.output
    assert result.output.count("error[") == 1, result.output


def test_check_holds_other_budgets_on_opaque_layers(runner, opaque_spec):
    result = runner.invoke(main, ["check", str(opaque_spec), "--max-params", "1M"], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def test_receptive_field_past_an_opaque_layer_is_unknown(runner, opaque_spec):
    result = runner.invoke(main, ["rf", str(opaque_spec)], catch_exceptions=False)
    assert result.exit_code == 2 and "error[unknown_receptive_field]" in result.output, result.output


# ---------------------------------------------------------------------------------------------
# against torch and torchvision

KINDS_SPEC = """
- layernorm: {eps: 1.0e-6}
- channel_linear: {out: 12}
- gelu
- channel_linear: {out: 6, bias: false}
- layer_scale: {init: 0.5}
- stochastic_depth: {p: 0.2}
- opaque: {params: 100, buffers: 4, out_shape: [8, 3, 3], module: MultiheadAttention}
- flatten
- layernorm
- linear: {out: 3}
"""


def test_export_torch_source_builds_the_same_module(runner, tmp_path):
    torch = pytest.importorskip("torch")
    from archcalc.verify.build import build_model

    spec_file, source = tmp_path / "k.yaml", tmp_path / "k.py"
    spec_file.write_text(spec_text(KINDS_SPEC, "[6, 5, 7]", name="k"))
    result = runner.invoke(main, ["export", str(spec_file), "--to", "torch", "-o", str(source)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    namespace: dict = {}
    exec(compile(source.read_text(), str(source), "exec"), namespace)
    built = build_model(load_spec(str(spec_file)))
    shapes = {k: tuple(v.shape) for k, v in namespace["model"].state_dict().items()}
    assert shapes == {k: tuple(v.shape) for k, v in built.state_dict().items()}
    assert shapes["layer_scale1.scale"] == (6, 1, 1) and shapes["channel_linear1.weight"] == (12, 6)
    assert namespace["model"].eval()(torch.randn(2, 6, 5, 7)).shape == (2, 3)


def test_export_onnx_runs(runner, tmp_path):
    pytest.importorskip("torch")
    onnx = pytest.importorskip("onnx")
    spec_file, out = tmp_path / "k.yaml", tmp_path / "k.onnx"
    spec_file.write_text(spec_text(KINDS_SPEC, "[6, 5, 7]", name="k"))
    result = runner.invoke(main, ["export", str(spec_file), "--to", "onnx", "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    onnx.checker.check_model(onnx.load(str(out)))


def test_channel_layer_norm_is_torchvisions_layernorm2d(torchvision):
    import torch
    from torchvision.models.convnext import LayerNorm2d

    from archcalc.verify.counters import count_fvcore, count_torch
    from archcalc.verify.modules import ChannelLayerNorm

    torch.manual_seed(0)
    theirs, ours = LayerNorm2d(8, eps=1e-6), ChannelLayerNorm(8, eps=1e-6)
    with torch.no_grad():
        theirs.weight.normal_(), theirs.bias.normal_()
    ours.load_state_dict(theirs.state_dict())  # the same keys and shapes, strictly
    x = torch.randn(2, 8, 5, 6)
    assert torch.equal(ours(x), theirs(x))
    for count in (count_fvcore, count_torch):
        assert count(ours, (8, 5, 6)) == count(theirs, (8, 5, 6)), count.__name__


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_stochastic_depth_is_torchvisions(torchvision, mode):
    import torch
    from torchvision.ops import StochasticDepth as Theirs

    from archcalc.verify.modules import StochasticDepth

    x = torch.randn(16, 3, 4, 4)
    outputs = []
    for module in (StochasticDepth(0.5, mode), Theirs(0.5, mode)):
        torch.manual_seed(1)
        outputs.append(module.train()(x))
        assert module.eval()(x) is x
    assert torch.equal(*outputs)


CNBLOCK = """
- residual:
    body:
      - block: {name: block, layers: [conv: {name: "0", out: 16, kernel: 7, padding: 3, groups: depthwise},
          layernorm: {name: "2", eps: 1.0e-6}, channel_linear: {name: "3", out: 64}, gelu: {name: "4"},
          channel_linear: {name: "5", out: 16}]}
      - layer_scale: {name: layer_scale}
      - stochastic_depth: {name: stochastic_depth, p: 0.1}
"""


def _compare(theirs, spec, tolerance: float) -> None:
    """`theirs`'s weights load into the spec's built module (layer scale: `<block>.layer_scale`
    there, `<block>.layer_scale.scale` here), the outputs agree, and the fvcore and torch presets
    give fvcore's and FlopCounterMode's totals on `theirs`."""
    import torch

    from archcalc.conventions import PRESETS
    from archcalc.counted import convention_totals
    from archcalc.verify.build import build_model
    from archcalc.verify.counters import count_fvcore, count_torch

    ours = build_model(spec).eval()
    state = {(k + ".scale" if k.endswith("layer_scale") else k): v for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)  # strict: every key and shape
    x = torch.randn(2, *spec.input)
    with torch.no_grad():
        gap = (ours(x) - theirs(x)).abs().max().item()
    assert gap < tolerance, f"outputs differ by up to {gap}"
    analysis = analyze(spec)
    for tool, count in (("fvcore", count_fvcore), ("torch", count_torch)):
        ours_total, theirs_total = convention_totals(analysis, PRESETS[tool])["ops"], count(theirs, tuple(spec.input))
        assert ours_total == theirs_total, f"{tool}: archcalc {ours_total:,}, {tool} on torchvision {theirs_total:,}"


def test_cnblock_is_torchvisions(torchvision):
    """One ConvNeXt block, torchvision's CNBlock, as the spec writes it (its row paths its module names)."""
    import torch
    from torchvision.models.convnext import CNBlock

    from archcalc import parse_spec

    torch.manual_seed(0)
    theirs = CNBlock(16, layer_scale=0.5, stochastic_depth_prob=0.1).eval()
    _compare(theirs, parse_spec(spec_text(CNBLOCK, "[16, 9, 9]"), "cnblock.yaml"), 1e-5)


@pytest.mark.slow
def test_convnext_tiny_loads_runs_and_counts_as_torchvisions(torchvision):
    """The hand-written ConvNeXt-T (tests/data/convnext-tiny.yaml), the whole network."""
    import torch

    torch.manual_seed(0)
    _compare(torchvision.models.convnext_tiny(weights=None).eval(), load_spec(str(CONVNEXT_TINY)), 1e-4)


def test_compare_marks_a_design_with_opaque_layers(runner, opaque_spec):
    text = runner.invoke(main, ["compare", "lenet5", str(opaque_spec)], catch_exceptions=False).output
    macs = next(line for line in text.splitlines() if "MACs" in line)
    lenet5_macs = analyze(load_spec("lenet5")).totals.macs
    assert macs.rstrip(" │").endswith("+ ?") and f"{lenet5_macs:,} " in macs, macs
    data = json.loads(runner.invoke(main, ["compare", "--json", "lenet5", str(opaque_spec)]).output)
    assert [s.get("opaque_layers") for s in data["specs"]] == [None, ["opaque1"]]


def test_diff_marks_opaque_layers(runner, opaque_spec, tmp_path):
    other = tmp_path / "op2.yaml"
    other.write_text(
        opaque_spec.read_text().replace("conv: {out: 4", "conv: {out: 5").replace("params: 100", "params: 90")
    )
    text = runner.invoke(main, ["diff", str(opaque_spec), str(other)], catch_exceptions=False).output
    row = next(line for line in text.splitlines() if "opaque1" in line)
    assert row.rstrip(" │").endswith("?"), row
    macs = next(line for line in text.splitlines() if line.startswith("macs:"))
    assert macs.endswith("+ ? (opaque layers: unknown)"), macs
    data = json.loads(runner.invoke(main, ["diff", "--json", str(opaque_spec), str(other)]).output)
    entry = next(e for e in data["layers"] if e["path"] == "opaque1")
    assert entry["opaque"] is True and entry["delta"]["macs"] is None and data["opaque"] is True


@pytest.mark.parametrize("command", ["roofline", "memory"])
def test_roofline_and_memory_note_opaque_layers(runner, opaque_spec, command):
    text = runner.invoke(main, [command, str(opaque_spec)], catch_exceptions=False).output
    assert "opaque: 1 layer whose MACs are unknown (opaque1: nn.Attention)" in text, text
    data = json.loads(runner.invoke(main, [command, "--json", str(opaque_spec)], catch_exceptions=False).output)
    assert data["opaque_layers"] == ["opaque1"]
