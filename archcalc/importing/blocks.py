"""Blocks that differ only in field values (ResNet's bottlenecks, stage by stage) written once, as a
`blocks:` template whose parameters are the values that differ, and `use:` + `with:` at each site.

A site is a named block or a repeat's copy. Sites group by their skeleton (the layers, names,
`from:` and containers, every field value left out); a group of two or more whose sites hold
three or more layers becomes a template, largest first, a site inside another template's site
counted with that one. A value that differs is a parameter (`$out`), one a constant multiple of
another an expression (`"${4 * out}"`), values that agree at every site stay written.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import PydanticUndefined

from ..layers import KIND_TO_CLASS
from .leaf import PER_DIMENSION, uniform
from .spec_lists import LISTS, container, map_lists

_SHORT = {"out_channels": "out", "out_features": "out", "kernel_size": "kernel", "times": "n"}
_MIN_LAYERS = 3


class _Site:
    """A list of layers that a `use:` could replace: a named block's (`owner` its body) or a
    repeat's copy; `at`: its place in the spec, a path of keys and indices. A builder: its
    skeleton's values are filled in by `_walk_layers`; a plain class with `__slots__`."""

    __slots__ = ("at", "key", "kinds", "layers", "owner", "values")

    def __init__(self, owner: dict[str, Any], at: tuple[Any, ...]) -> None:
        self.owner, self.at = owner, at
        self.key = ""
        self.values: dict[tuple[int, str], Any] = {}
        self.kinds: dict[int, str] = {}
        self.layers = 0


def _walk_layers(layers: list[Any], site: _Site | None, counter: list[int]) -> Any:
    """The skeleton of a list of layers; the values it leaves out go into `site.values`, keyed by
    (the leaf's or repeat's number in the walk, the field)."""
    skeleton = []
    for item in layers:
        if isinstance(item, str) or "use" in item:
            counter[0] += 1
            skeleton.append(item)
            if site is not None:
                site.layers += 1
            continue
        ((kind, body),) = item.items()
        number = counter[0]
        counter[0] += 1
        if kind in LISTS or kind == "parallel":
            shape: list[Any] = [kind, body.get("name"), body.get("from"), body.get("shortcut_name")]
            if kind == "repeat" and site is not None:
                site.values[(number, "times")] = body["times"]
                site.values[(number, "start")] = body.get("start", 0)
            if kind == "parallel":
                shape.append(body["merge"])
                for branch in body["branches"]:
                    lists = branch if isinstance(branch, list) else branch["layers"]
                    names = None if isinstance(branch, list) else [branch.get("name"), branch.get("spliced")]
                    shape.append([names, _walk_layers(lists, site, counter)])
            else:
                shape.extend(_walk_layers(body.get(f, []), site, counter) for f in LISTS[kind])
            skeleton.append(shape)
            continue
        skeleton.append([kind, body.get("name"), body.get("from")])
        if site is not None:
            site.layers += 1
            site.kinds[number] = kind
            for name, value in body.items():
                if name not in ("name", "from"):
                    site.values[(number, name)] = value
    return skeleton


def _sites(layers: list[Any], at: tuple[Any, ...], found: list[_Site]) -> None:
    """Every site in `layers`, outer ones before the ones inside them."""
    for i, item in enumerate(layers):
        if not isinstance(item, dict) or "use" in item:
            continue
        ((kind, body),) = item.items()
        here = (*at, i)
        if kind == "block" or kind == "repeat":
            site = _Site(owner=body, at=here)
            site.key = json.dumps(_walk_layers(body["layers"], site, [0]))
            found.append(site)
        if kind in LISTS:
            for f in LISTS[kind]:
                _sites(body.get(f, []), (*here, f), found)
        elif kind == "parallel":
            for b, branch in enumerate(body["branches"]):
                _sites(branch if isinstance(branch, list) else branch["layers"], (*here, b), found)


def _default(kind: str, name: str) -> Any:
    """A field's default, for a site that leaves it out; PydanticUndefined where it has none."""
    cls = KIND_TO_CLASS.get(kind)
    info = None if cls is None else cls.model_fields.get(name)
    if info is None:
        return PydanticUndefined
    return uniform(info.default) if name in PER_DIMENSION else info.default


