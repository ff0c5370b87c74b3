"""The training step's peak memory model (archcalc/training_step.py) held to the peak of live tensor
bytes measured by the CPU probe (archcalc/throughput/memory_probe.py) over bench's own step."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from archcalc import analyze, list_specs, load_spec
from archcalc.analysis import Analysis
from archcalc.cli import main
from archcalc.loader import parse_spec
from archcalc.training import OPTIMIZER_STATES, training_memory
from archcalc.training_step import BLOCK, rounded, training_step_memory

from .helpers import analyse_text
from .test_bench import KINDS
from .test_roofline import FROZEN_BRANCH, FROZEN_STEM

torch = pytest.importorskip("torch")

from archcalc.throughput.memory_probe import step_peak  # noqa: E402
from archcalc.throughput.optimizer import make_optimizer  # noqa: E402

BATCH = 2
# measured: to the byte on every spec here (the bound guards a torch whose ops allocate a little otherwise)
TOLERANCE = 0.001


def spec(name: str, input_shape: tuple[int, ...] | None = None) -> Callable[[], Analysis]:
    return lambda: analyze(load_spec(name) if input_shape is None else load_spec(name).with_input(input_shape))


SPECS: dict[str, Callable[[], Analysis]] = {
    "lenet5": spec("lenet5"),
    "resnet18-64px": spec("resnet18", (3, 64, 64)),
    "every-saving-kind": lambda: analyse_text(KINDS, "[3, 8, 8]"),
    "frozen-stem": lambda: analyse_text(FROZEN_STEM, "[3, 9, 9]"),
    "frozen-branch": lambda: analyse_text(FROZEN_BRANCH, "[3, 9, 9]"),
    # nothing trains: the loss needs no gradient, and bench's step runs no backward
    "all-frozen": lambda: analyse_text(
        "- block: {name: f, trainable: false, layers: [conv: {out: 4, kernel: 3}, relu, flatten, linear: {out: 3}]}",
        "[3, 9, 9]",
    ),
    # an output that needs no gradient (frozen, or a view of the input) gets no loss backward
    "frozen-output": lambda: analyze(
        parse_spec(
            "name: fo\ninput: [3, 8, 8]\nlayers:\n- conv: {name: a, out: 4, kernel: 1, trainable: false}\n"
            "- conv: {name: b, out: 2, kernel: 1}\noutputs: [a, b]\n"
        )
    ),
    "input-view-output": lambda: analyze(
        parse_spec(
            "name: io\ninput: [3, 8, 8]\nlayers:\n- flatten: {name: f}\n- linear: {name: l, out: 3}\noutputs: [f, l]\n"
        )
    ),
    # dropout with p = 0 is its input, in training too: no mask, no tensor
    "dropout-p0": lambda: analyse_text(
        "- conv: {out: 4, kernel: 1}\n- dropout: {p: 0}\n- conv: {out: 2, kernel: 1}", "[3, 8, 8]"
    ),
}
FAST = [
    ("lenet5", "fp32", "sgd-momentum"),
    ("lenet5", "bf16", "adam"),
    ("lenet5", "fp32", "none"),
    ("resnet18-64px", "fp32", "sgd-momentum"),
    ("resnet18-64px", "fp32", "adam"),
    ("every-saving-kind", "fp32", "adam"),
    ("frozen-stem", "fp32", "sgd-momentum"),
    ("frozen-branch", "bf16", "adam"),
    ("all-frozen", "bf16", "sgd-momentum"),
    ("frozen-output", "fp32", "sgd-momentum"),
    ("frozen-output", "bf16", "adam"),
    ("input-view-output", "fp32", "adam"),
    ("input-view-output", "bf16", "sgd-momentum"),
    ("dropout-p0", "bf16", "sgd-momentum"),
]
# each bundled spec at fp32 with SGD momentum and at bf16 with Adam: every rule that differs by dtype
# or optimizer meets every spec once (all four pairings took twice the time and found nothing more)
SLOW = [
    (name, dtype, optimizer)
    for name in ("resnet18", "mobilenet-v1", "alexnet", "densenet121", "efficientnet-b0")
    for dtype, optimizer in (("fp32", "sgd-momentum"), ("bf16", "adam"))
    if (name, dtype) != ("alexnet", "bf16")  # its LRN runs avg_pool3d, which has no bf16 kernel on CPU
]


def check_against_probe(analysis: Analysis, dtype: str, optimizer: str) -> None:
    model = training_step_memory(analysis, dtype, BATCH, optimizer, device="cpu", in_place_accumulation=False)
    measured = step_peak(analysis, BATCH, dtype, optimizer)
    assert abs(model.unrounded - measured.peak) <= TOLERANCE * measured.peak, (
        f"model {model.unrounded:,} B at {model.at} vs probe {measured.peak:,} B at {measured.at} "
        f"(ratio {model.unrounded / measured.peak:.4f})"
    )
    # each storage rounded to the allocator's blocks: the model's per-tensor bookkeeping
    assert abs(model.peak - measured.rounded_peak) <= TOLERANCE * measured.rounded_peak, (
        f"model {model.peak:,} B vs probe {measured.rounded_peak:,} B, both rounded to {BLOCK}-byte blocks"
    )


@pytest.mark.parametrize(("name", "dtype", "optimizer"), FAST)
def test_step_peak_matches_the_probe(name: str, dtype: str, optimizer: str) -> None:
    check_against_probe(SPECS[name](), dtype, optimizer)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "dtype", "optimizer"), SLOW, ids=["-".join(case) for case in SLOW])
def test_step_peak_matches_the_probe_on_bundled_specs(name: str, dtype: str, optimizer: str) -> None:
    check_against_probe(spec(name)(), dtype, optimizer)


def out_of_place_adds_in_backward(mode: object | None) -> int:
    """How many `aten::add` (a new tensor, not add_) autograd runs in a backward where one tensor
    is read twice, so its gradient accumulates, under `mode` (a TorchDispatchMode) or none."""
    from torch.profiler import ProfilerActivity, profile

    w = torch.randn(8, 8, requires_grad=True)
    h = torch.randn(4, 8) @ w
    loss = ((h.relu() @ w) + (h.sigmoid() @ w)).square().mean()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        if mode is None:
            loss.backward()
        else:
            with mode:  # type: ignore[attr-defined]
                loss.backward()
    return sum(e.name == "aten::add" for e in prof.events())


def test_autograd_accumulates_in_place_except_under_a_dispatch_mode() -> None:
    """The rule the model keeps apart for the probe (in_place_accumulation=False): any
    TorchDispatchMode, even one that only passes each op through, makes autograd sum a second
    gradient into a new tensor where a plain run adds it in place."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class PassThrough(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
            return func(*args, **(kwargs or {}))

    plain, moded = out_of_place_adds_in_backward(None), out_of_place_adds_in_backward(PassThrough())
    assert plain == 0 and moded > 0, (plain, moded)


