"""The layer kinds: one pydantic model per kind, each holding every rule of its kind.

A kind is declared once, in its module: its fields (named after torch's constructor arguments,
with short aliases for hand-written YAML), its shape inference and counts (`counts`), its
one-line description (`describe`) and the ops its rows run (`ops`: each `Op` record carries what
autograd saves, whether it moves data, what each tool counts). Containers implement `lower`
instead (how they become nodes of the graph, archcalc/graph.py). Nothing anywhere switches on
the kind: to add one, write its class (and its ops) and list it in `LAYER_CLASSES` below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import AliasChoices, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from ..errors import close_matches
from . import structure
from .base import (
    SPATIAL_NAMES,
    Counts,
    Layer,
    Shape,
    TorchCall,
    Window,
    layer_names,
    leave_out,
    own_kinds,
    resolve_window,
)
from .channelwise import ChannelLinear, LayerNorm, LayerScale
from .classic import RBF, Subsample
from .conv import Conv, ConvTranspose
from .dense import (
    ACTIVATION_KINDS,
    Activation,
    BatchNorm,
    Dropout,
    Flatten,
    GroupNorm,
    LeakyReLU,
    Linear,
    LocalResponseNorm,
)
from .opaque import Opaque
from .ops import Op, Saves, register_ops
from .pool import AdaptivePool, AvgPool, GlobalPool, MaxPool
from .reshape import ChannelShuffle, Mean, Split, Upsample
from .stochastic import StochasticDepth
from .structure import Block, Branch, Merge, Parallel, Repeat, Residual

LAYER_CLASSES: tuple[type[Layer], ...] = (
    Conv,
    ConvTranspose,
    MaxPool,
    AvgPool,
    AdaptivePool,
    GlobalPool,
    Flatten,
    Linear,
    Activation,
    LeakyReLU,
    Dropout,
    BatchNorm,
    LocalResponseNorm,
    Subsample,
    RBF,
    # issue 16's kinds (kinds-a): channel split and shuffle, spatial mean, resize, group norm
    Split,
    ChannelShuffle,
    Mean,
    Upsample,
    GroupNorm,
    # ConvNeXt's block and the importer's stand-in (kinds-b)
    LayerNorm,
    ChannelLinear,
    LayerScale,
    StochasticDepth,
    Opaque,
    Block,
    Parallel,
    Residual,
    Repeat,
    Merge,
)


# every op a kind's rows run, with its rules; a kind whose op lacks a rule is refused here, at import
OPS: dict[str, Op] = register_ops(LAYER_CLASSES)

KIND_TO_CLASS: dict[str, type[Layer]] = {kind: cls for cls in LAYER_CLASSES for kind in own_kinds(cls)}
KINDS: tuple[str, ...] = tuple(KIND_TO_CLASS)

# Spellings people bring from other frameworks, accepted as the canonical kind.
KIND_ALIASES: dict[str, str] = {
    "conv1d": "conv",
    "conv2d": "conv",
    "conv3d": "conv",
    "convolution": "conv",
    "deconv": "conv_transpose",
    "convtranspose": "conv_transpose",
    "conv_transpose2d": "conv_transpose",
    "fc": "linear",
    "dense": "linear",
    "maxpool2d": "maxpool",
    "max_pool": "maxpool",
    "avgpool2d": "avgpool",
    "avg_pool": "avgpool",
    "bn": "batchnorm",
    "batchnorm2d": "batchnorm",
    "batch_norm": "batchnorm",
    "swish": "silu",
    "local_response_norm": "lrn",
    "group_norm": "groupnorm",
    "gn": "groupnorm",
    "interpolate": "upsample",
    "chunk": "split",
    "shuffle": "channel_shuffle",
    "layer_norm": "layernorm",
    "layernorm2d": "layernorm",
    "drop_path": "stochastic_depth",
}


def canonical_kind(name: str) -> str:
    """The kind a name stands for, in any case (`CONV`, `ReLU`, `Conv2d` -> conv, relu, conv): the
    kinds are lower-case and their aliases are matched lower-cased, so case never matters.

    >>> canonical_kind("ReLU"), canonical_kind("CONV2D"), canonical_kind("nope")
    ('relu', 'conv', 'nope')
    """
    lowered = name.lower()
    return KIND_ALIASES.get(lowered, lowered)


def suggest_kind(kind: str) -> str | None:
    """The nearest known kind to a misspelt one, if any is close."""
    matches = close_matches(kind.lower(), list(KINDS) + list(KIND_ALIASES))
    return KIND_ALIASES.get(matches[0], matches[0]) if matches else None


def _unknown_kind(kind: Any) -> PydanticCustomError:
    suggestion = suggest_kind(kind) if isinstance(kind, str) else None
    hint = f"did you mean '{suggestion}'?" if suggestion else "run `archcalc kinds` to list the layer kinds"
    return PydanticCustomError("unknown_kind", "unknown layer kind '{kind}'; {hint}", {"kind": kind, "hint": hint})


def normalize_layer(value: Any) -> Any:
    """`relu` -> {kind: relu}; `{conv: {out: 96}}` -> {kind: conv, out: 96}; aliases resolved.

    A layer built in Python (`Conv(out=16, kernel=3)`, `ReLU()`) is a value already: one of the
    union's classes as it is; a per-kind class (layers/by_kind.py) as its fields, for its kind's class."""
    body: Any  # the short form's value is checked below
    if isinstance(value, Layer):
        if type(value) is KIND_TO_CLASS.get(value.kind):  # type: ignore[attr-defined]
            return value
        return {"kind": value.kind, **value.model_dump(by_alias=True, exclude_unset=True, exclude={"kind"})}  # type: ignore[attr-defined]
    if isinstance(value, str):
        kind, body = value, {}
    elif isinstance(value, dict) and "kind" not in value:
        if len(value) != 1:
            raise PydanticCustomError(
                "missing_kind",
                "a layer needs a 'kind' (write `kind: conv`, or the short form `- conv: {out: 64, kernel: 3}`)",
            )
        ((kind, body),) = value.items()
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise PydanticCustomError(
                "wrong_type",
                "the short form `{kind}: ...` takes a mapping of fields, got {got}",
                {"kind": kind, "got": repr(body)},
            )
    elif isinstance(value, dict):
        kind, body = value["kind"], {k: v for k, v in value.items() if k != "kind"}
    else:
        raise PydanticCustomError(
            "wrong_type", "a layer must be a kind name or a mapping, got {got}", {"got": repr(value)}
        )
    if not isinstance(kind, str):
        raise _unknown_kind(kind)
    cls = KIND_TO_CLASS.get(canonical_kind(kind))
    if cls is None:
        raise _unknown_kind(kind)
    kind = canonical_kind(kind)
    if cls.REQUIRED_UNLESS:
        body = leave_out(cls, body)
    return {"kind": kind, **body}


if TYPE_CHECKING:
    LayerSpec = Layer
else:
    LayerSpec = Annotated[
        Annotated[Union[LAYER_CLASSES], Field(discriminator="kind")],  # noqa: UP007
        BeforeValidator(normalize_layer),
    ]

# The containers annotate their children as "LayerSpec"; it resolves in their module when the
# (deferred) schema is first built. Deferring matters: building every model's validator eagerly
# compiled the whole union once per container and doubled the start-up time of every command.
structure.LayerSpec = LayerSpec


def field_aliases() -> dict[str, tuple[str, ...]]:
    """Canonical field name -> every name accepted for it in a spec (for locating errors)."""
    aliases: dict[str, tuple[str, ...]] = {}
    for cls in LAYER_CLASSES:
        for fname, info in cls.model_fields.items():
            if isinstance(info.validation_alias, AliasChoices):
                aliases[fname] = tuple(str(c) for c in info.validation_alias.choices)
    return aliases


__all__ = [
    "ACTIVATION_KINDS",
    "KINDS",
    "KIND_ALIASES",
    "canonical_kind",
    "KIND_TO_CLASS",
    "LAYER_CLASSES",
    "SPATIAL_NAMES",
    "Activation",
    "AdaptivePool",
    "AvgPool",
    "BatchNorm",
    "Block",
    "Branch",
    "ChannelShuffle",
    "Conv",
    "ConvTranspose",
    "ChannelLinear",
    "Counts",
    "Dropout",
    "TorchCall",
    "layer_names",
    "Flatten",
    "GlobalPool",
    "GroupNorm",
    "Layer",
    "LayerNorm",
    "LayerScale",
    "LayerSpec",
    "LeakyReLU",
    "Linear",
    "LocalResponseNorm",
    "MaxPool",
    "Mean",
    "Merge",
    "OPS",
    "Op",
    "Opaque",
    "Parallel",
    "RBF",
    "Repeat",
    "Residual",
    "Saves",
    "StochasticDepth",
    "Shape",
    "Split",
    "Subsample",
    "Upsample",
    "Window",
    "field_aliases",
    "normalize_layer",
    "resolve_window",
    "suggest_kind",
]
