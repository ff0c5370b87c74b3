"""Stochastic depth: a residual body's output dropped at random in training, the identity at inference."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..fields import real_in
from .base import Counts, Layer, Shape, TorchCall
from .dense import ACTIVATION_OPS
from .ops import Op, Saves

# In training, x * mask (torchvision.ops.stochastic_depth): the mul saves the mask, the one operand
# that needs no gradient's partner: a value per example (mode row) or one per batch (mode batch).
# The input itself at inference; no tool charges anything (measured: all five give 0).
STOCHASTIC_DEPTH_ROW = Op("stochastic_depth_row", Saves(example_values=1), alias="eval", fusion="view")
STOCHASTIC_DEPTH_BATCH = Op("stochastic_depth_batch", Saves(batch_values=1), alias="eval", fusion="view")
# p = 0 returns its input in training too: the identity's rules
IDENTITY = ACTIVATION_OPS["identity"]
_MODE_OPS = {"row": STOCHASTIC_DEPTH_ROW, "batch": STOCHASTIC_DEPTH_BATCH}


class StochasticDepth(Layer):
    """Stochastic depth (Huang et al. 2016): the identity at inference, no units or connections of its own.

    torchvision.ops.StochasticDepth.

    In training, each example's tensor (mode row) or the whole batch's (mode batch) is zeroed with
    probability p and the rest scaled by 1 / (1 - p); placed on a residual body, before the add.
    """

    kind: Literal["stochastic_depth"]
    ops = (STOCHASTIC_DEPTH_ROW, STOCHASTIC_DEPTH_BATCH, IDENTITY)
    p: real_in(0, 1, why="a probability") = Field(  # type: ignore[valid-type]
        description="the probability of dropping the input in training (torchvision's stochastic_depth_prob)"
    )
    mode: Literal["row", "batch"] = Field(
        "row", description="row: each example dropped on its own; batch: the whole batch at once"
    )

    def counts(self, shape: Shape) -> Counts:
        op = IDENTITY if self.p == 0 else _MODE_OPS[self.mode]
        return Counts(out_shape=shape, op=op.name)

    def describe(self, shape: Shape) -> str:
        return f"p={self.p:g}, {self.mode}"

    def torch_call(self, shape: Shape) -> TorchCall:
        return TorchCall("StochasticDepth", {"p": self.p, "mode": self.mode})
