"""A spec (plain data) written as YAML text: a header comment, then the spec, each leaf layer on one
line in flow style (`- conv: {name: conv1, out_channels: 64, kernel_size: 7}`).

Every string goes through the yaml library's emitter (quoted where YAML needs it; non-ASCII and
control characters as escapes, which PyYAML would otherwise fold), and the header lines through
`encode.term_text`, so no module name from the user's code can end a comment or open a key.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..encode import term_text

# the top-level keys in the order a person reads a spec
_ORDER = ("name", "title", "family", "source", "notes", "input", "blocks", "layers", "outputs")


class _Flow(dict[str, Any]):
    """A mapping written on one line."""


class _FlowList(list[Any]):
    """A list written on one line."""


class _Dumper(yaml.SafeDumper):
    """SafeDumper with flow style for the marked values, and no aliases (`&id001`) for a value
    that appears twice."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_Dumper.add_representer(_Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True))
_Dumper.add_representer(_FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


def _is_leaf(layer: Any) -> bool:
    """A layer with no layer lists inside: a kind name, or `{kind: {fields}}` of plain values."""
    if isinstance(layer, str):
        return True
    if not isinstance(layer, dict) or len(layer) != 1:
        return False
    (body,) = layer.values()
    return isinstance(body, dict) and not any(
        isinstance(v, list) and any(isinstance(x, (dict, list)) for x in v) or isinstance(v, dict)
        for v in body.values()
    )


def _styled(value: Any) -> Any:
    """`value` with each leaf layer's fields, and each list of plain values, marked for flow style."""
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            return _FlowList(value)
        return [_styled(v) for v in value]
    if isinstance(value, dict):
        if "use" in value and not any(isinstance(v, list) for v in value.values()):  # a use site: one line
            return _Flow({k: _Flow(v) if isinstance(v, dict) else v for k, v in value.items()})
        if _is_leaf(value) and len(value) == 1:
            ((kind, body),) = value.items()
            return {kind: _Flow({k: _styled(v) for k, v in body.items()})} if body else kind
        return {k: _styled(v) for k, v in value.items()}
    return value


def spec_yaml(spec: dict[str, Any], header: list[str]) -> str:
    """The spec as YAML text, after `header` as comment lines (each shown with its control
    characters escaped: a newline in a model's name cannot start a line of YAML).

    >>> print(spec_yaml({"name": "n", "input": [3, 8, 8], "layers": [{"conv": {"out_channels": 4}}, "relu"]}, ["a\\nb"]))
    # a\\nb
    name: n
    input: [3, 8, 8]
    layers:
    - conv: {out_channels: 4}
    - relu
    <BLANKLINE>
    """
    ordered = {key: spec[key] for key in _ORDER if key in spec}
    ordered.update({key: value for key, value in spec.items() if key not in ordered})
    body = yaml.dump(_styled(ordered), Dumper=_Dumper, sort_keys=False, width=110, allow_unicode=False)
    comments = "".join(f"# {term_text(line)}\n" for line in header)
    return comments + body


def import_header(
    target: str, method: str, input_shape: tuple[int, ...], written: str, notes: tuple[str, ...] = ()
) -> list[str]:
    """The header of an imported spec: what was imported and how, how its names were made, and
    when to import it again. Each line is still user text (`spec_yaml` escapes it).

    >>> import_header("torchvision.models:resnet18", "torch.fx", (3, 224, 224), "written nested")[0]
    'imported by `archcalc import torchvision.models:resnet18` (read with torch.fx, input 3x224x224; written nested)'
    """
    shape = "x".join(str(size) for size in input_shape)
    return [
        f"imported by `archcalc import {target}` (read with {method}, input {shape}; {written})",
        "row paths are the model's module paths (named_modules, state_dict keys); a module that reads or",
        "returns several tensors has its layers in the enclosing level, its path steps joined by _",
        "re-run the import when the model's code changes (edits here are lost); check it in CI with",
        f"`archcalc verify SPEC --against {target}`",
        *notes,
    ]
