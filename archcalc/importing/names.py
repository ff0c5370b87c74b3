"""Module path steps (text from the user's code) made into valid, distinct layer names.

A step the spec accepts as a name (`fields._check_layer_name`) is kept as it is, so the spec's row
paths are the model's module paths; any other (dots, spaces, control characters, a leading `_`, an
`nn.Module` attribute name, over 100 characters) is mapped to one deterministically, and kept
distinct from every other name of its level.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic_core import PydanticCustomError

from ..fields import MODULE_ATTRIBUTES, _check_layer_name

# room left under the 100-character limit for a distinguishing suffix (`_12`)
_STEM = 90


def valid(step: str) -> bool:
    """Whether `step` is a layer name as written (the spec's own rule, `_check_layer_name`).

    >>> valid("conv1"), valid("layer1.0"), valid("_x"), valid("train")
    (True, False, False, False)
    """
    try:
        _check_layer_name(step)
    except PydanticCustomError:
        return False
    return True


def mapped(step: str) -> str:
    """A valid name for a step that is not one: each refused character becomes `_`, leading `_`,
    `+` and `-` go, an `nn.Module` attribute gets `_layer` after it, the rest is cut to 90 characters.

    >>> mapped("a.b c"), mapped("__x"), mapped("train"), mapped("\\n"), mapped("x" * 200) == "x" * 90
    ('a_b_c', 'x', 'train_layer', 'layer', True)
    """
    if valid(step):
        return step
    text = "".join(c if valid(c) or c in "_+-" else "_" for c in step).lstrip("_+-")[:_STEM]
    text = text or "layer"
    if text in MODULE_ATTRIBUTES:
        text += "_layer"
    return text if valid(text) else "layer"


def level_names(steps: list[str], taken: Iterable[str] = ()) -> list[str]:
    """Distinct valid names for a level's steps, in order: a valid step not seen before keeps its
    text (so a mapped name never takes a module's own name); any other gets `mapped(step)`, then
    `_2`, `_3`, ... after it while that is taken. `taken`: names the level holds already.

    >>> level_names(["conv", "a.b", "a_b", "conv", "_x"])
    ['conv', 'a_b_2', 'a_b', 'conv_2', 'x']
    """
    kept: set[str] = set(taken)
    keep = [False] * len(steps)
    for i, step in enumerate(steps):
        if valid(step) and step not in kept:
            kept.add(step)
            keep[i] = True
    names = []
    for step, own in zip(steps, keep):
        if own:
            names.append(step)
            continue
        base = mapped(step)
        name, count = base, 1
        while name in kept:
            count += 1
            name = f"{base[:_STEM]}_{count}"
        kept.add(name)
        names.append(name)
    return names


def spec_name(name: str) -> str:
    """The model's name as the spec's `name:` (letters, digits, `_ . + -`, starting with a letter
    or digit, at most 100 characters): the one rule for a target's, a file's and a traced model's name.

    >>> spec_name("ResNet"), spec_name("my model!"), spec_name("__x"), spec_name("")
    ('ResNet', 'my_model_', 'x', 'model')
    """
    text = re.sub(r"[^A-Za-z0-9_.+-]", "_", name).lstrip("_.+-")[:100]
    return text or "model"