@pytest.mark.parametrize("name", ["lenet5", "resnet18-64px", "every-saving-kind"])
def test_terms_sum_to_the_peak_and_rounding_is_per_block(name: str) -> None:
    m = training_step_memory(SPECS[name](), "bf16", 3, "adam")
    assert m.peak == sum(m.terms.values()), (m.peak, m.terms)
    assert 0 <= m.terms["allocator_rounding"] and m.peak % BLOCK == 0, m.terms


@pytest.mark.parametrize("name", [s.name for s in list_specs()])
def test_every_bundled_spec_has_a_step_peak_of_named_terms(name: str) -> None:
    analysis = analyze(load_spec(name))
    for dtype, optimizer in (("fp32", "none"), ("bf16", "adam")):
        m = training_step_memory(analysis, dtype, 3, optimizer)
        assert m.peak == sum(m.terms.values()) and min(m.terms.values()) >= 0 and m.unrounded <= m.peak, (name, m)


@pytest.mark.parametrize(("nbytes", "expected"), [(0, 0), (1, 512), (512, 512), (513, 1024), (4097, 4608)])
def test_rounded(nbytes: int, expected: int) -> None:
    assert rounded(nbytes) == expected


def test_resident_terms_are_the_memory_models() -> None:
    """params, buffers and optimizer state at the peak are training_memory's (which the step never frees)."""
    analysis = SPECS["resnet18-64px"]()
    for optimizer in OPTIMIZER_STATES:
        m, mem = training_step_memory(analysis, "fp32", 4, optimizer), training_memory(analysis, "fp32", 4, optimizer)
        got = (m.terms["params"], m.terms["buffers"], m.terms["optimizer_state"])
        assert got == (mem.params, mem.buffers, mem.optimizer_state), (optimizer, got, mem)


