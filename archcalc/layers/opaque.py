"""An opaque layer: a module archcalc cannot see into (`archcalc import --opaque`), carried with the
counts read from it: parameters, buffers, output shape. Its MACs are unknown, not zero: every table,
report and JSON marks it, and `archcalc check` refuses a MACs budget on a spec that holds one."""

from __future__ import annotations

from math import prod
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator
from pydantic_core import PydanticCustomError

from ..errors import LayerError
from ..fields import Count, _check_size
from ..formulas import Derivation, volume
from .base import Counts, Layer, RFStep, Shape, TorchCall, check_shape
from .channelwise import output_line
from .ops import Op, Saves

# What autograd saves inside the module is unknown: counted as nothing (the training memory's
# saved activations are then a lower bound, as its MACs are). No tool's preset charges it: the
# built stand-in computes nothing a counter sees.
OPAQUE = Op("opaque", Saves(), fusion="kernel")
# The counts an opaque row leaves unknown (its FLOPs with its MACs): every table, report, diff and
# JSON that marks them reads this one set
UNKNOWN_COUNTS = frozenset({"connections", "macs"})

# a class name as Python writes it: dotted identifiers, at most this long
MAX_MODULE_NAME = 200


def _shape(value: Any) -> tuple[int, ...]:
    """A shape as written: 1 to 4 sizes, each from 1 to MAX_SIZE (the door: fields._check_size)."""
    if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= 4:
        got = f"{len(value)} sizes" if isinstance(value, (list, tuple)) else repr(value)
        raise PydanticCustomError(
            "bad_value",
            "must be a list of 1 to 4 sizes ([C], [C, L], [C, H, W] or [C, D, H, W]), got {got}",
            {"got": got},
        )
    return tuple(_check_size(v, 1) for v in value)


class Opaque(Layer):
    """A module archcalc cannot see into: parameters, buffers and output shape read from it; MACs unknown.

    Its parameters count as weights (no biases: which are which is not known). Its receptive field
    is unknown. The torch builder makes a stand-in holding that many parameters and buffers and
    returning zeros of the output shape, so `verify` compares the counts, not the computation.
    """

    kind: Literal["opaque"]
    ops = (OPAQUE,)
    params: Count = Field(0, description="the module's parameters (counted as weights)")
    buffers: Count = Field(0, description="the elements of the module's buffers (running statistics, counters)")
    out_shape: Annotated[tuple[int, ...], BeforeValidator(_shape)] = Field(
        description="its output shape per example, channels first: [C], [C, L], [C, H, W] or [C, D, H, W]"
    )
    module: str = Field("", description="the torch class it stands for (its name, e.g. MultiheadAttention)")

    @field_validator("module")
    @classmethod
    def _class_name(cls, value: str) -> str:
        if value and (len(value) > MAX_MODULE_NAME or not all(part.isidentifier() for part in value.split("."))):
            raise PydanticCustomError(
                "bad_value",
                "must be a Python class name (identifiers joined by dots, at most {limit} characters)",
                {"limit": MAX_MODULE_NAME},
            )
        return value

    def counts(self, shape: Shape) -> Counts:
        out = check_shape(self.out_shape)
        return Counts(
            out_shape=out, units=prod(out), weights=self.params, buffers=self.buffers, op=OPAQUE.name, opaque=True
        )

    def describe(self, shape: Shape) -> str:
        return f"opaque {self.module}, MACs unknown" if self.module else "opaque, MACs unknown"

    def explain(self, shape: Shape) -> tuple[Derivation, ...]:
        return (
            output_line(self.out_shape, f"as read from the module: {volume(self.out_shape)}"),
            Derivation("parameters", f"as read from the module: {self.params:,} parameters", self.params),
            Derivation("MACs (unknown)", "archcalc cannot see inside an opaque module: its MACs are not counted"),
        )

    def rf_step(self, shape: Shape) -> RFStep | None:
        raise LayerError(
            "unknown_receptive_field",
            f"an opaque layer{f' ({self.module})' if self.module else ''} hides how its outputs depend on"
            " its inputs, so the receptive field past it is unknown",
            hint="ask for the receptive fields of the layers before it (a spec ending there)",
        )

    def torch_call(self, shape: Shape) -> TorchCall:
        return TorchCall("Opaque", {"params": self.params, "buffers": self.buffers, "out_shape": tuple(self.out_shape)})
