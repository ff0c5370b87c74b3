"""Consecutive sibling blocks named by consecutive integers with the same contents (torchvision's
`layer1.1`, `layer1.2`) written once, as a `repeat` whose copies are numbered from `start`."""

from __future__ import annotations

from typing import Any

from .spec_lists import map_lists


def _index(name: Any) -> int | None:
    """A block's name as a copy index: decimal digits, no leading zero."""
    if isinstance(name, str) and name.isdecimal() and name.isascii() and (name == "0" or name[0] != "0"):
        return int(name)
    return None


def _copy(item: Any) -> tuple[int, list[Any]] | None:
    """(index, contents) of a block that a repeat could hold: named by an index, reading the layer before it."""
    if isinstance(item, dict) and set(item) == {"block"}:
        body = item["block"]
        if set(body) == {"name", "layers"}:
            index = _index(body["name"])
            if index is not None:
                return index, body["layers"]
    return None


def _read_names(layers: list[Any], outputs: list[str]) -> set[str]:
    """The names a list's layers read by `from:` (and the spec's `outputs:`)."""
    names = set(outputs)
    for item in layers:
        if isinstance(item, dict) and len(item) == 1:
            (body,) = item.values()
            source = body.get("from") if isinstance(body, dict) else None
            names.update([source] if isinstance(source, str) else source or [])
    return names


def repeats(layers: list[Any], outputs: list[str] | None = None) -> list[Any]:
    """`layers` with each run of two or more repeatable blocks (`_copy`) as one `repeat`, inside
    every container too.

    >>> block = lambda n: {"block": {"name": str(n), "layers": ["relu"]}}
    >>> repeats([block(0), block(1), block(2)])
    [{'repeat': {'times': 3, 'layers': ['relu']}}]
    """
    read = _read_names(layers, outputs or [])
    items = [map_lists(item, repeats) for item in layers]
    out: list[Any] = []
    i = 0
    while i < len(items):
        first = _copy(items[i])
        j = i + 1
        if first is not None and str(first[0]) not in read:
            while j < len(items):
                nxt = _copy(items[j])
                if nxt is None or nxt != (first[0] + j - i, first[1]) or str(nxt[0]) in read:
                    break
                j += 1
        if j - i >= 2 and first is not None:
            body: dict[str, Any] = {"times": j - i, "layers": first[1]}
            if first[0]:
                body = {"start": first[0], **body}
            out.append({"repeat": body})
            i = j
        else:
            out.append(items[i])
            i += 1
    return out