def _params(sites: list[_Site]) -> tuple[dict[tuple[int, str], str], list[str], list[dict[str, Any]]] | None:
    """Each differing value's text in the template (`$out`, `${4 * out}`), the parameters, and
    each site's `with:`; None where a value left out has no default to compare with."""
    keys = list(dict.fromkeys(k for s in sites for k in s.values))
    columns: dict[tuple[int, str], list[Any]] = {}
    for key in keys:
        column = []
        for s in sites:
            if key in s.values:
                column.append(s.values[key])
                continue
            value = 0 if key[1] == "start" else _default(sites[0].kinds.get(key[0], ""), key[1])
            if value is PydanticUndefined:
                return None
            column.append(value)
        if any(json.dumps(v) != json.dumps(column[0]) for v in column):
            columns[key] = column
    texts: dict[tuple[int, str], str] = {}
    params: list[str] = []
    by_column: dict[str, str] = {}
    fields: dict[str, str] = {}  # each parameter's field: a multiple is of the same field (out = 4 * out)
    for key, column in columns.items():
        seen = json.dumps(column)
        if seen in by_column:
            texts[key] = f"${by_column[seen]}"
            continue
        same_field = [(p, json.loads(c)) for c, p in by_column.items() if fields[p] == key[1]]
        multiple = _multiple(column, same_field)
        if multiple:
            texts[key] = multiple
            continue
        base = _SHORT.get(key[1], key[1])
        name, n = base, 1
        while name in params:
            n += 1
            name = f"{base}{n}"
        params.append(name)
        fields[name] = key[1]
        by_column[seen] = name
        texts[key] = f"${name}"
    uses = [{p: json.loads(c)[i] for c, p in by_column.items()} for i in range(len(sites))]
    return texts, params, uses


def _multiple(column: list[Any], params: list[tuple[str, list[Any]]]) -> str | None:
    """`${k * p}` where the column is k times parameter p's values at every site (k a whole number;
    `params`: those of the same field, so no coincidence across fields is written as a rule)."""
    if not all(type(v) is int for v in column):
        return None
    for name, values in params:
        if all(type(v) is int and v > 0 for v in values) and column[0] % values[0] == 0:
            k = column[0] // values[0]
            if k > 1 and all(c == k * v for c, v in zip(column, values)):
                return f"${{{k} * {name}}}"
    return None


def _substituted(layers: list[Any], texts: dict[tuple[int, str], str], counter: list[int]) -> list[Any]:
    """The first site's layers with each differing value replaced by its text (numbered as
    `_walk_layers` numbers them)."""
    out: list[Any] = []
    for item in layers:
        number = counter[0]
        counter[0] += 1
        if isinstance(item, str) or "use" in item:
            out.append(item)
            continue
        ((kind, body),) = map_lists(item, lambda inner: _substituted(inner, texts, counter)).items()
        for (n, name), text in texts.items():
            if n == number:
                body[name] = text
        if kind == "repeat" and body.get("start") == 0:
            body.pop("start")
        out.append({kind: body})
    return out


def shared_blocks(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` with its repeated sites written once as templates (`blocks:`), or as it is."""
    found: list[_Site] = []
    _sites(spec["layers"], (), found)
    groups: dict[str, list[_Site]] = {}
    for site in found:
        groups.setdefault(site.key, []).append(site)
    order = sorted(groups.values(), key=lambda g: -g[0].layers)
    taken: list[tuple[Any, ...]] = []
    templates: dict[str, Any] = {}
    replaced: dict[int, dict[str, Any]] = {}  # a named block's body -> its use site
    for group in order:
        if group[0].layers < _MIN_LAYERS:
            continue
        free = [s for s in group if not any(s.at[: len(t)] == t for t in taken)]
        if len(free) < 2:
            continue
        made = _params(free)
        if made is None:
            continue
        texts, params, uses = made
        name = f"block{len(templates) + 1}"
        templates[name] = {"params": params, "layers": _substituted(free[0].owner["layers"], texts, [0])}
        for site, use in zip(free, uses):
            taken.append(site.at)
            call: dict[str, Any] = {"use": name}
            if "times" in site.owner:  # a repeat's copy: an unnamed use, its layers in the copy's level
                site.owner["layers"] = [{**call, "with": use} if use else call]
                continue
            call["name"] = site.owner["name"]
            if "from" in site.owner:
                call["from"] = site.owner["from"]
            replaced[id(site.owner)] = {**call, "with": use} if use else call
    if not templates:
        return spec
    return {**spec, "blocks": templates, "layers": _uses(spec["layers"], replaced)}


def _uses(layers: list[Any], replaced: dict[int, dict[str, Any]]) -> list[Any]:
    """The layers with each block replaced by a template turned into its `use:` site."""
    out: list[Any] = []
    for item in layers:
        found = container(item)
        if found is not None and id(found[1]) in replaced:
            out.append(replaced[id(found[1])])
        else:
            out.append(map_lists(item, lambda inner: _uses(inner, replaced)))
    return out
