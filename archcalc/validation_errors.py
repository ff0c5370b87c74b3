"""pydantic's ValidationError -> one SpecError a person can act on: file:line, the layer, what is wrong, a hint.

Runs on the error path only: a good spec never reaches it.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from .errors import Loc, SpecError, close_matches, format_loc
from .layers import KIND_TO_CLASS, KINDS, canonical_kind
from .layers.base import GRAPH_ERRORS
from .limits import shown
from .spec import Spec
from .yaml_builder import FIELD_ALIASES, SourceMap

_NO_KEY = object()  # a location step the spec's data does not hold


def _layer_at(data: Any, loc: Loc) -> tuple[Loc, dict | None]:
    """The location and raw mapping of the innermost layer on `loc` (short forms unwrapped)."""
    node, best = data, None
    best_loc: tuple[str | int, ...] = ()
    for i, part in enumerate(loc):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(part, int) and isinstance(node, (dict, str)):
            best_loc, best = loc[: i + 1], node if isinstance(node, dict) else {node: None}
    if isinstance(best, dict) and "kind" not in best and len(best) == 1:
        ((kind, body),) = best.items()
        best = {"kind": kind, **(body if isinstance(body, dict) else {})}
    return best_loc, best


def _layer_label(data: Any, loc: Loc) -> tuple[str | None, type | None]:
    """`layers[3] 'conv2' (conv)` and the model class for the layer that `loc` points into."""
    layer_loc, raw = _layer_at(data, loc)
    if (
        not layer_loc
        or raw is None
        or not str(layer_loc[-2] if len(layer_loc) > 1 else "").endswith("layers")
        and "body" not in layer_loc
        and "shortcut" not in layer_loc
    ):
        return None, Spec
    kind = raw.get("kind")
    kind = canonical_kind(kind) if isinstance(kind, str) else kind
    label = format_loc(layer_loc)
    if isinstance(raw.get("name"), str):
        label += f" '{raw['name']}'"
    if kind in KIND_TO_CLASS:
        return f"{label} ({kind})", KIND_TO_CLASS[kind]
    return label, None


def _field_names(model: type) -> list[str]:
    names = []
    for fname, info in model.model_fields.items():  # type: ignore[attr-defined]
        names.append(info.alias or fname)  # the name a spec writes: `from`, not from_
        names.extend(FIELD_ALIASES.get(fname, ()))
    return sorted(set(names))


def _section_model(name: str | int) -> type | None:
    """The pydantic model of a top-level spec section (`budget` -> Budget), if it is one."""
    info = Spec.model_fields.get(str(name))
    for candidate in getattr(info.annotation, "__args__", (info.annotation,)) if info else ():
        if isinstance(candidate, type) and hasattr(candidate, "model_fields"):
            return candidate
    return None


def _child(node: Any, part: str | int) -> Any:
    """The value at one step of a location in the spec's data, or _NO_KEY where the data has none."""
    if isinstance(node, dict):
        return node.get(part, _NO_KEY)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return _NO_KEY


def _clean_loc(loc: Loc, data: Any) -> Loc:
    """Drop pydantic's kind tags and validator names (`function-after[...]`) from a location.

    A step the spec's data holds is the user's key and stays, whatever characters it has
    (`a[b`); a kind after a list index is a tag even where the short form writes it as a key."""
    out: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        child = _child(node, part)
        if isinstance(part, str) and i > 0 and isinstance(loc[i - 1], int) and part in KINDS:
            node = node if child is _NO_KEY else child  # `- conv: {...}`: its fields sit under the kind
            continue
        if child is _NO_KEY and isinstance(part, str) and ("[" in part or part.startswith("function-")):
            continue
        node = child
        out.append(part)
    return tuple(out)


_BOUNDS = (
    "greater_than_equal",
    "greater_than",
    "less_than_equal",
    "less_than",
    "too_short",
    "too_long",
    "string_pattern_mismatch",
    "string_too_long",
)


def _same_field(name: Any) -> str | None:
    """The canonical field a rejected name is another spelling of (`kernel` -> `kernel_size`): it was
    rejected because that field was already given under another of its names."""
    for canonical, names in FIELD_ALIASES.items():
        if name in names and name != canonical:
            return canonical
    return None


