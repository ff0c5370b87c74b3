"""The elementary ops a kind produces (a row's `op`) and every rule keyed by one: what autograd saves
for its backward, whether its output is its input (and so moves no data), what each tool counts.

An `Op` record is declared beside the kind that produces it and listed in that kind's `ops`; the
training model, the roofline and the counting conventions look rules up here (`OPS`), so a new
op's rules are written once, with its kind. `register_ops` refuses, at import, a kind whose op
lacks a rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

# never: the op writes a new tensor; always: its output is a view of its input (flatten) or the
# input itself (identity); eval: the input itself at inference only (dropout in eval mode)
Alias = Literal["never", "always", "eval"]

# The arithmetic a kind's kernel runs, which picks the peak it meets (archcalc/peaks.py): a
# convolution (cuDNN: fp32 follows torch.backends.cudnn.allow_tf32), a matrix multiply (cuBLAS: fp32
# follows torch.backends.cuda.matmul.allow_tf32), or anything else (CUDA cores)
Math = Literal["conv", "matmul", "other"]

# How an op's kernel joins its neighbours in a fused inference run (archcalc/fusion.py):
# kernel: a kernel of its own (a convolution, a pooling, a reduction); pointwise: element-wise, fused
# into the kernel that produces its input (an activation, a residual add); fold: batch norm, folded
# into the convolution or linear layer before it (its scale and shift rescale that layer's weights),
# else pointwise; concat: its inputs are written into slices of its output by their producers;
# view: no work at inference (a view, the input itself, dropout in eval mode)
Fusion = Literal["kernel", "pointwise", "fold", "concat", "view"]

# The tools whose counting conventions charge ops by name (archcalc/conventions.py's presets)
TOOLS = ("fvcore", "ptflops", "torchinfo", "thop")


@dataclass(frozen=True, slots=True)
class Saves:
    """What torch's autograd saves for one op's backward, once a gradient flows through it.

    `Saves()`: nothing (a view, or an op whose backward needs no tensor: add, concat).
    input / output: the op's input or output tensor (shared with its neighbours, counted once);
    input_if_weight_grad: the input, only when the weight trains (addmm saves mat1 for the weight
    gradient alone); inputs: every input of a merge (mul); indices: int64, one per output element
    (max pooling's argmax); temporaries: intermediate tensors of the output's size at the dtype
    (dropout's scaled mask; LRN's intermediate quotient and power); padded_input: a tensor of the
    elements the op reads after its own padding (LRN's channel-padded squares);
    stats: fp32 values per channel (batch norm's saved mean and inverse std); group_stats: fp32
    values per example and statistics group (the row's `stat_groups`: group norm saves a mean and
    an inverse std per example and group, 2); unless_global: the
    input is saved only when the pooling is not global (torch computes a global average as a
    mean, whose backward needs only the shape).
    position_stats: fp32 values per position of each example (layer norm's mean and inverse std
    over the channels); input_copy_if_weight_grad: a contiguous copy of the input, only when the
    weight trains (a channels-last linear: matmul folds the permuted input into a matrix, a copy
    once the batch is 2 or more); example_values / batch_values: values at the dtype per example
    / per batch (stochastic depth's row / batch mask); mask: a mask of the output's size (dropout:
    the scaled bernoulli noise at the dtype on CPU, counted here; CUDA's native_dropout keeps one
    byte per element, a rule of the training-step model, archcalc/training_step.py).
    Measured with torch.autograd.graph.saved_tensors_hooks (tests/test_bench.py checks it).
    """

    input: bool = False
    output: bool = False
    input_if_weight_grad: bool = False
    inputs: bool = False
    indices: bool = False
    temporaries: int = 0
    padded_input: bool = False
    stats: int = 0
    group_stats: int = 0
    unless_global: bool = False
    position_stats: int = 0
    input_copy_if_weight_grad: bool = False
    example_values: int = 0
    batch_values: int = 0
    mask: bool = False


@dataclass(frozen=True, slots=True)
class Op:
    """One elementary op (the torch functional a row runs) and its rules.

    saves: what autograd saves for its backward (None: not stated, refused by `register_ops`, so
    a new op never counts zero bytes by omission); alias: whether its output is its input (see
    `Alias`); math: the arithmetic its kernel runs (`Math`); fusion: how it fuses at inference
    (`Fusion`; None: not stated, refused by `register_ops`); costs: tool name (`TOOLS`) -> that tool's charge for the op, as the fields of
    conventions.OpCost (a tool not named charges nothing for it); grad_passes: its backward
    hands its output's gradient (or views of it) to its inputs and allocates none (add, concat),
    as a view's does (the training-step model, archcalc/training_step.py); grad_sums_broadcast:
    its backward makes a broadcast input's gradient at the output's size, then sums it down (mul:
    squeeze-and-excitation's gate), a temporary the training-step model counts;
    backward_temporaries: output-sized tensors at the dtype its backward holds at once beside its
    inputs' gradients (an op torch runs as several: LRN, measured by the memory probe).
    """

    name: str
    saves: Saves | None = None
    alias: Alias = "never"
    math: Math = "other"
    fusion: Fusion | None = None
    # a batch norm right after it folds into it at inference: its weights scale per output
    # channel (a convolution, a linear layer); archcalc/fusion.py reads it
    folds_norm: bool = False
    costs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, hash=False)  # a dict: kept out of the hash
    grad_passes: bool = False
    grad_sums_broadcast: bool = False
    backward_temporaries: int = 0

    @property
    def moves_data(self) -> bool:
        """The roofline's traffic: an op whose output is its input at inference reads and writes
        nothing; any other reads its input and parameters once and writes its output once."""
        return self.alias == "never"


class OpRuleError(TypeError):
    """A kind declared without the rules of its ops: a programming error, raised at import."""


def register_ops(classes: Iterable[type]) -> dict[str, Op]:
    """Every op the kinds produce, by name, each checked to carry its rules.

    A kind lists its ops in `ops` (`()` for a container that only holds other layers: no row of
    its own); two kinds may share an op only as the same record, so each rule is stated once.
    """
    ops: dict[str, Op] = {}
    for cls in classes:
        kind_ops: tuple[Op, ...] | None = getattr(cls, "ops", None)
        if kind_ops is None:
            raise OpRuleError(
                f"kind {cls.__name__} lists no ops: name the Op records its rows run in its `ops`"
                " (`ops = ()` for a container with no row of its own)"
            )
        for op in kind_ops:
            if op.saves is None:
                raise OpRuleError(
                    f"op '{op.name}' of kind {cls.__name__} has no rule for what autograd saves for its backward:"
                    " give its Op a `saves=Saves(...)` (`Saves()` when it saves nothing)"
                )
            if op.fusion is None:
                raise OpRuleError(
                    f"op '{op.name}' of kind {cls.__name__} has no rule for how it fuses at inference:"
                    " give its Op a `fusion=` (kernel, pointwise, fold, concat or view)"
                )
            if op.alias != "never" and op.fusion != "view":
                raise OpRuleError(
                    f"op '{op.name}' of kind {cls.__name__} is its input at inference (alias={op.alias!r}):"
                    " its fusion is 'view'"
                )
            unknown = set(op.costs) - set(TOOLS)
            if unknown:
                raise OpRuleError(
                    f"op '{op.name}' of kind {cls.__name__} has costs for unknown tools {sorted(unknown)}:"
                    f" the tools are {', '.join(TOOLS)}"
                )
            other = ops.setdefault(op.name, op)
            if other is not op:
                raise OpRuleError(
                    f"op '{op.name}' of kind {cls.__name__} is declared twice, with rules {op} and {other}:"
                    " share one Op record between the kinds that produce it"
                )
    return ops


def op_rule(ops: Mapping[str, Op], name: str, where: str) -> Op:
    """The rules of op `name`; `where` names the row, for the message if the op is unknown
    (a kind whose `counts` returns an op it does not list in `ops`: a bug in that kind)."""
    try:
        return ops[name]
    except KeyError:
        raise ValueError(
            f"op '{name}' ({where}) is not in any kind's `ops`: list its Op record in the kind that produces it"
        ) from None


def tool_costs(ops: Iterable[Op], tool: str) -> dict[str, dict[str, Any]]:
    """op name -> what `tool` charges for it, for the ops that tool counts."""
    return {op.name: dict(op.costs[tool]) for op in ops if tool in op.costs}
