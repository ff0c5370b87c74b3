"""The static side of issue 7, without torch: roofline traffic and bounds, the dataflow of the
training model (backward MACs, frozen layers, inference peak), the device table, the timing loop's
clock choice (a fake CUDA module stands in for the GPU), and the `roofline` / `memory` commands."""

from __future__ import annotations

import json
import subprocess
import sys
from math import prod

import pytest

from archcalc import analyze, load_spec
from archcalc.cli import main
from archcalc.devices import DEVICES, match_device
from archcalc.roofline import bound, traffic
from archcalc.throughput.timing import CudaClock, HostClock, clock_for, measure, summarize
from archcalc.training import backward_macs, inference_peak, training_memory

from .helpers import analyse_text

RES = """
- conv: {name: stem, out: 4, kernel: 3, padding: 1}
- residual: {name: r, body: [conv: {out: 4, kernel: 3, padding: 1}, relu]}
- parallel: {name: p, merge: concat, branches: [[conv: {out: 2, kernel: 1}], []]}
"""


@pytest.mark.parametrize(
    ("path", "read"),
    [
        ("stem", 3 * 8 * 8),  # the input
        ("r.add", 2 * 4 * 8 * 8),  # body output + the identity shortcut
        ("p.concat", (2 + 4) * 8 * 8),  # both branch outputs
    ],
    ids=["conv", "residual-add", "concat"],
)
def test_traffic_reads_what_the_op_reads(path, read):
    rows = {r.path: r for r in analyse_text(RES, "[3, 8, 8]").rows}
    t = traffic(rows[path], "bf16", batch=4)
    assert t.input_bytes == read * 2 * 4, (t.input_bytes, read * 8)
    assert t.output_bytes == prod(rows[path].out_shape) * 2 * 4
    assert t.weight_bytes == rows[path].params * 2


def test_views_move_nothing_and_bounds_pick_the_larger_time():
    rows = analyze(load_spec("lenet5")).rows
    flat = next(r for r in rows if r.op == "flatten")
    assert traffic(flat).bytes == 0 and bound(traffic(flat), 1e12, 1e9).limit == "none"
    c1 = rows[0]
    slow_memory = bound(traffic(c1), 1e15, 1e6)
    slow_compute = bound(traffic(c1), 1e3, 1e15)
    assert (slow_memory.limit, slow_compute.limit) == ("memory", "compute")
    assert slow_memory.bound_s == slow_memory.memory_s and slow_compute.bound_s == slow_compute.compute_s


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("NVIDIA H100 80GB HBM3", "h100"),
        ("NVIDIA H100 PCIe", "h100-pcie"),
        ("NVIDIA H200", "h200"),
        ("NVIDIA A100-SXM4-80GB", "a100"),
        ("NVIDIA L4", "l4"),
        ("Tesla T4", "t4"),
        ("NVIDIA A100-SXM4-40GB", "a100-40gb"),
        ("NVIDIA A100-PCIE-40GB", "a100-40gb"),
        ("NVIDIA A100 80GB PCIe", "a100-pcie"),
        ("NVIDIA L40S", "l40s"),
        ("NVIDIA GeForce RTX 4090", "rtx-4090"),
        ("AMD Instinct MI300X", "mi300x"),
        ("NVIDIA GeForce GTX 1080 Ti", None),
        ("NVIDIA H100 NVL", None),
        ("NVIDIA H200 NVL", None),
        ("Tesla V100-SXM2-16GB", "v100"),
        ("Tesla V100-PCIE-32GB", None),
        ("NVIDIA GeForce RTX 4090 Laptop GPU", None),
        ("NVIDIA GeForce RTX 4090 D", None),
        ("AMD Instinct MI250X", None),
    ],
    ids=lambda v: str(v),
)
def test_device_names_match_the_table(name, key):
    row = match_device(name)
    assert (row.key if row else None) == key


def test_every_device_has_fp32_and_a_half_precision_peak():
    for row in DEVICES.values():
        assert row.tflops["fp32"] > 0 and row.tflops.get("fp16", 0) > row.tflops["fp32"] and row.bandwidth_gbs > 0


# ---- backward MACs and frozen layers ---------------------------------------------------------

FROZEN_STEM = """
- block: {name: stem, trainable: false, layers: [conv: {out: 4, kernel: 3}, relu, conv: {out: 4, kernel: 3}]}
- conv: {name: head, out: 2, kernel: 3}
- flatten
- linear: {name: fc, out: 3, trainable: false}
"""
FROZEN_BRANCH = """
- conv: {name: a, out: 4, kernel: 1, trainable: false}
- parallel: {name: p, merge: add, branches: [[conv: {name: t, out: 4, kernel: 1}], [conv: {name: f, out: 4, kernel: 1, trainable: false}]]}
"""


@pytest.mark.parametrize(
    ("yaml", "expected"),
    [
        # frozen below the first trainable layer: no gradient of any kind; above it: input gradient only
        (FROZEN_STEM, {"stem.conv1": (0, 0), "stem.conv2": (0, 0), "head": (0, 1), "fc": (1, 0)}),
        # a frozen branch whose input needs no gradient gets none; the trainable branch its weight gradient
        (FROZEN_BRANCH, {"a": (0, 0), "p.b1.t": (0, 1), "p.b2.f": (0, 0)}),
    ],
    ids=["frozen-stem", "frozen-branch"],
)
def test_gradients_follow_trainable_layers(yaml, expected):
    analysis = analyse_text(yaml, "[3, 9, 9]")
    got = {b.path: (bool(b.input_grad), bool(b.weight_grad)) for b in backward_macs(analysis) if b.forward}
    assert got == {k: (bool(i), bool(w)) for k, (i, w) in expected.items()}


