"""The torch-backed commands: verify (and --reconcile) and export. torch is imported inside them."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import wraps
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from ..analysis import analyze
from ..bundled import bundled_names
from ..dtypes import TORCH_DTYPES
from ..errors import ExitCode, SpecError
from ..loader import load_spec
from ..numfmt import fmt_int
from .against import verify_against_command
from .common import (
    BoundedInt,
    Output,
    errors_as_json,
    handles_errors,
    input_option,
    json_option,
    spec_argument,
    width_option,
    with_input,
)
from .completion import complete_spec
from .files import atomic_path, check_output, tell_written, write_file
from .progress import progress_bar

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
            if errors_as_json(kwargs):
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


def _verification_table(result: Any, only_failures: bool = False) -> Table:
    """The per-layer table; `only_failures`: just the rows with a ✗ (for --quiet)."""
    # a Text title: the GPU's name is the driver's text, not rich markup
    title = Text(f"{result.spec}: archcalc vs torch (batch {result.batch}, {result.placement.describe()})")
    table = Table(title=title, header_style="bold")
    for name in ("layer", "kind", "shape", "params", "buffers", "MACs vs fvcore", "FLOPs vs torch"):
        table.add_column(name)
    for layer in result.layers:
        if only_failures and all(c.status != "fail" for c in layer.cells.values()):
            continue
        table.add_row(
            layer.path,
            layer.kind,
            *(_cell_text(layer.cells[c]) for c in ("shape", "params", "buffers", "macs", "flops") if c in layer.cells),
        )
    return table


def _reconcile_table(name: str, rows: list[dict]) -> Table:
    table = Table(title=f"{name}: what each tool counts (batch 1, CPU, fp32)", header_style="bold")
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


@dataclass(frozen=True, slots=True)
class _Tally:
    """What a run of several specs adds up to: the summary line and the JSON's `summary`."""

    specs: int
    rows: int
    ok: int  # ✓ cells
    convention: int  # ≈ cells: a difference a counter's convention explains
    fail: int  # ✗: what makes the exit code 1 (failed cells, a run's error, a counter that disagrees)

    @classmethod
    def of(cls, verdicts: list[tuple[Any, int]]) -> _Tally:
        """From each spec's verification and its failures (reconcile's included)."""
        marks = [result.marks() for result, _ in verdicts if result is not None]
        return cls(
            specs=len(verdicts),
            rows=sum(len(result.layers) for result, _ in verdicts if result is not None),
            ok=sum(m["ok"] for m in marks),
            convention=sum(m["convention"] for m in marks),
            fail=sum(failures for _, failures in verdicts),
        )

    @property
    def checks(self) -> int:
        """What the marks count: each figure compared (a row's cells, the totals, a counter), not rows."""
        return self.ok + self.convention + self.fail

    def to_dict(self, seconds: float) -> dict[str, Any]:
        return {**asdict(self), "checks": self.checks, "seconds": round(seconds, 3)}

    def line(self, seconds: float) -> Text:
        text = Text(
            f"summary: {fmt_int(self.specs)} spec(s), {fmt_int(self.rows)} rows, {fmt_int(self.checks)} checks: "
        )
        for mark, count in (("ok", self.ok), ("convention", self.convention), ("fail", self.fail)):
            symbol, style = MARKS[mark]
            text.append(symbol, style=style if count else "dim")
            text.append(f" {fmt_int(count)}, ")
        text.append(f"{seconds:.1f} s")
        return text


