"""What a chain of view-like ops (view, reshape, transpose, permute, flatten, contiguous ...) does, net.

A channel shuffle or a flatten is written many ways (`view`-`transpose`-`view`, `reshape`-`permute`-
`flatten`, `x.view(x.size(0), -1)`, `torch.flatten(x, 1)`). Rather than match code shapes, the chain
is run on a tensor of element indices and its result compared with each closed form: what matches
is what the chain does, however it was written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx

from .fx_trace import ARGS

# call_method names and call_function targets that only rearrange elements
VIEW_METHODS = frozenset(
    {"view", "reshape", "transpose", "permute", "contiguous", "flatten", "squeeze", "unsqueeze", "swapaxes"}
)
VIEW_FUNCTIONS: frozenset[Callable[..., Any]] = frozenset(
    {
        torch.reshape,
        torch.transpose,
        torch.permute,
        torch.flatten,
        torch.squeeze,
        torch.unsqueeze,
        torch.swapaxes,
    }
)


def is_view_step(node: fx.Node, module: torch.nn.Module | None) -> bool:
    """A node that only rearranges its first argument's elements."""
    if node.op == "call_method":
        return node.target in VIEW_METHODS
    if node.op == "call_function":
        return node.target in VIEW_FUNCTIONS
    return node.op == "call_module" and isinstance(module, torch.nn.Flatten)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a chain does: `identity`, `flatten`, `to_last` (channels-first to channels-last),
    `to_first` (back), `channel_shuffle` (with `groups`), or None: none of these (yet)."""

    what: str | None
    groups: int = 0


def replay(node: fx.Node, tensor: torch.Tensor, module: torch.nn.Module | None) -> torch.Tensor:
    """One view step run again, with the arguments it ran with, on `tensor` (of indices)."""
    args, kwargs = node.meta[ARGS]
    rest = args[1:]
    if node.op == "call_method":
        return getattr(tensor, str(node.target))(*rest, **kwargs)
    if node.op == "call_function":
        return node.target(tensor, *rest, **kwargs)  # type: ignore[operator]
    assert module is not None
    return module(tensor)


def indices(shape: Sequence[int]) -> torch.Tensor:
    """0, 1, 2, ... laid out in `shape` (int32 where it fits: half the memory to compare)."""
    count = 1
    for size in shape:
        count *= size
    dtype = torch.int32 if count < 2**31 else torch.int64
    return torch.arange(count, dtype=dtype).reshape(tuple(shape))


def outcome(
    base_shape: Sequence[int], channels_last: bool, steps: Sequence[tuple[fx.Node, torch.nn.Module | None]]
) -> Outcome:
    """Run `steps` on the indices of a tensor of `base_shape` (batch first) and name what they did.

    >>> outcome((1, 4, 2, 2), False, ()).what
    'identity'
    """
    index = indices(base_shape)
    result = index
    for node, module in steps:
        result = replay(node, result, module)
    return classify(index, result, channels_last)


def classify(index: torch.Tensor, result: torch.Tensor, channels_last: bool) -> Outcome:
    """Compare `result` (the chain's output on `index`) with each closed form.

    >>> x = torch.arange(2 * 6 * 2).reshape(2, 6, 2)
    >>> classify(x, x.view(2, 3, 2, 2).transpose(1, 2).reshape(2, 6, 2), False)
    Outcome(what='channel_shuffle', groups=3)
    >>> classify(x, x.flatten(1), False).what, classify(x, x.permute(0, 2, 1), False).what
    ('flatten', 'to_last')
    """
    if result.shape == index.shape and (result.stride() == index.stride() and result.data_ptr() == index.data_ptr()):
        return Outcome("identity")  # a view of the indices as they were: no need to compare
    if result.shape == index.shape and torch.equal(result, index):
        return Outcome("identity")
    if channels_last:
        back = index.permute(0, index.dim() - 1, *range(1, index.dim() - 1))
        return Outcome("to_first" if _same(result, back) else None)
    if index.dim() > 2 and _same(result, index.flatten(1)):
        return Outcome("flatten")
    if index.dim() > 2 and _same(result, index.permute(0, *range(2, index.dim()), 1)):
        return Outcome("to_last")
    groups = _shuffle_groups(index, result)
    return Outcome("channel_shuffle", groups) if groups else Outcome(None)


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.equal(a, b)


def shuffled(index: torch.Tensor, groups: int) -> torch.Tensor:
    """The closed form of a channel shuffle (ShuffleNet, Zhang et al. 2018, Fig. 1; torch's
    nn.ChannelShuffle): channels seen as [groups, C/groups], transposed, read back in order."""
    n, c, *rest = index.shape
    return index.reshape(n, groups, c // groups, *rest).transpose(1, 2).reshape(index.shape)


def _shuffle_groups(index: torch.Tensor, result: torch.Tensor) -> int:
    """The groups g whose shuffle `result` is, else 0: output channel 1 is input channel C/g, so g
    is read from it and the whole result checked against the closed form once."""
    if result.shape != index.shape or index.dim() < 2 or index.shape[1] < 2:
        return 0
    per_channel = index[0, 0].numel()
    second = int(result.reshape(index.shape[0], index.shape[1], -1)[0, 1, 0]) // per_channel
    channels = index.shape[1]
    if second < 1 or channels % second:
        return 0
    groups = channels // second
    return groups if 1 < groups < channels and _same(result, shuffled(index, groups)) else 0
