"""Tables of one-line text cells, laid out as text without importing rich.

The static commands (`shapes`, `params`, `list`, `kinds`) print tables of plain strings. rich
lays a table out through its general machinery (measure, wrap, pad, crop) and its import alone
costs about a tenth of `archcalc shapes`' whole run. When the table fits the width it has (the
usual case: a pipe is 200 columns wide), the layout is only padding and box characters, which
`TextTable.lines` writes itself, byte for byte as rich would (tests/test_table.py holds every
bundled spec's tables equal to rich's rendering). fit.py first fits a table to the width (columns
left out, text wrapped or cut short; numbers never); text the direct layout cannot measure goes to
rich (`to_rich`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from typing import Any, Literal

from .encode import term_text

Justify = Literal["left", "right", "center"]

# rich.box.HEAVY_HEAD (rich's default table box) and rich.box.ASCII, the substitute rich uses when
# the output encoding is not UTF-8. Rows: top, head, head row, mid, row, foot row, foot, bottom;
# columns: left edge, horizontal, divider, right edge.
UNICODE_BOX = ("┏━┳┓", "┃ ┃┃", "┡━╇┩", "│ ││", "├─┼┤", "├─┼┤", "│ ││", "└─┴┘")
ASCII_BOX = ("+--+", "| ||", "|-+|", "| ||", "|-+|", "|-+|", "| ||", "+--+")
# Below U+0300 every printable character is one column wide; these few past it are too.
_NARROW = "·×→–—’“”…"


def text_width(text: str) -> int:
    """Terminal columns `text` takes: an east-asian wide or full-width character two, a combining
    mark none, any other one (as rich and terminals count them), so a CJK name is measured as shown.

    >>> text_width("conv1"), text_width("漢字"), text_width("e\u0301")
    (5, 4, 1)
    """
    if text.isascii():  # the usual case, and fast: one column a character
        return len(text)
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def cut_to_width(text: str, width: int) -> str:
    """The longest start of `text` that takes at most `width` columns (text_width).

    >>> cut_to_width("漢字漢字", 5), cut_to_width("conv1", 3)
    ('漢字', 'con')
    """
    if text.isascii():
        return text[:width]
    used = 0
    for index, char in enumerate(text):
        used += text_width(char)
        if used > width:
            return text[:index]
    return text


TOP, HEAD, HEAD_ROW, MID, ROW, FOOT_ROW, FOOT, BOTTOM = range(8)


@dataclass(frozen=True, slots=True)
class Column:
    """A column, and how it gives way when the table is wider than the screen (fit.py reads these).

    `drop`: the order in which it is left out (1 first; None: never). `shorten`: its text may be cut
    with an ellipsis as a last resort. `wrap`: its text may wrap at spaces onto more lines. A column
    that does none of these (every count) is always printed whole.
    """

    header: str
    footer: str = ""
    justify: Justify = "left"
    name: str = ""  # what `--columns` calls it: the header's first words, lower case, hyphens for spaces
    drop: int | None = None
    shorten: bool = False
    wrap: bool = False


def column_name(header: str) -> str:
    """The name `--columns` takes for a header: its words before any parenthesis, lower case, hyphens
    for spaces: 'output (HxWxC)' -> 'output', 'MACs' -> 'macs', 'RF size' -> 'rf-size'."""
    return "-".join(header.split(" (")[0].strip().lower().split())


@dataclass(frozen=True, slots=True)
class Row:
    cells: tuple[str, ...]
    style: str | None = None  # "dim" for a row that is context, not data (the input row)
    end_section: bool = False  # a rule after this row


class TextTable:
    """A titled table of one-line cells: columns with header, optional footer and justification.

    A line of `lines()` is (text, style): style is None, "bold" (header, footer), "italic" (the
    title) or a row's style; a writer applies it on a terminal and drops it elsewhere.
    """

    def __init__(self, title: str = "", show_footer: bool = False) -> None:
        self.title = term_text(title)
        self.show_footer = show_footer
        self.columns: list[Column] = []
        self.rows: list[Row] = []

    def add_column(
        self,
        header: str,
        footer: str = "",
        justify: Justify = "left",
        *,
        drop: int | None = None,
        shorten: bool = False,
        wrap: bool = False,
        name: str | None = None,
    ) -> None:
        """`name`: what `--columns` calls it, where the header's first words would not do."""
        header = term_text(header)
        self.columns.append(
            Column(
                header=header,
                footer=term_text(footer),
                justify=justify,
                name=name or column_name(header),
                drop=drop,
                shorten=shorten,
                wrap=wrap,
            )
        )

    def add_row(self, *cells: str, style: str | None = None) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"a row of {len(cells)} cells in a table of {len(self.columns)} columns")
        self.rows.append(Row(cells=tuple(map(term_text, cells)), style=style))  # a cell is one line of terminal text

    def add_section(self) -> None:
        """A rule under the last row added."""
        if self.rows:
            self.rows[-1] = replace(self.rows[-1], end_section=True)

    def texts(self) -> list[tuple[str, ...]]:
        """Per column: header, cells and (when shown) footer."""
        columns = list(zip(*(row.cells for row in self.rows))) or [()] * len(self.columns)
        return [
            (c.header, *cells, *((c.footer,) if self.show_footer else ())) for c, cells in zip(self.columns, columns)
        ]

    def inner_widths(self) -> list[int]:
        """Each column's widest text: header, cells and footer (a wrapped cell's widest line)."""
        return [
            max(text_width(line) for text in texts for line in text.split("\n"))
            if "\n" in "".join(texts)
            else max(map(text_width, texts))
            for texts in self.texts()
        ]

    def width(self) -> int:
        """Characters per line: cells, one space either side of each, and the borders."""
        return sum(self.inner_widths()) + 3 * len(self.columns) + 1

    def simple(self) -> bool:
        """Whether every text is one printable line of characters one column wide each, with no
        space at either end, as the direct layout assumes (a CJK name is two columns a character,
        a combining accent none; rich trims edge spaces as it justifies, except the leading spaces of
        a left-justified cell: the tree column's indentation, tree_view.py)."""
        texts = [self.title, *(c.header for c in self.columns), *(c.footer for c in self.columns)]
        if list(map(str.strip, texts)) != texts:
            return False
        left = [column.justify == "left" for column in self.columns]
        for row in self.rows:
            texts += row.cells
            for cell, is_left in zip(row.cells, left):
                if cell != (cell.rstrip() if is_left and not cell.isspace() else cell.strip()):
                    return False
        text = "".join(texts)
        if not text.isprintable():
            return False
        for narrow in _NARROW:
            text = text.replace(narrow, "")
        return text.isascii() or max(text) < "\u0300"

    def lines(self, unicode: bool = True) -> list[tuple[str, str | None]]:
        """The laid-out table, one (text, style) per line, as rich's Table prints it unwrapped."""
        box = UNICODE_BOX if unicode else ASCII_BOX
        inner = self.inner_widths()
        multiline = any("\n" in "".join(texts) for texts in self.texts())  # a cell fit.py wrapped
        justify = [column.justify for column in self.columns]

        def rule(kind: int) -> str:
            left, line, divider, right = tuple(box[kind])  # the row's four characters
            return left + divider.join(line * (w + 2) for w in inner) + right

        def cells(texts: tuple[str, ...], kind: int) -> str:
            """One row; a cell that fit.py wrapped onto lines makes it as many lines, blank-padded."""
            if multiline and "\n" in "".join(texts):
                split = [text.split("\n") for text in texts]
                height = max(map(len, split))
                return "\n".join(
                    cells(tuple(lines[i] if i < len(lines) else "" for lines in split), kind) for i in range(height)
                )
            left, _, divider, right = tuple(box[kind])
            padded = []
            for text, width, how in zip(texts, inner, justify):
                if how == "right":
                    padded.append(text.rjust(width))
                elif how == "left":
                    padded.append(text.ljust(width))
                else:  # rich's centring: the odd space goes to the right
                    pad = width - len(text)
                    padded.append(" " * (pad // 2) + text + " " * (pad - pad // 2))
            return f"{left} " + f" {divider} ".join(padded) + f" {right}"

        out: list[tuple[str, str | None]] = []
        if self.title:
            width = sum(inner) + 3 * len(inner) + 1
            pad = max(width - len(self.title), 0)
            out.append((" " * (pad // 2) + self.title + " " * (pad - pad // 2), "italic"))
        out.append((rule(TOP), None))
        out.append((cells(tuple(c.header for c in self.columns), HEAD), "bold"))
        out.append((rule(HEAD_ROW), None))
        last = len(self.rows) - 1
        for index, row in enumerate(self.rows):
            out.append((cells(row.cells, MID), row.style))
            if row.end_section and index < last:
                out.append((rule(ROW), None))
        if self.show_footer:
            out.append((rule(FOOT_ROW), None))
            out.append((cells(tuple(c.footer for c in self.columns), FOOT), "bold"))
        out.append((rule(BOTTOM), None))
        return [(part, style) for text, style in out for part in text.split("\n")] if multiline else out

    def to_rich(self) -> Any:
        """The same table as a rich Table, for what the direct layout does not do (wrapping)."""
        from rich.table import Table
        from rich.text import Text  # literal text: a name with [brackets] or :colons: is not markup

        # The title (the spec's own text) is cut, never wrapped: a wrap would start a line with user text.
        title = Text(self.title, no_wrap=True, overflow="ellipsis") if self.title else None
        table = Table(title=title, show_footer=self.show_footer, header_style="bold")
        for column in self.columns:
            # A column that neither wraps nor shortens (the counts) is never cut: Output prints the
            # table wide enough for it (commands/common.py, Output.rich_table).
            table.add_column(
                Text(column.header),
                footer=Text(column.footer),
                justify=column.justify,
                no_wrap=not (column.wrap or column.shorten),
            )
        for row in self.rows:
            table.add_row(*map(Text, row.cells), style=row.style, end_section=row.end_section)
        return table
