"""The training model held against torch on CPU (FlopCounterMode over forward + backward, the bytes
autograd saves through saved_tensors_hooks), and `archcalc bench` run for real on CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archcalc import analyze, load_spec
from archcalc.cli import main
from archcalc.peaks import FAMILY_NAMES, family_of, macs_by_family
from archcalc.training import backward_macs, saved_tensors

from .helpers import analyse_text
from .test_roofline import FROZEN_BRANCH, FROZEN_STEM

torch = pytest.importorskip("torch")

from archcalc.throughput.oracle import saved_bytes, training_flops  # noqa: E402

BATCH = 2
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
KINDS = """
- conv: {out: 4, kernel: 3, padding: 1}
- batchnorm
- relu
- maxpool: {kernel: 2}
- conv_transpose: {out: 4, kernel: 2, stride: 2}
- gelu
- avgpool: {kernel: 2}
- lrn: {size: 3}
- sigmoid
- parallel: {merge: mul, branches: [[], [global_avgpool, conv: {out: 4, kernel: 1}, hardsigmoid]]}
- parallel: {merge: concat, branches: [[conv: {out: 2, kernel: 1}, silu], [adaptive_avgpool: {out: 4}, tanh]]}
- adaptive_maxpool: {out: 2}
- flatten
- dropout
- linear: {out: 5}
- leaky_relu
- linear: {out: 3}
- log_softmax
"""
# ConvNeXt's block kinds: layer norm's per-position statistics, the channels-last linear's input copy,
# the layer scale's saved input, stochastic depth's per-example and per-batch masks
CHANNELWISE = """
- conv: {out: 6, kernel: 3, padding: 1}
- layernorm
- channel_linear: {out: 12}
- gelu
- channel_linear: {out: 6, bias: false}
- layer_scale
- stochastic_depth: {p: 0.2}
- stochastic_depth: {p: 0.3, mode: batch}
- stochastic_depth: {p: 0}
- layernorm: {affine: false}
- flatten
- layernorm
- linear: {out: 3}
"""
# issue 16's kinds (kinds-a): a view (split) read by a conv that saves it, a copy, group statistics
KINDS_16 = """
- conv: {out: 8, kernel: 3, padding: 1}
- groupnorm: {num_groups: 4}
- parallel: {merge: concat, branches: [[split: {chunks: 2, index: 0}], [split: {chunks: 2, index: 1}, conv: {out: 4, kernel: 1}]]}
- channel_shuffle: {groups: 2}
- upsample: {mode: bilinear, scale_factor: 2}
- conv: {out: 4, kernel: 1}
- upsample: {size: [20, 20]}
- groupnorm: {num_groups: 2, affine: false}
- mean: {dims: [2, 3]}
- linear: {out: 3}
"""
SPECS = {
    "lenet5": lambda: analyze(load_spec("lenet5")),
    "simple-cnn": lambda: analyze(load_spec("simple-cnn")),
    "resnet18@32": lambda: analyze(load_spec("resnet18").with_input((3, 32, 32))),
    "frozen-stem": lambda: analyse_text(FROZEN_STEM, "[3, 9, 9]"),
    "frozen-branch": lambda: analyse_text(FROZEN_BRANCH, "[3, 9, 9]"),
    "every-saving-kind": lambda: analyse_text(KINDS, "[3, 8, 8]"),
    "channelwise-kinds": lambda: analyse_text(CHANNELWISE, "[3, 5, 7]"),
    "issue16-kinds": lambda: analyse_text(KINDS_16, "[3, 8, 8]"),
    # the graph form: merges of tensors from different depths, three outputs the loss reads
    "fpn@64": lambda: analyze(load_spec(str(EXAMPLES / "fpn.yaml")).with_input((3, 64, 64))),
    "cross-stage@32": lambda: analyze(load_spec(str(EXAMPLES / "cross-stage.yaml")).with_input((3, 32, 32))),
}


@pytest.mark.parametrize("name", SPECS)
def test_backward_macs_match_flop_counter(name):
    analysis = SPECS[name]()
    measured = training_flops(analysis, BATCH)
    backward = sum(b.total for b in backward_macs(analysis))
    assert measured["forward"] == 2 * analysis.totals.macs * BATCH
    assert measured["backward"] == 2 * backward * BATCH, (measured["backward"], 2 * backward * BATCH)


@pytest.mark.parametrize("name", SPECS)
def test_saved_activations_match_what_autograd_saves(name):
    analysis = SPECS[name]()
    measured = saved_bytes(analysis, BATCH)
    ours: dict[str, int] = {}
    for t in saved_tensors(analysis, "fp32", BATCH):
        ours[t.path] = ours.get(t.path, 0) + t.bytes
    differ = {
        p: (ours.get(p, 0), measured["by_path"].get(p, 0))
        for p in set(ours) | set(measured["by_path"])
        if ours.get(p, 0) != measured["by_path"].get(p, 0)
    }
    assert not differ, f"per layer (model, torch): {differ}"
    assert sum(ours.values()) == measured["total"]


def test_bench_cpu_json(tmp_path, runner):
    out = tmp_path / "lenet5.json"
    result = runner.invoke(
        main,
        [
            "bench",
            "lenet5",
            "--device",
            "cpu",
            "--batch",
            "1,4",
            "--iters",
            "3",
            "--warmup",
            "1",
            "--cudnn-benchmark",
            "--json",
            "-o",
            str(out),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["device"] == "cpu" and data["mode"] == "inference" and "2 x MACs" in data["flops_convention"]
    assert "resident" in data["memory_measure"] and data["peak"]["flops_per_s"] > 0
    # asked for, reported, and set back after the run (torch's default: off)
    assert data["cudnn_benchmark"] is True and torch.backends.cudnn.benchmark is False
    peak = data["peak"]
    families = {f["family"]: f for f in peak["families"]}
    assert set(families) == {"conv", "matmul", "other"} and all(f["why"] for f in families.values())
    # lenet5's FLOPs are mostly convolutions: the single figure is the conv family's peak
    assert peak["flops_per_s_family"] == "conv" and peak["flops_per_s"] == families["conv"]["flops_per_s"]
    forward = {"conv": 2 * (117_600 + 240_000), "matmul": 2 * (48_000 + 10_080 + 840), "other": 0}  # C1, C3; F5-output
    for b, size in zip(data["batches"], (1, 4)):
        assert b["batch"] == size and b["iters"] == 3 and 0 < b["median_ms"] <= b["p95_ms"]
        assert b["flops"] == 2 * 416_520 * size and b["images_per_s"] > 0 and b["peak_memory_bytes"] > 0
        assert b["flops_by_family"] == {f: flops * size for f, flops in forward.items()}
        bound = sum(flops / families[f]["flops_per_s"] for f, flops in b["flops_by_family"].items())
        assert b["compute_bound_s"] == pytest.approx(bound)
        # "of compute bound": the share of the compute ceiling reached, the compute bound over the median
        assert b["achieved_over_peak"] == pytest.approx(b["compute_bound_s"] / (b["median_ms"] / 1e3))


def test_bench_cpu_train_table(runner):
    result = runner.invoke(
        main,
        [
            "bench",
            "simple-cnn",
            "--device",
            "cpu",
            "--batch",
            "2",
            "--iters",
            "2",
            "--warmup",
            "1",
            "--train",
            "--dtype",
            "bf16",
            "--channels-last",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "train" in result.output and "achieved TFLOP/s" in result.output
    text = " ".join(result.output.split())
    # one line per op family the spec uses, each with its math, its peak and why
    used = {f for f, macs in macs_by_family(analyze(load_spec("simple-cnn")).rows).items() if macs}
    printed = {f for f, name in FAMILY_NAMES.items() if f"{name}: BF16 " in text}
    assert printed == used and "convolutions: BF16 " in text, text
    assert "Of compute bound: the compute bound" in text


def test_bench_trains_a_network_with_several_outputs(runner):
    """The training step's loss reads every output (fpn.yaml returns three): it crashed on the tuple."""
    args = ["bench", str(EXAMPLES / "fpn.yaml"), "--device", "cpu", "--batch", "1", "--iters", "1", "--warmup", "0"]
    result = runner.invoke(main, [*args, "--train", "--input", "3x32x32"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "train" in result.output and "achieved TFLOP/s" in result.output, result.output


def test_bench_per_layer_json(tmp_path, runner):
    out = tmp_path / "layers.json"
    result = runner.invoke(
        main,
        [
            "bench",
            "alexnet",
            "--input",
            "96",
            "--device",
            "cpu",
            "--per-layer",
            "--batch",
            "1",
            "--iters",
            "2",
            "--warmup",
            "1",
            "--json",
            "-o",
            str(out),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    layers = data["layers"]
    rows = analyze(load_spec("alexnet").with_input((3, 96, 96))).rows
    assert [entry["path"] for entry in layers] == [r.path for r in rows]
    assert all(e["measured_s"] > 0 and e["bound_by"] in ("compute", "memory", "none") for e in layers)
    # each layer's compute at its own family's peak
    peaks = {f["family"]: f["flops_per_s"] for f in data["peak"]["families"]}
    for entry, row in zip(layers, rows):
        assert entry["compute_s"] == pytest.approx(entry["flops"] / peaks[family_of(row.op)]), entry


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_bench_cuda_without_gpu_is_a_usage_error(runner):
    result = runner.invoke(main, ["bench", "lenet5", "--device", "cuda", "--iters", "1"])
    assert result.exit_code == 2 and "no CUDA device" in result.output and "Traceback" not in result.output


def test_per_layer_refuses_train(runner):
    result = runner.invoke(main, ["bench", "lenet5", "--per-layer", "--train"])
    assert result.exit_code == 2 and "--per-layer" in result.output
