"""Budgets: limits a design must stay within (parameters, MACs, activation memory).

A spec may carry its own `budget:` section; `archcalc check` adds limits given on the command line.
Holding a budget against an analysis is archcalc.checking's job; this module is only the model,
which every spec load needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from .dtypes import DTYPE_BYTES
from .sizes import SizeError, parse_bytes, parse_count


def _pydantic(parse: Callable[[Any], int]) -> Callable[[Any], int]:
    def validate(value: Any) -> int:
        try:
            return parse(value)
        except SizeError as err:
            raise PydanticCustomError("bad_value", "{reason}", {"reason": str(err)}) from None

    return validate


Count = Annotated[int, BeforeValidator(_pydantic(parse_count), json_schema_input_type=int | str)]
ByteSize = Annotated[int, BeforeValidator(_pydantic(parse_bytes), json_schema_input_type=int | str)]


class Budget(BaseModel):
    """Limits for one design. Counts take 5M / 2.5G; memory takes 100MB (10^6) or 1.5GiB (2^30)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    max_params: Count | None = Field(None, description="most parameters (weights + biases), e.g. 5M")
    max_macs: Count | None = Field(None, description="most multiply-accumulates per example, e.g. 2G")
    max_activations: ByteSize | None = Field(
        None, description="most activation memory per example (units x bytes at `dtype`), e.g. 100MB or 96MiB"
    )
    dtype: str | None = Field(None, description="element type for memory limits (fp32, fp16, bf16, int8, fp64)")

    @field_validator("dtype")
    @classmethod
    def _known_dtype(cls, value: str | None) -> str | None:
        if value is not None and value not in DTYPE_BYTES:
            raise PydanticCustomError(
                "bad_value", "must be one of {names}, got {got}", {"names": ", ".join(DTYPE_BYTES), "got": repr(value)}
            )
        return value
