"""The `archcalc` command line: the only module that prints or chooses an exit code."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import report
from .analyze import DTYPE_BYTES, Analysis, analyze
from .errors import ExitCode, SpecError
from .layers import KIND_TO_CLASS
from .loader import bundled_names, load_spec
from .spec import Spec


def _console(stderr: bool = False) -> Console:
    # Off a terminal (CI logs, pipes) rich would wrap at 80 columns; tables read better unwrapped.
    probe = Console(stderr=stderr)
    width = None if probe.is_terminal else int(os.environ.get("COLUMNS", 200))
    return Console(stderr=stderr, width=width, highlight=False)


class Output:
    """One stdout console and one stderr console; JSON goes out as plain text, never through rich."""

    def __init__(self) -> None:
        self.out = _console()
        self.err = _console(stderr=True)

    def json(self, data: Any) -> None:
        click.echo(json.dumps(data, indent=2))

    def error(self, message: str) -> None:
        self.err.print(Text(message, style="red"), soft_wrap=True)


def _handles_errors(command: Callable[..., None]) -> Callable[..., None]:
    """Turn every failure into one message and an exit code; never a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        out = Output()
        as_json = kwargs.get("as_json", False)
        try:
            command(out, *args, **kwargs)
        except SpecError as err:
            if as_json:
                out.json({"error": err.to_dict()})
            else:
                out.error(str(err))
            sys.exit(ExitCode.BAD_SPEC)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except Exception as err:  # a bug in archcalc: say so in one line
            if os.environ.get("ARCHCALC_DEBUG"):
                raise
            out.error(f"internal error: {type(err).__name__}: {err}\n  this is a bug in archcalc; "
                      "ARCHCALC_DEBUG=1 shows the traceback")  # fmt: skip
            sys.exit(ExitCode.INTERNAL)

    return wrapper


def _parse_input(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    """`3x224x224` (channels first, as in specs) or `224` (every spatial size)."""
    if value is None:
        return None
    try:
        parts = tuple(int(p) for p in value.lower().replace(",", "x").split("x"))
    except ValueError:
        raise click.BadParameter(f"expected sizes like 3x224x224 or 224, got {value!r}") from None
    if not parts or any(p < 1 for p in parts) or len(parts) > 4:
        raise click.BadParameter(f"expected 1 to 4 positive sizes like 3x224x224, got {value!r}")
    return parts


def _with_input(spec: Spec, shape: tuple[int, ...] | None) -> Spec:
    if shape is None:
        return spec
    if len(shape) == 1 and len(spec.input) > 1:
        shape = (spec.input[0],) + shape * (len(spec.input) - 1)
    return spec.with_input(shape)


spec_argument = click.argument("spec", metavar="SPEC")
input_option = click.option(
    "--input", "input_shape", callback=_parse_input, metavar="CxHxW",
    help="Analyse at another input size: 3x224x224 (channels first) or 224 (every spatial size).",
)  # fmt: skip
dtype_option = click.option(
    "--dtype", type=click.Choice(list(DTYPE_BYTES)), default="fp32", show_default=True,
    help="Element type for memory figures.",
)  # fmt: skip
json_option = click.option("--json", "as_json", is_flag=True, help="Print a machine-readable JSON result.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="archcalc")
def main() -> None:
    """What does this CNN cost? Exact per-layer shapes, parameters, connections and MACs.

    SPEC is the name of a bundled spec (see `archcalc list`) or the path of a YAML spec file.
    """


def _analyse(spec_ref: str, input_shape: tuple[int, ...] | None) -> Analysis:
    return analyze(_with_input(load_spec(spec_ref), input_shape))


@main.command()
@spec_argument
@input_option
@dtype_option
@json_option
@_handles_errors
def shapes(out: Output, spec: str, input_shape: tuple[int, ...] | None, dtype: str, as_json: bool) -> None:
    """Per-layer output volume, units, weights, biases, connections and MACs, with totals."""
    analysis = _analyse(spec, input_shape)
    memory = analysis.memory(dtype)
    if as_json:
        out.json(report.analysis_dict(analysis, memory))
        return
    out.out.print(report.shapes_table(analysis))
    for line in report.summary_lines(analysis, memory):
        out.out.print(line, soft_wrap=True)
    for line in report.CONVENTION_LINES:
        out.out.print(Text(line, style="dim"), soft_wrap=True)


@main.command()
@spec_argument
@input_option
@dtype_option
@json_option
@_handles_errors
def params(out: Output, spec: str, input_shape: tuple[int, ...] | None, dtype: str, as_json: bool) -> None:
    """Parameter report: weights vs biases, trainable vs buffers, memory at a dtype."""
    analysis = _analyse(spec, input_shape)
    memory = analysis.memory(dtype)
    if as_json:
        out.json({
            "spec": report.spec_dict(analysis),
            "layers": [
                {k: v for k, v in report.row_dict(row, DTYPE_BYTES[dtype]).items()
                 if k in ("path", "kind", "trainable", "weights", "biases", "params", "buffers", "counters")}
                for row in analysis.rows if row.params or row.buffers or row.counters
            ],
            "totals": report.totals_dict(analysis.totals),
            "memory": report.memory_dict(memory),
        })  # fmt: skip
        return
    out.out.print(report.params_table(analysis, memory))
    for line in report.params_lines(analysis, memory):
        out.out.print(line, soft_wrap=True)


@main.command(name="list")
@json_option
@_handles_errors
def list_(out: Output, as_json: bool) -> None:
    """The bundled specs, grouped by family, with their totals."""
    entries = []
    for name in bundled_names():
        analysis = analyze(load_spec(name))
        entries.append(analysis)
    if as_json:
        out.json([
            {**report.spec_dict(a), "params": a.totals.params, "macs": a.totals.macs, "units": a.totals.units}
            for a in entries
        ])  # fmt: skip
        return
    table = Table(title="bundled specs", header_style="bold")
    for column, justify in (("family", "left"), ("name", "left"), ("title", "left"), ("input", "right"),
                            ("params", "right"), ("MACs", "right")):  # fmt: skip
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for a in sorted(entries, key=lambda a: (a.spec.family, a.spec.name)):
        table.add_row(a.spec.family, a.spec.name, a.spec.title, report.fmt_shape(a.input_shape),
                      report.fmt_int(a.totals.params), report.fmt_int(a.totals.macs))  # fmt: skip
    out.out.print(table)


@main.command()
@json_option
@_handles_errors
def kinds(out: Output, as_json: bool) -> None:
    """The layer kinds a spec may use, with their fields."""
    rows = []
    for kind, cls in KIND_TO_CLASS.items():
        fields = [f for f in cls.model_fields if f not in ("kind",)]
        rows.append({"kind": kind, "fields": fields, "doc": (cls.__doc__ or "").strip().splitlines()[0]})
    if as_json:
        out.json(rows)
        return
    table = Table(title="layer kinds", header_style="bold")
    table.add_column("kind")
    table.add_column("fields")
    table.add_column("what it is")
    for row in rows:
        table.add_row(row["kind"], ", ".join(row["fields"]), row["doc"])
    out.out.print(table)


if __name__ == "__main__":  # pragma: no cover
    main()