def test_dropout_mask_is_a_byte_per_element_on_cuda() -> None:
    analysis = analyse_text("- conv: {out: 64, kernel: 1}\n- dropout\n- conv: {out: 1, kernel: 1}", "[1, 8, 8]")
    cuda, cpu = (training_step_memory(analysis, "fp32", 8, "sgd", device=d) for d in ("cuda", "cpu"))
    elements = 64 * 8 * 8 * 8
    assert (cuda.terms["dropout_masks"], cpu.terms["dropout_masks"]) == (elements, elements * 4), (cuda, cpu)


@pytest.mark.parametrize(
    ("name", "momentum", "state"), [("sgd", 0.0, 0), ("sgd-momentum", 0.9, 1), ("adam", None, 2), ("none", None, 0)]
)
def test_optimizer_from_its_name(name: str, momentum: float | None, state: int) -> None:
    """One optimizer per name, its state tensors per parameter those training.OPTIMIZER_STATES counts."""
    layer = torch.nn.Linear(3, 2)
    optimizer = make_optimizer(torch, list(layer.parameters()), name, foreach=True)
    if name == "none":
        assert optimizer is None
        return
    if momentum is not None:
        assert optimizer.param_groups[0]["momentum"] == momentum
    layer(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    tensors = [v for v in optimizer.state[layer.weight].values() if v.dim() > 0]
    assert len(tensors) == state == OPTIMIZER_STATES[name], (name, list(optimizer.state[layer.weight]))


def test_memory_json_adds_the_step_and_keeps_its_numbers(runner) -> None:
    result = runner.invoke(
        main, ["memory", "lenet5", "--batch", "4", "--dtype", "bf16", "--json"], catch_exceptions=False
    )
    memory = json.loads(result.output)["memory_bytes"]
    mem = training_memory(analyze(load_spec("lenet5")), "bf16", 4, "adam")
    assert memory["training_total"] == mem.training_total and memory["saved_activations"] == mem.saved_activations
    step = training_step_memory(analyze(load_spec("lenet5")), "bf16", 4, "adam", cublas_workspace=32 * 2**20)
    assert memory["training_step"] == {"device": "h100", "peak": step.peak, "at": step.at, "terms": step.terms}


def test_memory_text_names_the_peak_and_its_terms(runner) -> None:
    result = runner.invoke(main, ["memory", "lenet5", "--optimizer", "sgd"], catch_exceptions=False)
    text = " ".join(result.output.split())
    line = text[text.index("training step peak") :]
    assert " at backward of " in line and "saved activations" in line and "allocator rounding" in line, line


def test_bench_train_records_the_optimizer_and_the_predicted_peak(runner) -> None:
    args = ["bench", "lenet5", "--device", "cpu", "--train", "--batch", "2", "--iters", "1", "--warmup", "0"]
    result = runner.invoke(main, [*args, "--optimizer", "sgd", "--json"], catch_exceptions=False)
    r = json.loads(result.output)
    expected = training_step_memory(analyze(load_spec("lenet5")), "fp32", 2, "sgd", device="cpu").peak
    assert (r["optimizer"], r["batches"][0]["predicted_peak_memory_bytes"]) == ("sgd", expected), r
