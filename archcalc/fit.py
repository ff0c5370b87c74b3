"""Fitting a text table to a width: wrap text at spaces, leave columns out in their order, then cut
text short with an ellipsis. A number is never cut or wrapped: when even the narrowest layout is
wider than the width, the table is printed wider than the width, whole.

The order is each column's own (`Column.drop`, set where the table is made, e.g. analysis_view.py),
so what gives way first is decided once per table, next to its columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from .table import Row, TextTable, cut_to_width, text_width

# A wrapped column keeps at least this many characters a line (or its longest word): a description
# wrapped to a word a line reads worse than one wrapped a little wider than the screen.
MIN_WRAP = 24
# A shortened text keeps at least this many characters, the ellipsis included ("conv2…").
MIN_SHORT = 6
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Fitted:
    """A table as laid out for a width, and what was given up to fit it."""

    table: TextTable
    width: int  # the width asked for
    dropped: tuple[str, ...] = ()  # headers of the columns left out, in the order they went
    shortened: bool = False  # some text was cut short with an ellipsis
    too_wide: bool = False  # even so, wider than the width (its numbers whole)

    def note(self) -> str | None:
        """The one line said under a table that gave something up; None when it gave up nothing."""
        parts = []
        if self.dropped:
            parts.append(
                f"not shown, to fit {self.width} columns: {', '.join(self.dropped)}; "
                "--wide shows every column, --columns NAME,... picks them"
            )
        if self.shortened:
            parts.append(f"text cut short with {ELLIPSIS}")
        if self.too_wide:
            parts.append(too_wide_note(self.table.width(), self.width))
        return "; ".join(parts) or None


def too_wide_note(least: int, width: int) -> str:
    """What a table wider than the width says under it: it could not fit, and why."""
    return f"the narrowest layout is {least} columns, wider than {width}: numbers are never cut"


def wrap_words(text: str, width: int) -> list[str]:
    """Greedy word wrap at single spaces; a word longer than `width` stays whole on its own line.

    >>> wrap_words("per channel, running mean and 1,234,567", 12)
    ['per channel,', 'running mean', 'and', '1,234,567']
    """
    lines: list[str] = []
    for word in text.split(" "):
        if lines and text_width(lines[-1]) + 1 + text_width(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def wrap_line(text: str, width: int) -> list[str]:
    """A line under a table, wrapped at spaces to `width`: each continuation starts with the line's
    own indentation and two spaces more, so no wrapped word (a user's text, a `::`) opens a line.

    >>> wrap_line("  MACs: 1,135,256,096 (1.14G)", 18)
    ['  MACs:', '    1,135,256,096', '    (1.14G)']
    """
    if text_width(text) <= width:
        return [text]
    body = text.lstrip(" ")
    indent = text[: len(text) - len(body)]
    more = indent + "  "
    words = body.split(" ")
    lines = [indent + words[0]]
    for word in words[1:]:
        if text_width(lines[-1]) + 1 + text_width(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(more + word)
    return lines


def choose(table: TextTable, names: Sequence[str]) -> TextTable:
    """The table with only the columns `names` calls for (`--columns`), in the table's own order.

    A name is a column's name (its header's first words, lower case, hyphens for spaces: `rf-size`;
    or the name the command gives it, such as roofline's `intensity`), its header as printed, or a
    prefix of exactly one name (`hyper`, `weight`). Raises ValueError naming what is wrong: an
    unknown name with its nearest column, an ambiguous prefix with its candidates, or no name at all.
    """
    wanted = [name.strip().lower() for name in names if name.strip()]
    if not wanted:
        raise ValueError(f"name at least one column: {', '.join(c.name for c in table.columns)}")
    keep = {column_index(table, name) for name in wanted}
    return _select(table, sorted(keep))


def column_index(table: TextTable, name: str) -> int:
    """Which column `name` (lower case) calls for: its name, its header, else a unique prefix of a name."""
    from .errors import close_matches
    from .limits import shown  # the name as typed may be long or hold control characters

    known = [column.name for column in table.columns]
    for index, column in enumerate(table.columns):
        if name in (column.name, column.header.lower(), column.name.replace("-", " ")):
            return index
    starting = [index for index, known_name in enumerate(known) if known_name.startswith(name)]
    if len(starting) == 1:
        return starting[0]
    if starting:
        which = ", ".join(known[i] for i in starting)
        raise ValueError(f"{shown(name)} could name any of {which}; give more of the name")
    close = close_matches(name, known)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise ValueError(f"no column {shown(name)} in this table; {hint}columns: {', '.join(known)}")


def fit(table: TextTable, width: int) -> Fitted:
    """`table` laid out within `width` columns if it can be: wrapped columns narrowed first (down to
    MIN_WRAP), then columns left out in their `drop` order, then text cut short (down to MIN_SHORT)."""
    titled = _fit_title(table, width)
    if titled.width() <= width:
        return Fitted(titled, width)
    order = [i for _, i in sorted((c.drop, i) for i, c in enumerate(titled.columns) if c.drop is not None)]
    for count in range(len(order) + 1):
        gone = set(order[:count])
        candidate = _wrap(_select(titled, [i for i in range(len(titled.columns)) if i not in gone]), width)
        if candidate.width() <= width:
            break
    dropped = tuple(titled.columns[i].header for i in order[:count])
    if candidate.width() <= width:
        return Fitted(candidate, width, dropped)
    short = _shorten(candidate, width)
    least = short.width()
    return Fitted(short, width, dropped, shortened=least < candidate.width(), too_wide=least > width)


def _fit_title(table: TextTable, width: int) -> TextTable:
    if text_width(table.title) <= width:
        return table
    out = _select(table, list(range(len(table.columns))))
    out.title = _cut(table.title, max(width, MIN_SHORT))
    return out


def _select(table: TextTable, keep: list[int]) -> TextTable:
    """A copy of `table` with the columns at `keep` (rows, sections and styles kept)."""
    out = TextTable(show_footer=table.show_footer)
    out.title = table.title
    out.columns = [table.columns[i] for i in keep]
    out.rows = [replace(row, cells=tuple(row.cells[i] for i in keep)) for row in table.rows]
    return out


def narrowed(natural: list[int], floors: list[int], excess: int) -> list[int]:
    """Widths cut by up to `excess` in all, one character at a time off the widest, none below its floor.

    >>> narrowed([30, 10, 20], [5, 10, 18], 14)
    [18, 10, 18]
    """
    widths = list(natural)
    while excess > 0:
        above = [i for i in range(len(widths)) if widths[i] > floors[i]]
        if not above:
            break
        widths[max(above, key=lambda i: widths[i])] -= 1
        excess -= 1
    return widths


def _recut(table: TextTable, targets: dict[int, int], cut: bool) -> TextTable:
    """`table` with the text of each column in `targets` wrapped (cut False) or cut short to its width."""

    def text(index: int, value: str) -> str:
        if index not in targets:
            return value
        return _cut(value, targets[index]) if cut else "\n".join(wrap_words(value, targets[index]))

    out = _select(table, list(range(len(table.columns))))
    out.columns = [
        replace(column, header=text(i, column.header), footer=text(i, column.footer))
        for i, column in enumerate(table.columns)
    ]
    out.rows = [
        Row(tuple(text(i, c) for i, c in enumerate(row.cells)), row.style, row.end_section) for row in table.rows
    ]
    return out


def _wrap(table: TextTable, width: int) -> TextTable:
    indexes = [i for i, column in enumerate(table.columns) if column.wrap]
    excess = table.width() - width
    if not indexes or excess <= 0:
        return table
    inner = table.inner_widths()
    texts = table.texts()
    floors = [min(inner[i], max(MIN_WRAP, max(text_width(w) for t in texts[i] for w in t.split(" ")))) for i in indexes]
    widths = narrowed([inner[i] for i in indexes], floors, excess)
    return _recut(table, {i: w for i, w in zip(indexes, widths) if w < inner[i]}, cut=False)


def _shorten(table: TextTable, width: int) -> TextTable:
    indexes = [i for i, column in enumerate(table.columns) if column.shorten]
    excess = table.width() - width
    if not indexes:
        return table
    inner = table.inner_widths()
    floors = [min(inner[i], MIN_SHORT) for i in indexes]
    widths = narrowed([inner[i] for i in indexes], floors, excess)
    return _recut(table, {i: w for i, w in zip(indexes, widths) if w < inner[i]}, cut=True)


def _cut(text: str, width: int) -> str:
    """`text` in at most `width` columns (east-asian wide characters take two): its start and an ellipsis when longer."""
    return text if text_width(text) <= width else cut_to_width(text, width - 1) + ELLIPSIS