def _print_result(out: Output, name: str, result: Any, entry: dict[str, Any], failures: int, quiet: bool) -> None:
    """One spec's table, totals, notes and verdict; under `quiet`, only what failed."""
    if quiet and not failures:
        return
    if not quiet or any(c.status == "fail" for layer in result.layers for c in layer.cells.values()):
        out.rich_table(_verification_table(result, only_failures=quiet))
    totals = {k: c for k, c in result.totals.items() if not quiet or c.status == "fail"}
    if totals:
        out.line(
            "totals: "
            + "; ".join(
                f"{k} {MARKS[c.status][0]} {fmt_int(c.ours)}" + (f" vs {fmt_int(c.theirs)}" if c.status != "ok" else "")
                for k, c in totals.items()
            )
        )
    if result.skipped_ops and not quiet:
        skipped = ", ".join(f"{op} x{n}" for op, n in result.skipped_ops.items())
        out.line(f"fvcore counted these ops as 0 (unsupported): {skipped}", style="dim")
    if "reconcile" in entry and (not quiet or not all(r["ok"] for r in entry["reconcile"])):
        out.rich_table(_reconcile_table(name, entry["reconcile"]))
    if result.error:
        out.line(result.error, style="red")
    verdict = "FAILED" if result.failures else "verified"
    layers = f"{len(result.layers)} layers" + ("" if result.error else " (each its own module of the built model)")
    out.line(
        f"{result.spec}: {verdict}: {layers}, {result.failures} mismatches, "
        f"{result.conventions} differences explained by a counter's convention"
    )


@click.command()
@click.argument("specs", nargs=-1, metavar="SPEC...", shell_complete=complete_spec)
@click.option("--all", "all_specs", is_flag=True, help="Verify every bundled spec.")
@input_option
@click.option("--batch", default=2, show_default=True, type=BoundedInt(1, 64), help="Batch size of the run.")
@click.option(
    "--device",
    type=click.Choice(["auto", "cuda", "cpu"]),
    default="auto",
    show_default=True,
    help="Where the run happens; auto: the GPU when torch sees one. The counts do not depend on it.",
)
@click.option(
    "--dtype",
    type=click.Choice(list(TORCH_DTYPES)),
    default="fp32",
    show_default=True,
    help="The module's and input's dtype. The counts do not depend on it; CPU lacks some fp16/bf16 kernels (LRN).",
)
@click.option(
    "--reconcile",
    is_flag=True,
    help="Also run fvcore, torch, ptflops, torchinfo and thop and explain their totals (on CPU at fp32, "
    "whatever --device and --dtype).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only what failed, and the summary.")
