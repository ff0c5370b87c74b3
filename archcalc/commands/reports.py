"""Report commands: `report` (files per spec, and the committed reports/ folder), `compare`, `diff`."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from .. import compare as comparing
from ..analysis import Analysis, analyze
from ..analysis_view import unknown_cell
from ..breakdown import Breakdown, build_breakdown, measured_from_dict, spec_name_of
from ..bundled import bundled_names
from ..encode import term_text
from ..errors import SpecError
from ..loader import load_spec
from ..measured import read_measured
from ..numfmt import fmt_int, fmt_shape
from ..report import formats, svg
from ..table import TextTable
from .common import (
    Output,
    convention_option,
    dtype_option,
    handles_errors,
    input_option,
    json_option,
    table_options,
    width_option,
    with_input,
)
from .completion import complete_spec
from .files import is_stdout, tell_written, write_atomic

# diff's columns left out, first to last, when its table is wider than the width (`diff --help` says so)
DIFF_DROPS = ("output", "Δ connections", "Δ units", "status")
ALL_FORMATS = ("md", "html")  # what `--all` writes unless --format says otherwise


def _read_measured(files: tuple[Path, ...]) -> dict[str | None, tuple[str, dict]]:
    """Measured-figure JSON files by the spec they name (None: names none)."""
    found: dict[str | None, tuple[str, dict]] = {}
    for path in files:
        data = read_measured(path)
        name = spec_name_of(data) if isinstance(data, dict) else None
        found[name] = (str(path), data)
    return found


def build_breakdowns(
    refs: list[str], dtype: str, input_shape: tuple[int, ...] | None, measured_files: tuple[Path, ...]
) -> list[Breakdown]:
    measured = _read_measured(measured_files)
    reports: list[Breakdown] = []
    for ref in refs:
        analysis = analyze(with_input(load_spec(ref), input_shape))
        memory = analysis.memory(dtype)
        entry = measured.pop(analysis.spec.name, None)
        if entry is None and None in measured and len(refs) == 1:
            entry = measured.pop(None)
        figures = measured_from_dict(entry[1], analysis, memory, entry[0]) if entry else None
        if any(r.name == analysis.spec.name for r in reports):
            raise SpecError(
                "duplicate_report",
                f"two of the specs given are named '{analysis.spec.name}': their "
                "reports would be written to the same files",
                file=ref,
                hint="give each spec its own `name:` (reports are named after it)",
            )
        reports.append(build_breakdown(analysis, dtype, figures))
    if measured:
        path = next(iter(measured.values()))[0]
        raise SpecError(
            "bad_measured",
            "these measured figures match no spec being reported",
            file=path,
            hint='name the spec in the JSON: "spec": "alexnet" (one file per spec)',
        )
    return reports


def write_reports(reports: list[Breakdown], fmts: tuple[str, ...], directory: Path, with_index: bool) -> list[Path]:
    """Write every report in every format (and the SVG chart beside markdown); returns the files written.

    When one file cannot be written, the error lists those this run wrote before it, so a partial
    run is never mistaken for a complete one."""
    written: list[Path] = []

    def write(path: Path, text: str) -> None:
        try:
            write_atomic(path, text)
        except SpecError as err:
            if written:
                err.note = f"written before it: {', '.join(str(p) for p in written)}; the rest were not written"
            raise
        written.append(path)

    available = formats()
    for name in fmts:
        fmt = available[name]
        files = {}
        for r in reports:
            chart = None
            if fmt.wants_chart_file:
                chart = f"{r.name}.svg"
                write(directory / chart, svg.chart(r))
            path = directory / f"{r.name}.{fmt.extension}"
            write(path, fmt.report(r, chart))
            files[r.name] = path.name
        if with_index:
            write(directory / f"index.{fmt.extension}", fmt.index(reports, files))
    return sorted(set(written))


@click.command()
@click.argument("specs", nargs=-1, metavar="SPEC...", shell_complete=complete_spec)
@click.option("--all", "all_specs", is_flag=True, help="Every bundled spec, with an index page (for reports/).")
@click.option(
    "--format",
    "fmts",
    multiple=True,
    type=click.Choice(["md", "html", "json", "csv"]),
    help="Output format; repeat for several. Default: md (with --all: md and html).",
)
@click.option(
    "-o",
    "--output",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder to write the reports into.",
)
@dtype_option
@input_option
@click.option(
    "--measured",
    "measured_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A verify or bench JSON with measured totals/per-layer figures (README: reports); repeatable.",
)
@handles_errors
def report(
    out: Output,
    specs: tuple[str, ...],
    all_specs: bool,
    fmts: tuple[str, ...],
    directory: Path,
    dtype: str,
    input_shape: tuple[int, ...] | None,
    measured_files: tuple[Path, ...],
) -> None:
    """Write a report per spec: summary, per-layer table, where parameters and MACs sit, a chart."""
    if all_specs == bool(specs):
        raise click.UsageError("give spec names or files, or --all (not both)")
    if is_stdout(directory):
        raise click.UsageError("report writes files into a folder; `-o -` (standard output) is not one: give -o DIR")
    refs = bundled_names() if all_specs else list(specs)
    reports = build_breakdowns(refs, dtype, input_shape, measured_files)
    written = write_reports(reports, fmts or (ALL_FORMATS if all_specs else ("md",)), directory, all_specs)
    for path in written:
        tell_written(path)


# ---------------------------------------------------------------------------------------------
# compare and diff


def _analyses(refs: tuple[str, ...], input_shape: tuple[int, ...] | None) -> list[Analysis]:
    return [analyze(with_input(load_spec(ref), input_shape)) for ref in refs]


@click.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC SPEC...", shell_complete=complete_spec)
@convention_option()
@dtype_option
@input_option
@json_option
@width_option
@handles_errors
def compare(
    out: Output, specs: tuple[str, ...], convention: str, dtype: str, input_shape: tuple[int, ...] | None, as_json: bool
) -> None:
    """Designs side by side: input, units, parameters, connections, MACs, depth, memory."""
    columns = [comparing.column(a, convention, dtype) for a in _analyses(specs, input_shape)]
    if as_json:
        out.json(comparing.compare_dict(columns))
        return
    table = Table(
        title="compare" + (f" (convention: {convention})" if convention != "archcalc" else ""), header_style="bold"
    )
    table.add_column("")
    for c in columns:
        table.add_column(c.name + ("*" if c.fallback else ""), justify="right")
    for label, cells in comparing.compare_rows(columns):
        table.add_row(label, *map(term_text, cells))  # a convention's name is the spec author's text
    out.rich_table(table)
    if any(c.fallback for c in columns):
        out.line("* declares no `convention:` for its source: archcalc's counts", style="dim")
    for c in columns:
        if c.convention.name != "archcalc" and c.convention.differences():
            line = f"{c.name}: {c.convention.name}: {'; '.join(c.convention.differences())}"
            out.line(line, style="dim")


@click.command()
@click.argument("a", metavar="A", shell_complete=complete_spec)
@click.argument("b", metavar="B", shell_complete=complete_spec)
@input_option
@click.option("--all-layers", is_flag=True, help="List unchanged layers too.")
@json_option
@table_options(", ".join(DIFF_DROPS))
@handles_errors
def diff(out: Output, a: str, b: str, input_shape: tuple[int, ...] | None, all_layers: bool, as_json: bool) -> None:
    """What changes from design A to design B: per-layer and total deltas (layers matched by path)."""
    first, second = _analyses((a, b), input_shape)
    result = comparing.diff(first, second)
    if as_json:
        out.json(comparing.diff_dict(result))
        return
    opaque = bool(first.opaque_rows or second.opaque_rows)  # then connections and MACs deltas hold a ?
    table = TextTable(title=f"{first.spec.name} → {second.spec.name}", show_footer=True)
    table.add_column("layer", footer="total", shorten=True)
    table.add_column("status", drop=DIFF_DROPS.index("status") + 1)
    table.add_column("what changed (A → B)", wrap=True)
    table.add_column("output (A → B)", drop=DIFF_DROPS.index("output") + 1)
    for name in comparing.DIFF_FIELDS:
        header = f"Δ {name}"
        drop = DIFF_DROPS.index(header) + 1 if header in DIFF_DROPS else None
        footer = comparing.signed(result.totals[name][2])
        if opaque and name in comparing.OPAQUE_FIELDS:
            footer = unknown_cell(footer or "0", True, False)
        table.add_column(header, footer=footer, justify="right", drop=drop, name=name)
    for entry in result.layers:
        if entry.status == "same" and not all_layers:
            continue
        shapes = " → ".join(dict.fromkeys(fmt_shape(s) for s in (entry.shape_a, entry.shape_b) if s is not None))
        style = {"added": "green", "removed": "red", "changed": "yellow"}.get(entry.status)
        table.add_row(
            entry.path,
            entry.status,
            entry.what_changed(),
            shapes,
            *(
                unknown_cell("", True, True)
                if entry.opaque and n in comparing.OPAQUE_FIELDS
                else comparing.signed(entry.delta(n)) or "·"
                for n in comparing.DIFF_FIELDS
            ),
            style=style,
        )
    out.table(table, choose=True)
    for name in comparing.DIFF_FIELDS:
        before, after, delta = result.totals[name]
        change = f" ({100 * delta / before:+.1f}%)" if before else ""
        unknown = " + ? (opaque layers: unknown)" if opaque and name in comparing.OPAQUE_FIELDS else ""
        out.line(f"{name}: {fmt_int(before)} → {fmt_int(after)}: {comparing.signed(delta) or '0'}{change}{unknown}")
