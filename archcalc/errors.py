"""The one error type a spec can raise, carrying where in the spec it went wrong (a leaf module)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import IntEnum

from .encode import term_text

Loc = tuple[str | int, ...]

# The most characters each part of an error shows: every part may quote user text (a key, a name,
# a file name, a template of 20,000 `$w`), so each is cut here, where every error is rendered, and
# no line of an error is longer than MAX_ERROR_LINE whatever the input. The message's own words come
# first, so a cut takes the tail of what it quotes and says how long the whole was.
FIELD_LIMITS = {"file": 160, "subject": 160, "message": 480, "hint": 300, "note": 600}
MAX_ERROR_LINE = 1_000


def cut(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in `…` and the full length when cut.

    >>> cut("abc", 10), cut("x" * 50, 30)
    ('abc', 'xxxxxx… (50 characters in all)')
    """
    if len(text) <= limit:
        return text
    tail = f"… ({len(text):,} characters in all)"
    return text[: max(limit - len(tail), 0)] + tail


def _term(text: str, part: str) -> str:
    """User text as one terminal field: cut to its limit before encoding (escapes lengthen it) and after."""
    limit = FIELD_LIMITS[part]
    return cut(term_text(cut(text, limit)), limit)


class ExitCode(IntEnum):
    """Process exit codes; `cli.py` is the only place that uses them."""

    OK = 0
    FINDING = 1  # a budget exceeded, a verification mismatch: the spec is valid, the result is not
    BAD_SPEC = 2  # the spec cannot be read or is invalid (also click's own usage errors)
    MISSING_EXTRA = 3  # an optional dependency (torch, fvcore) is not installed
    INTERNAL = 4  # a bug in archcalc: reported in one line, never as a traceback
    CLOSED_PIPE = 141  # standard output's reader went away (`| head`): 128 + SIGPIPE, as a shell reports `cat`'s end


def close_matches(word: str, choices: Iterable[str], n: int = 1, cutoff: float = 0.6) -> list[str]:
    """difflib's nearest choices to a misspelt word; difflib is imported here, on the error path
    only, to keep it out of every command's start-up."""
    import difflib

    return difflib.get_close_matches(word, choices, n=n, cutoff=cutoff)


def out_of_memory(err: BaseException) -> bool:
    """Python's MemoryError, or torch's allocator refusing: torch.OutOfMemoryError on a GPU, a
    RuntimeError that says so on the CPU (told by its words: this module never imports torch)."""
    text = str(err).lower()
    return isinstance(err, MemoryError) or (
        isinstance(err, RuntimeError) and ("can't allocate memory" in text or "out of memory" in text)
    )


def format_loc(loc: Loc) -> str:
    """`("layers", 3, "stride")` -> `layers[3].stride`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True, slots=True)
class Position:
    """A 1-based line and column in a spec file."""

    line: int
    column: int


@dataclass
class SpecError(Exception):
    """A spec that cannot be analysed: what is wrong, where, and what would be right.

    `loc` is a path into the spec (`("layers", 3, "stride")`); the loader turns it into a file
    position. `layer` names the offending layer (`layers[3] 'conv2' (conv)`) when there is one.

    An exception, not a record: it stays a mutable, unslotted dataclass, as exceptions carry
    state of their own (traceback, context) and callers add to it (a dimension to `message`, a
    `note`) as it propagates.
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
        where = _term(self.file, "file") if self.file else "archcalc"
        if self.position is not None:
            where += f":{self.position.line}:{self.position.column}"
        subject = self.layer or (format_loc(self.loc) if self.loc else None)
        text = f"{where}: error[{_term(self.code, 'subject')}]: "
        if subject:
            text += f"{_term(subject, 'subject')}: "
        text += _term(self.message, "message")
        if self.hint:
            text += f"\n  hint: {_term(self.hint, 'hint')}"
        if self.note:
            text += f"\n  note: {_term(self.note, 'note')}"
        return text

    def to_dict(self) -> dict:
        """Plain fields for JSON, each cut to the same limits as the terminal text."""

        def capped(text: str | None, part: str) -> str | None:
            return None if text is None else cut(text, FIELD_LIMITS[part])

        return {
            "code": self.code,
            "message": capped(self.message, "message"),
            "hint": capped(self.hint, "hint"),
            "file": capped(self.file, "file"),
            "line": self.position.line if self.position else None,
            "column": self.position.column if self.position else None,
            "loc": capped(format_loc(self.loc), "subject"),
            "layer": capped(self.layer, "subject"),
            "note": capped(self.note, "note"),
        }


class LayerError(ValueError):
    """Raised by a layer's arithmetic; the analyzer adds the location and the layer's name."""

    def __init__(self, code: str, message: str, *, field: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.hint = hint
