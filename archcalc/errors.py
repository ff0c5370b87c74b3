"""The one error type a spec can raise, carrying where in the spec it went wrong (a leaf module)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import NamedTuple

from .encode import term_text

Loc = tuple[str | int, ...]


class ExitCode(IntEnum):
    """Process exit codes; `cli.py` is the only place that uses them."""

    OK = 0
    FINDING = 1  # a budget exceeded, a verification mismatch: the spec is valid, the result is not
    BAD_SPEC = 2  # the spec cannot be read or is invalid (also click's own usage errors)
    MISSING_EXTRA = 3  # an optional dependency (torch, fvcore) is not installed
    INTERNAL = 4  # a bug in archcalc: reported in one line, never as a traceback


def close_matches(word: str, choices: list[str], n: int = 1, cutoff: float = 0.6) -> list[str]:
    """difflib's nearest choices to a misspelt word; difflib is imported here, on the error path
    only, to keep it out of every command's start-up."""
    import difflib

    return difflib.get_close_matches(word, choices, n=n, cutoff=cutoff)


def format_loc(loc: Loc) -> str:
    """`("layers", 3, "stride")` -> `layers[3].stride`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class Position(NamedTuple):
    """A 1-based line and column in a spec file (a tuple: one is made per YAML node)."""

    line: int
    column: int


@dataclass
class SpecError(Exception):
    """A spec that cannot be analysed: what is wrong, where, and what would be right.

    `loc` is a path into the spec (`("layers", 3, "stride")`); the loader turns it into a file
    position. `layer` names the offending layer (`layers[3] 'conv2' (conv)`) when there is one.
    """

    code: str
    message: str
    loc: Loc = ()
    hint: str | None = None
    layer: str | None = None
    file: str | None = None
    position: Position | None = None
    note: str | None = None  # where else to look: e.g. the block and use site a layer came from
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def located(self, file: str | None, position: Position | None) -> SpecError:
        return replace(self, file=file, position=position)

    def __str__(self) -> str:
        """Terminal text: every field may carry user text (a key, a file name, a value), so each is
        encoded; the only line breaks are the ones put here, before `hint:` and `note:`."""
        where = term_text(self.file) if self.file else "archcalc"
        if self.position is not None:
            where += f":{self.position.line}:{self.position.column}"
        subject = self.layer or (format_loc(self.loc) if self.loc else None)
        text = f"{where}: error[{term_text(self.code)}]: "
        if subject:
            text += f"{term_text(subject)}: "
        text += term_text(self.message)
        if self.hint:
            text += f"\n  hint: {term_text(self.hint)}"
        if self.note:
            text += f"\n  note: {term_text(self.note)}"
        return text

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "file": self.file,
            "line": self.position.line if self.position else None,
            "column": self.position.column if self.position else None,
            "loc": format_loc(self.loc),
            "layer": self.layer,
            "note": self.note,
        }


class LayerError(ValueError):
    """Raised by a layer's arithmetic; the analyzer adds the location and the layer's name."""

    def __init__(self, code: str, message: str, *, field: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.hint = hint
