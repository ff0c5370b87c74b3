"""The peak memory of one training step, simulated over its timeline, each live byte under a named term.

What `torch.cuda.max_memory_allocated` reports over steady-state steps of bench's training step
(archcalc/throughput/run.py training_step): the optimizer's state exists and each step starts
with no gradients. The simulation walks the step once, in order (linear in the rows):

- resident: parameters, buffers, optimizer state and the input batch, the whole step long;
- forward: each row's output is allocated (a view or identity allocates nothing); a tensor some
  op saves for backward stays (saved activations), any other is freed after its last reader;
  an op's own saved extras (pool indices, batch-norm statistics, masks) are allocated with it;
  a dropout mask is one byte per element on CUDA (native_dropout's bool mask), the dtype on CPU;
  batch norm's mean and inverse std are fp32 on CUDA, at the dtype on CPU (measured by the probe);
- the loss (oracle.scalar_loss, per output): at bf16/fp16 a float copy of the output, then
  square's output (freed by mean), a 4-byte scalar the step holds to its end; backward() holds
  its 4-byte seed (ones_like(loss)) through the backward pass;
- backward, rows in reverse: mean's backward expands the gradient to the output's size (fp32),
  pow's backward three more (x.pow(1), 2 * that, the product), then the cast back to the dtype; each
  row's backward allocates its inputs' gradients and its parameters' gradients (which live to
  the optimizer step) while its output's gradient is live; then it frees its output's gradient
  and the tensors only it still holds saved. add and concat hand their gradient (or slices of it)
  to their inputs and allocate none; mul makes a broadcast input's gradient at the output's size
  before summing it down; an op torch runs as several (LRN) holds its `backward_temporaries`.
  A tensor read by several rows accumulates its gradient: in place when one of the two is held
  by nothing else, else into a new tensor (the engine's InputBuffer; under a TorchDispatchMode,
  the probe's, autograd always sums into a new tensor);
- optimizer step (foreach, as torch picks on CUDA): SGD with or without momentum updates in place
  (torch/optim/sgd.py _multi_tensor_sgd: no temporaries, no weight decay); Adam allocates
  exp_avg_sq's square root, one tensor per parameter (torch/optim/adam.py _multi_tensor_adam);
  its `step` counters live on the CPU. Then the gradients are set to None.
- allocator rounding: CUDA's caching allocator rounds every block up to a multiple of 512 bytes
  (c10/cuda/CUDACachingAllocator.cpp round_size, kMinBlockSize: its source is not in the wheel,
  the rule is stated from it), and max_memory_allocated counts the rounded blocks; a row's parameters count as a weight and a bias tensor, its buffers as two
  halves (batch norm's running mean and variance: the one kind that holds buffers).

- cuBLAS workspaces: one per handle, the whole step long (archcalc/workspaces.py: torch's size rule
  per device, two handles when matrix multiplies run forward and backward).

Left out: cuDNN's workspaces (chosen per algorithm and shape at run time: no rule to give), temporaries
a kernel allocates inside itself, a cached block handed out whole when the rest would be under 1 MiB
(it depends on what the cache holds), and the CUDA context.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from .analysis import COUNTER_BYTES, Analysis, dtype_bytes
from .layers import OPS, Shape
from .training import OPTIMIZER_STATES, Step, dataflow, savers
from .workspaces import training_handles

BLOCK = 512  # CUDA caching allocator: every block a multiple of 512 bytes (kMinBlockSize)
FLOAT32 = 4

TERMS = (
    "params",
    "buffers",
    "optimizer_state",
    "input_batch",
    "saved_activations",
    "dropout_masks",
    "forward_activations",
    "output_and_loss",
    "activation_gradients",
    "gradients",
    "optimizer_temporaries",
    "cublas_workspaces",
)


def rounded(nbytes: int) -> int:
    """The block the caching allocator gives for `nbytes` (none for an empty tensor).

    >>> rounded(1), rounded(512), rounded(513), rounded(0)
    (512, 512, 1024, 0)
    """
    return -(-nbytes // BLOCK) * BLOCK


@dataclass(frozen=True, slots=True)
class StepMemory:
    """The peak of a training step: its bytes (rounding included), where in the step it falls,
    and each named term at that moment (`allocator_rounding` among them)."""

    peak: int
    at: str
    terms: dict[str, int]
    unrounded: int  # the peak of the tensors' own bytes, no rounding (it may fall elsewhere)


class _Timeline:
    """Live bytes per term, raw and as rounded blocks; the peak and its terms when reached."""

    def __init__(self) -> None:
        self.terms = dict.fromkeys(TERMS, 0)
        self.rounding = 0
        self.tensors: dict[int, tuple[str, int, int]] = {}  # handle -> (term, bytes, rounding)
        self.count = 0
        self.peak = -1
        self.at = ""
        self.at_peak: dict[str, int] = {}
        self.unrounded = 0

    def alloc(self, term: str, nbytes: int, tensors: int = 1) -> int:
        """`nbytes` under `term`, as `tensors` tensors of equal size (each a block); a handle."""
        self.count += 1
        waste = tensors * rounded(nbytes // tensors) - nbytes
        self.tensors[self.count] = (term, nbytes, waste)
        self.terms[term] += nbytes
        self.rounding += waste
        return self.count

    def free(self, handle: int) -> None:
        term, nbytes, waste = self.tensors.pop(handle)
        self.terms[term] -= nbytes
        self.rounding -= waste

    def mark(self, at: str) -> None:
        raw = sum(self.terms.values())
        self.unrounded = max(self.unrounded, raw)
        total = raw + self.rounding
        if total > self.peak:
            self.peak, self.at = total, at
            self.at_peak = {**self.terms, "allocator_rounding": self.rounding}

    def result(self) -> StepMemory:
        return StepMemory(peak=self.peak, at=self.at, terms=self.at_peak, unrounded=self.unrounded)


def _resident(tl: _Timeline, analysis: Analysis, size: int, optimizer: str) -> None:
    """Parameters, buffers and optimizer state, as tensors for the rounding: a weight and a bias
    per row, and its buffers in two halves."""
    for row in analysis.rows:
        for n in (row.weights, row.biases):
            if n:
                tl.alloc("params", n * size)
                if row.trainable:
                    for _ in range(OPTIMIZER_STATES[optimizer]):
                        tl.alloc("optimizer_state", n * size)
        for n in (row.buffers // 2, row.buffers - row.buffers // 2):  # batch norm's running mean and variance
            if n:
                tl.alloc("buffers", n * size)
        for _ in range(row.counters):
            tl.alloc("buffers", COUNTER_BYTES)


def training_step_memory(
    analysis: Analysis,
    dtype: str = "fp32",
    batch: int = 1,
    optimizer: str = "adam",
    device: str = "cuda",
    in_place_accumulation: bool = True,
    cublas_workspace: int = 0,
) -> StepMemory:
    """The peak bytes of one steady-state training step and the named terms at it (module docstring:
    the rules). `device` picks the one rule that differs: a dropout mask's bytes per element
    (cuda: 1, cpu: the dtype's) and a batch norm's saved statistics (cuda: fp32, cpu: the dtype).
    `cublas_workspace`: bytes of one cuBLAS handle's workspace on the device (archcalc/workspaces.py;
    0 on a CPU). `in_place_accumulation` False: a tensor's second gradient is always
    summed into a new tensor, as autograd does while any TorchDispatchMode is active (the memory
    probe's: measured with torch.profiler, tests/test_training_step.py).

    >>> from archcalc import analyze, load_spec
    >>> m = training_step_memory(analyze(load_spec("lenet5")), batch=2, optimizer="sgd")
    >>> m.at, m.peak == sum(m.terms.values())
    ('backward of tanh1', True)
    """
    if optimizer not in OPTIMIZER_STATES:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZER_STATES)}")
    size = dtype_bytes(dtype)
    steps, shapes = dataflow(analysis)
    tl = _Timeline()
    _resident(tl, analysis, size, optimizer)
    for _ in range(training_handles(analysis) if cublas_workspace else 0):  # at most 2
        tl.alloc("cublas_workspaces", cublas_workspace)

    def nbytes(tid: int) -> int:
        return prod(shapes[tid]) * size * batch

    # what each step saves, and the earliest saver of each (its backward runs last and frees it)
    saved_by: dict[int, list[tuple[tuple, str, int, int]]] = {}  # step -> (key, term, bytes, tensors)
    earliest: dict[tuple, int] = {}
    tensor_saved: set[int] = set()
    for i, t in savers(analysis, dtype, batch):
        earliest[t.key] = min(earliest.get(t.key, i), i)
        if t.key[0] == "tensor":
            tensor_saved.add(t.key[1])
        elif t.key not in {k for k, *_ in saved_by.get(i, [])}:
            mask = t.what == "mask" and OPS[steps[i].row.op].saves.mask  # type: ignore[union-attr]
            n = t.bytes // size if mask and device == "cuda" else t.bytes  # a bool mask on CUDA
            if t.what == "stats" and device == "cpu":
                n = t.bytes // FLOAT32 * size  # CPU's batch norm keeps its statistics at the dtype
            saved_by.setdefault(i, []).append((t.key, "dropout_masks" if mask else "saved_activations", n, t.tensors))
    release: dict[int, list[tuple]] = {}  # step -> the saved tensors its backward frees
    for key, i in earliest.items():
        release.setdefault(i, []).append(key)
    outputs = [steps[tid - 1].output if tid else 0 for tid in analysis.graph.outputs]
    backward = any(s.output_grad for s in steps)  # else the loss needs no gradient: bench skips backward()
    last_read: dict[int, int] = {}
    for i, s in enumerate(steps):
        for tid in s.inputs:
            last_read[tid] = i
    for tid in outputs:
        last_read[tid] = len(steps)
    handles: dict[tuple, int] = {}  # live tensors: ("tensor", id) or a step's extra -> handle

    # forward
    handles[("tensor", 0)] = tl.alloc("input_batch", nbytes(0))
    due: dict[int, list[int]] = {}
    for i, s in enumerate(steps):
        key = ("tensor", s.output)
        if key not in handles:
            saved = s.output in tensor_saved
            handles[key] = tl.alloc("saved_activations" if saved else "forward_activations", nbytes(s.output))
            if not saved:
                due.setdefault(max(last_read.get(s.output, i), i), []).append(s.output)
        for extra, term, n, tensors in saved_by.get(i, []):
            handles[extra] = tl.alloc(term, n, tensors)
        tl.mark(f"forward of {s.row.path}")
        for tid in due.pop(i, []):
            tl.free(handles.pop(("tensor", tid)))

    # the loss, per output: at fp32 .float() is the output itself, saved by square. An output that
    # needs no gradient (frozen, or a view of the input) gets no backward: its copy goes after mean
    needs_grad = {0: False} | {s.output: s.output_grad for s in steps}
    losses: list[tuple[int, int | None]] = []
    for tid in outputs:
        needs = backward and needs_grad[tid]
        n = prod(shapes[tid]) * batch * FLOAT32
        copy = tl.alloc("output_and_loss", n) if size != FLOAT32 else None
        square = tl.alloc("output_and_loss", n)
        tl.mark("loss")
        tl.free(square)
        if needs:
            losses.append((tid, copy))
        if copy is not None and not needs:
            tl.free(copy)
        if (copy is not None or not needs) and tid not in tensor_saved and tid and ("tensor", tid) in handles:
            tl.free(handles.pop(("tensor", tid)))  # nothing saved it: the cast's backward needs no tensor
    tl.alloc("output_and_loss", FLOAT32)  # the loss: held by the step until it returns
    if backward:
        _backward(tl, steps, shapes, size, batch, losses, tensor_saved, handles, release, in_place_accumulation)

    # optimizer step
    if optimizer == "adam":
        temps = [
            tl.alloc("optimizer_temporaries", n * size)
            for r in analysis.rows
            if r.trainable
            for n in (r.weights, r.biases)
            if n
        ]
        tl.mark("optimizer step")
        for h in temps:
            tl.free(h)
    tl.mark("optimizer step")
    return tl.result()


def _backward(
    tl: _Timeline,
    steps: list[Step],
    shapes: dict[int, Shape],
    size: int,
    batch: int,
    losses: list[tuple[int, int | None]],
    tensor_saved: set[int],
    handles: dict[tuple, int],
    release: dict[int, list[tuple]],
    in_place_accumulation: bool,
) -> None:
    """The backward pass on the timeline: the loss's, then each row's in reverse (module docstring)."""

    def nbytes(tid: int) -> int:
        return prod(shapes[tid]) * size * batch

    requires = {0: False} | {s.output: s.output_grad for s in steps}
    seed = tl.alloc("activation_gradients", FLOAT32)  # backward()'s ones_like(loss), held through it
    # backward of the loss: mean's expanded gradient, pow's 2 * x and product, the cast back
    grads: dict[int, list[int]] = {}  # gradient buffer -> [handle, holders]
    pending: dict[int, int] = {}  # tensor id -> its gradient buffer
    for tid, copy in reversed(losses):
        n = prod(shapes[tid]) * batch * FLOAT32
        # pow_backward is grad * (2 * x.pow(1)): its temporaries live to the end of the expression
        mean_grad = tl.alloc("activation_gradients", n)
        power = tl.alloc("activation_gradients", n)
        twice = tl.alloc("activation_gradients", n)
        product = tl.alloc("activation_gradients", n)
        tl.mark("backward of the loss")
        for h in (mean_grad, power, twice):
            tl.free(h)
        if copy is not None:
            tl.free(copy)
            cast = tl.alloc("activation_gradients", nbytes(tid))
            tl.mark("backward of the loss")
            tl.free(product)
            product = cast
        elif tid not in tensor_saved and tid and ("tensor", tid) in handles:
            tl.free(handles.pop(("tensor", tid)))
        grads[product] = [product, 1]
        _accumulate(tl, grads, pending, tid, product, nbytes(tid), in_place_accumulation)

    # backward, rows in reverse
    for i in range(len(steps) - 1, -1, -1):
        s = steps[i]
        if not s.output_grad:
            continue
        rule = OPS[s.row.op]
        own = pending.pop(s.output, None) if s.output not in s.inputs else None
        made: list[tuple[int, int]] = []
        if own is not None:
            # a broadcast input's gradient at the output's size before the sum; a composite's temporaries
            summed = [tl.alloc("activation_gradients", nbytes(s.output)) for _ in range(rule.backward_temporaries)]
            for tid in dict.fromkeys(t for t in s.inputs if requires.get(t)):
                if rule.grad_passes:
                    grads[own][1] += 1
                    made.append((tid, own))
                    continue
                if rule.grad_sums_broadcast and nbytes(tid) < nbytes(s.output):
                    summed.append(tl.alloc("activation_gradients", nbytes(s.output)))
                h = tl.alloc("activation_gradients", nbytes(tid))
                grads[h] = [h, 1]
                made.append((tid, h))
            if s.trains:
                for n in (s.row.weights, s.row.biases):
                    if n:
                        tl.alloc("gradients", n * size)
            tl.mark(f"backward of {s.row.path}")
            for h in summed:
                tl.free(h)
            _drop(tl, grads, own)
        for key in release.get(i, []):
            if key in handles and key != ("tensor", 0):  # the input batch stays
                tl.free(handles.pop(key))
        for tid, buffer in made:
            _accumulate(
                tl, grads, pending, tid, buffer, nbytes(tid), in_place_accumulation, f"backward of {s.row.path}"
            )
    for buffer in list(pending.values()):
        _drop(tl, grads, buffer)
    tl.free(seed)


def _drop(tl: _Timeline, grads: dict[int, list[int]], buffer: int) -> None:
    """One holder of a gradient buffer lets go; the last frees it."""
    grads[buffer][1] -= 1
    if grads[buffer][1] == 0:
        tl.free(grads.pop(buffer)[0])


def _accumulate(
    tl: _Timeline,
    grads: dict[int, list[int]],
    pending: dict[int, int],
    tid: int,
    buffer: int,
    n: int,
    in_place: bool,
    at: str = "backward of the loss",
) -> None:
    """Hand a gradient buffer (its holder counted) to tensor `tid`: the first is kept; a second is
    added in place into whichever of the two nothing else holds, else into a new tensor (autograd's
    InputBuffer); with `in_place` False, always into a new tensor."""
    old = pending.get(tid)
    if old is None or old == buffer:
        pending[tid] = buffer
        if old == buffer:
            _drop(tl, grads, buffer)
        return
    if in_place and grads[old][1] == 1:
        _drop(tl, grads, buffer)
    elif in_place and grads[buffer][1] == 1:
        _drop(tl, grads, old)
        pending[tid] = buffer
    else:
        total = tl.alloc("activation_gradients", n)
        grads[total] = [total, 1]
        tl.mark(at)
        _drop(tl, grads, old)
        _drop(tl, grads, buffer)
        pending[tid] = total
