"""The static commands: shapes, params, list. Pure analysis, no torch."""

from __future__ import annotations

import click

from .. import analysis_view, numfmt
from ..analysis import Analysis, analyze
from ..bundled import bundled_names
from ..counted import count, resolve_convention
from ..dtypes import DTYPE_BYTES
from ..loader import load_spec
from ..table import TextTable
from ..yaml_builder import MAX_DEPTH
from .common import (
    BoundedInt,
    Output,
    convention_option,
    dtype_option,
    handles_errors,
    input_option,
    json_option,
    spec_argument,
    table_options,
    with_input,
)

# the table's tree (archcalc/tree_view.py) to N steps of the paths; --json keeps every layer
depth_option = click.option(
    "--depth",
    # a path step takes at least one level of YAML nesting, so no table is deeper than the loader allows
    type=BoundedInt(0, MAX_DEPTH),
    default=None,
    metavar="N",
    help="Fold layers deeper than N path steps into one row per block with its subtotals "
    "(--depth 1: one row per top-level layer or stage; 0: the whole network). The table only.",
)


def _analyse(spec_ref: str, input_shape: tuple[int, ...] | None) -> Analysis:
    return analyze(with_input(load_spec(spec_ref), input_shape))


@click.command()
@spec_argument
@input_option
@dtype_option
@convention_option()
@click.option("--explain", is_flag=True, help="Show each layer's derivation: (W - K + 2P)/S + 1, parameters, MACs.")
@depth_option
@json_option
@table_options(", ".join(analysis_view.SHAPES_DROPS) + " (layer and the MACs column stay)")
@handles_errors
def shapes(
    out: Output,
    spec: str,
    input_shape: tuple[int, ...] | None,
    dtype: str,
    convention: str,
    explain: bool,
    depth: int | None,
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
    out.table(analysis_view.shapes_table(analysis, counted, depth), huge=analysis_view.RICH_ROWS_LIMIT, choose=True)
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
@depth_option
@json_option
@table_options(", ".join(analysis_view.PARAMS_DROPS) + " (layer and params stay)")
@handles_errors
def params(
    out: Output, spec: str, input_shape: tuple[int, ...] | None, dtype: str, depth: int | None, as_json: bool
) -> None:
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
    out.table(analysis_view.params_table(analysis, depth), huge=analysis_view.RICH_ROWS_LIMIT, choose=True)
    for line in analysis_view.params_lines(analysis, memory):
        out.line(line)


# The order in which `list`'s columns give way on a narrow screen (fit.py).
LIST_DROPS = ("input", "family", "title", "MACs")


@click.command(name="list")
@json_option
@table_options(", ".join(LIST_DROPS) + " (name and params stay)")
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
        drop = LIST_DROPS.index(column) + 1 if column in LIST_DROPS else None
        table.add_column(column, justify=justify, drop=drop, shorten=column == "title")  # type: ignore[arg-type]
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
    out.table(table, choose=True)
