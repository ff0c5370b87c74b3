"""`roofline --fused` (archcalc/fusion.py): the kernels of a fused inference run, by hand on small
designs (which rows run as one kernel, what each reads and writes), its properties over every
bundled spec (never above the unfused bound), the command's JSON and table, and work linear in
the rows."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest

from archcalc import analyze, load_spec
from archcalc.bundled import bundled_names
from archcalc.cli import main
from archcalc.devices import device_peak
from archcalc.fusion import bench_bounds, fused_roofline, kernels
from archcalc.peaks import table_peaks
from archcalc.roofline import roofline, traffic

from .helpers import analyse_text

SIZE, BATCH = 4, 2  # fp32, two examples: every expected byte count below is elements x SIZE (x BATCH)


@dataclass(frozen=True)
class Expected:
    """One kernel: its rows, the batch norms folded into it, the elements per example it reads from
    outside (tensors), its parameters, and the elements per example it writes."""

    paths: tuple[str, ...]
    folded: tuple[str, ...]
    read: int
    params: int
    written: int


CASES = {
    # one kernel: the batch norm folded into the convolution, the ReLU in its epilogue
    "conv-bn-relu": (
        "[3, 8, 8]",
        """
        - conv: {name: c, out: 4, kernel: 3, padding: 1, bias: false}
        - batchnorm: {name: bn}
        - relu: {name: r}
        """,
        [Expected(("c", "bn", "r"), ("bn",), read=3 * 64, params=4 * 3 * 9, written=4 * 64)],
    ),
    # the add joins the kernel ready last (the projection shortcut), which reads the body's output;
    # the block input is read by both the body's first kernel and the shortcut's
    "residual-projection": (
        "[4, 8, 8]",
        """
        - residual:
            name: r
            body: [conv: {name: c1, out: 8, kernel: 3, padding: 1, bias: false}, batchnorm: {name: bn1},
                   relu: {name: r1}, conv: {name: c2, out: 8, kernel: 3, padding: 1, bias: false}, batchnorm: {name: bn2}]
            shortcut: [conv: {name: p, out: 8, kernel: 1, bias: false}, batchnorm: {name: bnp}]
        - relu: {name: out}
        """,
        [
            Expected(("r.c1", "r.bn1", "r.r1"), ("r.bn1",), read=4 * 64, params=8 * 4 * 9, written=8 * 64),
            Expected(("r.c2", "r.bn2"), ("r.bn2",), read=8 * 64, params=8 * 8 * 9, written=8 * 64),
            Expected(
                ("r.shortcut.p", "r.shortcut.bnp", "r.add", "out"),
                ("r.shortcut.bnp",),
                read=4 * 64 + 8 * 64,  # the block input and the body's output
                params=8 * 4,
                written=8 * 64,
            ),
        ],
    ),
    # concat is free: each branch writes its slice, the next convolution reads the whole
    "inception-concat": (
        "[4, 8, 8]",
        """
        - parallel:
            name: inc
            merge: concat
            branches:
              - [conv: {name: a, out: 2, kernel: 1, bias: false}, relu: {name: ra}]
              - [conv: {name: b, out: 3, kernel: 3, padding: 1, bias: false}]
              - [maxpool: {name: m, kernel: 3, stride: 1, padding: 1}]
        - conv: {name: after, out: 2, kernel: 1, bias: false}
        """,
        [
            Expected(("inc.b1.a", "inc.b1.ra"), (), read=4 * 64, params=2 * 4, written=2 * 64),
            Expected(("inc.b2.b",), (), read=4 * 64, params=3 * 4 * 9, written=3 * 64),
            Expected(("inc.b3.m",), (), read=4 * 64, params=0, written=4 * 64),
            Expected(("after",), (), read=(2 + 3 + 4) * 64, params=2 * 9, written=2 * 64),
        ],
    ),
    # the multiply runs in the gate's kernel (ready last) and reads the features from memory
    "se-mul": (
        "[4, 8, 8]",
        """
        - conv: {name: c, out: 4, kernel: 1, bias: false}
        - relu: {name: r}
        - global_avgpool: {name: gap}
        - conv: {name: fc1, out: 2, kernel: 1}
        - relu: {name: r2}
        - conv: {name: fc2, out: 4, kernel: 1}
        - sigmoid: {name: gate}
        - mul: {name: scale, from: [r, gate]}
        """,
        [
            Expected(("c", "r"), (), read=4 * 64, params=4 * 4, written=4 * 64),
            Expected(("gap",), (), read=4 * 64, params=0, written=4),
            Expected(("fc1", "r2"), (), read=4, params=2 * 4 + 2, written=2),
            Expected(("fc2", "gate", "scale"), (), read=2 + 4 * 64, params=4 * 2 + 4, written=4 * 64),
        ],
    ),
    # ... and the prologue of the projection that alone reads its product: the features are read once
    "se-mul-prologue": (
        "[4, 8, 8]",
        """
        - conv: {name: c, out: 4, kernel: 1, bias: false}
        - relu: {name: r}
        - global_avgpool: {name: gap}
        - conv: {name: fc, out: 4, kernel: 1}
        - sigmoid: {name: gate}
        - mul: {name: scale, from: [r, gate]}
        - conv: {name: project, out: 2, kernel: 1, bias: false}
        """,
        [
            Expected(("c", "r"), (), read=4 * 64, params=4 * 4, written=4 * 64),
            Expected(("gap",), (), read=4 * 64, params=0, written=4),
            Expected(("fc", "gate"), (), read=4, params=4 * 4 + 4, written=4),
            Expected(("scale", "project"), (), read=4 * 64 + 4, params=2 * 4, written=2 * 64),
        ],
    ),
    # the convolution's raw output is read by another kernel: no fold, the batch norm is
    # pointwise (its scale and shift read), and both the raw and the activated outputs are written
    "bn-output-read-twice": (
        "[4, 8, 8]",
        """
        - conv: {name: c, out: 4, kernel: 1, bias: false}
        - batchnorm: {name: bn}
        - relu: {name: r}
        - conv: {name: d, out: 4, kernel: 1, bias: false, from: c}
        - add: {name: s, from: [r, d]}
        """,
        [
            Expected(("c", "bn", "r"), (), read=4 * 64, params=4 * 4 + 2 * 4, written=4 * 64 + 4 * 64),
            Expected(("d", "s"), (), read=4 * 64 + 4 * 64, params=4 * 4, written=4 * 64),
        ],
    ),
    # a pointwise op on the network input has no kernel to join: it is the prologue of its only reader
    "input-prologue": (
        "[4, 8, 8]",
        """
        - relu: {name: r}
        - conv: {name: c, out: 2, kernel: 1, bias: false}
        """,
        [Expected(("r", "c"), (), read=4 * 64, params=2 * 4, written=2 * 64)],
    ),
    # ... and a kernel of its own when two kernels read it
    "input-pointwise-two-readers": (
        "[4, 8, 8]",
        """
        - relu: {name: r}
        - conv: {name: a, out: 2, kernel: 1, bias: false}
        - conv: {name: b, out: 2, kernel: 1, bias: false, from: r}
        - add: {name: s, from: [a, b]}
        """,
        [
            Expected(("r",), (), read=4 * 64, params=0, written=4 * 64),
            Expected(("a",), (), read=4 * 64, params=2 * 4, written=2 * 64),
            Expected(("b", "s"), (), read=4 * 64 + 2 * 64, params=2 * 4, written=2 * 64),
        ],
    ),
    # DenseNet's pre-activation: batch norm and ReLU on a concat's output run as the convolution's
    # prologue; the concat's identity part is already in memory (nothing writes it)
    "concat-prologue": (
        "[4, 8, 8]",
        """
        - parallel: {name: p, merge: concat, branches: [[conv: {name: a, out: 2, kernel: 1, bias: false}], []]}
        - batchnorm: {name: bn}
        - relu: {name: r}
        - conv: {name: c, out: 2, kernel: 1, bias: false}
        """,
        [
            Expected(("p.b1.a",), (), read=4 * 64, params=2 * 4, written=2 * 64),
            Expected(("bn", "r", "c"), (), read=6 * 64, params=2 * 6 + 2 * 6, written=2 * 64),
        ],
    ),
    # upsampling is an index remap: with the add after it, the prologue of the convolution reading
    # their sum (the upsampled tensor is never written; the pooled one and the lateral one are read)
    "upsample-add-prologue": (
        "[2, 4, 4]",
        """
        - conv: {name: a, out: 2, kernel: 1, bias: false}
        - maxpool: {name: p, kernel: 2, stride: 2}
        - upsample: {name: u, scale_factor: 2}
        - add: {name: s, from: [a, u]}
        - conv: {name: c, out: 2, kernel: 1, bias: false}
        """,
        [
            Expected(("a",), (), read=2 * 16, params=2 * 2, written=2 * 16),
            Expected(("p",), (), read=2 * 16, params=0, written=2 * 4),
            Expected(("u", "s", "c"), (), read=2 * 4 + 2 * 16, params=2 * 2, written=2 * 16),
        ],
    ),
    # a channel shuffle is written in shuffled order by the kernel producing its input
    "channel-shuffle": (
        "[4, 4, 4]",
        """
        - conv: {name: a, out: 4, kernel: 1, bias: false}
        - channel_shuffle: {name: sh, groups: 2}
        - conv: {name: b, out: 4, kernel: 1, bias: false}
        """,
        [
            Expected(("a", "sh"), (), read=4 * 16, params=4 * 4, written=4 * 16),
            Expected(("b",), (), read=4 * 16, params=4 * 4, written=4 * 16),
        ],
    ),
    # a view is free; a batch norm behind a flatten scales every feature apart: not folded
    "view-no-fold": (
        "[2, 4, 4]",
        """
        - conv: {name: c, out: 2, kernel: 1, bias: false}
        - flatten: {name: f}
        - batchnorm: {name: bn}
        - linear: {name: fc, out: 3, bias: false}
        - batchnorm: {name: bn2}
        """,
        [
            Expected(("c", "bn"), (), read=2 * 16, params=2 * 2 + 2 * 32, written=32),
            Expected(("fc", "bn2"), ("bn2",), read=32, params=3 * 32, written=3),
        ],
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_kernels_by_hand(case):
    shape, layers, expected = case
    got = kernels(analyse_text(layers, shape), "fp32", BATCH)
    want = [(e.paths, e.folded, e.read * SIZE * BATCH, e.params * SIZE, e.written * SIZE * BATCH) for e in expected]
    have = [(k.paths, k.folded, k.input_bytes, k.weight_bytes, k.bytes_written) for k in got]
    assert have == want, f"\ngot  {have}\nwant {want}"


@pytest.fixture(scope="module")
def bundled():
    return {name: analyze(load_spec(name)) for name in bundled_names()}


@pytest.mark.parametrize("name", bundled_names())
def test_fused_never_exceeds_unfused(bundled, name):
    """Over every bundled spec, at fp32 (convolutions in TF32, the rest not) and bf16: the fused
    bound and bytes are at most the unfused ones, FLOPs are the unfused FLOPs less the folded batch
    norms', and every row that does work is in exactly one kernel."""
    analysis = bundled[name]
    rows = {row.path: row for row in analysis.rows}
    for dtype in ("fp32", "bf16"):
        peaks = table_peaks(device_peak("h100"), dtype)
        fused = fused_roofline(analysis, dtype, 3, peaks)
        unfused = roofline(analysis.rows, dtype, 3, peaks)
        f_bound, u_bound = sum(k.bound.bound_s for k in fused), sum(b.bound_s for b in unfused)
        f_bytes, u_bytes = sum(k.kernel.bytes for k in fused), sum(b.traffic.bytes for b in unfused)
        assert f_bound <= u_bound, (dtype, f_bound, u_bound)
        assert f_bytes <= u_bytes, (dtype, f_bytes, u_bytes)
        folded = [path for k in fused for path in k.kernel.folded]
        folded_flops = sum(traffic(rows[path], dtype, 3).flops for path in folded)
        f_flops, u_flops = sum(k.kernel.flops for k in fused), sum(b.traffic.flops for b in unfused)
        assert f_flops == u_flops - folded_flops, (dtype, f_flops, u_flops, folded_flops)
        assert all(rows[path].kind.startswith("batchnorm") for path in folded), folded
        paths = [path for k in fused for path in k.kernel.paths]
        working = [row.path for row in analysis.rows if _fusion(row) not in ("view", "concat")]
        assert sorted(paths) == sorted(working), set(paths) ^ set(working)
        assert bench_bounds(analysis, dtype, 3, peaks).fused_bound_s == f_bound


