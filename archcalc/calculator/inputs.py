"""What the calculator accepts: the operation, per-dimension numbers, and their checks.

The calculator builds no layer model, so it checks the numbers it is given with the layer fields'
own types (`archcalc.fields`): a bad number reads as it would in a spec.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError
from typing_extensions import TypedDict  # pydantic reads TypedDicts from typing only on Python >= 3.12

from ..errors import SpecError, format_loc
from ..fields import Bias, Groups, NonNegativeTuple, Padding, Size, SizeTuple

Op = Literal["conv", "pool", "conv_transpose"]
# int | "same" | "valid" | per-dimension tuple of int or (before, after)
PadSpec = Any


class WindowNumbers(TypedDict, total=False):
    """A convolution's or a pooling window's numbers, named and typed as `Conv`'s and `MaxPool`'s fields."""

    kernel_size: SizeTuple
    stride: SizeTuple
    dilation: SizeTuple
    padding: Padding
    out_channels: Size
    groups: Groups
    bias: Bias
    ceil_mode: bool


class TransposedNumbers(TypedDict):
    """A transposed convolution's numbers, named and typed as `ConvTranspose`'s fields."""

    kernel_size: SizeTuple
    stride: SizeTuple
    dilation: SizeTuple
    padding: NonNegativeTuple
    output_padding: NonNegativeTuple
    out_channels: Size
    groups: Groups
    bias: bool


@cache
def _adapter(numbers: type) -> TypeAdapter[Any]:
    return TypeAdapter(numbers)


def checked(numbers: type, values: dict[str, Any]) -> Any:
    """`values` validated as `numbers` (a TypedDict above), or one SpecError naming the first bad one."""
    try:
        return _adapter(numbers).validate_python(values)
    except ValidationError as err:
        first = err.errors()[0]
        raise SpecError("bad_value", f"{format_loc(tuple(first['loc']))}: {first['msg']}") from None


def per_dim(value: Any, dims: int, name: str) -> tuple[Any, ...]:
    """One value for every dimension, or one per dimension."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(values) == 1:
        return values * dims
    if len(values) != dims:
        raise SpecError(
            "wrong_rank",
            f"{name} has {len(values)} values but the input has {dims} dimension(s)",
            hint=f"give one value or {dims} values (e.g. {'x'.join(['3'] * dims)})",
        )
    return values
