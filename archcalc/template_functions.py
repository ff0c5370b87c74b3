"""The functions a template expression may call (`${max(c // 4, 8)}`, `${round_to(c * 3 / 4, 8)}`).

Values are exact: integers, or fractions where `/` made one (Python's `fractions.Fraction`), never
floats, so a rounding rule decides the same way on every machine. The expression evaluator
(templates.py) checks each function's arity and every value it returns against its limits.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

Value = int | Fraction


def round_to(value: Value, multiple: int, minimum: int | None = None) -> int:
    """torchvision's `_make_divisible(v, divisor, min_value=None)` (torchvision/models/_utils.py),
    the channel rounding of MobileNet V2/V3 and EfficientNet, computed exactly:

        new = max(minimum, int(v + divisor / 2) // divisor * divisor)   # minimum defaults to divisor
        if new < 0.9 * v: new += divisor                                 # never more than 10% down

    `int()` truncates toward zero, as Python's does. torchvision computes in floats; here `v + d/2`
    and `0.9 * v` are exact fractions. The two agree wherever torchvision's floats are exact: every
    integer v, and v = c * width for a width that is a binary fraction (0.25, 0.5, 0.75, 1.25).
    Where its float product is rounded they may not: 360 * 0.35 is 125.99999999999999 in floats,
    which torchvision rounds to 124, where `round_to(360 * 35 / 100, 4)` is 128 (of 126 exactly).

    >>> round_to(37, 8), round_to(36, 8), round_to(3, 8), round_to(Fraction(96 * 3, 4), 8)
    (40, 40, 8, 72)
    >>> round_to(Fraction(18), 16)   # 16 is more than 10% under 18: one more multiple
    32
    """
    if multiple < 1:
        raise ValueError(f"round_to's multiple must be 1 or more, got {multiple}")
    floor = minimum if minimum is not None else multiple
    new = max(floor, math.trunc(value + Fraction(multiple, 2)) // multiple * multiple)
    if new < Fraction(9, 10) * value:
        new += multiple
    return new


@dataclass(frozen=True, slots=True)
class Function:
    """A callable name: how many arguments it takes, which must be integers (by position, from 0),
    and its signature as an error message shows it."""

    call: Callable[..., Value]
    arity: tuple[int, int]
    integers: tuple[int, ...]
    signature: str


FUNCTIONS: dict[str, Function] = {
    "min": Function(min, (2, 2), (), "min(a, b)"),
    "max": Function(max, (2, 2), (), "max(a, b)"),
    "round_to": Function(round_to, (2, 3), (1, 2), "round_to(x, multiple) or round_to(x, multiple, minimum)"),
}
