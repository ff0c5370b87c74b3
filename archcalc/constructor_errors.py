"""A layer built in Python with a misspelt field (`Conv(outt=16, kernel=3)`): pydantic's own
ValidationError (a ValueError, as pydantic users expect), its unknown fields first and each with
the nearest valid name, as a spec file's errors say it. Runs on the error path only."""

from __future__ import annotations

from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ErrorType

from .errors import close_matches


def _spellings(model: type[BaseModel]) -> list[str]:
    """Every name a field may be given by: its own, its alias, its short names (`out`, `kernel`)."""
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.update(n for n in (name, info.alias) if n)
        names.update(str(choice) for choice in getattr(info.validation_alias, "choices", ()))
    return sorted(names)


def _detail(error: Any, model: type[BaseModel]) -> InitErrorDetails:
    """One error as pydantic's input to rebuild it; an unknown top-level field gets its nearest name."""
    loc, value = error["loc"], error.get("input")
    if error["type"] == "extra_forbidden" and len(loc) == 1:
        close = close_matches(str(loc[0]), _spellings(model), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"valid fields: {', '.join(_spellings(model))}"
        message = "unknown field '{field}'; {hint}"
        return {
            "type": PydanticCustomError("unknown_field", message, {"field": loc[0], "hint": hint}),
            "loc": loc,
            "input": value,
        }
    if error["type"] not in _BUILT_IN:  # archcalc's own: its text as written (no context: nothing substituted)
        return {"type": PydanticCustomError(error["type"], error["msg"]), "loc": loc, "input": value}
    detail: InitErrorDetails = {"type": error["type"], "loc": loc, "input": value}
    if "ctx" in error:
        detail["ctx"] = error["ctx"]
    return detail


_BUILT_IN = frozenset(get_args(ErrorType))  # pydantic's own error types, rebuilt by name


def with_suggestions(err: ValidationError, model: type[BaseModel]) -> ValidationError:
    """`err` with its unknown fields first, each saying the nearest valid name; `err` itself where it
    has none, or where an error cannot be rebuilt (pydantic says it as it is)."""
    errors = err.errors()
    if not any(e["type"] == "extra_forbidden" for e in errors):
        return err
    errors.sort(key=lambda e: e["type"] != "extra_forbidden")  # stable: the rest keep their order
    try:
        return ValidationError.from_exception_data(err.title, [_detail(e, model) for e in errors])
    except (TypeError, KeyError, ValueError):
        return err
