"""Spec files -> Spec models, keeping YAML node positions so every error names file:line:col.

Also finds the bundled specs (shipped inside the wheel as `archcalc/specs`, or the repository's
top-level `specs/` in a source checkout).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .errors import Loc, Position, SpecError, format_loc
from .layers import KIND_ALIASES, KIND_TO_CLASS, KINDS, field_aliases
from .spec import Spec
from .templates import expand_blocks

MAX_FILE_BYTES = 32 * 1024 * 1024  # a 100,000-layer spec is about 3 MB of YAML
MAX_NODES = 2_000_000  # YAML nodes after alias expansion: stops "billion laughs"
MAX_DEPTH = 200  # YAML nesting: about 60 levels of nested blocks

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_scalar = yaml.constructor.SafeConstructor()


@dataclass
class SourceMap:
    """A spec file's name and the line/column of every node, keyed by path."""

    file: str
    positions: dict[Loc, Position] = field(default_factory=dict)
    notes: dict[Loc, str] = field(default_factory=dict)  # expanded block -> where it came from

    def resolve(self, loc: Loc) -> Loc:
        """The deepest node of `loc` that exists in the file.

        pydantic puts the kind tag into locations (`layers[2].conv.stride`); a short-form layer
        has that key in the file, a canonical one does not, so unknown steps are skipped.
        Field names the user spelt with an alias (`kernel` for `kernel_size`) are tried too.
        """
        aliases = _ALIASES
        here: Loc = ()
        for part in loc:
            for candidate in (part, *(aliases.get(part, ()) if isinstance(part, str) else ())):
                if here + (candidate,) in self.positions:
                    here = here + (candidate,)
                    break
            else:
                if isinstance(part, str) and part not in KINDS:
                    for kind in KINDS:  # a short-form layer: its fields sit under the kind key
                        for candidate in (part, *aliases.get(part, ())):
                            if here + (kind, candidate) in self.positions:
                                here = here + (kind, candidate)
                                break
                        else:
                            continue
                        break
        return here

    def locate(self, loc: Loc) -> Position | None:
        """The position of the deepest node of `loc` that exists in the file."""
        return self.positions.get(self.resolve(loc))

    def note_for(self, loc: Loc) -> str | None:
        """The note of the innermost expanded block `loc` lies in (see templates.py), if any."""
        here = self.resolve(loc)
        for end in range(len(here), -1, -1):
            if here[:end] in self.notes:
                return self.notes[here[:end]]
        return None


    def locate_error(self, err: SpecError) -> SpecError:
        located = err.located(self.file, self.locate(err.loc))
        note = self.note_for(err.loc)
        return replace(located, note=note) if note and not err.note else located


_ALIASES = field_aliases()


