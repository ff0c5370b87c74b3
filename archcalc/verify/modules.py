"""The torch modules archcalc needs beyond torch.nn: a graph of steps (Graph) and its merges (Merge),
channel split, shuffle and mean (Split, ChannelShuffle, Mean), and
the early networks' units: convolutions with a connection table, unshared biases, Euclidean RBF.

Each is small and readable, because `archcalc export --to torch` copies their source into the
module it prints.
"""

from __future__ import annotations

import functools
from collections import OrderedDict

import torch
from torch import nn

MERGES = {
    "concat": lambda xs: torch.cat(xs, dim=1),  # along channels
    "add": lambda xs: functools.reduce(torch.add, xs),
    "mul": lambda xs: functools.reduce(torch.mul, xs),  # broadcasting, e.g. squeeze-and-excitation
}


class Merge(nn.Module):
    """Merges branch outputs: `concat` along channels, element-wise `add`, or broadcast `mul`."""

    def __init__(self, op: str):
        super().__init__()
        self.op = op

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return MERGES[self.op](list(xs))

    def extra_repr(self) -> str:
        return self.op


class Graph(nn.Module):
    """Runs its children as the steps of a graph: each step reads tensors by id and writes one.

    `steps` lists, in order, (child name, ids of the tensors it reads, id of the tensor it writes);
    tensor `entry` is this module's input, and it returns the tensors `outputs` names (one: that
    tensor). A child is a layer's module, a merge, or a Graph of a deeper level of the names, so the
    module names are the analysis's row paths. The children are named by the spec, so the graph's
    own attributes start with an underscore, which no layer name may. A tensor is dropped after
    its last reader (`_frees`), as a chain of modules drops it: holding every one until the end
    would make the measured memory of `archcalc bench` the sum of all activations, not their peak.
    """

    def __init__(
        self,
        children: OrderedDict[str, nn.Module],
        steps: list[tuple[str, tuple[int, ...], int]],
        entry: int,
        outputs: tuple[int, ...],
    ):
        super().__init__()
        for name, module in children.items():
            self.add_module(name, module)
        self._steps = steps
        self._entry = entry
        self._outputs = outputs
        last = {t: k for k, (_, inputs, _) in enumerate(steps) for t in inputs}
        returned = set(outputs)
        self._frees = [
            [t for t in dict.fromkeys(inputs) if last[t] == k and t not in returned]
            for k, (_, inputs, _) in enumerate(steps)
        ]

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        tensors = {self._entry: x}
        for (name, inputs, output), frees in zip(self._steps, self._frees):
            tensors[output] = self.get_submodule(name)(*(tensors[i] for i in inputs))
            for t in frees:
                del tensors[t]
        if len(self._outputs) == 1:
            return tensors[self._outputs[0]]
        return tuple(tensors[i] for i in self._outputs)


class TableConv(nn.Module):
    """A convolution with a connection table (LeNet-5's C3): output map o sees input maps table[o].

    One small conv per output map over just the maps it sees, outputs stacked along channels: the
    parameters are exactly the table's kernels (a dense conv with a 0/1 mask would hold, and
    counters would charge, every kernel of the full conv).
    """

    def __init__(self, table, kernel_size, bias=True, **conv_kwargs):
        super().__init__()
        conv = getattr(nn, f"Conv{len(kernel_size)}d")
        self.table = [list(row) for row in table]
        self.maps = nn.ModuleList(conv(len(row), 1, kernel_size, bias=bias, **conv_kwargs) for row in self.table)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([conv(x[:, row]) for conv, row in zip(self.maps, self.table)], dim=1)


class Bias(nn.Module):
    """A trainable bias of its own shape, added with broadcasting: one per unit ([C, H, W],
    LeNet-1989) or one per position shared over the maps ([1, H, W], AlphaGo's last layer).

    Held with a leading batch dimension of 1, so the tensor has the input's rank (ptflops sizes
    an add by aligning shapes from the left).
    """

    def __init__(self, shape):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, *shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.add(x, self.bias)


class RBF(nn.Module):
    """Euclidean RBF units (LeNet-5's output): unit i outputs sum_j (x_j - w_ij)^2.

    Computed as |x|^2 - 2 x.w_i + |w_i|^2: the in x out multiply-accumulates are one linear map,
    whose weight holds the units' parameter vectors.
    """

    def __init__(self, in_features, out_features):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.linear.weight
        return (x * x).sum(1, keepdim=True) - 2 * self.linear(x) + (w * w).sum(1)


class Split(nn.Module):
    """One part of the input's channels: x.chunk(chunks, 1)[index], or torch.split(x, sections, 1)[index]
    (a view of the input, as torch returns it)."""

    def __init__(self, index, chunks=None, sections=None):
        super().__init__()
        self.index, self.chunks, self.sections = index, chunks, sections

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = x.chunk(self.chunks, 1) if self.sections is None else torch.split(x, list(self.sections), 1)
        return parts[self.index]

    def extra_repr(self) -> str:
        how = f"chunks={self.chunks}" if self.sections is None else f"sections={list(self.sections)}"
        return f"{how}, index={self.index}"


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle as view, transpose, view (torchvision's `channel_shuffle`):
    nn.ChannelShuffle computes the same, but its aten::channel_shuffle has no ONNX export."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, *rest = x.shape
        x = x.view(n, self.groups, c // self.groups, *rest).transpose(1, 2).contiguous()
        return x.view(n, c, *rest)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class Mean(nn.Module):
    """x.mean(dims, keepdim): the mean over spatial dimensions, numbered as torch numbers them."""

    def __init__(self, dims, keepdim=False):
        super().__init__()
        self.dims, self.keepdim = tuple(dims), keepdim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(self.dims, keepdim=self.keepdim)

    def extra_repr(self) -> str:
        return f"dims={self.dims}, keepdim={self.keepdim}"


class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channels of a channels-first tensor (torchvision's LayerNorm2d): channels
    moved last, normalised, moved back. Its state_dict is nn.LayerNorm's (weight, bias)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.movedim(1, -1)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.movedim(-1, 1)


class ChannelLinear(nn.Linear):
    """nn.Linear over the channels of a channels-first tensor (ConvNeXt's pointwise layer between
    permutes): weight [out, in] as Linear's, so state_dict keys and shapes match torchvision's."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.movedim(1, -1)).movedim(-1, 1)


class LayerScale(nn.Module):
    """A learnt scale per channel, multiplied in: its state_dict key is `<path>.scale`, of shape
    [C, 1, 1] for a map (torchvision's CNBlock holds it as `<block>.layer_scale` itself)."""

    def __init__(self, shape, init=1e-6):
        super().__init__()
        self.scale = nn.Parameter(torch.full(tuple(shape), float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth, without torchvision: in training, each example (mode row)
    or the whole batch (mode batch) is zeroed with probability p and the rest scaled by 1 / (1 - p);
    the input itself at inference."""

    def __init__(self, p, mode="row"):
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"


class Opaque(nn.Module):
    """A stand-in for a module archcalc cannot see into: as many parameters (one flat tensor,
    `<path>.params`) and buffers (`<path>.state`) as it has, returning zeros of its output shape. It computes
    nothing of the original: it lets `verify` and `export` hold the counts, not the values."""

    def __init__(self, params, buffers, out_shape):
        super().__init__()
        if params:
            self.params = nn.Parameter(torch.zeros(params))
        if buffers:
            self.register_buffer("state", torch.zeros(buffers))
        self.out_shape = tuple(out_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros((x.shape[0], *self.out_shape))
