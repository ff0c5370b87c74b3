"""Spec files -> Spec models: read (yaml_builder), expand blocks (templates), validate (spec), and
translate a validation error to file:line (validation_errors). `load_spec` is the front door.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from . import yaml_builder
from .bundled import resolve, specs_dir
from .errors import SpecError
from .reading import read_bounded
from .spec import Spec
from .templates import expand_blocks
from .validation_errors import spec_error
from .yaml_builder import parse_yaml

_KIND_OF = {
    type(None): "nothing (null)",
    list: "a list",
    str: "a single text value",
    int: "a number",
    float: "a number",
    bool: "a boolean",
}


def parse_spec(data: bytes | str, file: str = "<string>") -> Spec:
    """Parse and validate spec text; raises SpecError naming file, line and field."""
    raw, source = parse_yaml(data, file)
    if not isinstance(raw, dict):
        raise SpecError(
            "not_a_mapping",
            f"a spec is a mapping of fields, got {_KIND_OF.get(type(raw), 'a ' + type(raw).__name__)}",
            file=file,
            position=source.locate(()),
            hint="start the file with `name: ...`, `input: [...]` and `layers:`",
        )
    if "blocks" in raw or source.uses:
        try:
            raw, source.positions, source.notes = expand_blocks(raw, file, source.positions)
        except RecursionError:
            raise SpecError("too_deep", "the blocks nest too deeply to expand", file=file) from None
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as err:
        raise spec_error(err, raw, source) from None
    spec._source = source
    return spec


def load_spec(ref: str | Path) -> Spec:
    """Load a bundled spec by name (`alexnet`) or a spec file by path."""
    path = resolve(ref)
    display = f"specs/{path.name}" if path.parent == specs_dir() else str(path)
    return parse_spec(read_bounded(path, yaml_builder.MAX_FILE_BYTES, "a YAML spec file"), display)
