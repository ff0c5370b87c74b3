"""Fully connected and cross-channel counts as pure functions: linear, RBF, local response norm."""

from __future__ import annotations

from .. import arith


def dense_edges(in_features: int, out_features: int) -> int:
    """Every input joined to every output: IN x OUT weights, connections and MACs (torch's Linear
    weight is OUT x IN; fvcore's matmul_flop_count counts the same multiply-adds).

    >>> dense_edges(9216, 4096)
    37748736
    """
    return in_features * out_features


def lrn_connections(channels: int, size: int, positions: int) -> int:
    """Real taps of a local response normalisation across `size` neighbouring maps, per example.

    torch's LocalResponseNorm pads size//2 maps before and (size - 1)//2 after: across channels it
    is a stride-1 window of `size` taps, so its taps are that window's covered pairs, at each of
    the `positions` (Krizhevsky et al. 2012, section 3.3, sums over n adjacent maps).

    >>> lrn_connections(96, 5, 55 * 55)   # AlexNet's first LRN: 96 maps of 55x55
    1433850
    """
    return arith.covered_pairs(channels, channels, size, 1, size // 2) * positions


def pointwise_edges(in_channels: int, out_features: int, positions: int) -> int:
    """A linear map over the channels at every position (ConvNeXt's pointwise nn.Linear on a
    channels-last map): a 1x1 convolution's IN x OUT x positions weights taps, connections and
    MACs (fvcore's linear_flop_jit: the input's elements times OUT; FlopCounterMode: twice that).

    >>> pointwise_edges(96, 384, 56 * 56)   # ConvNeXt-T's first expansion at 56x56
    115605504
    """
    return dense_edges(in_channels, out_features) * positions
