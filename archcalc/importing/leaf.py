"""One traced layer written as the spec's short form, `{conv: {name: conv1, out_channels: 64, ...}}`:
canonical (torch) field names, every field equal to its default left out, a per-dimension list
whose values agree written as one number where the kind takes one (`kernel_size: 3`).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..errors import SpecError
from ..layers import LayerSpec

_LAYER: TypeAdapter[Any] = TypeAdapter(LayerSpec)


# fields given one value per spatial dimension (or per side), where one number stands for all
PER_DIMENSION = frozenset("kernel_size stride padding dilation output_padding output_size scale_factor size".split())


def uniform(value: Any) -> Any:
    """A per-dimension value as one number when its values agree: [[1, 1], [1, 1]] -> 1."""
    if isinstance(value, (list, tuple)) and value:
        parts = [uniform(v) for v in value]
        return parts[0] if all(p == parts[0] and not isinstance(p, (list, tuple)) for p in parts) else parts
    return value


def _dump(layer: Any) -> dict[str, Any]:
    """A layer's fields with per-dimension values compared as one number where they agree."""
    return {k: uniform(v) if k in PER_DIMENSION else v for k, v in layer.model_dump().items()}


@cache
def _short_fields(kind: str, frozen: str) -> str:
    """`fields` (JSON text: a hashable key, so repeated layers are shortened once) shortened."""
    fields: dict[str, Any] = json.loads(frozen)
    try:
        full = _dump(_LAYER.validate_python({"kind": kind, **fields}))
    except ValidationError as err:
        first = err.errors()[0]
        where = "".join(f"{step}: " for step in first["loc"][1:])
        raise SpecError(
            "unsupported_op",
            f"a {kind} layer with fields {frozen[:200]} is no valid spec layer: {where}{first['msg']}",
            hint="this is a bug in the model reader that produced it; please report it",
        ) from None
    short = dict(fields)
    for name in fields:
        value = short.pop(name)
        if _same(kind, short, full):
            continue  # its default
        one = uniform(value) if name in PER_DIMENSION else value
        if one != value:
            short[name] = one
            if _same(kind, short, full):
                continue
        short[name] = value
    return json.dumps(short)


def _same(kind: str, fields: dict[str, Any], full: dict[str, Any]) -> bool:
    try:
        return _dump(_LAYER.validate_python({"kind": kind, **fields})) == full
    except ValidationError:
        return False


def short_fields(kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The fields a spec needs to write for this layer, in the reader's order.

    >>> short_fields("conv", {"out_channels": 8, "kernel_size": [3, 3], "stride": [1, 1], "bias": True})
    {'out_channels': 8, 'kernel_size': 3}
    """
    return dict(json.loads(_short_fields(kind, json.dumps(fields))))


def leaf(kind: str, fields: dict[str, Any], name: str | None = None, reads: str | list[str] | None = None) -> Any:
    """The short form of a layer: `relu` alone when there is nothing to write, else `{kind: {...}}`
    with `name` and `from` first."""
    body: dict[str, Any] = {}
    if name is not None:
        body["name"] = name
    if reads is not None:
        body["from"] = reads
    body.update(short_fields(kind, fields))
    return {kind: body} if body else kind
