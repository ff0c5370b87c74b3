"""`archcalc kinds`: the layer kinds, each in a whole sentence, and a kind's fields; wrapped to the
terminal's width here, between words, so the static path never needs rich to lay them out."""

from __future__ import annotations

import click

from ..kind_reference import kind_dict, kind_list, resolve_kind
from ..table import TextTable
from .common import Output, _stdout_width, handles_errors, json_option


@click.command()
@click.argument("kind", required=False, metavar="[KIND]")
@json_option
@handles_errors
def kinds(out: Output, kind: str | None, as_json: bool) -> None:
    """The layer kinds a spec may use; with KIND, its fields: type, default, aliases and meaning."""
    if kind is not None:
        _kind_fields(out, resolve_kind(kind), as_json)
        return
    rows = kind_list()
    if as_json:
        out.json(rows)
        return
    table = TextTable(title="layer kinds")
    table.add_column("kind")
    table.add_column("what it is")
    names = max(len(row["kind"]) for row in rows)
    room = max(_room(_stdout_width(), (names,)), MIN_WRAP)
    for row in rows:
        for index, line in enumerate(_wrapped(row["doc"], room)):
            table.add_row(row["kind"] if index == 0 else "", line)
    out.table(table)
    out.line("fields of a kind: archcalc kinds KIND", style="dim")


def _kind_fields(out: Output, kind: str, as_json: bool) -> None:
    data = kind_dict(kind)
    if as_json:
        out.json(data)
        return
    width = _stdout_width()
    for line in _wrapped(f"{kind}: {data['doc']}", width):
        out.line(line)
    if data["aliases"]:
        out.line(f"also written: {', '.join(data['aliases'])}")
    cells = [
        (f["name"], f["type"], "required" if f["required"] else f["default"], ", ".join(f["aliases"]) or "-")
        for f in data["fields"]
    ]
    fixed = tuple(max(len(c[i]) for c in [FIELD_COLUMNS[:4], *cells]) for i in range(4))
    room = _room(width, fixed)
    if room < MIN_WRAP:  # too narrow for the table: each field as a heading line and its meaning below
        for fixed_cells, field in zip(cells, data["fields"]):
            name, type_, default, aliases = fixed_cells
            also = f" (also {aliases})" if field["aliases"] else ""
            for line in _wrapped(
                f"{name}{also}: {type_}, {'required' if field['required'] else 'default ' + default}", width
            ):
                out.line(line, style="bold")
            for line in _wrapped(field["meaning"], width - 4):
                out.line("    " + line)
        return
    table = TextTable()
    for column in FIELD_COLUMNS:
        table.add_column(column)
    for fixed_cells, field in zip(cells, data["fields"]):
        for index, line in enumerate(_wrapped(field["meaning"], room)):
            table.add_row(*(fixed_cells if index == 0 else ("",) * 4), line)
    out.table(table)


FIELD_COLUMNS = ("field", "type", "default", "aliases", "meaning")
# The narrowest a wrapped column gets: the kinds table is then wider than a very narrow terminal (rich lays it
# out); a kind's fields are listed one under another instead.
MIN_WRAP = 20


def _room(width: int, fixed: tuple[int, ...]) -> int:
    """The characters left for a table's last column beside columns of these widths (each cell is
    padded by a space either side and the columns are divided by one rule character)."""
    return width - sum(fixed) - 3 * (len(fixed) + 1) - 1


def _wrapped(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` characters, broken between words (a word longer than a
    line is broken inside), never cut short."""
    import textwrap

    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]
