"""What a training step costs and what memory a network needs, from the spec alone (no torch).

One pass over the lowered graph (archcalc/graph.py) follows the tensors: which tensor each row
reads and writes, and whether it requires a gradient. From that:
- backward MACs per row: input gradient and weight gradient;
- memory: parameters, gradients, optimizer state, the activations autograd saves for backward,
  and the peak of live activations at inference.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from math import prod
from typing import Any

from .analysis import COUNTER_BYTES, Analysis, Row, dtype_bytes
from .layers import OPS, Shape
from .layers.ops import op_rule
from .peaks import macs_by_family

# ops whose output is their input (a view, or the input itself): no new tensor at inference; each
# op's rules are declared with the kind that produces it (archcalc/layers/ops.py)
ALIAS_OPS = frozenset(name for name, op in OPS.items() if op.alias == "always")
# ... and at inference only (dropout returns its input in eval mode)
EVAL_ALIAS_OPS = frozenset(name for name, op in OPS.items() if op.alias != "never")


@dataclass(frozen=True, slots=True)
class Step:
    """One row in the dataflow: the tensors it reads and writes, and what needs gradients."""

    row: Row
    inputs: tuple[int, ...]
    output: int
    trains: bool  # its own parameters receive gradients
    input_grad: bool  # a gradient must flow into its input(s)
    output_grad: bool  # its output requires a gradient (autograd records it)


def dataflow(analysis: Analysis) -> tuple[list[Step], dict[int, Shape]]:
    """Each row as a step reading and writing tensor ids (0 is the network input), in execution
    order, with the gradients it needs; and every tensor's shape (per example). One pass over the
    lowered graph: a view or identity writes no tensor of its own, so it and its readers read its
    input's tensor (its saved input is the producer's saved output: one tensor)."""
    graph = analysis.graph
    alias: dict[int, int] = {}  # a view's tensor -> the tensor it views
    grad = {0: False}  # tensor -> whether it requires a gradient; the network input needs none
    shapes = {0: graph.input_shape}
    steps = []
    for node in graph.nodes:  # a node is its analysis row (analysis.Row)
        inputs = tuple(alias.get(t, t) for t in node.inputs)
        input_grad = any(grad[t] for t in inputs)
        trains = node.trainable and node.params > 0
        if node.op in ALIAS_OPS and not node.is_merge:
            out = alias[node.output] = inputs[0]
        else:
            out = node.output
            shapes[out] = node.out_shape
        grad[out] = input_grad or trains
        steps.append(
            Step(
                row=node,
                inputs=inputs,
                output=out,
                trains=trains,
                input_grad=input_grad,
                output_grad=input_grad or trains,
            )
        )
    return steps, shapes


# ---------------------------------------------------------------------------------------------
# backward MACs


@dataclass(frozen=True, slots=True)
class BackwardMacs:
    """A row's multiply-accumulates in the backward pass, per example."""

    path: str
    forward: int
    input_grad: int
    weight_grad: int

    @property
    def total(self) -> int:
        return self.input_grad + self.weight_grad


def backward_macs(analysis: Analysis) -> list[BackwardMacs]:
    """Backward MACs per row. A layer with MACs computes a product linear in its input and in its
    weights (y = W x); each gradient is the same product transposed (dx = W^T dy, dW = dy x^T), so
    each costs the forward MACs: the input gradient when a gradient flows into the input (some
    layer before it trains), the weight gradient when its own parameters train.

    >>> from archcalc import analyze, load_spec
    >>> b = backward_macs(analyze(load_spec("lenet5")))
    >>> (b[0].forward, b[0].input_grad, b[0].weight_grad)   # C1: the image needs no gradient
    (117600, 0, 117600)
    """
    steps, _ = dataflow(analysis)
    return [
        BackwardMacs(
            path=s.row.path,
            forward=s.row.macs,
            input_grad=s.row.macs if s.input_grad else 0,
            weight_grad=s.row.macs if s.trains and s.row.weights else 0,
        )
        for s in steps
    ]


