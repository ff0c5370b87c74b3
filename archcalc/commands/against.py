"""`archcalc verify SPEC --against TARGET`: what it prints and its exit code (verify/against.py compares)."""

from __future__ import annotations

import contextlib
import sys
from typing import Any

from ..analysis import analyze
from ..errors import ExitCode, SpecError
from ..loader import load_spec
from ..numfmt import fmt_int
from .common import Output, with_input

# divergences after the first that the text output lists; --json lists every one
SHOWN_AFTER_FIRST = 10


def verify_against_command(
    out: Output,
    spec_ref: str,
    target_text: str,
    kwargs_text: str | None,
    input_shape: tuple[int, ...] | None,
    batch: int,
    quiet: bool,
    as_json: bool,
) -> None:
    """Load the spec, load the target (runs its code), compare, print; exit 1 when they differ."""
    from ..importing.target import load_target, parse_kwargs, running_user_code
    from ..verify.against import verify_against

    analysis = analyze(with_input(load_spec(spec_ref), input_shape))
    kwargs = parse_kwargs(kwargs_text)
    # What the target's code prints (at import, in its constructor or forward) goes to standard
    # error: standard output carries only the command's own output (the JSON under --json).
    with contextlib.redirect_stdout(sys.stderr), running_user_code(target_text):
        target = load_target(target_text, kwargs)
        if target.module is None:
            raise SpecError(
                "bad_target",
                "verify --against runs a PyTorch model; an ONNX file is not run",
                hint="archcalc import the ONNX file and diff the two specs: archcalc diff SPEC imported.yaml",
            )
        result = verify_against(analysis, target.module, target_text, batch)
    if as_json:
        out.json(result.to_dict())
    else:
        _print(out, result, quiet)
    if not result.ok:
        sys.exit(ExitCode.FINDING)


def _figure(value: Any) -> str:
    return fmt_int(value) if isinstance(value, int) else str(value)


def _print(out: Output, result: Any, quiet: bool) -> None:
    from ..verify.against import CHECK_NAMES

    counts = result.counts()
    if result.divergences:
        first, *rest = result.divergences
        out.line(f"first divergence: {first.text()}", style="red")
        for divergence in [] if quiet else rest[:SHOWN_AFTER_FIRST]:
            out.line(f"  then: {divergence.text()}")
        if len(rest) > (0 if quiet else SHOWN_AFTER_FIRST):
            shown = 0 if quiet else SHOWN_AFTER_FIRST
            out.line(f"  and {fmt_int(len(rest) - shown)} more (--json lists every one)", style="dim")
    totals = ", ".join(
        f"{CHECK_NAMES[name]} {_figure(cell.ours)}" + ("" if cell.status == "ok" else f" vs {_figure(cell.theirs)} ✗")
        for name, cell in result.totals.items()
        if name != "shape"
    )
    out.line(
        f"summary: {result.spec} vs {result.target}: {fmt_int(counts['rows'])} rows "
        f"({fmt_int(counts['by_name'])} by name, {fmt_int(counts['in_order'])} in order, "
        f"{fmt_int(counts['unpaired'])} without a counterpart), {fmt_int(counts['checks'])} checks: "
        f"✓ {fmt_int(counts['checks'] - counts['failed'])}, ✗ {fmt_int(counts['failed'])}; {totals}"
    )
    if result.ok:
        out.line(f"{result.spec}: agrees with {result.target}")
    else:
        out.line(f"{result.spec}: differs from {result.target}: {fmt_int(counts['divergences'])} difference(s)")
