"""The static commands: shapes, params, list, kinds. Pure analysis, no torch."""

from __future__ import annotations

import click

from .. import analysis_view, numfmt
from ..analysis import Analysis, analyze
from ..bundled import bundled_names
from ..counted import count, resolve_convention
from ..dtypes import DTYPE_BYTES
from ..loader import load_spec
from ..table import TextTable
from .common import (
    Output,
    _stdout_width,
    convention_option,
    dtype_option,
    handles_errors,
    input_option,
    json_option,
    spec_argument,
    with_input,
)


def _analyse(spec_ref: str, input_shape: tuple[int, ...] | None) -> Analysis:
    return analyze(with_input(load_spec(spec_ref), input_shape))


@click.command()
@spec_argument
@input_option
@dtype_option
@convention_option()
@click.option("--explain", is_flag=True, help="Show each layer's derivation: (W - K + 2P)/S + 1, parameters, MACs.")
@json_option
@handles_errors
def shapes(
    out: Output,
    spec: str,
    input_shape: tuple[int, ...] | None,
    dtype: str,
    convention: str,
    explain: bool,
    as_json: bool,
) -> None:
    """Per-layer output volume, units, weights, biases, connections and MACs, with totals."""
    analysis = _analyse(spec, input_shape)
    counted = count(analysis, resolve_convention(convention, analysis.spec))
    memory = analysis.memory(dtype)
    derivations = None
    if explain:
        from ..explanation import explain as explain_spec

        derivations = explain_spec(analysis.spec)
    if as_json:
        data = analysis_view.analysis_dict(analysis, memory, counted)
        if derivations is not None:
            from .. import explanation_text

            by_path = explanation_text.explain_dicts(derivations)
            for row in data["layers"]:
                row["explain"] = by_path.get(row["path"], [])
        out.json(data)
        return
    out.table(analysis_view.shapes_table(analysis, counted), huge=analysis_view.RICH_ROWS_LIMIT)
    if derivations is not None:
        from .. import explanation_text

        out.line("derivations:")
        for line, filler in explanation_text.explain_lines(derivations):
            out.line("  " + line, style="dim" if filler else None)
    if counted.convention.rows == "blocks" or counted.convention.params_unit != 1:
        out.table(analysis_view.convention_table(analysis, counted))
    for line in analysis_view.summary_lines(analysis, memory, counted):
        out.line(line)
    for line in analysis_view.CONVENTION_LINES:
        out.line(line, style="dim")


@click.command()
@spec_argument
@input_option
@dtype_option
@json_option
@handles_errors
def params(out: Output, spec: str, input_shape: tuple[int, ...] | None, dtype: str, as_json: bool) -> None:
    """Parameter report: weights vs biases, trainable vs buffers, memory at a dtype."""
    analysis = _analyse(spec, input_shape)
    memory = analysis.memory(dtype)
    if as_json:
        out.json(
            {
                "spec": analysis_view.spec_dict(analysis),
                "layers": [
                    {
                        k: v
                        for k, v in analysis_view.row_dict(row, DTYPE_BYTES[dtype]).items()
                        if k in ("path", "kind", "trainable", "weights", "biases", "params", "buffers", "counters")
                    }
                    for row in analysis.rows
                    if row.params or row.buffers or row.counters
                ],
                "totals": analysis.totals.to_dict(),
                "memory": analysis_view.memory_dict(memory),
            }
        )
        return
    out.table(analysis_view.params_table(analysis), huge=analysis_view.RICH_ROWS_LIMIT)
    for line in analysis_view.params_lines(analysis, memory):
        out.line(line)


@click.command(name="list")
@json_option
@handles_errors
def list_(out: Output, as_json: bool) -> None:
    """The bundled specs, grouped by family, with their totals."""
    entries = []
    for name in bundled_names():
        analysis = analyze(load_spec(name))
        entries.append(analysis)
    if as_json:
        out.json(
            [
                {
                    **analysis_view.spec_dict(a),
                    "params": a.totals.params,
                    "macs": a.totals.macs,
                    "units": a.totals.units,
                }
                for a in entries
            ]
        )
        return
    table = TextTable(title="bundled specs, by family")
    for column, justify in (
        ("family", "left"),
        ("name", "left"),
        ("title", "left"),
        ("input", "right"),
        ("params", "right"),
        ("MACs", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    previous = None
    for a in sorted(entries, key=lambda a: (a.spec.family, a.spec.name)):
        if previous is not None and a.spec.family != previous:
            table.add_section()
        table.add_row(
            a.spec.family if a.spec.family != previous else "",
            a.spec.name,
            a.spec.title,
            numfmt.fmt_shape(a.input_shape),
            numfmt.fmt_int(a.totals.params),
            numfmt.fmt_int(a.totals.macs),
        )
        previous = a.spec.family
    out.table(table)


@click.command()
@click.argument("kind", required=False, metavar="[KIND]")
@json_option
@handles_errors
def kinds(out: Output, kind: str | None, as_json: bool) -> None:
    """The layer kinds a spec may use; with KIND, its fields: type, default, aliases and meaning."""
    from ..kind_reference import kind_list, resolve_kind  # kinds only: not on `shapes`' start-up

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
    from ..kind_reference import kind_dict

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
