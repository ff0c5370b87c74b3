"""torch as the oracle of the training step's memory: the peak of live tensor bytes over one step.

Runs bench's own step (run.step_fn) on the built module, with the optimizer the step model
assumes (the foreach update torch picks on CUDA), after `warm` steps so the optimizer's lazy
state exists and each step starts with no gradients, as in bench's timed loop. A
TorchDispatchMode sees every aten op (forward, the loss, autograd's backward formulas, the
optimizer's foreach ops) and the storages it returns; a storage is live until torch frees it
(a weak reference to the C++ storage expires), so the peak is what a perfect allocator would
hold: no rounding, no cache, no kernel workspace, which an op allocates inside itself unseen.
Run on CPU by the tests: what a CUDA step allocates differently (a dropout mask of bytes, where
CPU keeps a noise tensor at the dtype) is a rule of the step model (archcalc/training_step.py).
The mode itself changes one thing it measures: under any TorchDispatchMode autograd sums a
tensor's second gradient into a new tensor, where a plain run adds it in place (measured with
torch.profiler in tests/test_training_step.py); the model is held to the probe with that rule
(`in_place_accumulation=False`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..analysis import Analysis
from ..training_step import rounded
from .optimizer import make_optimizer
from .run import _example, prepare, training_step


@dataclass(frozen=True, slots=True)
class StepPeak:
    """One measured step: bytes held before it starts (parameters, buffers, optimizer state, the
    input batch), the peak of live bytes during it (those included), and the op that reached it;
    `rounded_peak`: the peak with each storage rounded up as CUDA's allocator rounds a block."""

    resident: int
    peak: int
    at: str
    rounded_peak: int


def _storage_key(torch: Any, t: Any) -> tuple[int, int] | None:
    storage = t.untyped_storage()
    return (storage.data_ptr(), storage.nbytes()) if storage.nbytes() else None


def _live_mode(torch: Any, resident: list[Any]) -> Any:
    """A dispatch mode keeping the running sum of the storages the ops return, each once; views of
    the `resident` tensors' storages (a weight's transpose) are counted with those."""
    from torch.multiprocessing.reductions import StorageWeakRef
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    class LiveBytes(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.live: dict[int, tuple[Any, int]] = {}  # data pointer -> (weak ref, bytes)
            self.resident = {t.untyped_storage().data_ptr() for t in resident}
            self.total = self.peak = resident_bytes(torch, resident)
            self.blocks = self.rounded_peak = resident_bytes(torch, resident, rounded)
            self.at = "start"

        def reap(self) -> None:
            for ptr, (ref, nbytes) in list(self.live.items()):
                if ref.expired():
                    del self.live[ptr]
                    self.total -= nbytes
                    self.blocks -= rounded(nbytes)

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            self.reap()  # what was freed before this op is free when its outputs are allocated
            out = func(*args, **(kwargs or {}))
            for t in tree_flatten(out)[0]:
                if not isinstance(t, torch.Tensor) or t.device.type == "meta":
                    continue
                storage = t.untyped_storage()
                ptr, nbytes = storage.data_ptr(), storage.nbytes()
                if not nbytes or ptr in self.resident:
                    continue
                known = self.live.get(ptr)
                if known is not None and not known[0].expired():
                    continue  # a view or an in-place result: no new storage
                if known is not None:
                    self.total -= known[1]
                    self.blocks -= rounded(known[1])
                self.live[ptr] = (StorageWeakRef(storage), nbytes)
                self.total += nbytes
                self.blocks += rounded(nbytes)
                self.rounded_peak = max(self.rounded_peak, self.blocks)
                if self.total > self.peak:
                    self.peak, self.at = self.total, str(func)
            return out

    return LiveBytes()


def resident_bytes(torch: Any, tensors: list[Any], size: Callable[[int], int] = int) -> int:
    """Bytes of the distinct storages under `tensors`, each as `size` counts it."""
    storages = {}
    for t in tensors:
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
    return sum(map(size, storages.values()))


def step_peak(
    analysis: Analysis, batch: int = 2, dtype: str = "fp32", optimizer: str = "adam", warm: int = 1
) -> StepPeak:
    """The peak of live bytes over one training step of the built module on CPU (module, input
    and step as bench builds them; foreach update as on CUDA). Adam's `step` counters are left
    out of the resident bytes: torch keeps them on the CPU when the parameters are on a GPU."""
    import torch

    torch.manual_seed(0)
    model = prepare(analysis, "cpu", dtype, channels_last=False, train=True)
    x = _example(torch, analysis, batch, "cpu", dtype, channels_last=False)
    update = make_optimizer(torch, [p for p in model.parameters() if p.requires_grad], optimizer, foreach=True)
    step = training_step(model, x, update)
    for _ in range(warm):
        step()
    state: list[Any] = []
    for holder in update.state.values() if update is not None else ():
        state.extend(v for k, v in holder.items() if k != "step" and isinstance(v, torch.Tensor))
    resident = [*model.parameters(), *model.buffers(), *state, x]
    mode = _live_mode(torch, resident)
    with mode:
        step()
    return StepPeak(
        resident=resident_bytes(torch, resident), peak=mode.peak, at=mode.at, rounded_peak=mode.rounded_peak
    )
