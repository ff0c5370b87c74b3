"""torch as the oracle of the training model: FLOPs over forward + backward, bytes autograd saves.

Run on CPU by the tests (tests/test_bench.py): the static model is held to it exactly.
"""

from __future__ import annotations

from typing import Any

from ..analysis import Analysis


def scalar_loss(out: Any) -> Any:
    """A scalar to differentiate: each output's mean square, summed (a network with several
    `outputs:` returns a tuple of them, every one of which the backward pass must reach)."""
    losses = [t.float().square().mean() for t in (out if isinstance(out, tuple) else (out,))]
    return sum(losses[1:], losses[0])


def _model_and_input(analysis: Analysis, batch: int):
    import torch

    from ..verify.build import build_model

    torch.manual_seed(0)
    model = build_model(analysis.spec).train()
    return torch, model, torch.randn(batch, *analysis.input_shape)


def training_flops(analysis: Analysis, batch: int = 2) -> dict[str, int]:
    """FlopCounterMode over one forward and one backward: {'forward': ..., 'backward': ...} FLOPs."""
    torch, model, x = _model_and_input(analysis, batch)
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as forward:
        out = model(x)
    loss = scalar_loss(out)
    backward_flops = 0
    if loss.requires_grad:
        with FlopCounterMode(display=False) as backward:
            loss.backward()
        backward_flops = backward.get_total_flops()
    return {"forward": forward.get_total_flops(), "backward": backward_flops}


def saved_bytes(analysis: Analysis, batch: int = 2) -> dict[str, Any]:
    """Bytes of the activations autograd saves in a forward pass (saved_tensors_hooks), each
    storage once, parameters and buffers left out; also by the module (row path) that saved them."""
    torch, model, x = _model_and_input(analysis, batch)
    state = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    modules = dict(model.named_modules())
    paths = {r.path for r in analysis.rows}
    current: list[str] = []

    def leave(module: Any, args: Any, output: Any) -> None:
        current.pop()

    for name, module in modules.items():
        if name in paths:
            module.register_forward_pre_hook(lambda m, a, name=name: current.append(name))
            module.register_forward_hook(leave)
    storages: dict[int, tuple[int, str]] = {}

    def pack(t: Any) -> Any:
        storage = t.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in state and ptr not in storages:
            storages[ptr] = (storage.nbytes(), current[-1] if current else "")
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    by_path: dict[str, int] = {}
    for nbytes, path in storages.values():
        by_path[path] = by_path.get(path, 0) + nbytes
    return {"total": sum(n for n, _ in storages.values()), "by_path": by_path}
