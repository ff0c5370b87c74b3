"""The layer kinds as reference data for `archcalc kinds`, read from the pydantic models, nothing restated.

Each kind's sentence is its class's (`Layer.summary`); each field's type, default and aliases come
from the model's annotations and `Field`s, its meaning from the `Field`'s description.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Annotated, Any, ForwardRef, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le
from pydantic import AliasChoices, BaseModel, BeforeValidator
from pydantic.fields import FieldInfo

from . import fields
from .errors import SpecError
from .layers import KIND_ALIASES, KIND_TO_CLASS, Layer, LayerSpec, canonical_kind, suggest_kind

# What a person writes for a field whose validator reads more than its stored type says.
_VALIDATED: dict[str, str] = {
    fields._per_dimension.__qualname__: "int or list of int",
    fields._parse_padding.__qualname__: "valid | same | int | list",
    fields._parse_connection_table.__qualname__: "list of lists of int",
    fields._parse_probability.__qualname__: "number in [0, 1)",
}
_PLAIN = {int: "int", float: "number", bool: "bool", str: "text"}


@dataclass(frozen=True, slots=True)
class FieldDoc:
    """One field of a kind: its name as a spec writes it, what it takes, its default (None: it is
    required), the other names it is accepted under, and what it means."""

    name: str
    type: str
    default: str | None
    aliases: tuple[str, ...]
    meaning: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "required": self.default is None,
            "default": self.default,
            "aliases": list(self.aliases),
            "meaning": self.meaning,
        }


def _validated(metadata: list[Any] | tuple[Any, ...]) -> str | None:
    for meta in metadata:
        if isinstance(meta, BeforeValidator):
            qualname = meta.func.__qualname__
            for outer, text in _VALIDATED.items():
                if (
                    qualname.split(".")[0] == outer
                ):  # _per_dimension's checker is a closure: `_per_dimension.<locals>.parse`
                    return text
    return None


def _range(metadata: list[Any] | tuple[Any, ...]) -> str:
    """A real's bounds (annotated_types' Ge, Gt, Le, Lt, as `real_in` sets them): ` >= 0`, ` in [0, 1]`."""
    low = next((f">= {m.ge:g}" for m in metadata if isinstance(m, Ge)), None) or next(
        (f"> {m.gt:g}" for m in metadata if isinstance(m, Gt)), None
    )
    high = next((m.le for m in metadata if isinstance(m, Le)), None)
    if low and high is not None and low.startswith(">="):
        return f" in [{low[3:]}, {high:g}]"
    return f" {low}" if low else f" <= {high:g}" if high is not None else ""


def type_text(annotation: Any, metadata: list[Any] | tuple[Any, ...] = ()) -> str:
    """A field's type as a spec writes it: `int`, `bool | per_unit | per_position`, `list of layers`.

    >>> type_text(bool | Literal["per_unit", "per_position"])
    'bool | per_unit | per_position'
    """
    known = _validated(metadata)
    if known:
        return known
    if annotation is LayerSpec:  # resolved, once a container is built in Python (`Residual(body=[...])`)
        return "layers"
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return type_text(args[0], annotation.__metadata__)
    if annotation is float:  # a real states its range: the one torch computes a finite result in
        return "number" + _range(metadata)
    if origin is Literal:
        return " | ".join(str(a) for a in args)
    if origin in (Union, types.UnionType):
        return " | ".join(type_text(a) for a in args if a is not type(None))
    if origin in (list, tuple):
        return f"list of {type_text(args[0])}"
    if isinstance(annotation, (ForwardRef, str)):  # the containers' `list[LayerSpec]`, resolved late
        return "list of layers"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation.__name__.lower()
    return _PLAIN.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _value_text(value: Any) -> str:
    """A default as YAML writes it; a per-dimension tuple of one value is that value (`(1,)` -> 1)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            return _value_text(value[0])
        if isinstance(value, tuple) and len(value) == 2 and value[0] == value[1]:  # a symmetric (before, after)
            return _value_text(value[0])
        return "[" + ", ".join(map(_value_text, value)) + "]"
    return str(value)


def _default(info: FieldInfo) -> str | None:
    if info.is_required():
        return None
    if info.default_factory is not None:
        return _value_text(info.default_factory())  # type: ignore[call-arg]
    return _value_text(info.default)


def field_doc(field: str, info: FieldInfo) -> FieldDoc:
    name = info.alias or field  # `from`, not from_
    choices = info.validation_alias.choices if isinstance(info.validation_alias, AliasChoices) else ()
    return FieldDoc(
        name=name,
        type=type_text(info.annotation, info.metadata),
        default=_default(info),
        aliases=tuple(str(c) for c in choices if c != name),
        meaning=info.description or "",
    )


def kind_fields(kind: str) -> tuple[FieldDoc, ...]:
    """Every field a spec may write for `kind`: the kind's own first, then those every kind has."""
    cls = KIND_TO_CLASS[kind]
    own = [f for f in cls.model_fields if f != "kind" and f not in Layer.model_fields]
    return tuple(field_doc(f, cls.model_fields[f]) for f in (*own, *Layer.model_fields))


def kind_aliases(kind: str) -> tuple[str, ...]:
    """The other spellings a spec may use for `kind` (conv2d, fc, bn, ...)."""
    return tuple(alias for alias, target in KIND_ALIASES.items() if target == kind)


def resolve_kind(name: str) -> str:
    """A kind named on the command line, its aliases accepted; an unknown one is a usage error."""
    kind = canonical_kind(name)
    if kind in KIND_TO_CLASS:
        return kind
    suggestion = suggest_kind(name)
    raise SpecError(
        "unknown_kind",
        f"unknown layer kind {name!r}",
        hint=f"did you mean '{suggestion}'? (`archcalc kinds` lists them all)"
        if suggestion
        else "`archcalc kinds` lists the layer kinds",
    )


def kind_list() -> list[dict[str, Any]]:
    """Each kind with its sentence and the names of its fields."""
    return [
        {"kind": kind, "doc": cls.summary(kind), "fields": [f.name for f in kind_fields(kind)]}
        for kind, cls in KIND_TO_CLASS.items()
    ]


def kind_dict(kind: str) -> dict[str, Any]:
    """One kind in full: its sentence, its other spellings and every field."""
    return {
        "kind": kind,
        "doc": KIND_TO_CLASS[kind].summary(kind),
        "aliases": list(kind_aliases(kind)),
        "fields": [f.to_dict() for f in kind_fields(kind)],
    }
