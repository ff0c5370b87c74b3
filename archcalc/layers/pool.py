"""Pooling kinds: max and average windows, adaptive and global pooling."""

from __future__ import annotations

from math import prod
from typing import Literal

from pydantic import AliasChoices, Field

from .. import arith
from ..errors import LayerError
from ..fields import Padding, SizeTuple
from .base import Counts, Layer, Shape, Window, _dims_text, _expand, _spatial, resolve_window


class _Pool(Layer):
    kernel_size: SizeTuple = Field(validation_alias=AliasChoices("kernel_size", "kernel"))
    stride: SizeTuple | None = None
    padding: Padding = ((0, 0),)
    ceil_mode: bool = False

    def window(self, shape: Shape) -> Window:
        _, sizes = _spatial(shape, self.kind)  # type: ignore[attr-defined]
        dilation = getattr(self, "dilation", (1,))
        win = resolve_window(
            sizes, self.kernel_size, self.stride or self.kernel_size, dilation, self.padding, self.ceil_mode
        )
        if isinstance(self.padding, tuple):
            for (before, after), k, d in zip(win.padding, win.kernel, win.dilation):
                half = arith.effective_kernel(k, d) // 2
                if max(before, after) > half:
                    raise LayerError(
                        "padding_too_large",
                        f"pooling padding {max(before, after)} exceeds half the kernel ({half})",
                        field="padding",
                        hint=f"use padding of at most {half}",
                    )
        return win

    def counts(self, shape: Shape) -> Counts:
        win = self.window(shape)
        channels = shape[0]
        return Counts(
            out_shape=(channels, *win.out),
            units=channels * prod(win.out),
            connections=channels * win.covered(),
            padded_connections=channels * prod(win.out) * prod(win.kernel),
        )

    def describe(self, shape: Shape) -> str:
        return self.window(shape).summary() + (" ceil" if self.ceil_mode else "")


class MaxPool(_Pool):
    """Max pooling; stride defaults to the kernel size."""

    kind: Literal["maxpool"]
    dilation: SizeTuple = (1,)


class AvgPool(_Pool):
    """Average pooling; stride defaults to the kernel size."""

    kind: Literal["avgpool"]
    count_include_pad: bool = True


class AdaptivePool(Layer):
    """Adaptive pooling to a fixed output size (PyTorch's window rule)."""

    kind: Literal["adaptive_avgpool", "adaptive_maxpool"]
    output_size: SizeTuple = Field(validation_alias=AliasChoices("output_size", "out", "size"))

    def counts(self, shape: Shape) -> Counts:
        channels, sizes = _spatial(shape, self.kind)
        out = _expand(self.output_size, len(sizes), "output_size")
        return Counts(
            out_shape=(channels, *out),
            units=channels * prod(out),
            connections=channels * prod(arith.adaptive_covered(n, o) for n, o in zip(sizes, out)),
        )

    def describe(self, shape: Shape) -> str:
        return f"-> {_dims_text(_expand(self.output_size, len(shape) - 1, 'output_size'))}"


class GlobalPool(Layer):
    """Pooling over all spatial positions; keeps singleton dimensions, as torch does."""

    kind: Literal["global_avgpool", "global_maxpool"]

    def counts(self, shape: Shape) -> Counts:
        channels, sizes = _spatial(shape, self.kind)
        return Counts(
            out_shape=(channels, *(1,) * len(sizes)), units=channels, connections=channels * prod(sizes)
        )
