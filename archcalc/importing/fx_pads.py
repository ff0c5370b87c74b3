"""Explicit padding (F.pad, ZeroPadNd, ConstantPadNd) and channel slices (`x[:, a:b]`, narrow) as spec fields.

A spec has no pad layer: a convolution or pooling layer pads its own input, on each side as it is
told (`padding: [[top, bottom], [left, right]]`), and `export --to torch` writes asymmetric padding
as a ConstantPad before the op. So a constant pad of the spatial sizes, read by a convolution or a
pooling layer, is that layer's padding, added to its own. A slice of the channels is one part of a
`split` whose sections are the slice and what lies either side of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from ..layers import KIND_TO_CLASS
from .torch_kinds import Call, Mapped, Unmappable

PAD_MODULES: tuple[type[nn.Module], ...] = (
    nn.ZeroPad1d,
    nn.ZeroPad2d,
    nn.ZeroPad3d,
    nn.ConstantPad1d,
    nn.ConstantPad2d,
    nn.ConstantPad3d,
)


@dataclass(frozen=True, slots=True)
class Pad:
    """(before, after) per spatial dimension, first dimension first (a spec's order), and the value."""

    pairs: tuple[tuple[int, int], ...]
    value: float


def pad_of_module(m: nn.Module, in_shape: tuple[int, ...]) -> Pad:
    """A ZeroPadNd's or ConstantPadNd's padding (torch stores it last dimension first)."""
    assert isinstance(m, nn.modules.padding._ConstantPadNd)  # ZeroPadNd is one, of value 0
    return _pad(list(m.padding), "constant", float(m.value), in_shape)


def pad_of_call(call: Call) -> Pad:
    """F.pad(x, pad, mode, value) as run (value None is 0)."""
    value = call.arg(3, "value")
    return _pad(
        call.arg(1, "pad"), call.arg(2, "mode", "constant"), 0.0 if value is None else float(value), call.in_shape
    )


def _pad(sizes: Any, mode: Any, value: float, in_shape: tuple[int, ...]) -> Pad:
    """torch's pad list (pairs from the last dimension backwards) as per-dimension pairs of the
    spatial dimensions; refused where it pads the batch or channels, crops, or is not constant."""
    if mode != "constant":
        raise Unmappable(f"a pad in mode {mode!r} (a spec pads with a constant: zeros, or -inf before max pooling)")
    flat = [int(s) for s in sizes]
    rank = len(in_shape)
    if len(flat) % 2 or len(flat) // 2 > rank:
        raise Unmappable(f"a pad list {flat} for a tensor of rank {rank}")
    if any(s < 0 for s in flat):
        raise Unmappable(f"a negative pad {flat} (a crop; a spec's padding adds only)")
    pairs = [(0, 0)] * rank
    for i in range(len(flat) // 2):
        pairs[rank - 1 - i] = (flat[2 * i], flat[2 * i + 1])
    if any(p for pair in pairs[:2] for p in pair):
        raise Unmappable(f"a pad of the batch or channels ({flat}; a spec pads the spatial sizes only)")
    return Pad(tuple(pairs[2:]), value)


def add_pads(first: Pad, second: Pad) -> Pad:
    """Two pads in a row, of one value: one pad."""
    if first.value != second.value:
        raise Unmappable(f"pads of two values in a row ({first.value} then {second.value})")
    pairs = tuple((a + c, b + d) for (a, b), (c, d) in zip(first.pairs, second.pairs))
    return Pad(pairs, first.value)


def fold_pad(mapped: Mapped, pad: Pad) -> Mapped:
    """`mapped` (the layer reading the padded tensor) with the pad added to its own padding."""
    # the value the kind's own padding holds (its class says: a max pads with -inf, which it never
    # picks; a convolution and an average with zeros); a kind without padding takes no pad
    wanted = getattr(KIND_TO_CLASS.get(mapped.kind), "pad_value", None)
    if wanted is None:
        raise Unmappable(f"a pad read by {mapped.kind} (a spec pads inside a convolution or pooling layer only)")
    if pad.value != wanted:
        raise Unmappable(f"a pad of value {pad.value} before {mapped.kind}, whose own padding holds {wanted}")
    fields = dict(mapped.fields)
    own = fields.get("padding", [0] * len(pad.pairs))
    if isinstance(own, str):
        raise Unmappable(f"a pad before {mapped.kind} with padding={own!r}")
    if mapped.kind == "avgpool" and any(own) and fields.get("count_include_pad") is False:
        raise Unmappable("a pad before an avgpool that leaves its own padding out of the average")
    pairs = [(p + before, p + after) for p, (before, after) in zip(own, pad.pairs)]
    fields.pop("count_include_pad", None)  # the pad's zeros are input: counted in every average
    if all(before == after for before, after in pairs):
        fields["padding"] = [before for before, _ in pairs]
    else:
        fields["padding"] = [[before, after] for before, after in pairs]
    if not any(p for pair in pairs for p in pair):
        del fields["padding"]
    return Mapped(mapped.kind, fields)


def channel_slice(index: Any, channels: int) -> tuple[int, int] | None:
    """`x[:, a:b]` (with any trailing `:` or `...`) as the channels [start, stop) it keeps; None
    for any other index (an int, a step, a slice of the batch or of a spatial dimension)."""
    if not isinstance(index, tuple) or len(index) < 2 or index[0] != slice(None):
        return None
    part = index[1]
    if not isinstance(part, slice) or part.step not in (None, 1):
        return None
    if any(rest is not Ellipsis and rest != slice(None) for rest in index[2:]):
        return None
    start, stop, _ = part.indices(channels)
    return start, stop


def slice_split(start: int, stop: int, channels: int) -> Mapped:
    """The channels [start, stop) as a split's part: sections before, the slice, after (each non-empty).

    >>> slice_split(0, 16, 48), slice_split(16, 48, 48).fields
    (Mapped(kind='split', fields={'sections': [16, 32], 'index': 0}), {'sections': [16, 32], 'index': 1})
    """
    if stop <= start:
        raise Unmappable(f"a slice of no channels ({start}:{stop} of {channels})")
    sections = [size for size in (start, stop - start, channels - stop) if size]
    return Mapped("split", {"sections": sections, "index": 1 if start else 0})
