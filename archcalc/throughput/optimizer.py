"""The optimizer a training step runs, built from its name in one place (bench's step and the memory probe).

The names are archcalc.training.OPTIMIZER_STATES's, so `bench --train --optimizer` and `memory
--optimizer` describe the same step: none (no optimizer step), sgd (momentum 0), sgd-momentum
(momentum 0.9), adam (torch.optim.Adam's defaults). `foreach=None` lets torch pick, as it does by
default: the multi-tensor (foreach) update on CUDA, the per-tensor loop on CPU
(torch.optim.optimizer._default_to_fused_or_foreach); the memory probe passes True to run the
CUDA update on CPU.
"""

from __future__ import annotations

from typing import Any

from ..training import OPTIMIZER_STATES

LEARNING_RATE = 1e-3


def make_optimizer(torch: Any, params: list[Any], name: str, foreach: bool | None = None) -> Any | None:
    """torch's optimizer for `name` over `params`, or None for `none` (or no trainable parameter)."""
    if name not in OPTIMIZER_STATES:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZER_STATES)}")
    if name == "none" or not params:
        return None
    if name == "adam":
        return torch.optim.Adam(params, lr=LEARNING_RATE, foreach=foreach)
    return torch.optim.SGD(params, lr=LEARNING_RATE, momentum=0.9 if name == "sgd-momentum" else 0.0, foreach=foreach)
