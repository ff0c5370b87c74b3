"""YAML text -> plain Python values and the file position of every node, within the size, node and depth limits.

The builder reads PyYAML's events itself, so every value keeps its line:column and a hostile file
(billion laughs, deep nesting, ambiguous scalars) is refused as it is read.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any

import yaml

from .errors import Loc, Position, SpecError
from .layers import KINDS, field_aliases
from .limits import shown, too_long

MAX_FILE_BYTES = 8 * 1024 * 1024  # a 100,000-layer spec is about 4 MB of YAML
MAX_NODES = 2_000_000  # YAML nodes after alias expansion: stops "billion laughs"
MAX_DEPTH = 200  # YAML nesting: about 60 levels of nested blocks
_TOO_DEEP_HINT = "nest blocks less deeply; `kind: repeat` repeats layers without nesting"

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_scalar = yaml.constructor.SafeConstructor()


class SourceMap:
    """A spec file's name and the line/column of every node, keyed by path.

    A builder, not a record: the parser fills it as the events stream in (as it does `_Frame`),
    so it is a plain class with slots rather than a frozen dataclass."""

    __slots__ = ("file", "positions", "notes", "uses")

    def __init__(self, file: str) -> None:
        self.file = file
        self.positions: dict[Loc, Position] = {}
        self.notes: dict[Loc, str] = {}  # expanded block -> where it came from
        self.uses = False  # a `use:` key somewhere under `layers` (templates.py expands it)

    def resolve(self, loc: Loc) -> Loc:
        """The deepest node of `loc` that exists in the file.

        pydantic puts the kind tag into locations (`layers[2].conv.stride`); a short-form layer
        has that key in the file, a canonical one does not, so unknown steps are skipped.
        Field names the user spelt with an alias (`kernel` for `kernel_size`) are tried too.
        """
        aliases = FIELD_ALIASES
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


FIELD_ALIASES = field_aliases()  # field name -> its other spellings (`kernel_size` -> `kernel`)


_SEQ, _MAP = "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
_STR, _INT, _FLOAT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_PLAIN_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null")}
_WHAT = {
    _INT: "an integer",
    _FLOAT: "a number",
    "tag:yaml.org,2002:bool": "a boolean (true or false)",
    "tag:yaml.org,2002:null": "null",
}
_CONSTRUCTORS = yaml.constructor.SafeConstructor.yaml_constructors


# A plain integer written with a leading zero and octal digits (`017`, `-017`, `0_17`): YAML 1.1
# reads it as octal (017 is 15), YAML 1.2 as decimal (17). Readers disagree on the number, so the
# spec is refused rather than read as either. With an 8 or a 9 (`08`, `019`) YAML 1.1 reads text,
# as here: a number field refuses it, a text field keeps it (PyYAML writes the string '08' so).
_LEADING_ZERO_TAG = "tag:archcalc,2026:leading-zero"
_LEADING_ZERO = re.compile(r"^[-+]?0[0-7_]+$")
_NOT_SEXAGESIMAL = r"(?!.*:)"  # YAML 1.1's base-60 numbers (190:20:30 is 685,230) are text, as in YAML 1.2


def _implicit(tag: str, pattern: re.Pattern) -> tuple[str, re.Pattern]:
    if tag in (_INT, _FLOAT):
        return tag, re.compile(_NOT_SEXAGESIMAL + pattern.pattern, pattern.flags)
    return tag, pattern


class _Resolver(yaml.resolver.Resolver):
    """YAML 1.1's implicit types, less the forms YAML 1.2 reads otherwise: a date-like scalar
    (`title: 2001-02-30`) and a base-60 one (`notes: 12:30:00`) are text, and an integer with a
    leading zero (`017`) is refused (see `_LEADING_ZERO`). A spec has no dates, constructing one
    fails on a day that does not exist, and 12:30:00 read as 45,000 is a silent wrong number.
    Kept: hex `0x1F`, binary `0b101`, `+5` and `1_000` (each is one number, or text in YAML 1.2,
    which a number field refuses: never another number)."""

    yaml_implicit_resolvers = {
        first: ([(_LEADING_ZERO_TAG, _LEADING_ZERO)] if first in "-+0" else [])
        + [_implicit(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
    }


_resolver = _Resolver()
_NO_KEY = object()


class _Frame:
    """An open sequence or mapping while the events stream in."""

    __slots__ = ("value", "is_map", "path", "anchor", "first_node", "deepest", "key")

    def __init__(self, value: list | dict, path: Loc, anchor: str | None, first_node: int, deepest: int) -> None:
        self.value = value
        self.is_map = isinstance(value, dict)
        self.path = path
        self.anchor = anchor
        self.first_node = first_node  # the node count when it opened: its size is the count at its end minus this
        self.deepest = deepest  # the longest path inside it so far
        self.key: Any = _NO_KEY  # a mapping waiting for the value of this key


class _Builder:
    """Turns YAML parse events into plain Python data, recording node positions.

    Built from the event stream, iteratively, rather than from `yaml.compose`: libyaml's composer
    recurses in C and crashes the process (SIGSEGV) on input nested a few thousand levels deep,
    and walking a composed alias bomb node by node takes minutes. Here nesting is checked as it
    opens, and an alias costs its anchor's recorded size at once, so both stop at the limit.
    Aliased data is shared, not copied; errors inside it point at the alias.
    """

    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self.nodes = 0
        self.anchors: dict[str, tuple[Any, int, int]] = {}  # name -> (value, nodes, depth below it)
        self.open: set[str] = set()
        self.scalars: dict[tuple[Any, str, Any], Any] = {}  # (tag, text, implicit) -> its value, this file's

    def error(self, code: str, message: str, mark: Any, hint: str | None = None, loc: Loc = ()) -> SpecError:
        return SpecError(
            code, message, loc=loc, hint=hint, file=self.source.file, position=Position(mark.line + 1, mark.column + 1)
        )

    def count(self, nodes: int, mark: Any) -> None:
        self.nodes += nodes
        if self.nodes > MAX_NODES:
            raise self.error(
                "spec_too_large",
                f"the spec expands to more than {MAX_NODES:,} YAML nodes (an alias bomb, or a generated file gone wrong)",
                mark,
                hint="write repeated structure with `kind: repeat` instead of YAML aliases",
            )

    def check_depth(self, depth: int, mark: Any) -> None:
        if depth > MAX_DEPTH:
            raise self.error("too_deep", f"the spec nests deeper than {MAX_DEPTH} levels", mark, hint=_TOO_DEEP_HINT)

    def check_tag(self, tag: str | None, default: str, mark: Any) -> None:
        if tag not in (None, "!", default):
            raise self.error(
                "unsupported_tag",
                f"YAML tags such as {tag!r} are not supported in a spec",
                mark,
                hint="remove the tag; write plain values, lists and mappings",
            )

    def scalar(self, event: yaml.ScalarEvent, loc: Loc) -> Any:
        tag = event.tag
        if tag is not None and tag != "!" and tag not in _PLAIN_TAGS:
            self.check_tag(tag, _STR, event.start_mark)
        key = (tag, event.value, event.implicit)
        known = self.scalars.get(key, _NO_KEY)  # the same few words and numbers recur on every layer
        if known is not _NO_KEY:
            return known
        if tag is None or tag == "!":
            tag = _resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _LEADING_ZERO_TAG:
            raise self.leading_zero(event, loc)
        if tag == _STR or tag not in _CONSTRUCTORS:  # `<<` (merge) and `=` resolve to tags with no value: text
            value = event.value
        else:
            value = self.construct(tag, event, loc)
        self.scalars[key] = value  # str, int, float, bool or None: immutable, safe to share
        return value

    def key(self, event: Any, kind: type) -> str:
        """A mapping key: a name, never constructed as a number, boolean or null. Keys are field,
        block and parameter names everywhere in a spec (connection tables are lists), so `1:`,
        `true:`, `~:`, `!!int 5:` and `""` are refused here, the key shown as it is written."""
        mark = event.start_mark
        hint = "keys are names such as `out`, `kernel` or a block's name; write the key as one"
        if kind is not yaml.ScalarEvent:
            kinds: dict[type, str] = {yaml.SequenceStartEvent: "a list", yaml.MappingStartEvent: "a mapping"}
            what = kinds.get(kind, "an alias")
            raise self.error("bad_key", f"mapping keys must be names, got {what}", mark, hint=hint)
        tag = event.tag
        if tag is not None and tag != "!" and tag not in _PLAIN_TAGS:
            self.check_tag(tag, _STR, mark)
        if tag is None or tag == "!":
            tag = _resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == "tag:yaml.org,2002:merge":
            raise self.error(
                "merge_key",
                "YAML merge keys (<<) are not supported",
                mark,
                hint="write the fields out, or use `kind: repeat` for repeated layers",
            )
        if tag in _WHAT or tag == _LEADING_ZERO_TAG:
            reads = _WHAT.get(tag, "an ambiguous number (leading zero)")
            raise self.error(
                "bad_key",
                f"mapping keys must be names, got {shown(event.value)}, which YAML reads as {reads}",
                mark,
                hint=hint,
            )
        if not event.value.strip():
            raise self.error(
                "bad_key", f"mapping keys must be names, got {shown(event.value)} (empty)", mark, hint=hint
            )
        return event.value

    def leading_zero(self, event: yaml.ScalarEvent, loc: Loc) -> SpecError:
        """`017`: YAML 1.1 reads it as octal 15, YAML 1.2 as 17; archcalc reads neither."""
        text = event.value.strip()
        if reason := too_long(text):
            return self.error(
                "bad_value",
                f"{shown(text)} is {reason}",
                event.start_mark,
                loc=loc,
                hint="sizes, counts and budgets are far smaller; check for a typo",
            )
        sign = "-" if text.startswith("-") else ""
        digits = text.lstrip("+-").replace("_", "").lstrip("0") or "0"
        octal = all(c in "01234567" for c in digits)
        reading = f"octal {sign}{int(digits, 8):,}" if octal else f"the text {text!r}"
        other = "text" if "_" in text else f"{sign}{digits}"  # YAML 1.2 has no `_` in numbers
        return self.error(
            "bad_value",
            f"{shown(text)} is ambiguous: it has a leading zero, and YAML 1.1 reads "
            f"it as {reading}, YAML 1.2 as {other}",
            event.start_mark,
            loc=loc,
            hint=f"write it without the leading zero ({sign}{digits}), or quote it to make it text",
        )

    def construct(self, tag: str, event: yaml.ScalarEvent, loc: Loc) -> Any:
        """A null, boolean, integer or float, read at the door: an integer no longer than the
        digit limit (checked before `int()` sees it), a float finite, and any value its tag cannot
        take (`!!int "abc"`, `!!bool maybe`) refused at its line."""
        text, mark = event.value, event.start_mark
        if tag == _INT and (reason := too_long(text)):
            raise self.error(
                "bad_value",
                f"{shown(text)} is {reason}",
                mark,
                loc=loc,
                hint="sizes, counts and budgets are far smaller; check for a typo",
            )
        if tag == _INT and _LEADING_ZERO.match(text.strip()):  # `!!int 017`: octal in YAML 1.1 only
            raise self.leading_zero(event, loc)
        if tag in (_INT, _FLOAT) and ":" in text:  # `!!int 190:20:30`: base 60 in YAML 1.1 only
            raise self.error(
                "bad_value",
                f"{shown(text)} is not {_WHAT[tag]}: YAML 1.1 reads it as a base-60 number, YAML 1.2 as text",
                mark,
                loc=loc,
                hint=f"write {_WHAT[tag]} in decimal, or quote it with no tag to make it text",
            )
        node = yaml.ScalarNode(tag, text, mark, event.end_mark, event.style)  # type: ignore[arg-type]  # libyaml's Mark is PyYAML's Mark in all but name
        try:
            value = _CONSTRUCTORS[tag](_scalar, node)
        except Exception:  # PyYAML's constructor on untrusted text: any failure is the value's fault
            raise self.error(
                "bad_value",
                f"{shown(text)} is not {_WHAT[tag]}",
                mark,
                loc=loc,
                hint=f"write {_WHAT[tag]}, or quote it with no tag to make it text",
            ) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(
                "bad_value",
                f"{shown(text)} is not a finite number",
                mark,
                loc=loc,
                hint="NaN, infinities and floats past 1.8e308 are refused: give a finite one",
            )
        return value

    def run(self, events: Any) -> Any:
        stack: list[_Frame] = []
        documents = 0
        root: Any = None
        positions = self.source.positions
        # dispatch on the event's exact class (libyaml makes these, never subclasses): cheaper
        # than a chain of isinstance tests on every one of a large spec's events
        scalar_event, alias_event, sequence_start = yaml.ScalarEvent, yaml.AliasEvent, yaml.SequenceStartEvent
        ends = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
        skipped = (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent)
        for event in events:
            kind = type(event)
            if kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise self.error(
                        "yaml_syntax",
                        "malformed YAML: a spec is one document, this file holds more",
                        event.start_mark,
                        hint="remove the second `---` and what follows it",
                    )
                continue
            if kind in skipped:
                continue
            top = stack[-1] if stack else None
            mark = event.start_mark
            if kind in ends:
                frame = stack.pop()
                if frame.anchor is not None:
                    self.open.discard(frame.anchor)
                    self.anchors[frame.anchor] = (
                        frame.value,
                        self.nodes - frame.first_node,
                        frame.deepest - len(frame.path),
                    )
                if stack:
                    stack[-1].deepest = max(stack[-1].deepest, frame.deepest)
                value = frame.value
            else:
                if top is not None and top.is_map and top.key is _NO_KEY:  # a mapping expects a key
                    key = self.key(event, kind)
                    if key in top.value:
                        raise self.error(
                            "duplicate_key",
                            f"the key {key!r} appears twice in this mapping",
                            mark,
                            hint="remove one of them",
                        )
                    if key == "use":  # a `use:` somewhere: templates.py expands it
                        self.source.uses = True
                    top.key = key
                    positions[top.path + (key,)] = Position(mark.line + 1, mark.column + 1)
                    continue
                if top is None:
                    path: Loc = ()
                elif top.is_map:
                    path = top.path + (top.key,)
                else:
                    path = top.path + (len(top.value),)
                positions.setdefault(path, Position(mark.line + 1, mark.column + 1))
                if kind is scalar_event:
                    self.count(1, mark)
                    value = self.scalar(event, path)
                    if event.anchor is not None:
                        self.anchors[event.anchor] = (value, 1, 0)
                elif kind is alias_event:
                    if event.anchor in self.open:
                        raise self.error("recursive_alias", "a YAML alias refers to a node that contains it", mark)
                    if event.anchor not in self.anchors:
                        raise self.error(
                            "yaml_syntax",
                            f"malformed YAML: the alias *{event.anchor} names no anchor defined before it",
                            mark,
                            hint=f"define `&{event.anchor}` before using it",
                        )
                    value, size, below = self.anchors[event.anchor]
                    self.check_depth(len(path) + below, mark)
                    self.count(size, mark)
                    if top is not None:
                        top.deepest = max(top.deepest, len(path) + below)
                else:  # a sequence or mapping opens
                    self.count(1, mark)
                    self.check_depth(len(path), mark)
                    is_seq = kind is sequence_start
                    self.check_tag(event.tag, _SEQ if is_seq else _MAP, mark)
                    if event.anchor is not None:
                        self.open.add(event.anchor)
                    stack.append(_Frame([] if is_seq else {}, path, event.anchor, self.nodes - 1, len(path)))
                    continue
            if not stack:
                root = value
            else:
                parent = stack[-1]
                if parent.is_map:
                    parent.value[parent.key] = value
                    parent.key = _NO_KEY
                else:
                    assert isinstance(parent.value, list)  # a sequence's frame holds a list
                    parent.value.append(value)
        return root


def _read_text(data: bytes | str, file: str) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise SpecError(
            "spec_too_large",
            f"the file is larger than the limit of {MAX_FILE_BYTES:,} bytes",
            file=file,
            hint="a 100,000-layer spec is about 4 MB; write repeated layers with `kind: repeat`",
        )
    if isinstance(data, str):
        return data
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


# A flow bracket, or a span in which brackets are text: a quoted scalar or a comment.
_FLOW_TOKEN = re.compile(r"""'(?:[^']|'')*'|"(?:[^"\\]|\\.)*"|(?:^|(?<=\s))#[^\n]*|[\[\]{}]""", re.M)