def step_macs(analysis: Analysis, train: bool) -> int:
    """MACs of one example's step as bench times it: the forward, and with `train` the backward
    (backward_macs). An opaque layer counts 0 here: callers that must say "unknown" check first.

    >>> from archcalc import analyze, load_spec
    >>> lenet = analyze(load_spec("lenet5"))
    >>> step_macs(lenet, False), step_macs(lenet, True)   # C1's input gradient is not computed
    (416520, 1131960)
    """
    return analysis.totals.macs + (sum(b.total for b in backward_macs(analysis)) if train else 0)


def step_macs_by_family(analysis: Analysis, train: bool) -> dict[str, int]:
    """step_macs by op family (archcalc/peaks.py): each row's forward MACs, and with `train` its
    backward MACs, in its own family (the same kind of product on the same library)."""
    backward = {b.path: b.total for b in backward_macs(analysis)} if train else None
    return macs_by_family(analysis.rows, backward)


# ---------------------------------------------------------------------------------------------
# memory


OPTIMIZER_STATES = {"none": 0, "sgd": 0, "sgd-momentum": 1, "adam": 2}  # state tensors per parameter


@dataclass(frozen=True, slots=True)
class SavedTensor:
    """One tensor autograd saves: which (a tensor id, or a row's own extra), its bytes per batch;
    `tensors`: how many tensors of equal size those bytes are (batch norm's mean and inverse std: 2)."""

    key: tuple[Any, ...]
    path: str
    what: str
    bytes: int
    tensors: int = 1


def saved_tensors(analysis: Analysis, dtype: str = "fp32", batch: int = 1) -> list[SavedTensor]:
    """What autograd saves for backward in a training step, each tensor once (a ReLU's saved
    output is the next conv's saved input: one tensor)."""
    saved: dict[tuple[Any, ...], SavedTensor] = {}
    for _, tensor in savers(analysis, dtype, batch):
        saved.setdefault(tensor.key, tensor)
    return list(saved.values())


def savers(analysis: Analysis, dtype: str = "fp32", batch: int = 1) -> Iterator[tuple[int, SavedTensor]]:
    """Each (step index, tensor it saves) in execution order, by the ops' `Saves` rules: a tensor
    saved by several steps comes once per saver (the training-step model frees it after its
    earliest saver's backward, the last to run)."""
    size = dtype_bytes(dtype)
    steps, shapes = dataflow(analysis)
    for i, s in enumerate(steps):
        if not s.output_grad:
            continue
        rule = op_rule(OPS, s.row.op, f"{s.row.path}, {s.row.kind}").saves
        assert rule is not None  # register_ops refuses an op without one
        path, out_elems = s.row.path, prod(s.row.out_shape) * batch

        def tensor(tid: int, what: str, path: str = path) -> SavedTensor:
            return SavedTensor(key=("tensor", tid), path=path, what=what, bytes=prod(shapes[tid]) * size * batch)

        def extra(what: str, nbytes: int, tensors: int = 1, path: str = path) -> SavedTensor:
            return SavedTensor(key=(path, what), path=path, what=what, bytes=nbytes, tensors=tensors)

        global_pool = all(n == 1 for n in s.row.out_shape[1:])
        if rule.input and not (rule.unless_global and global_pool):
            yield i, tensor(s.inputs[0], "input")
        if rule.input_if_weight_grad and s.trains:
            yield i, tensor(s.inputs[0], "input")
        if rule.inputs:
            for tid in s.inputs:
                yield i, tensor(tid, "input")
        if rule.output:
            yield i, tensor(s.output, "output")
        if rule.indices:
            yield i, extra("indices", out_elems * COUNTER_BYTES)
        if rule.temporaries:
            yield i, extra("temporaries", rule.temporaries * out_elems * size, rule.temporaries)
        if rule.mask:
            yield i, extra("mask", out_elems * size)
        if rule.padded_input:
            yield i, extra("padded input", s.row.op_in_elements * batch * size)
        if rule.stats:
            yield i, extra("stats", rule.stats * s.row.out_shape[0] * 4, rule.stats)
        if rule.group_stats:
            yield i, extra("group stats", rule.group_stats * s.row.stat_groups * batch * 4, rule.group_stats)
        if rule.position_stats:
            yield (
                i,
                extra(
                    "position stats", rule.position_stats * prod(s.row.out_shape[1:]) * batch * 4, rule.position_stats
                ),
            )
        if rule.input_copy_if_weight_grad and s.trains:
            yield i, extra("input copy", prod(s.row.in_shape) * batch * size)
        if rule.example_values:
            yield i, extra("mask", rule.example_values * batch * size)
        if rule.batch_values:
            yield i, extra("mask", rule.batch_values * size)


