"""The import tests' oracle: what a torch module measures (params, buffers, fvcore's conv and linear
MACs by op, fvcore's total, FlopCounterMode's total, output shapes) beside what archcalc predicts
for the imported spec under the same conventions (`--convention fvcore`, `--convention torch`),
and the differences between them as messages naming the model, the quantity and both numbers.

Batch 1 throughout, as `archcalc.verify.counters` runs fvcore and FlopCounterMode, so a tool's
total is per example with no division."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

from archcalc.analysis import Analysis
from archcalc.conventions import PRESETS
from archcalc.counted import convention_totals

# fvcore's names (`by_operator()`) for the ops that multiply by weights: archcalc's MACs column
MATMUL_OPS = ("conv", "linear", "addmm", "matmul", "bmm", "einsum", "baddbmm")
QUANTITIES = ("params", "buffers", "conv_linear_macs", "fvcore_total", "torch_total", "out_shapes")
COUNTED = ("conv_linear_macs", "fvcore_total", "torch_total")  # the op counts, which a breakdown explains
# which side each quantity is measured by, for messages
MEASURED_BY = {
    "params": "torch",
    "buffers": "torch",
    "conv_linear_macs": "fvcore conv+linear",
    "fvcore_total": "fvcore FlopCountAnalysis",
    "torch_total": "FlopCounterMode",
    "out_shapes": "torch",
}


@contextmanager
def weights_left_uninitialised() -> Iterator[None]:
    """Models built inside are left with torch's uninitialised weights: every public
    `torch.nn.init.*_` is a no-op here. Why: initialisation (random draws over every weight) is
    most of the time a large model takes to build (regnet_y_128gf's 645 M parameters), and what the
    oracle compares (counts and shapes) does not read a weight's value. Buffers keep their values
    (a batch norm's running statistics are set by the module, not by `torch.nn.init`), the tensors
    keep their shapes, so every count is exact. Not for a check that compares output values (the
    export test loads the weights and runs both models): those models are built as usual.
    `torch.nn.utils.skip_init` would do the same for one module, but a torchvision builder
    initialises its layers itself after building them."""
    from torch.nn import init

    names = [name for name in dir(init) if name.endswith("_") and not name.startswith("_")]
    saved = {name: getattr(init, name) for name in names}

    def keep(tensor: Any, *args: Any, **kwargs: Any) -> Any:
        return tensor

    try:
        for name in names:
            setattr(init, name, keep)
        yield
    finally:
        for name, function in saved.items():
            setattr(init, name, function)


@dataclass(frozen=True, slots=True)
class Counts:
    """One side's numbers for one example; `by_op` (fvcore's ops, or archcalc's fvcore-preset ops
    by kind) is context for a message, not compared."""

    params: int
    buffers: int
    conv_linear_macs: int
    fvcore_total: int
    torch_total: int
    out_shapes: tuple[tuple[int, ...], ...]
    by_op: Mapping[str, int]


def _unique_numel(tensors: Any) -> int:
    """Elements of each tensor once (a shared parameter counts once, as module.parameters() yields it)."""
    return sum(t.numel() for t in {id(t): t for t in tensors}.values())


def output_tensors(out: Any) -> tuple[Any, ...]:
    """The tensors a model returns, in order: one tensor, a tuple or list of them, or a dict of
    them (torchvision's segmentation models return {"out": ...}; only `out` with aux heads off)."""
    if isinstance(out, Mapping):
        return tuple(out.values())
    if isinstance(out, tuple | list):
        return tuple(out)
    return (out,)


def measure(model: Any, input_shape: tuple[int, ...]) -> Counts:
    """The module's own numbers at one example of `input_shape` (no batch dimension), in eval mode."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from archcalc.verify.counters import fvcore_analysis

    model = model.eval()
    x = torch.randn(1, *input_shape)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = model(x)
    with torch.no_grad():
        analysis = fvcore_analysis(model, x)
    by_op = {op: int(n) for op, n in analysis.by_operator().items()}
    return Counts(
        params=_unique_numel(model.parameters()),
        buffers=_unique_numel(model.buffers()),
        conv_linear_macs=sum(by_op.get(op, 0) for op in MATMUL_OPS),
        fvcore_total=int(analysis.total()),
        torch_total=int(counter.get_total_flops()),
        out_shapes=tuple(tuple(t.shape[1:]) for t in output_tensors(out)),
        by_op=by_op,
    )


def predict(analysis: Analysis) -> Counts:
    """archcalc's numbers for an analysed spec: its params and buffers (a batch norm's
    num_batches_tracked is a counter, a buffer in torch), its MACs column, and its totals under the
    fvcore and torch presets."""
    fvcore = PRESETS["fvcore"]
    by_kind: dict[str, int] = {}
    for row in analysis.rows:
        ops = fvcore.ops(row)
        if ops:
            by_kind[row.kind] = by_kind.get(row.kind, 0) + ops
    t = analysis.totals
    return Counts(
        params=t.params,
        buffers=t.buffers + t.counters,
        conv_linear_macs=t.macs,
        fvcore_total=convention_totals(analysis, fvcore)["ops"],
        torch_total=convention_totals(analysis, PRESETS["torch"])["ops"],
        out_shapes=tuple(tuple(s) for s in analysis.output_shapes),
        by_op=by_kind,
    )


def differences(model: str, ours: Counts, theirs: Counts) -> list[str]:
    """One line per quantity that differs: the model, the quantity, archcalc's number and the
    other side's; a count that differs also shows both breakdowns (fvcore by op, archcalc's
    fvcore-preset ops by kind), which name the op that accounts for the gap."""
    lines = []
    for f in fields(Counts):
        if f.name not in QUANTITIES:
            continue
        a, b = getattr(ours, f.name), getattr(theirs, f.name)
        if a != b:
            both = f"archcalc {a:,} vs {MEASURED_BY[f.name]} {b:,}" if isinstance(a, int) else f"archcalc {a} vs {b}"
            delta = f" (archcalc - theirs = {a - b:+,})" if isinstance(a, int) else ""
            lines.append(f"{model}: {f.name}: {both}{delta}")
    if any(getattr(ours, q) != getattr(theirs, q) for q in COUNTED):
        lines.append(
            f"{model}: fvcore by op {dict(theirs.by_op)}; archcalc fvcore-preset ops by kind {dict(ours.by_op)}"
        )
    return lines
