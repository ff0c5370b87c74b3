"""The torch-backed commands: verify (and --reconcile) and export. torch is imported inside them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from ..analysis import analyze
from ..bundled import bundled_names
from ..encode import term_text
from ..errors import ExitCode
from ..loader import load_spec
from ..numfmt import fmt_int
from .common import BoundedInt, Output, handles_errors, input_option, json_option, width_option, with_input
from .files import atomic_path, write_atomic

MARKS = {"ok": ("✓", "green"), "convention": ("≈", "yellow"), "fail": ("✗", "bold red")}


def needs_extra(command: Callable[..., None]) -> Callable[..., None]:
    """Missing torch/fvcore/counters: one message naming the extra, exit code 3. An import of a
    package from outside archcalc that fails anywhere in the command (not only through `require`)
    is a missing extra too."""

    @wraps(command)
    def wrapper(out: Output, *args: Any, **kwargs: Any) -> None:
        from ..verify import MissingExtra

        try:
            try:
                command(out, *args, **kwargs)
            except ImportError as err:
                missing = MissingExtra.from_import_error(err, f"archcalc {command.__name__}")
                if missing is None:
                    raise
                raise missing from None
        except MissingExtra as err:
            if kwargs.get("as_json"):
                out.json({"error": {"code": "missing_extra", "message": str(err), "hint": err.hint}})
            else:
                out.error(f"archcalc: error[missing_extra]: {err}\n  hint: {err.hint}")
            sys.exit(ExitCode.MISSING_EXTRA)

    return wrapper


def _cell_text(cell: Any) -> Text:
    mark, style = MARKS[cell.status]
    if cell.status == "ok":
        return Text(mark, style=style)
    return Text(f"{mark} {cell.ours} vs {cell.theirs}" + (f" ({cell.note})" if cell.note else ""), style=style)


def _verification_table(result: Any) -> Table:
    table = Table(title=f"{result.spec}: archcalc vs torch (batch {result.batch}, CPU)", header_style="bold")
    for name in ("layer", "kind", "shape", "params", "buffers", "MACs vs fvcore", "FLOPs vs torch"):
        table.add_column(name)
    for layer in result.layers:
        table.add_row(
            layer.path,
            layer.kind,
            *(_cell_text(layer.cells[c]) for c in ("shape", "params", "buffers", "macs", "flops") if c in layer.cells),
        )
    return table


def _reconcile_table(name: str, rows: list[dict]) -> Table:
    table = Table(title=f"{name}: what each tool counts", header_style="bold")
    for column, justify in (
        ("tool", "left"),
        ("measured", "right"),
        ("archcalc predicts", "right"),
        ("", "center"),
        ("vs archcalc MACs", "right"),
        ("terms", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        mark = MARKS["ok" if r["ok"] else "fail"]
        terms = ", ".join(f"{k} {fmt_int(v)}" for k, v in r["terms"].items())
        measured = fmt_int(r["measured"]) if r["measured"] is not None else f"error: {r['error']}"
        diff = f"{r['vs_archcalc']:+,}" if r["vs_archcalc"] is not None else ""
        table.add_row(
            f"{r['tool']} ({r['label']})", measured, fmt_int(r["predicted"]), Text(mark[0], style=mark[1]), diff, terms
        )
    return table


@click.command()
@click.argument("specs", nargs=-1, metavar="SPEC...")
@click.option("--all", "all_specs", is_flag=True, help="Verify every bundled spec.")
@input_option
@click.option("--batch", default=2, show_default=True, type=BoundedInt(1, 64), help="Batch size of the run.")
@click.option(
    "--reconcile", is_flag=True, help="Also run fvcore, torch, ptflops, torchinfo and thop and explain their totals."
)
@json_option
@width_option
@handles_errors
@needs_extra
def verify(
    out: Output,
    specs: tuple[str, ...],
    all_specs: bool,
    input_shape: tuple[int, ...] | None,
    batch: int,
    reconcile: bool,
    as_json: bool,
) -> None:
    """Build each spec in PyTorch and confirm shapes, params, buffers, MACs (fvcore) and FLOPs (torch).

    A difference a counter's own convention explains is shown with both numbers (≈); any other
    difference (✗) makes the exit code 1.
    """
    from ..verify import require
    from ..verify.verification import reconcile as run_reconcile
    from ..verify.verification import verify_analysis

    require("torch", "archcalc verify")
    require("fvcore", "archcalc verify")
    names = list(specs) + (bundled_names() if all_specs else [])
    if not names:
        raise click.UsageError("name at least one SPEC, or --all")
    results, failures = [], 0
    for name in names:
        analysis = analyze(with_input(load_spec(name), input_shape))
        result = verify_analysis(analysis, batch)
        failures += result.failures
        entry = result.to_dict()
        if reconcile:
            entry["reconcile"] = run_reconcile(analysis)
            failures += sum(not r["ok"] for r in entry["reconcile"])
        results.append(entry)
        if not as_json:
            out.rich_table(_verification_table(result))
            t = result.totals
            out.out.print(
                "totals: "
                + "; ".join(
                    f"{k} {MARKS[c.status][0]} {fmt_int(c.ours)}"
                    + (f" vs {fmt_int(c.theirs)}" if c.status != "ok" else "")
                    for k, c in t.items()
                ),
                soft_wrap=True,
            )
            if result.skipped_ops:
                skipped = ", ".join(f"{op} x{n}" for op, n in result.skipped_ops.items())
                out.out.print(
                    Text(f"fvcore counted these ops as 0 (unsupported): {skipped}", style="dim"), soft_wrap=True
                )
            if reconcile:
                out.rich_table(_reconcile_table(name, entry["reconcile"]))
            if result.error:
                out.out.print(Text(result.error, style="red"), soft_wrap=True)
            verdict = "FAILED" if result.failures else "verified"
            layers = f"{len(result.layers)} layers" + (
                "" if result.error else " (each its own module of the built model)"
            )
            out.out.print(
                f"{result.spec}: {verdict}: {layers}, {result.failures} mismatches, "
                f"{result.conventions} differences explained by a counter's convention",
                soft_wrap=True,
            )
    if as_json:
        out.json({"ok": failures == 0, "specs": results})
    if failures:
        sys.exit(ExitCode.FINDING)


@click.command()
@click.argument("spec", metavar="SPEC")
@click.option("--to", "target", type=click.Choice(["torch", "onnx"]), default="torch", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File to write (required for onnx).")
@input_option
@handles_errors
@needs_extra
def export(out: Output, spec: str, target: str, output: str | None, input_shape: tuple[int, ...] | None) -> None:
    """Print the spec as PyTorch source (--to torch), or write an ONNX file (--to onnx -o FILE)."""
    from ..verify.build import render
    from ..verify.export import write_onnx

    loaded = with_input(load_spec(spec), input_shape)
    analyze(loaded)  # a bad spec fails here, with its file and line
    if target == "torch":
        source = render(loaded)
        if output:
            write_atomic(output, source)
        else:
            click.echo(source, nl=False)
        return
    if not output:
        raise click.UsageError("--to onnx needs -o FILE")
    with atomic_path(output) as tmp:
        write_onnx(loaded, str(tmp))
    out.err.print(f"wrote {term_text(str(output))}", soft_wrap=True)
