"""A rich Table that lays out plain one-line cells itself: the same output, a fraction of the cost.

rich renders every cell through its general layout machinery (measure, wrap, pad, crop): about
2 ms per row on the CI machine, so a 500-row table (ResNet-152) took over a second, most of what
`archcalc shapes` cost. When every cell is plain one-line text and the table fits the console
unwrapped (the usual case: a pipe is 200 columns wide), the layout is only padding and box
characters, which this class writes directly. Anything else (markup or emoji codes in a cell,
a table wider than the console, options the fast path does not model) goes to rich unchanged.
tests/test_table.py checks that both paths give the same segments for every bundled spec.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.table import Table


def _plain(text: object) -> bool:
    """Text rich would print as is: one printable line, no markup, no emoji code, no edge spaces."""
    return (
        isinstance(text, str)
        and text.isprintable()
        and "[" not in text
        and ":" not in text
        and text == text.strip()
    )


class FastTable(Table):
    """rich.table.Table, with a direct layout for tables of plain cells that fit the console."""

    def _fast_ok(self) -> bool:
        """Whether this table uses only what the direct layout models (rich's defaults otherwise)."""
        if not (self.box and self.show_edge and self.show_header and self.pad_edge) or self.caption:
            return False
        if self.padding != (0, 1, 0, 1) or self.collapse_padding or self.expand or self.width is not None:
            return False
        if self.row_styles or self.show_lines or self.leading or self.border_style or self.style not in ("none", ""):
            return False
        for column in self.columns:
            if column.style or column.header_style or column.footer_style or column.highlight:
                return False
            if column.vertical != "top" or column.width is not None or column.min_width is not None:
                return False
            if column.max_width is not None or column.ratio is not None:
                return False
            if not _plain(column.header) or (self.show_footer and not _plain(column.footer)):
                return False
            if not all(_plain(cell) for cell in column._cells):
                return False
        return bool(self.columns)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self._fast_ok():
            yield from super().__rich_console__(console, options)
            return
        texts = [[column.header, *column._cells] + ([column.footer] if self.show_footer else [])
                 for column in self.columns]  # fmt: skip
        widths = [max(map(cell_len, cells)) + 2 for cells in texts]
        table_width = sum(widths) + self._extra_width
        if table_width > options.max_width:  # rich would wrap or crop: let it
            yield from super().__rich_console__(console, options)
            return
        if self.title:
            title = console.render_str(self.title, style=Style.pick_first(self.title_style, "table.title"),
                                       highlight=False)  # fmt: skip
            yield from console.render(
                title, options.update(width=table_width, highlight=self.highlight, height=None, justify=self.title_justify)
            )
        yield from self._fast_render(console, options, widths, texts)

    def _fast_render(
        self, console: Console, options: ConsoleOptions, widths: list[int], texts: list[list[str]]
    ) -> Iterator[Segment]:
        box = self.box.substitute(options, safe=console.safe_box if self.safe_box is None else self.safe_box)  # type: ignore[union-attr]
        border = Style.null()
        new_line = Segment.line()
        get_style = console.get_style
        justify = [column.justify for column in self.columns]
        inner = [w - 2 for w in widths]

        def line(cells: list[str], style: Style, left: str, divider: str, right: str) -> Iterator[Segment]:
            yield Segment(left, border)
            last = len(cells) - 1
            for i, text in enumerate(cells):
                pad = inner[i] - cell_len(text)
                how = justify[i]
                if how == "right":
                    text = " " * pad + text
                elif how == "center":
                    text = " " * (pad // 2) + text + " " * (pad - pad // 2)
                else:
                    text = text + " " * pad
                yield Segment(f" {text} ", style)
                if i != last:
                    yield Segment(divider, border)
            yield Segment(right, border)
            yield new_line

        yield Segment(box.get_top(widths), border)
        yield new_line
        header_style = get_style(self.header_style or "")
        yield from line([cells[0] for cells in texts], header_style, box.head_left, box.head_vertical, box.head_right)
        yield Segment(box.get_row(widths, "head", edge=True), border)
        yield new_line
        count = len(self.rows)
        for index, row in enumerate(self.rows):
            style = get_style(row.style) if row.style is not None else Style.null()
            yield from line([cells[index + 1] for cells in texts], style, box.mid_left, box.mid_vertical, box.mid_right)
            if row.end_section and index < count - 1:
                yield Segment(box.get_row(widths, "row", edge=True), border)
                yield new_line
        if self.show_footer:
            yield Segment(box.get_row(widths, "foot", edge=True), border)
            yield new_line
            footer_style = get_style(self.footer_style or "")
            yield from line([cells[-1] for cells in texts], footer_style, box.foot_left, box.foot_vertical, box.foot_right)
        yield Segment(box.get_bottom(widths), border)
        yield new_line
