"""Derivations as text: the seeds' formulas with the numbers put in, and the value they give.

Pure functions from integers to strings, shared by the `conv` calculator and the layers'
`explain` methods, so `archcalc conv` and `archcalc shapes --explain` write one formula one way.
Numbers inside formulas are plain (227, 11); results carry thousands separators (37,752,832).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from ..arith import effective_kernel


@dataclass(frozen=True, slots=True)
class Derivation:
    """One derived quantity: what it is, the formula with numbers in, and the exact value.

    `value` is None for statements that are not a count (an element-wise layer's shape).
    """

    what: str
    formula: str
    value: int | None = None


def volume(shape: tuple[int, ...]) -> str:
    """A channels-first shape as the seeds write volumes, H x W x C: (96, 55, 55) -> 55x55x96.

    >>> volume((96, 55, 55)), volume((4096,))
    ('55x55x96', '4096')
    """
    if len(shape) == 1:
        return str(shape[0])
    return "x".join(str(s) for s in (*shape[1:], shape[0]))


def spatial_size(shape: tuple[int, ...]) -> int | None:
    """The size an "output" derivation states: the output's spatial size when every dimension
    agrees (the value `shapes --explain` holds to the analysis), else None.

    >>> spatial_size((6, 7)), spatial_size((6, 4, 4)), spatial_size((6, 4, 5)), spatial_size((6,))
    (7, 4, None, None)
    """
    return shape[1] if len(shape) > 1 and len(set(shape[1:])) == 1 else None


def _kernel_term(kernel: int, dilation: int) -> str:
    return str(kernel) if dilation == 1 else f"({dilation}*({kernel} - 1) + 1)"


def window_formula(
    size: int,
    kernel: int,
    stride: int,
    pad_before: int,
    pad_after: int,
    dilation: int,
    out: int,
    ceil_mode: bool = False,
) -> str:
    """The output size of a sliding window written as the seeds do: (W - K + 2P)/S + 1.

    floor(...) or ceil(...) appears when the division is not exact; per-side padding is written
    as P_before + P_after; a dilated kernel as its span D*(K - 1) + 1.

    >>> window_formula(227, 11, 4, 0, 0, 1, 55)
    '(227 - 11 + 2*0)/4 + 1 = 55'
    >>> window_formula(13, 6, 5, 0, 0, 1, 2)
    'floor((13 - 6 + 2*0)/5) + 1 = 2'
    >>> window_formula(13, 6, 5, 1, 2, 1, 3)
    '(13 - 6 + 1 + 2)/5 + 1 = 3'
    """
    pads = f"2*{pad_before}" if pad_before == pad_after else f"{pad_before} + {pad_after}"
    inner = f"({size} - {_kernel_term(kernel, dilation)} + {pads})/{stride}"
    room = size + pad_before + pad_after - effective_kernel(kernel, dilation)
    if room % stride:
        inner = f"{'ceil' if ceil_mode else 'floor'}({inner})"
    text = f"{inner} + 1"
    if ceil_mode and room % stride and out == -(-room // stride):
        text += " - 1"  # PyTorch drops a last window that would start in the right padding
    return f"{text} = {out}"


def transposed_formula(
    size: int, kernel: int, stride: int, padding: int, output_padding: int, dilation: int, out: int
) -> str:
    """A transposed conv's output size, PyTorch's form of Dumoulin & Visin's relationship 14:
    (W - 1)*S - 2P + D*(K - 1) + output_padding + 1.

    >>> transposed_formula(2, 3, 2, 1, 1, 1, 4)
    '(2 - 1)*2 - 2*1 + (3 - 1) + 1 + 1 = 4'
    """
    dil = "" if dilation == 1 else f"{dilation}*"
    extra = f" + {output_padding}" if output_padding else ""
    return f"({size} - 1)*{stride} - 2*{padding} + {dil}({kernel} - 1){extra} + 1 = {out}"


def _product(values: tuple[int, ...] | list[int]) -> str:
    return " x ".join(str(v) for v in values)


def params_derivation(fan_out: int, fan_in: tuple[int, ...], biases: int) -> Derivation:
    """Weights fan_out x prod(fan_in), plus biases, as one line.

    >>> params_derivation(4096, (9216,), 4096).formula
    '9216 x 4096 + 4096 = 37,752,832 parameters'
    >>> params_derivation(96, (3, 11, 11), 96).formula
    '96 x (3 x 11 x 11) + 96 = 34,944 parameters'
    """
    weights = fan_out * prod(fan_in)
    if len(fan_in) == 1:  # a matrix: in x out, as the seeds write fully connected layers
        text = f"{fan_in[0]} x {fan_out}"
    else:
        text = f"{fan_out} x ({_product(fan_in)})"
    if biases:
        text += f" + {biases}"
    total = weights + biases
    return Derivation("parameters", f"{text} = {total:,} parameters", total)


def macs_derivation(outputs: tuple[int, ...], fan_in: tuple[int, ...], what: str = "outputs") -> Derivation:
    """Multiply-accumulates: every output (or input, for a transposed conv) times its fan-in.

    >>> macs_derivation((55, 55, 96), (3, 11, 11)).formula
    '55 x 55 x 96 outputs x (3 x 11 x 11) = 105,415,200 MACs'
    """
    total = prod(outputs) * prod(fan_in)
    fan = _product(fan_in) if len(fan_in) == 1 else f"({_product(fan_in)})"
    return Derivation("MACs", f"{_product(outputs)} {what} x {fan} = {total:,} MACs", total)