def inference_peak(analysis: Analysis, dtype: str = "fp32", batch: int = 1) -> int:
    """Peak bytes of live activations at inference, the input included, under a simple schedule:
    rows run in order; a row's output is allocated while its inputs are live; a tensor is freed
    after its last reader, so a residual's or a concat's inputs stay live until the merge.
    Views (flatten) and inference no-ops (dropout, identity) allocate nothing."""
    size = dtype_bytes(dtype)
    steps, shapes = dataflow(analysis)
    alias: dict[int, int] = {}  # tensor id -> the storage it views
    for s in steps:
        if s.row.op in EVAL_ALIAS_OPS and len(s.inputs) == 1:
            alias[s.output] = alias.get(s.inputs[0], s.inputs[0])

    def root(tid: int) -> int:
        return alias.get(tid, tid)

    last_use: dict[int, int] = {}
    for i, s in enumerate(steps):
        for tid in s.inputs:
            last_use[root(tid)] = i
    for tid in analysis.graph.outputs:  # the results outlive the run (a step's output: its tensor, views resolved)
        last_use[root(steps[tid - 1].output if tid else 0)] = len(steps)
    # A tensor is freed after its last reader's step, but never in the step that writes it (or a
    # view of it). Each live tensor waits in the bucket of the step it may go, and the live bytes
    # are a running sum: linear in the steps, where a scan of every live tensor per step is
    # quadratic in a wide graph (10,000 branches read by one concat).
    live = {0: prod(shapes[0]) * size * batch}
    due: dict[int, list[int]] = {last_use.get(0, -1): [0]}
    total = peak = live[0]
    for i, s in enumerate(steps):
        out = root(s.output)
        if out not in live:
            live[out] = prod(shapes[s.output]) * size * batch
            total += live[out]
            due.setdefault(max(last_use.get(out, -1), i), []).append(out)
        peak = max(peak, total)
        for tid in due.pop(i, []) + due.pop(-1, []):
            if tid == out:
                due.setdefault(i + 1, []).append(tid)
            else:
                total -= live.pop(tid)
    return peak


@dataclass(frozen=True, slots=True)
class TrainingMemory:
    """Bytes of a training step at one dtype and batch: each part apart."""

    dtype: str
    batch: int
    optimizer: str
    params: int
    buffers: int
    gradients: int
    optimizer_state: int
    saved_activations: int
    inference_peak: int

    @property
    def training_total(self) -> int:
        """Parameters, buffers, gradients, optimizer state and saved activations together."""
        return self.params + self.buffers + self.gradients + self.optimizer_state + self.saved_activations


def training_memory(analysis: Analysis, dtype: str = "fp32", batch: int = 1, optimizer: str = "adam") -> TrainingMemory:
    """The memory model: parameters (all), gradients (trainable ones), optimizer state (SGD with
    momentum: one tensor per parameter, Adam: two), saved activations, inference peak."""
    if optimizer not in OPTIMIZER_STATES:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZER_STATES)}")
    size = dtype_bytes(dtype)
    t = analysis.totals
    static = analysis.memory(dtype)
    return TrainingMemory(
        dtype=dtype,
        batch=batch,
        optimizer=optimizer,
        params=static.params,
        buffers=static.buffers,
        gradients=t.trainable_params * size,
        optimizer_state=OPTIMIZER_STATES[optimizer] * t.trainable_params * size,
        saved_activations=sum(s.bytes for s in saved_tensors(analysis, dtype, batch)),
        inference_peak=inference_peak(analysis, dtype, batch),
    )