def test_training_memory_parts():
    analysis = analyse_text(FROZEN_STEM, "[3, 9, 9]")
    t = analysis.totals
    adam, sgd = training_memory(analysis, "fp32", 2, "adam"), training_memory(analysis, "fp32", 2, "sgd-momentum")
    assert adam.params == t.params * 4 and adam.gradients == t.trainable_params * 4 < adam.params
    assert adam.optimizer_state == 2 * t.trainable_params * 4 and sgd.optimizer_state == t.trainable_params * 4


def test_inference_peak_holds_residual_inputs_until_the_merge():
    # input 1x4x4 (16), conv -> 16 elements, residual body of two convs, add: while the body's second
    # conv writes its output, the block input (shortcut), the body's first output and the new one live
    analysis = analyse_text(
        """
- conv: {out: 1, kernel: 3, padding: 1}
- residual: {body: [conv: {out: 1, kernel: 3, padding: 1}, conv: {out: 1, kernel: 3, padding: 1}]}
""",
        "[1, 4, 4]",
    )
    assert inference_peak(analysis, "fp32", 1) == 3 * 16 * 4
    chain = analyse_text(
        "- conv: {out: 1, kernel: 3, padding: 1}\n- conv: {out: 1, kernel: 3, padding: 1}", "[1, 4, 4]"
    )
    assert inference_peak(chain, "fp32", 2) == 2 * 16 * 4 * 2


# ---- the timing loop, device switch ----------------------------------------------------------


class FakeEvent:
    def __init__(self, log, clock, enable_timing):
        assert enable_timing
        self.log, self.clock, self.at = log, clock, None

    def record(self):
        self.at = self.clock[0]
        self.log.append("record")

    def elapsed_time(self, end):
        assert self.log[-1] == "synchronize", "elapsed_time read before synchronize"
        return end.at - self.at  # ms


class FakeCuda:
    """Stands in for torch.cuda: events stamped with a fake clock advanced by the step."""

    def __init__(self):
        self.log, self.clock = [], [0.0]

    def Event(self, enable_timing=False):  # noqa: N802 - torch's name
        return FakeEvent(self.log, self.clock, enable_timing)

    def synchronize(self):
        self.log.append("synchronize")


def test_cuda_path_times_with_events_and_synchronizes_once():
    cuda = FakeCuda()
    clock = clock_for("cuda", cuda)
    assert isinstance(clock, CudaClock) and isinstance(clock_for("cpu"), HostClock)
    calls = []

    def step():
        calls.append(1)
        cuda.clock[0] += 2.5  # each iteration takes 2.5 ms on the fake GPU

    times = measure(step, clock, warmup=3, iters=4, sync=cuda.synchronize)
    assert len(calls) == 7 and times == [0.0025] * 4
    assert cuda.log == ["synchronize"] + ["record"] * 8 + ["synchronize"]


def test_host_clock_times_each_call():
    ticks = iter([0.0, 1.0, 1.0, 3.0])
    clock = HostClock(now=lambda: next(ticks))
    assert measure(lambda: None, clock, warmup=2, iters=2) == [1.0, 2.0]
    assert summarize([1.0, 2.0]).median_s == 1.5


def test_cuda_device_without_gpu_is_an_error():
    from archcalc.throughput.run import BenchError, resolve_device

    with pytest.raises(BenchError, match="no CUDA device"):
        resolve_device("cuda", cuda_available=False)


# ---- commands -------------------------------------------------------------------------------


def test_roofline_command_json(runner):
    result = runner.invoke(
        main,
        ["roofline", "lenet5", "--device", "a100", "--dtype", "fp16", "--batch", "8", "--json"],
        catch_exceptions=False,
    )
    data = json.loads(result.output)
    c1 = data["layers"][0]
    assert c1["flops"] == 2 * 117_600 * 8 and c1["bound_by"] == "memory"  # LeNet's C1 is far below A100's ridge
    assert data["ridge_flops_per_byte"] == pytest.approx(312e12 / 2039e9)


def test_roofline_dtype_the_device_lacks_is_a_usage_error(runner):
    result = runner.invoke(main, ["roofline", "lenet5", "--device", "v100", "--dtype", "bf16"])
    assert result.exit_code == 2 and "no bf16 peak" in result.output


def test_memory_command_json(runner):
    result = runner.invoke(
        main, ["memory", "lenet5", "--batch", "4", "--optimizer", "sgd-momentum", "--json"], catch_exceptions=False
    )
    data = json.loads(result.output)
    assert data["macs_per_example"] == {"forward": 416_520, "input_grad": 298_920, "weight_grad": 416_520}
    assert data["memory_bytes"]["optimizer_state"] == data["memory_bytes"]["gradients"]


@pytest.mark.parametrize(
    "args", [["roofline", "resnet18", "--device", "h100"], ["memory", "resnet18"]], ids=["roofline", "memory"]
)
def test_static_performance_commands_import_no_torch(args):
    code = (
        "import sys; from click.testing import CliRunner; from archcalc.cli import main\n"
        f"r = CliRunner().invoke(main, {args!r}); assert r.exit_code == 0, r.output\n"
        "print(','.join(m for m in ('torch', 'fvcore') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"{args[0]} imported {out}"
