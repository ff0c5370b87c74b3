"""Adapters to the counters archcalc is held against: each runs one tool on a built module and
returns its total for one example, in that tool's own convention (named by the preset of the
same name in archcalc/conventions.py)."""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable
from typing import Any

from . import require


def _quiet():
    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    return stack


def fvcore_analysis(model: Any, x: Any):
    """fvcore's FlopCountAnalysis with its warnings silenced (we report skipped ops ourselves)."""
    flop_count = require("fvcore.nn", "comparing with fvcore")
    with _quiet():
        analysis = flop_count.FlopCountAnalysis(model, x)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
        analysis.total()
    return analysis


def count_fvcore(model: Any, shape: tuple[int, ...]) -> int:
    import torch

    with _quiet():
        return int(fvcore_analysis(model, torch.randn(1, *shape)).total())


def count_torch(model: Any, shape: tuple[int, ...]) -> int:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randn(1, *shape))
    return int(counter.get_total_flops())


def count_ptflops(model: Any, shape: tuple[int, ...]) -> int:
    ptflops = require("ptflops", "comparing with ptflops")
    with _quiet():
        macs, _ = ptflops.get_model_complexity_info(
            model, tuple(shape), as_strings=False, print_per_layer_stat=False, backend="pytorch"
        )
    if macs is None:
        raise RuntimeError("ptflops could not run the model")
    return int(macs)


def count_torchinfo(model: Any, shape: tuple[int, ...]) -> int:
    torchinfo = require("torchinfo", "comparing with torchinfo")
    with _quiet():
        stats = torchinfo.summary(model, input_size=(1, *shape), verbose=0, device="cpu")
    return int(stats.total_mult_adds)


def count_thop(model: Any, shape: tuple[int, ...]) -> int:
    import copy

    import torch

    thop = require("thop", "comparing with thop")
    with _quiet():  # thop adds buffers to the modules it profiles: give it a copy
        ops, _ = thop.profile(copy.deepcopy(model), inputs=(torch.randn(1, *shape),), verbose=False)
    return int(round(float(ops)))


# preset name (archcalc/conventions.py) -> the tool that follows it
COUNTERS: dict[str, Callable[[Any, tuple[int, ...]], int]] = {
    "fvcore": count_fvcore,
    "torch": count_torch,
    "ptflops": count_ptflops,
    "torchinfo": count_torchinfo,
    "thop": count_thop,
}