@click.option(
    "--against",
    "target",
    metavar="TARGET",
    help="Hold the SPEC against a model: pkg.module:callable or path/to/file.py:Name. Runs that code, "
    "on CPU at fp32 (--device auto means cpu here).",
)
@click.option(
    "--kwargs", "kwargs_text", metavar="JSON", help="Keyword arguments for --against's callable (a JSON object)."
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
    device: str,
    dtype: str,
    reconcile: bool,
    quiet: bool,
    target: str | None,
    kwargs_text: str | None,
    as_json: bool,
) -> None:
    """Build each spec in PyTorch and confirm shapes, params, buffers, MACs (fvcore) and FLOPs (torch).

    A difference a counter's own convention explains is shown with both numbers (≈); any other
    difference (✗) makes the exit code 1. A summary line ends the run: specs, rows, ✓, ≈, ✗ and
    seconds; on a terminal a progress bar shows meanwhile.

    With --against TARGET: build the one SPEC and run it and the target on the same input, then
    compare layer by layer (output shapes, parameter shapes, params, buffers, fvcore's MACs); the
    first divergence is printed with the spec's line, and any difference makes the exit code 1.
    This imports and runs the target's Python code: use it on code you would run.

    --device and --dtype place the built module and its input (auto: CUDA when torch sees a GPU);
    a layer torch has no kernel for there (LRN at fp16 or bf16 on CPU) is one error, exit code 2.
    --reconcile's tools and --against run on CPU at fp32.
    """
    from ..throughput.run import BenchError
    from ..verify import require
    from ..verify.placement import resolve_placement
    from ..verify.verification import reconcile as run_reconcile
    from ..verify.verification import verify_analysis

    require("torch", "archcalc verify")
    require("fvcore", "archcalc verify")
    if kwargs_text is not None and target is None:
        raise click.UsageError("--kwargs goes with --against")
    if target is not None:
        if len(specs) != 1 or all_specs or reconcile:
            raise click.UsageError("--against takes one SPEC (no --all, no --reconcile)")
        if device == "cuda" or dtype != "fp32":
            raise click.UsageError(
                "--against runs the spec and the target on CPU at fp32: leave out --device cuda and --dtype"
            )
        verify_against_command(out, specs[0], target, kwargs_text, input_shape, batch, quiet, as_json)
        return
    names = list(specs) + (bundled_names() if all_specs else [])
    if not names:
        raise click.UsageError("name at least one SPEC, or --all")
    try:
        placement = resolve_placement(device, dtype)
    except BenchError as err:
        raise click.UsageError(str(err)) from None
    results: list[dict[str, Any]] = []
    verdicts: list[tuple[Any, int]] = []  # each spec's verification (None: it could not run) and failures
    could_not_run = 0
    began = time.perf_counter()
    bar, start = progress_bar(out, not as_json, f"verifying {names[0]}")
    try:
        if bar is not None:
            bar.start()
        advance = start(len(names)) if start is not None else None
        for index, name in enumerate(names):
            analysis = analyze(with_input(load_spec(name), input_shape))
            try:
                result = verify_analysis(analysis, batch, placement)
            except SpecError as err:
                # one spec torch cannot run there: of several, recorded and the run goes on; alone, the error
                if len(names) == 1 or err.code != "unsupported_on_device":
                    raise
                could_not_run += 1
                verdicts.append((None, 1))
                results.append({"spec": name, "ok": False, "failures": 1, "error": err.to_dict()})
                if not as_json:
                    out.error(str(err))
                    out.line(
                        f"{name}: not verified: torch cannot run {err.layer} on {placement.device_name} at {placement.dtype}"
                    )
            else:
                entry = result.to_dict()
                if reconcile:
                    entry["reconcile"] = run_reconcile(analysis)
                failures = result.failures + sum(not r["ok"] for r in entry.get("reconcile", ()))
                verdicts.append((result, failures))
                results.append(entry)
                if not as_json:
                    _print_result(out, name, result, entry, failures, quiet)
            if advance is not None:
                advance(f"verifying {names[index + 1]}" if index + 1 < len(names) else "verified")
    finally:
        if bar is not None:
            bar.stop()
    seconds, tally = time.perf_counter() - began, _Tally.of(verdicts)
    if as_json:
        out.json({"ok": tally.fail == 0, "specs": results, "summary": tally.to_dict(seconds)})
    else:
        summary = tally.line(seconds)
        if len(summary.plain) <= out.width:  # its marks coloured as in the table
            out.out.print(summary, soft_wrap=True)
        else:  # wrapped at spaces as every line under a table
            out.line(summary.plain)
    if could_not_run:  # as a single spec torch cannot run there exits
        sys.exit(ExitCode.BAD_SPEC)
    if tally.fail:
        sys.exit(ExitCode.FINDING)


@click.command()
@spec_argument
@click.option("--to", "target", type=click.Choice(["torch", "onnx"]), default="torch", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write. Default: torch source to standard output; ONNX to NAME.onnx here (the spec's name).",
)
@input_option
@handles_errors
@needs_extra
def export(out: Output, spec: str, target: str, output: Path | None, input_shape: tuple[int, ...] | None) -> None:
    """Print the spec as PyTorch source (--to torch), or write an ONNX file with a dynamic batch axis (--to onnx)."""
    from ..verify.build import render
    from ..verify.export import write_onnx

    if output is not None:  # before the export, not after it
        check_output(output, binary=target == "onnx")
    loaded = with_input(load_spec(spec), input_shape)
    analyze(loaded)  # a bad spec fails here, with its file and line
    if target == "torch":
        source = render(loaded)
        if output:
            write_file(output, source)
        else:
            click.echo(source, nl=False)
        return
    # A spec's name is a file name already (spec.py's pattern: letters, digits, `_.+-`, no leading dot).
    path = output or Path(f"{loaded.name}.onnx")
    with atomic_path(path) as tmp:
        write_onnx(loaded, str(tmp))
    tell_written(path)