class _Builder:
    """Turns a composed YAML node tree into plain Python data, recording node positions."""

    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self.nodes = 0
        self.stack: set[int] = set()

    def error(self, code: str, message: str, node: yaml.Node, hint: str | None = None) -> SpecError:
        mark = node.start_mark
        return SpecError(code, message, hint=hint, file=self.source.file, position=Position(mark.line + 1, mark.column + 1))

    def build(self, node: yaml.Node, path: Loc) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.error(
                "spec_too_large",
                f"the spec expands to more than {MAX_NODES:,} YAML nodes (an alias bomb, or a generated file gone wrong)",
                node,
                hint="write repeated structure with `kind: repeat` instead of YAML aliases",
            )
        if len(path) > MAX_DEPTH:
            raise self.error("too_deep", f"the spec nests deeper than {MAX_DEPTH} levels", node)
        self.source.positions.setdefault(path, Position(node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.ScalarNode):
            return _scalar.construct_object(node)
        if id(node) in self.stack:
            raise self.error("recursive_alias", "a YAML alias refers to a node that contains it", node)
        self.stack.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self.error("bad_key", "mapping keys must be plain names", key_node)
                key = _scalar.construct_object(key_node)
                if key == "<<":
                    raise self.error("merge_key", "YAML merge keys (<<) are not supported", key_node,
                                     hint="write the fields out, or use `kind: repeat` for repeated layers")  # fmt: skip
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    raise self.error("bad_key", f"mapping keys must be names, got {key!r}", key_node)
                if key in result:
                    raise self.error("duplicate_key", f"the key {key!r} appears twice in this mapping", key_node,
                                     hint="remove one of them")  # fmt: skip
                self.source.positions[path + (key,)] = Position(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                result[key] = self.build(value_node, path + (key,))
            return result
        finally:
            self.stack.discard(id(node))


def _read_text(data: bytes | str, file: str) -> str:
    if isinstance(data, str):
        return data
    if len(data) > MAX_FILE_BYTES:
        raise SpecError("spec_too_large", f"the file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}", file=file)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise SpecError(
            "not_utf8",
            f"byte 0x{data[err.start]:02x} at offset {err.start} is not valid UTF-8",
            file=file,
            position=Position(line, column),
            hint="save the spec as UTF-8 text",
        ) from None


def parse_yaml(data: bytes | str, file: str = "<string>") -> tuple[Any, SourceMap]:
    """YAML text -> plain data and the position of every node."""
    text = _read_text(data, file)
    source = SourceMap(file)
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        position = Position(mark.line + 1, mark.column + 1) if mark else None
        problem = err.problem or err.context or "unreadable YAML"
        if err.context and err.context_mark is not None and err.problem:
            problem += f" ({err.context} at line {err.context_mark.line + 1})"
        raise SpecError("yaml_syntax", f"malformed YAML: {problem}", file=file, position=position,
                        hint="check brackets, indentation and the `key: value` form near this line") from None
    except yaml.YAMLError as err:
        raise SpecError("yaml_syntax", f"malformed YAML: {err}", file=file) from None
    except RecursionError:
        raise SpecError("too_deep", "the YAML nests too deeply to read", file=file) from None
    if root is None:
        raise SpecError("empty_spec", "the spec is empty", file=file,
                        hint="a spec needs at least `name`, `input` and `layers`")  # fmt: skip
    try:
        data = _Builder(source).build(root, ())
    except RecursionError:
        raise SpecError("too_deep", "the YAML nests too deeply to read", file=file) from None
    return data, source


def _describe_input(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _layer_at(data: Any, loc: Loc) -> tuple[Loc, dict | None]:
    """The location and raw mapping of the innermost layer on `loc` (short forms unwrapped)."""
    node, best_loc, best = data, (), None
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
    if not layer_loc or raw is None or not str(layer_loc[-2] if len(layer_loc) > 1 else "").endswith("layers") \
            and "body" not in layer_loc and "shortcut" not in layer_loc:  # fmt: skip
        return None, Spec
    kind = raw.get("kind")
    kind = KIND_ALIASES.get(str(kind).lower(), kind)
    label = format_loc(layer_loc)
    if isinstance(raw.get("name"), str):
        label += f" '{raw['name']}'"
    if kind in KIND_TO_CLASS:
        return f"{label} ({kind})", KIND_TO_CLASS[kind]
    return label, None


def _field_names(model: type) -> list[str]:
    names = []
    for fname in model.model_fields:  # type: ignore[attr-defined]
        names.append(fname)
        names.extend(_ALIASES.get(fname, ()))
    return sorted(set(names))


def _clean_loc(loc: Loc) -> Loc:
    """Drop pydantic's kind tags and validator names from a location."""
    out: list[str | int] = []
    for i, part in enumerate(loc):
        if isinstance(part, str) and i > 0 and isinstance(loc[i - 1], int) and part in KINDS:
            continue
        if isinstance(part, str) and ("[" in part or part.startswith("function-")):
            continue
        out.append(part)
    return tuple(out)


_BOUNDS = ("greater_than_equal", "greater_than", "less_than_equal", "less_than", "too_short", "too_long",
           "string_pattern_mismatch", "string_too_long")  # fmt: skip


def _spec_error(err: ValidationError, data: Any, source: SourceMap) -> SpecError:
    """The first pydantic error as one SpecError with a message a person can act on."""
    first = err.errors(include_url=False)[0]
    loc, kind, msg = tuple(first["loc"]), first["type"], first["msg"]
    clean = _clean_loc(loc)
    label, model = _layer_label(data, clean)
    field_name = clean[-1] if clean and isinstance(clean[-1], str) else None
    if label is None and clean and isinstance(clean[-1], int):
        field_name = format_loc(clean)
    what = f"'{field_name}'" if field_name else "the value"
    got = _describe_input(first.get("input"))
    hint = None
    if kind == "missing":
        code, message = "missing_field", f"missing required field {what}"
        if model is Spec:
            hint = "a spec needs `name`, `input` (channels first, e.g. [3, 224, 224]) and `layers`"
        elif model is not None and field_name in model.model_fields:  # type: ignore[attr-defined]
            others = [a for a in _ALIASES.get(str(field_name), ()) if a != field_name]
            hint = f"add `{field_name}: ...`" + (f" (or its short name `{others[0]}`)" if others else "")
    elif kind == "extra_forbidden":
        code, message = "unknown_field", f"unknown field {what}"
        if model is not None:
            names = [n for n in _field_names(model) if n != "kind"]
            close = difflib.get_close_matches(str(field_name), names, n=1, cutoff=0.6)
            hint = (f"did you mean '{close[0]}'? " if close else "") + f"valid fields: {', '.join(names)}"
    elif kind in ("unknown_kind", "missing_kind"):
        code, message = kind, msg
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


def _has_use(value: Any) -> bool:
    """Whether any layer in the tree is a `use:` of a block (expanded by templates.py)."""
    if isinstance(value, dict):
        return "use" in value or any(_has_use(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_use(v) for v in value)
    return False


def parse_spec(data: bytes | str, file: str = "<string>") -> Spec:
    """Parse and validate spec text; raises SpecError naming file, line and field."""
    raw, source = parse_yaml(data, file)
    if not isinstance(raw, dict):
        raise SpecError("not_a_mapping", f"a spec is a mapping of fields, got a {type(raw).__name__}", file=file,
                        position=source.locate(()),
                        hint="start the file with `name: ...`, `input: [...]` and `layers:`")  # fmt: skip
    if "blocks" in raw or _has_use(raw.get("layers")):
        try:
            raw, source.positions, source.notes = expand_blocks(raw, file, source.positions)
        except RecursionError:
            raise SpecError("too_deep", "the blocks nest too deeply to expand", file=file) from None
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as err:
        raise _spec_error(err, raw, source) from None
    spec._source = source
    return spec


# ---------------------------------------------------------------------------------------------
# Bundled specs


def specs_dir() -> Path:
    """Where the bundled specs live: inside the installed package, or the checkout's specs/."""
    packaged = Path(str(resources.files("archcalc"))) / "specs"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "specs"


def bundled_names() -> list[str]:
    """Names of the bundled specs (file stems), sorted."""
    return sorted(p.stem for p in specs_dir().glob("*.yaml"))


def resolve(ref: str | Path) -> Path:
    """A spec reference -> a file: an existing path, or the name of a bundled spec."""
    path = Path(ref)
    if path.is_file():
        return path
    if path.exists():
        raise SpecError("not_a_file", f"{ref} is a directory, not a spec file", file=str(ref))
    bundled = specs_dir() / f"{ref}.yaml"
    if "/" not in str(ref) and bundled.is_file():
        return bundled
    names = bundled_names()
    close = difflib.get_close_matches(str(ref), names, n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise SpecError(
        "spec_not_found",
        f"no spec file '{ref}' and no bundled spec of that name",
        file=str(ref),
        hint=hint + "`archcalc list` shows the bundled specs",
    )


def load_spec(ref: str | Path) -> Spec:
    """Load a bundled spec by name (`alexnet`) or a spec file by path."""
    path = resolve(ref)
    display = path.name if path.parent == specs_dir() else str(path)
    display = f"specs/{display}" if path.parent == specs_dir() else display
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SpecError("unreadable", f"cannot read the file: {err.strerror}", file=str(path)) from None
    return parse_spec(data, display)

