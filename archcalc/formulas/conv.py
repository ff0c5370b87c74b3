"""Convolution and transposed-convolution counts as pure functions of sizes and hyper-parameters.

The kinds in `archcalc.layers.conv` and the `conv` calculator both call these. The unit is the
multiply-accumulate (MAC): fvcore's `conv_flop_count` counts the same number and calls it a
"flop"; torch.utils.flop_counter's `conv_flop_count` counts two per MAC.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Literal

from .. import arith
from ..errors import LayerError
from .text import Derivation, macs_derivation, params_derivation

BiasMode = bool | Literal["per_unit", "per_position"]


@dataclass(frozen=True, slots=True)
class KernelCounts:
    """What one layer of kernels costs per example (weights and biases apart, MACs per dense tap).

    `macs_on_output`: a transposed convolution's MACs counted on its output positions, as
    torchinfo and thop do (None for a convolution, where both ways agree).
    """

    units: int
    weights: int
    biases: int
    connections: int
    macs: int
    macs_on_output: int | None = None


def group_count(groups: int | Literal["depthwise"], in_channels: int, out_channels: int) -> int:
    """The groups of a grouped convolution, which must divide both channel counts (torch's rule).

    `depthwise` is one group per input channel.

    >>> group_count("depthwise", 32, 64), group_count(2, 4, 6)
    (32, 2)
    """
    count = in_channels if groups == "depthwise" else groups
    for what, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
        if channels % count:
            divisors = [g for g in range(1, min(channels, 64) + 1) if channels % g == 0]
            raise LayerError(
                "groups_mismatch",
                f"groups={count} does not divide {what}={channels}",
                field="groups",
                hint=f"use a divisor of {channels}, such as {', '.join(map(str, divisors[:8]))}",
            )
    return count


def bias_count(mode: BiasMode, out_shape: tuple[int, ...]) -> int:
    """Biases of a layer with output [C, *spatial]: C shared (`true`), none (`false`), one per
    output element (`per_unit`, LeNet-1989's unshared biases) or one per spatial position
    shared over the maps (`per_position`, AlphaGo's final 1x1 conv).

    >>> bias_count(True, (12, 8, 8)), bias_count("per_unit", (12, 8, 8)), bias_count("per_position", (1, 19, 19))
    (12, 768, 361)
    """
    if mode == "per_unit":
        return prod(out_shape)
    if mode == "per_position":
        return prod(out_shape[1:])
    return out_shape[0] if mode else 0


def conv_counts(
    links: int, out_channels: int, kernel: tuple[int, ...], out: tuple[int, ...], covered: int, biases: int
) -> KernelCounts:
    """A convolution whose `links` (input map, output map) pairs each carry one kernel.

    weights = links x prod(K); MACs = prod(out) x links x prod(K): fvcore's conv_flop_count,
    prod(out_shape) x prod(w_shape[1:]) with w = C_out x C_in/G x K...; connections = links x the
    (input, output) position pairs a window covers, padding excluded (`arith.covered_pairs`).
    A full conv has links = C_out x C_in/G; a connection table (LeNet-5's C3) lists its own.

    AlexNet's conv1 (as one group): 3 -> 96 maps, 11x11/4 on 227x227; no padding, so every tap is
    a connection (605 covered pairs per dimension: 55 outputs x 11).

    >>> conv_counts(96 * 3, 96, (11, 11), (55, 55), 605 * 605, 96)
    KernelCounts(units=290400, weights=34848, biases=96, connections=105415200, macs=105415200, macs_on_output=None)
    """
    taps = links * prod(kernel)
    return KernelCounts(
        units=out_channels * prod(out),
        weights=taps,
        biases=biases,
        connections=links * covered,
        macs=taps * prod(out),
    )


def transposed_sizes(
    sizes: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    output_padding: tuple[int, ...],
    dilation: tuple[int, ...],
) -> tuple[int, ...]:
    """A transposed convolution's output per dimension, (W - 1)*S - 2P + D*(K - 1) + output_padding + 1
    (torch's ConvTranspose docs; Dumoulin & Visin, relationship 14); every tuple per dimension.

    >>> transposed_sizes((4, 5), (3, 3), (2, 2), (1, 1), (1, 0), (1, 1))
    (8, 9)
    """
    return tuple(
        arith.transposed_output_size(n, k, s, p, op, d)
        for n, k, s, p, op, d in zip(sizes, kernel, stride, padding, output_padding, dilation)
    )


def transposed_counts(
    in_channels: int,
    out_channels: int,
    groups: int,
    sizes: tuple[int, ...],
    kernel: tuple[int, ...],
    out: tuple[int, ...],
    covered: int,
    bias: bool,
) -> KernelCounts:
    """A transposed convolution: every input position scatters through C_out/G x prod(K) taps.

    weights = C_in x C_out/G x prod(K) (torch's weight C_in x C_out/G x K...); MACs on input
    positions C_in x prod(W) x C_out/G x prod(K) (fvcore's and torch.utils.flop_counter's
    transposed conv_flop_count), and on output positions C_out x prod(out) x C_in/G x prod(K)
    (torchinfo's and thop's); connections =
    C_in x C_out/G x the covered (input, output) pairs (`arith.transposed_covered_pairs`).

    >>> transposed_counts(4, 2, 1, (3,), (3,), (7,), 9, True)
    KernelCounts(units=14, weights=24, biases=2, connections=72, macs=72, macs_on_output=168)
    """
    per_input = (out_channels // groups) * prod(kernel)
    return KernelCounts(
        units=out_channels * prod(out),
        weights=in_channels * per_input,
        biases=out_channels if bias else 0,
        connections=in_channels * (out_channels // groups) * covered,
        macs=in_channels * prod(sizes) * per_input,
        macs_on_output=out_channels * prod(out) * (in_channels // groups) * prod(kernel),
    )


def transposed_covered(
    sizes: tuple[int, ...],
    out: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
) -> int:
    """(input, output) position pairs a transposed convolution joins, the product over dimensions.

    >>> transposed_covered((3,), (7,), (3,), (2,), (0,), (1,))
    9
    """
    return prod(
        arith.transposed_covered_pairs(n, o, k, s, p, d)
        for n, o, k, s, p, d in zip(sizes, out, kernel, stride, padding, dilation)
    )


def conv_derivations(
    out_channels: int, fan_in: tuple[int, ...], out: tuple[int, ...], biases: int
) -> tuple[Derivation, Derivation]:
    """Parameters OUT x (IN/G x K...) + biases, and MACs: every output times its fan-in.

    >>> [d.formula for d in conv_derivations(96, (3, 11, 11), (55, 55), 96)]
    ['96 x (3 x 11 x 11) + 96 = 34,944 parameters', '55 x 55 x 96 outputs x (3 x 11 x 11) = 105,415,200 MACs']
    """
    return params_derivation(out_channels, fan_in, biases), macs_derivation((*out, out_channels), fan_in)


def transposed_derivations(
    in_channels: int, fan_out: tuple[int, ...], sizes: tuple[int, ...], biases: int
) -> tuple[Derivation, Derivation]:
    """Parameters IN x (OUT/G x K...) + OUT, and MACs counted on input positions.

    >>> [d.formula for d in transposed_derivations(4, (2, 3), (3,), 2)]
    ['4 x (2 x 3) + 2 = 26 parameters', '3 x 4 inputs x (2 x 3) = 72 MACs']
    """
    return params_derivation(in_channels, fan_out, biases), macs_derivation((*sizes, in_channels), fan_out, "inputs")