def _first_error(errors: list[Any]) -> tuple[Any, list[str]]:
    """The error to report, and the required fields the same mapping lacks beside it.

    pydantic lists a missing field before an unknown one, but `kernal: 3` beside a missing
    `kernel_size` is one mistake: the misspelt name is reported first (with its nearest valid name),
    then what is missing."""
    first = errors[0]
    if first["type"] != "missing":
        return first, []
    parent = tuple(first["loc"])[:-1]
    unknown = [e for e in errors if e["type"] == "extra_forbidden" and tuple(e["loc"])[:-1] == parent]
    if not unknown:
        return first, []
    missing = [str(e["loc"][-1]) for e in errors if e["type"] == "missing" and tuple(e["loc"])[:-1] == parent]
    return unknown[0], missing


def spec_error(err: ValidationError, data: Any, source: SourceMap) -> SpecError:
    """The first pydantic error as one SpecError with a message a person can act on."""
    errors = err.errors(include_url=False)
    first, also_missing = _first_error(errors)
    loc, kind, msg = tuple(first["loc"]), first["type"], first["msg"]
    clean = _clean_loc(loc, data)
    ctx = first.get("ctx") or {}
    if ctx.get("at") is not None:  # layers/base.py check_claims and check_references: the layer named
        loc, clean = loc + tuple(ctx["at"]), clean + tuple(ctx["at"])
        other = source.locate(clean[: -len(ctx["at"])] + tuple(ctx["other"])) if ctx.get("other") else None
        msg += f" (line {other.line})" if other else ""
    label, model = _layer_label(data, clean)
    if model is Spec and len(clean) > 1:  # a section of the spec (budget:, convention:): its own fields
        model = _section_model(clean[0]) or model
    field_name = clean[-1] if clean and isinstance(clean[-1], str) else None
    if label is None and clean and isinstance(clean[-1], int):
        field_name = format_loc(clean)
    what = f"'{field_name}'" if field_name else "the value"
    got = shown(first.get("input"))
    hint = None
    if kind == "missing":
        code, message = "missing_field", f"missing required field {what}"
        if model is Spec:
            hint = "a spec needs `name`, `input` (channels first, e.g. [3, 224, 224]) and `layers`"
        elif model is not None and field_name in model.model_fields:  # type: ignore[attr-defined]
            others = [a for a in FIELD_ALIASES.get(str(field_name), ()) if a != field_name]
            hint = f"add `{field_name}: ...`" + (f" (or its short name `{others[0]}`)" if others else "")
    elif kind == "extra_forbidden" and (same := _same_field(field_name)):
        code, message = "duplicate_field", f"{what} and '{same}' name the same field, and both are given"
        hint = "give one of them"
    elif kind == "extra_forbidden":
        code, message = "unknown_field", f"unknown field {what}"
        if model is not None:
            names = [n for n in _field_names(model) if n != "kind"]
            close = close_matches(str(field_name), names, n=1, cutoff=0.6)
            hint = (f"did you mean '{close[0]}'? " if close else "") + f"valid fields: {', '.join(names)}"
            if close:  # the suggested name puts right the field it spells (an alias: its canonical field)
                fields = model.model_fields  # type: ignore[attr-defined]
                meant = {close[0], *(f for f in fields if close[0] in FIELD_ALIASES.get(f, ()))}
                also_missing = [name for name in also_missing if name not in meant]
        if also_missing:  # what the layer still needs once the misspelt name is put right
            lacks = f"it also lacks {', '.join(repr(name) for name in also_missing)}"
            hint = f"{hint}; {lacks}" if hint else lacks
    elif kind in ("unknown_kind", "missing_kind", "duplicate_name", *GRAPH_ERRORS):
        code, hint = kind, ctx.get("hint")
        message = msg.removesuffix(f"; {hint}")  # the message carries its hint for Python; the error shows it once
    elif kind in ("wrong_type", "bad_value"):
        code, message = kind, f"{what} {msg}"
    elif kind in _BOUNDS:
        code, message = "bad_value", f"{what} {msg.removeprefix('Input ').rstrip('.')}, got {got}"
    elif kind.endswith("_type") or kind.endswith("_parsing") or kind in ("literal_error", "enum"):
        code = "wrong_type"
        message = f"{what} should be {msg.removeprefix('Input should be ').rstrip('.')}, got {got}"
    else:
        code, message = "invalid", f"{what}: {msg}"
    spec_error = SpecError(code, message, loc=clean, hint=hint, layer=label, note=source.note_for(loc))
    return spec_error.located(source.file, source.locate(loc) or source.locate(clean))
