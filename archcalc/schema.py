"""The JSON Schema of the spec format, generated from the pydantic models, for editors and validators.

pydantic describes the canonical form of each model; a spec written by hand uses more: short-form
layers (`- relu`, `- conv: {out: 96, kernel: 11}`), short field names (`out`, `kernel`), one number
for every spatial dimension (`kernel: 3`), padding as a number. This module widens pydantic's
schema to exactly those inputs, from the same models and field metadata, so the YAML language
server neither flags valid specs nor misses a misspelt field.
"""

from __future__ import annotations

import copy
from typing import Any, get_args

from pydantic import AliasChoices, BeforeValidator

from . import fields
from .layers import KIND_ALIASES, KIND_TO_CLASS, LAYER_CLASSES
from .spec import Spec
from .templates import TEMPLATE_KEYS, USE_KEYS

SCHEMA_ID = "https://archcalc.dev/spec.schema.json"

_INT = {"type": "integer"}
_SIZES = {
    "anyOf": [_INT, {"type": "array", "items": _INT, "minItems": 1, "maxItems": 3}],
    "description": "one value for every spatial dimension, or one per dimension",
}
_PADDING = {
    "anyOf": [
        {"enum": ["valid", "same"]},
        _INT,
        {
            "type": "array",
            "minItems": 1,
            "maxItems": 3,
            "items": {"anyOf": [_INT, {"type": "array", "items": _INT, "minItems": 2, "maxItems": 2}]},
        },
    ],
    "description": "valid, same, N, one N per dimension, or per side [[before, after], ...]",
}


def _validators(annotation: Any) -> list[Any]:
    """BeforeValidators on a type, looking inside unions (`SizeTuple | None`)."""
    found = [m for m in getattr(annotation, "__metadata__", ()) if isinstance(m, BeforeValidator)]
    for arg in get_args(annotation):
        found += _validators(arg)
    return found


def _input_schema(info: Any) -> dict | None:
    """The schema of what a person may write for a field whose validator normalises its input."""
    optional = type(None) in get_args(info.annotation)
    for meta in [m for m in info.metadata if isinstance(m, BeforeValidator)] + _validators(info.annotation):
        wide = None
        if meta.func.__qualname__.startswith(fields._per_dimension.__name__):
            wide = _SIZES
        elif meta.func is fields._parse_padding:
            wide = _PADDING
        if wide is not None:
            return (
                {"anyOf": [*wide["anyOf"], {"type": "null"}], "description": wide["description"]} if optional else wide
            )
    return None


def _widen_fields(definition: dict, cls: type) -> None:
    """Accept short field names and hand-written sizes; a field known by two names is required as either."""
    props = definition.get("properties", {})
    required = definition.get("required", [])
    alternatives = []
    for name, info in cls.model_fields.items():  # type: ignore[attr-defined]
        if name not in props:
            continue
        wide = _input_schema(info)
        if wide is not None:
            keep = {k: v for k, v in props[name].items() if k in ("title", "default", "description")}
            props[name] = {**copy.deepcopy(wide), **keep}
        if isinstance(info.validation_alias, AliasChoices):
            names = [str(c) for c in info.validation_alias.choices]
            for alias in names:
                props.setdefault(alias, {**props[name], "title": f"{alias} (short for {name})"})
            if name in required:
                required.remove(name)
                either: dict[str, Any] = {"anyOf": [{"required": [n]} for n in names]}
                unless = getattr(cls, "REQUIRED_UNLESS", {}).get(name)
                if unless is not None:  # required unless another field has a value (a depthwise conv's out)
                    other, value = unless
                    either = {"if": {"properties": {other: {"const": value}}, "required": [other]}, "else": either}
                alternatives.append(either)
    if alternatives:
        definition["allOf"] = alternatives
    if required:
        definition["required"] = required
    else:
        definition.pop("required", None)


def _body(definition: dict) -> dict:
    """A layer's fields without `kind`: the mapping under a short-form key (`conv: {...}`)."""
    body = copy.deepcopy(definition)
    body["properties"].pop("kind", None)
    body["required"] = [r for r in body.get("required", []) if r != "kind"]
    if not body["required"]:
        body.pop("required")
    return body


def _replace_layer_unions(node: Any, ref: dict) -> Any:
    """Every place pydantic put the discriminated layer union now refers to `LayerItem`."""
    if isinstance(node, dict):
        if node.get("discriminator", {}).get("propertyName") == "kind":
            return dict(ref)
        return {k: _replace_layer_unions(v, ref) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_layer_unions(v, ref) for v in node]
    return node


def spec_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a spec file, deterministic (sorted keys when dumped)."""
    schema = Spec.model_json_schema()
    defs = schema["$defs"]
    canonical = copy.deepcopy(schema["properties"]["layers"]["items"])
    ref = {"$ref": "#/$defs/LayerItem"}
    for cls in LAYER_CLASSES:
        _widen_fields(defs[cls.__name__], cls)
    branch = defs["Parallel"]["properties"]["branches"]  # a branch may be written as its list of layers
    branch["items"] = {"anyOf": [branch["items"], {"type": "array", "items": ref}]}
    short = {}
    for kind, cls in [*KIND_TO_CLASS.items(), *((a, KIND_TO_CLASS[k]) for a, k in KIND_ALIASES.items())]:
        body_name = f"{cls.__name__}Fields"
        defs.setdefault(body_name, _body(defs[cls.__name__]))
        short[kind] = {"anyOf": [{"$ref": f"#/$defs/{body_name}"}, {"type": "null"}]}
    schema = _replace_layer_unions(schema, ref)
    defs = schema["$defs"]
    defs["LayerItem"] = {
        "description": "a layer: `relu`, `{conv: {out: 96, kernel: 11}}`, or `{kind: conv, out: 96, kernel: 11}`",
        "anyOf": [
            {"type": "string", "enum": sorted(short)},
            {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "properties": short,
                "additionalProperties": False,
                "not": {"required": ["kind"]},
            },
            canonical,
            {"$ref": "#/$defs/UseSite"},
        ],
    }
    # Templates (archcalc/templates.py) are expanded before validation: their layers may hold `$param`
    # and `${expression}` strings anywhere, so a template's layers are only required to be a list.
    defs["UseSite"] = {
        "description": "a use of a template from `blocks:`: `{use: inception, name: inception3a, with: {c1: 64}}`",
        "type": "object",
        "required": ["use"],
        "properties": {
            "use": {"type": "string"},
            "with": {"type": "object"},
            "name": {"type": "string"},
            "trainable": {"type": "boolean"},
            "from": {"anyOf": [{"type": "string"}, fields.LAYER_NAMES_SCHEMA]},
        },
        "additionalProperties": False,
    }
    assert set(defs["UseSite"]["properties"]) == set(USE_KEYS)
    schema["properties"]["blocks"] = {
        "description": "reusable parametrised blocks: name -> {params, layers}; `$p` and `${expr}` in the layers",
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "required": ["layers"],
            "properties": {
                "params": {
                    "type": "array",
                    "items": {
                        "anyOf": [{"type": "string"}, {"type": "object", "minProperties": 1, "maxProperties": 1}]
                    },
                },
                "layers": {"type": "array", "minItems": 1},
                "description": {"type": "string"},
            },
            "additionalProperties": False,
        },
    }
    assert set(schema["properties"]["blocks"]["additionalProperties"]["properties"]) == set(TEMPLATE_KEYS)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "archcalc spec"
    schema["description"] = "A CNN architecture for archcalc: name, input [C, H, W], layers, optional budget."
    return schema
