"""The lists of layers a container of a spec (as plain data) holds, mapped in order: one walk for
the writer's passes (repeats, templates) over a written spec."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# the containers and the fields that hold their lists of layers (a parallel's are in its branches)
LISTS = {"block": ("layers",), "repeat": ("layers",), "residual": ("body", "shortcut")}


def container(item: Any) -> tuple[str, dict[str, Any]] | None:
    """(kind, fields) of a container written as `{kind: {...}}`; None for a leaf or a `use:` site."""
    if isinstance(item, dict) and len(item) == 1:
        ((kind, body),) = item.items()
        if kind in LISTS or kind == "parallel":
            return kind, body
    return None


def map_lists(item: Any, change: Callable[[list[Any]], list[Any]]) -> Any:
    """`item` with each list of layers it holds (not the lists inside those) replaced by
    `change(list)`, in the order they run: a residual's body before its shortcut, branches in order.

    >>> map_lists({"residual": {"body": ["relu"]}}, lambda layers: layers * 2)
    {'residual': {'body': ['relu', 'relu']}}
    """
    found = container(item)
    if found is None:
        return item
    kind, body = found
    new = dict(body)
    if kind == "parallel":
        new["branches"] = [
            change(b) if isinstance(b, list) else {**b, "layers": change(b["layers"])} for b in body["branches"]
        ]
    else:
        for name in LISTS[kind]:
            if name in new:
                new[name] = change(new[name])
    return {kind: new}
