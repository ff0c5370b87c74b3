"""The pure per-layer formulas against torch as the oracle, and the calculator held to them.

torch gives the parameters (the module's own tensors) and the multiply-adds
(torch.utils.flop_counter counts two FLOPs per MAC); the calculator must give the layer kind's
numbers without building the kind's pydantic model.
"""

from __future__ import annotations

from math import prod
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from archcalc import conv_arithmetic
from archcalc.formulas.conv import conv_counts, group_count, transposed_counts, transposed_covered, transposed_sizes
from archcalc.formulas.dense import dense_edges
from archcalc.layers import Conv, ConvTranspose, MaxPool
from archcalc.layers.base import Layer, resolve_window


def _torch_macs(module: nn.Module, x: torch.Tensor) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x)
    flops = counter.get_total_flops()
    assert flops % 2 == 0, f"torch counted {flops} FLOPs, not two per multiply-add"
    return flops // 2


# (input [C, *spatial], out_channels, kernel, stride, padding, dilation, groups)
CONV_CASES = [
    pytest.param((3, 227, 227), 96, (11, 11), (4, 4), (0, 0), (1, 1), 1, id="alexnet-conv1"),
    pytest.param((8, 17), 12, (5,), (2,), (2,), (1,), 4, id="1d-grouped-padded"),
    pytest.param((16, 9, 9), 16, (3, 3), (1, 1), (2, 2), (2, 2), 16, id="depthwise-dilated"),
    pytest.param((4, 6, 7, 5), 6, (3, 2, 3), (2, 1, 1), (1, 0, 1), (1, 1, 1), 2, id="3d-grouped"),
]


