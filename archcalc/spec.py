"""The network spec: metadata, input shape and the ordered layers (validated by pydantic)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from .conventions import Convention
from .fields import Size
from .layers import LayerSpec


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
    layers: list[LayerSpec] = Field(min_length=1)

    # Where the spec came from, so errors found later (in the analyzer) can name file and line.
    _source: Any = PrivateAttr(default=None)

    def with_input(self, shape: tuple[int, ...]) -> Spec:
        """The same network on another input size (`--input 3x224x224`)."""
        copy = self.model_copy(update={"input": tuple(shape)})
        copy._source = self._source
        return copy
