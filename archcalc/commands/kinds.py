"""`archcalc kinds`: the layer kinds, each in a whole sentence, and a kind's fields, from the models."""

from __future__ import annotations

import click

from .. import fit
from ..kind_reference import kind_dict, kind_list, resolve_kind
from ..table import TextTable
from .common import Output, handles_errors, json_option, table_options
from .completion import complete_kind

FIELD_COLUMNS = ("field", "type", "default", "aliases", "meaning")


@click.command()
@click.argument("kind", required=False, metavar="[KIND]", shell_complete=complete_kind)
@json_option
@table_options("none: descriptions and meanings wrap at spaces")
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
    table.add_column("what it is", wrap=True)
    for row in rows:
        table.add_row(row["kind"], row["doc"])
    out.table(table, choose=True)
    out.line("fields of a kind: archcalc kinds KIND", style="dim")


def _kind_fields(out: Output, kind: str, as_json: bool) -> None:
    data = kind_dict(kind)
    if as_json:
        out.json(data)
        return
    out.line(f"{kind}: {data['doc']}")
    if data["aliases"]:
        out.line(f"also written: {', '.join(data['aliases'])}")
    table = TextTable()
    for column in FIELD_COLUMNS:
        table.add_column(column, wrap=column in ("type", "meaning"))
    for field in data["fields"]:
        default = "required" if field["required"] else field["default"]
        table.add_row(field["name"], field["type"], default, ", ".join(field["aliases"]) or "-", field["meaning"])
    if out.wide or out.columns or not fit.fit(table, out.width).too_wide:
        out.table(table, choose=True)
        return
    # Too narrow for five columns, and none may go (each says something the others do not):
    # each field as a heading line with its meaning indented below it.
    for field in data["fields"]:
        also = f" (also {', '.join(field['aliases'])})" if field["aliases"] else ""
        default = "required" if field["required"] else f"default {field['default']}"
        out.line(f"{field['name']}{also}: {field['type']}, {default}", style="bold")
        out.line(f"    {field['meaning']}")