def flow_depth(text: str, end: int) -> int:
    """The deepest flow-bracket nesting (`[`, `{`) in `text[:end]`, brackets inside quoted scalars
    and comments left out. Read on the error path only, so its cost (a regex pass) never touches a
    good spec.

    >>> flow_depth("layers: [[a, {b: '[['}], c]", 27)
    3
    >>> flow_depth("a: [1, 2]  # [[[[", 17)
    1
    """
    depth = deepest = 0
    for match in _FLOW_TOKEN.finditer(text, 0, end):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth = max(depth - 1, 0)
    return deepest


_EXPRESSION_TEXT = re.compile(r"\$\{[^}\n]{0,60}\}?")


def _bare_expression(line: str) -> str | None:
    """The first `${...}` on a line that is neither inside quotes nor in a `# comment`: only such a
    one can be the cause (a quoted one is text to YAML, a commented one is not read at all).

    >>> _bare_expression('- conv: {out: "${c * 2}", kernel: ${k}}  # ${x}')
    '${k}'
    >>> _bare_expression("- relu  # ${x}"), _bare_expression("- {out: '${c}'"), _bare_expression("- x#${a}")
    (None, None, '${a}')
    """
    quote = None
    for i, char in enumerate(line):
        if quote is not None:
            if char == quote and not (quote == '"' and line[i - 1] == "\\"):
                quote = None
        elif char in "'\"" and (i == 0 or line[i - 1] in " \t[{,:"):
            quote = char
        elif char == "#" and (i == 0 or line[i - 1] in " \t"):
            return None
        elif line.startswith("${", i):
            return _EXPRESSION_TEXT.match(line, i).group()  # type: ignore[union-attr]
    return None