@pytest.mark.parametrize("shape, out, kernel, stride, padding, dilation, groups", CONV_CASES)
def test_conv_counts_match_torch(shape, out, kernel, stride, padding, dilation, groups):
    c_in, sizes = shape[0], shape[1:]
    win = resolve_window(sizes, kernel, stride, dilation, tuple((p, p) for p in padding))
    links = out * (c_in // group_count(groups, c_in, out))
    ours = conv_counts(links, out, win.kernel, win.out, win.covered(), out)
    module = getattr(nn, f"Conv{len(sizes)}d")(c_in, out, kernel, stride, padding, dilation, groups)
    x = torch.zeros(1, *shape)
    y = module(x)
    assert (ours.units, ours.weights, ours.biases) == (y[0].numel(), module.weight.numel(), module.bias.numel()), (
        f"archcalc {(ours.units, ours.weights, ours.biases)}, torch {(y[0].numel(), module.weight.numel(), out)}"
    )
    assert ours.macs == _torch_macs(module, x), f"archcalc {ours.macs} MACs, torch {_torch_macs(module, x)}"


# (input [C, *spatial], out_channels, kernel, stride, padding, output_padding, dilation, groups)
TRANSPOSED_CASES = [
    pytest.param((4, 3), 2, (3,), (2,), (0,), (0,), (1,), 1, id="1d"),
    pytest.param((6, 5, 4), 9, (3, 2), (2, 3), (1, 0), (1, 2), (1, 1), 3, id="2d-grouped-output-padding"),
    pytest.param((2, 4, 3, 3), 4, (2, 3, 2), (1, 2, 2), (0, 1, 0), (0, 0, 1), (2, 1, 1), 2, id="3d-dilated"),
]


@pytest.mark.parametrize("shape, out, kernel, stride, padding, output_padding, dilation, groups", TRANSPOSED_CASES)
def test_transposed_counts_match_torch(shape, out, kernel, stride, padding, output_padding, dilation, groups):
    c_in, sizes = shape[0], shape[1:]
    out_sizes = transposed_sizes(sizes, kernel, stride, padding, output_padding, dilation)
    covered = transposed_covered(sizes, out_sizes, kernel, stride, padding, dilation)
    ours = transposed_counts(c_in, out, groups, sizes, kernel, out_sizes, covered, True)
    module = getattr(nn, f"ConvTranspose{len(sizes)}d")(
        c_in, out, kernel, stride, padding, output_padding, groups, True, dilation
    )
    x = torch.zeros(1, *shape)
    y = module(x)
    assert (out, *out_sizes) == tuple(y.shape[1:]), f"archcalc {(out, *out_sizes)}, torch {tuple(y.shape[1:])}"
    assert ours.weights == module.weight.numel(), f"archcalc {ours.weights}, torch {module.weight.numel()}"
    # torch's flop counter (as fvcore) counts a transposed conv on its input positions
    assert ours.macs == _torch_macs(module, x), f"archcalc {ours.macs}, torch {_torch_macs(module, x)}"
    # torchinfo and thop on its output positions: every output element, its C_in/G x K taps
    on_output = y[0].numel() * (c_in // groups) * prod(kernel)
    assert ours.macs_on_output == on_output, f"archcalc {ours.macs_on_output}, torch's output {on_output}"


@pytest.mark.parametrize("fan_in, fan_out", [(9216, 4096), (1, 1), (7, 3)], ids=["alexnet-fc6", "one", "small"])
def test_dense_edges_match_torch(fan_in, fan_out):
    module = nn.Linear(fan_in, fan_out)
    x = torch.zeros(1, fan_in)
    assert dense_edges(fan_in, fan_out) == module.weight.numel() == _torch_macs(module, x)


def _no_model(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the calculator built a layer model")


# (conv_arithmetic's arguments, the layer kind's fields, input shape [C, *spatial])
CALCULATOR_CASES = [
    pytest.param(
        {"input": 227, "kernel": 11, "stride": 4, "channels": (3, 96)},
        {"kind": "conv", "out_channels": 96, "kernel_size": 11, "stride": 4},
        (3, 227),
        id="conv",
    ),
    pytest.param(
        {"input": (32, 30), "kernel": (3, 5), "stride": 2, "padding": ((0, 1), 2), "channels": (8, 16), "groups": 4},
        {
            "kind": "conv",
            "out_channels": 16,
            "kernel_size": [3, 5],
            "stride": 2,
            "padding": [[0, 1], [2, 2]],
            "groups": 4,
        },
        (8, 32, 30),
        id="conv-grouped-per-side",
    ),
    pytest.param(
        {"input": 13, "kernel": 6, "stride": 5, "padding": "same", "channels": (2, 3), "bias": False},
        {"kind": "conv", "out_channels": 3, "kernel_size": 6, "stride": 5, "padding": "same", "bias": False},
        (2, 13),
        id="conv-same-no-bias",
    ),
    pytest.param(
        {
            "input": (5, 6),
            "kernel": 3,
            "stride": 2,
            "padding": 1,
            "op": "conv_transpose",
            "output_padding": (1, 0),
            "channels": (4, 6),
            "groups": 2,
        },
        {
            "kind": "conv_transpose",
            "out_channels": 6,
            "kernel_size": 3,
            "stride": 2,
            "padding": 1,
            "output_padding": [1, 0],
            "groups": 2,
        },
        (4, 5, 6),
        id="transposed",
    ),
    pytest.param(
        {"input": 7, "kernel": 3, "stride": 2, "padding": 1, "op": "pool", "ceil_mode": True},
        {"kind": "maxpool", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        (1, 7),
        id="pool-ceil",
    ),
]
KINDS = {"conv": Conv, "conv_transpose": ConvTranspose, "maxpool": MaxPool}


@pytest.mark.parametrize("args, fields, shape", CALCULATOR_CASES)
def test_calculator_gives_the_kinds_numbers_without_building_one(args, fields, shape, monkeypatch):
    layer = KINDS[fields["kind"]].model_validate(fields)
    counts = layer.counts(shape)
    for kind in KINDS.values():
        monkeypatch.setattr(kind, "model_validate", _no_model)
    monkeypatch.setattr(Layer, "__init__", _no_model)
    result = conv_arithmetic(**args)
    assert result.output == counts.out_shape[1:], f"calculator {result.output}, {fields['kind']} {counts.out_shape}"
    if result.cost is not None:
        ours = (result.cost.weights, result.cost.biases, result.cost.units, result.cost.connections, result.cost.macs)
        theirs = (counts.weights, counts.biases, counts.units, counts.connections, counts.macs)
        assert ours == theirs, f"calculator {ours}, {fields['kind']} {theirs}"
        explained = tuple(d for d in layer.explain(shape) if d.what in ("parameters", "MACs"))
        assert result.cost.derivations == explained, (result.cost.derivations, explained)