def _fusion(row) -> str:
    from archcalc.layers import OPS

    return OPS[row.op].fusion


def test_resnet50_folds_every_batch_norm():
    """The issue's model: each of its 53 batch norms follows a convolution that only it reads."""
    analysis = analyze(load_spec("resnet50"))
    norms = [row.path for row in analysis.rows if row.kind == "batchnorm"]
    folded = [path for k in kernels(analysis, "bf16", 128) for path in k.folded]
    assert folded == norms


def _roofline(*args: str, runner) -> str:
    result = runner.invoke(main, ["roofline", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_fused_json(runner):
    data = json.loads(_roofline("resnet18", "--dtype", "bf16", "--batch", "8", "--fused", "--json", runner=runner))
    plain = json.loads(_roofline("resnet18", "--dtype", "bf16", "--batch", "8", "--json", runner=runner))
    assert data["fused"] is True and data["unfused_bound_s"] == plain["bound_s"]
    assert data["bound_s"] == pytest.approx(sum(k["bound_s"] for k in data["kernels"]))
    assert data["bound_s"] < data["unfused_bound_s"]
    first = data["kernels"][0]
    assert set(first) == {
        "paths",
        "kinds",
        "folded",
        "flops",
        "flops_by_family",
        "bytes_read",
        "bytes_written",
        "compute_s",
        "memory_s",
        "bound_s",
        "bound_by",
    }
    assert first["paths"][0] == "conv1" and first["flops"] == sum(first["flops_by_family"].values())
    assert first["bound_s"] == max(first["compute_s"], first["memory_s"])
    assert sum(len(k["paths"]) for k in data["kernels"]) <= len(plain["layers"])


def test_fused_table_names_kernels_and_both_bounds(runner):
    output = _roofline("resnet50", "--dtype", "bf16", "--batch", "128", "--fused", "--width", "200", runner=runner)
    assert "fused roofline" in output and "│ rows │" in " ".join(output.split("\n")[1:4]).replace("┃", "│")
    assert re.search(r"│ conv1 +│ +3 │ conv\+batchnorm\+relu", output), output
    summary = " ".join(output.split())
    assert re.search(r"fused bound [\d.]+ ms \([\d,]+ images/s at best\); unfused sum of bounds", summary), summary
    assert "53 batch norms folded" in summary


def test_fused_table_at_40_columns_keeps_every_number(runner):
    """Narrow screens: with --wide no column is left out; without it the kernel, its rows and the
    bound stay; no number is cut either way."""

    def numbers(output: str) -> list[str]:
        rows = [line for line in output.splitlines() if line.startswith("│")]
        return sorted(re.findall(r"\d[\d,.]*", " ".join(rows)))

    args = ("googlenet", "--fused")
    wide = numbers(_roofline(*args, "--width", "400", runner=runner))
    assert wide and numbers(_roofline(*args, "--width", "40", "--wide", runner=runner)) == wide
    narrow = _roofline(*args, "--width", "40", runner=runner)
    header = next(line for line in narrow.splitlines() if "layer" in line)
    assert "rows" in header and "bound" in header, narrow


def test_wide_concat_stays_linear():
    """Hostile shape: 10,000 branches written into one concat read by a pointwise op and a
    convolution (a scan of every reader per tensor, or a re-sort per prologue, would be quadratic)."""
    n = 10_000
    layers = f"""
    - parallel: {{name: p, merge: concat, branches: [{", ".join(["[relu]"] * n)}]}}
    - relu: {{name: r}}
    - conv: {{name: c, out: 1, kernel: 1, bias: false}}
    """
    got = kernels(analyse_text(layers, "[1, 2, 2]"), "fp32", 1)
    assert len(got) == n + 1
    assert got[-1].paths == ("r", "c") and got[-1].input_bytes == n * 4 * SIZE
    assert sum(k.bytes_written for k in got) == (n + 1) * 4 * SIZE


def _result(mode: str) -> dict:
    """bench's JSON as far as the bounds read it: two batches timed at 2 and 5 ms."""
    batches = [{"batch": 1, "median_ms": 2.0}, {"batch": 4, "median_ms": 5.0}]
    return {"mode": mode, "dtype": "bf16", "device_name": "NVIDIA H100 SXM", "batches": batches}


def test_bench_holds_each_batch_against_both_bounds():
    from archcalc.commands.bench import _add_bounds

    analysis = analyze(load_spec("resnet18"))
    peaks = table_peaks(device_peak("h100"), "bf16")
    result = _result("inference")
    _add_bounds(result, analysis, peaks, [2e-3, 5e-3])
    assert "bounds_note" not in result
    for entry, median in zip(result["batches"], (2e-3, 5e-3)):
        want = bench_bounds(analysis, "bf16", entry["batch"], peaks)
        assert (entry["roofline_bound_s"], entry["fused_bound_s"]) == (want.roofline_bound_s, want.fused_bound_s)
        assert entry["roofline_bound_over_median"] == want.roofline_bound_s / median
        assert entry["fused_bound_over_median"] == want.fused_bound_s / median


def test_bench_says_a_training_step_has_no_bounds():
    from archcalc.commands.bench import BOUND_KEYS, _add_bounds

    result = _result("train")
    _add_bounds(result, analyze(load_spec("lenet5")), table_peaks(device_peak("h100"), "bf16"), [1, 1])
    assert "not applicable to a training step" in result["bounds_note"]
    assert all(entry[key] is None for entry in result["batches"] for key in BOUND_KEYS)


def test_bench_cpu_prints_both_bounds(runner):
    pytest.importorskip("torch")
    args = ["bench", "lenet5", "--device", "cpu", "--batch", "1", "--iters", "1", "--warmup", "0", "--width", "80"]
    result = runner.invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    line = " ".join(result.output.split())
    assert re.search(r"batch 1: median [\d.,]+ ms = [\d.,]+x the roofline bound .* [\d.,]+x the fused bound", line), (
        line
    )


def test_opaque_layers_as_in_the_unfused_roofline(runner, tmp_path):
    """An opaque module is a kernel whose compute is unknown (counted as none, said so); an
    element-wise op after it joins it, as after any kernel."""
    path = tmp_path / "opaque.yaml"
    path.write_text(
        "name: o\ninput: [4, 2, 2]\nlayers:\n"
        "  - conv: {name: c, out: 4, kernel: 1, bias: false}\n"
        "  - opaque: {name: attn, params: 10, out_shape: [4, 2, 2]}\n"
        "  - relu: {name: r}\n"
    )
    data = json.loads(_roofline(str(path), "--fused", "--json", runner=runner))
    assert [k["paths"] for k in data["kernels"]] == [["c"], ["attn", "r"]]
    assert data["opaque_layers"] == ["attn"] and data["kernels"][1]["flops"] == 0
    text = " ".join(_roofline(str(path), "--fused", runner=runner).split())
    assert "their bounds count the data they move, not their compute" in text, text


def test_huge_sizes_exact(runner, tmp_path):
    """Sizes of 10^12 (tests/test_bounded_work.py's): exact integer bytes, at once."""
    t = 10**12
    path = tmp_path / "huge.yaml"
    path.write_text(f"name: huge\ninput: [1, 1]\nlayers: [conv_transpose: {{out: 1, kernel: {t}}}, relu]\n")
    data = json.loads(_roofline(str(path), "--fused", "--dtype", "fp32", "--json", runner=runner))
    (kernel,) = data["kernels"]
    assert kernel["bytes_read"] == 1 * 4 + (t + 1) * 4  # the one input element, weights and bias
    assert kernel["bytes_written"] == t * 4


@pytest.mark.slow
def test_hundred_thousand_rows():
    """A 100,000-row spec (test_huge_specs.py's size): 25,000 residual blocks, each one kernel
    (the convolution, its folded batch norm, the add and the ReLU)."""
    blocks = 25_000
    layers = f"""
    - repeat:
        times: {blocks}
        layers: [residual: {{body: [conv: {{out: 4, kernel: 1, bias: false}}, batchnorm]}}, relu]
    """
    got = kernels(analyse_text(layers, "[4, 4, 4]"), "fp32", 1)
    assert len(got) == blocks and all(len(k.paths) == 4 and len(k.folded) == 1 for k in got)
    assert sum(k.bytes_written for k in got) == blocks * 4 * 16 * SIZE
