"""The network spec: metadata, input shape and the ordered layers (validated by pydantic)."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    WithJsonSchema,
    model_validator,
)

from .budget import Budget
from .conventions import Convention
from .errors import SpecError
from .fields import LAYER_NAMES_SCHEMA, MAX_SIZE, LayerName, Size
from .layers import LayerSpec
from .layers.base import check_references, layer_list, level_list


class Spec(BaseModel):
    """One architecture. `input` is channels-first: [C, H, W]; [C, L] for 1-D; [C, D, H, W] for 3-D;
    [F] for a plain feature vector."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$", max_length=100)
    title: str = ""
    family: str = "custom"
    source: str = ""
    notes: str = ""
    convention: Convention | None = None  # how the source publication counts (`--convention paper`)
    input: tuple[Size, ...] = Field(min_length=1, max_length=4)
    layers: Annotated[list[LayerSpec], BeforeValidator(layer_list), AfterValidator(level_list)] = Field(min_length=1)
    budget: Budget | None = None  # limits `archcalc check` enforces (max_params, max_macs, max_activations)
    # the graph form: the top-level layers whose outputs the network returns (default: the last)
    outputs: Annotated[list[LayerName], WithJsonSchema({**LAYER_NAMES_SCHEMA, "uniqueItems": True})] | None = Field(
        default=None,
        min_length=1,
        description="graph form: the top-level layers the network returns (default: the last)",
    )

    # Where the spec came from, so errors found later (in the analyzer) can name file and line.
    _source: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _graph(self) -> Spec:
        """The top-level list keeps the graph form's rules, with `outputs:` counting as reads."""
        check_references(self.layers, self.outputs, ("layers",))
        return self

    def with_input(self, shape: tuple[int, ...]) -> Spec:
        """The same network on another input size (`--input 3x224x224`), within the spec's limits."""
        if not 1 <= len(shape) <= 4 or any(not 1 <= size <= MAX_SIZE for size in shape):
            raise SpecError("bad_value", f"an input shape has 1 to 4 sizes from 1 to {MAX_SIZE:,}, got {list(shape)}")
        copy = BaseModel.model_copy(self, update={"input": tuple(shape)})  # checked above: no re-validation
        copy._source = self._source
        return copy

    def replace(self, **changes: Any) -> Spec:
        """A variant with some fields changed, validated as a new spec is (pydantic's `model_copy`
        trusts its update: a bad layer would only fail deep in the analyzer).

        >>> from archcalc import load_spec
        >>> load_spec("lenet5").replace(name="lenet5b", input=(1, 36, 36)).input
        (1, 36, 36)
        """
        return type(self).model_validate({**dict(self), **changes})

    def model_copy(self, *, update: Any = None, deep: bool = False) -> Spec:
        """pydantic's copy, but an `update` is validated (`replace`), so no copy skips the spec's rules."""
        if update:
            return self.replace(**update)
        return super().model_copy(deep=deep)


def require_spec(value: object, caller: str) -> Spec:
    """`value` when it is a Spec; else a TypeError that says how to get one (a name, a path, a mapping)."""
    if isinstance(value, Spec):
        return value
    if isinstance(value, (str, PurePath)):
        how = f"load it first: {caller}(load_spec({str(value)!r})) (a bundled name or a YAML path)"
    elif isinstance(value, dict):
        how = f"validate it first: {caller}(Spec.model_validate(data)), or parse_spec(yaml_text, 'name.yaml')"
    else:
        how = "build one with Spec(name=..., input=..., layers=[...]), load_spec(name or path) or parse_spec(text)"
    raise TypeError(f"{caller} takes a Spec, got {type(value).__name__}: {how}")