def _unquoted_expression(text: str, marks: list[Any]) -> str | None:
    """The hint for a syntax error on a line holding an unquoted template expression: inside YAML's
    `[...]` and `{...}` forms the braces of an unquoted `${c * 2}` are read as brackets, so the parser
    stops there with a message about brackets that never names the cause.

    >>> _unquoted_expression("layers: [conv: {out: ${c * 2}}]", [yaml.Mark("", 24, 0, 24, None, None)])
    'quote the expression: write "${c * 2}" (unquoted, its braces are brackets in the [...] and {...} forms of YAML)'
    """
    for mark in marks:
        start = text.rfind("\n", 0, mark.index) + 1
        end = text.find("\n", mark.index)
        found = _bare_expression(text[start : end if end >= 0 else len(text)])
        if found:
            expression = found if found.endswith("}") else "${...}"
            return (
                f'quote the expression: write "{expression}" '
                "(unquoted, its braces are brackets in the [...] and {...} forms of YAML)"
            )
    return None


def _codepoint(character: int | str) -> int:
    return character if isinstance(character, int) else ord(character)


def parse_yaml(data: bytes | str, file: str = "<string>") -> tuple[Any, SourceMap]:
    """YAML text -> plain data and the position of every node."""
    text = _read_text(data, file)
    source = SourceMap(file)
    builder = _Builder(source)
    try:
        data = builder.run(yaml.parse(text, Loader=_Loader))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        position = Position(mark.line + 1, mark.column + 1) if mark else None
        if mark is not None and flow_depth(text, mark.index) > MAX_DEPTH:
            # The parser looks ahead through flow brackets before any event reaches the builder's
            # depth check, and a parser may stop at a nesting limit of its own (PyYAML 6.0.4's C
            # parser does at about 1,000 levels). Whatever it said, the spec broke archcalc's limit.
            raise SpecError(
                "too_deep",
                f"the spec nests deeper than {MAX_DEPTH} levels",
                file=file,
                position=position,
                hint=_TOO_DEEP_HINT,
            ) from None
        problem = err.problem or err.context or "unreadable YAML"
        if err.context and err.context_mark is not None and err.problem:
            problem += f" ({err.context} at line {err.context_mark.line + 1})"
        raise SpecError(
            "yaml_syntax",
            f"malformed YAML: {problem}",
            file=file,
            position=position,
            hint=_unquoted_expression(text, [m for m in (err.problem_mark, err.context_mark) if m is not None])
            or "check brackets, indentation and the `key: value` form near this line",
        ) from None
    except yaml.reader.ReaderError as err:  # a character YAML does not allow (NUL, other controls)
        line = text.count("\n", 0, err.position) + 1
        column = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        raise SpecError(
            "yaml_syntax",
            f"malformed YAML: the character U+{_codepoint(err.character):04X} is not allowed in YAML text",
            file=file,
            position=Position(line, column),
            hint="remove control characters (NUL, ...) from the file",
        ) from None
    except yaml.YAMLError as err:
        raise SpecError("yaml_syntax", f"malformed YAML: {err}", file=file) from None
    if builder.nodes == 0:
        raise SpecError(
            "empty_spec", "the spec is empty", file=file, hint="a spec needs at least `name`, `input` and `layers`"
        )
    return data, source
