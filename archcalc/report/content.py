"""The words and cells of a report, shared by the markdown and HTML formatters (which only add markup).

Cells are plain text; each table is (headers, alignments, rows) so every format lays it out alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..analysis_view import CONVENTION_LINES, opaque_note, unknown_cell
from ..breakdown import QUANTITY_LABELS, Breakdown, Measured, share
from ..measured_run import MeasuredRun, RunBatch, RunLayer
from ..numfmt import fmt_bytes, fmt_cell, fmt_int, fmt_shape, fmt_shapes, fmt_si
from ..peaks import FAMILY_NAMES


@dataclass(frozen=True, slots=True)
class Table:
    headers: tuple[str, ...]
    align: str  # one letter per column: l(eft) or r(ight)
    rows: tuple[tuple[str, ...], ...]
    footer: tuple[str, ...] | None = None
    compact: bool = False  # as wide as its content, not the page (a two-column summary)
    wrap: tuple[int, ...] = ()  # columns of free text that may wrap (titles), so wide tables still fit


def title(report: Breakdown) -> str:
    spec = report.analysis.spec
    return f"{spec.name}: {spec.title}" if spec.title else spec.name


def pct(part: int, whole: int) -> str:
    return f"{share(part, whole):.1f}%"


def _pct_cell(part: int, whole: int) -> str:
    return pct(part, whole) if part else "·"


def input_text(report: Breakdown) -> str:
    a = report.analysis
    return f"{fmt_shape(a.input_shape)} (HxWxC; [{', '.join(str(s) for s in a.input_shape)}] channels first)"


def summary(report: Breakdown) -> Table:
    a, t, m = report.analysis, report.analysis.totals, report.memory
    opaque = bool(a.opaque_rows)
    rows: tuple[tuple[str, str], ...] = (
        ("input", input_text(report)),
        ("output", fmt_shapes(a.output_shapes)),
        ("depth (weight layers: conv and linear)", str(report.depth)),
        (
            "parameters (weights + biases)",
            f"{fmt_int(t.params)} ({fmt_si(t.params)}) = {fmt_int(t.weights)} weights + {fmt_int(t.biases)} biases",
        ),
        (
            "MACs (multiply-accumulates per example)",
            unknown_cell(f"{fmt_int(t.macs)} ({fmt_si(t.macs)})", opaque, False),
        ),
        ("FLOPs (2 per MAC)", unknown_cell(f"{fmt_int(t.flops)} ({fmt_si(t.flops)})", opaque, False)),
        ("units (activations per example)", fmt_int(t.units)),
        ("connections", unknown_cell(fmt_int(t.connections), opaque, False)),
        (f"activation memory at {m.dtype}", f"{fmt_bytes(m.activations)} ({fmt_int(m.activations)} B)"),
        (f"parameter memory at {m.dtype}", f"{fmt_bytes(m.params)} ({fmt_int(m.params)} B)"),
    )
    if t.buffers or t.counters:
        rows += (("buffers (non-trainable)", f"{fmt_int(t.buffers)} + {fmt_int(t.counters)} int64 counters"),)
    note = opaque_note(a)
    if note:
        rows += (("opaque layers (MACs unknown)", note.removeprefix("opaque: ")),)
    return Table(headers=("quantity", "value"), align="ll", rows=rows, compact=True)


def leaders(report: Breakdown) -> list[str]:
    """`Most parameters: linear layers, 94.0% (58,631,144 of 62,378,344).`"""
    return [
        f"Most {QUANTITY_LABELS[x.quantity]}: {x.kind} layers, {pct(x.value, x.total)} "
        f"({fmt_int(x.value)} of {fmt_int(x.total)})"
        for x in report.leaders
    ]


def by_kind(report: Breakdown) -> Table:
    t = report.analysis.totals
    rows = []
    for k in report.by_kind:
        s = k.totals
        rows.append(
            (
                k.kind,
                str(k.layers),
                fmt_cell(s.units),
                _pct_cell(s.units, t.units),
                fmt_cell(s.params),
                _pct_cell(s.params, t.params),
                unknown_cell(fmt_cell(s.connections), k.opaque, False),
                unknown_cell(_pct_cell(s.connections, t.connections), bool(report.analysis.opaque_rows), True),
                unknown_cell(fmt_cell(s.macs), k.opaque, False),
                unknown_cell(_pct_cell(s.macs, t.macs), bool(report.analysis.opaque_rows), True),
            )
        )
    return Table(
        headers=(
            "kind",
            "layers",
            "units",
            "% units",
            "params",
            "% params",
            "connections",
            "% conn.",
            "MACs",
            "% MACs",
        ),
        align="lrrrrrrrrr",
        rows=tuple(rows),
    )


def layers(report: Breakdown) -> Table:
    a, t = report.analysis, report.analysis.totals
    rows = [("input", "", "", fmt_shape(a.input_shape), "", "", "", "", "", "", "")]
    for row in a.rows:
        rows.append(
            (
                row.path,
                row.kind,
                row.summary,
                fmt_shape(row.out_shape),
                fmt_cell(row.units),
                fmt_cell(row.weights),
                fmt_cell(row.biases),
                unknown_cell(fmt_cell(row.connections), row.opaque, True),
                unknown_cell(fmt_cell(row.macs), row.opaque, True),
                _pct_cell(row.params, t.params),
                unknown_cell(_pct_cell(row.macs, t.macs), row.opaque, True),
            )
        )
    footer = (
        "total",
        "",
        "",
        fmt_shapes(a.output_shapes),
        fmt_int(t.units),
        fmt_int(t.weights),
        fmt_int(t.biases),
        unknown_cell(fmt_int(t.connections), bool(a.opaque_rows), False),
        unknown_cell(fmt_int(t.macs), bool(a.opaque_rows), False),
        "100%" if t.params else "",
        "100%" if t.macs else "",
    )
    return Table(
        headers=(
            "layer",
            "kind",
            "hyper-parameters",
            "output (HxWxC)",
            "units",
            "weights",
            "biases",
            "connections",
            "MACs",
            "% params",
            "% MACs",
        ),
        align="lllrrrrrrrr",
        rows=tuple(rows),
        footer=footer,
    )


def _num(value: int | float | None) -> str:
    if value is None:
        return ""
    return fmt_int(value) if isinstance(value, int) else f"{value:,.6g}"


def _match(matches: bool | None) -> str:
    return "" if matches is None else ("yes" if matches else "NO")


def measured_totals(measured: Measured) -> Table:
    rows = tuple(
        (
            f.key,
            _num(f.measured),
            _num(f.static),
            _num(f.delta),
            _match(f.matches),
        )
        for f in measured.totals
    )
    return Table(
        headers=("figure", "measured", "archcalc (static)", "measured − static", "match"), align="lrrrl", rows=rows
    )


def measured_layers(measured: Measured) -> Table:
    rows = []
    for path, figures in measured.layers:
        for f in figures:
            rows.append(
                (
                    path,
                    f.key,
                    _num(f.measured),
                    _num(f.static),
                    _num(f.delta),
                    _match(f.matches),
                )
            )
    return Table(
        headers=("layer", "figure", "measured", "archcalc (static)", "measured − static", "match"),
        align="llrrrl",
        rows=tuple(rows),
    )


def measured_note(measured: Measured) -> str:
    text = f"From {measured.source}" + (f" ({measured.tool})" if measured.tool else "") + "."
    if measured.unmatched_layers:
        text += " Layers not in this spec: " + ", ".join(measured.unmatched_layers) + "."
    return text


def _setting(value: bool | str) -> str:
    return ("on" if value else "off") if isinstance(value, bool) else value


FLOPS_CHECK = {
    "inference": "bench's FLOPs against archcalc's 2 x MACs x batch (forward)",
    "train": "bench's FLOPs against archcalc's 2 x MACs x batch (forward + backward, archcalc.training)",
}


FLOPS_HEADERS = ("FLOPs (bench)", "FLOPs (archcalc)", "match")


def _flops_cells(measured: RunBatch | RunLayer) -> tuple[str, str, str]:
    """bench's FLOPs, archcalc's (unknown where an opaque layer's MACs are) and whether they match."""
    static = "unknown" if measured.static_flops is None else fmt_int(measured.static_flops)
    return fmt_int(measured.flops), static, _match(measured.flops_match)


def measured_run(run: MeasuredRun) -> Table:
    """What ran where: the device, the settings and the peak the run is held against."""
    peak = run.peak
    ceiling = f"{peak.flops_per_s / 1e12:,.3f} TFLOP/s" if peak.flops_per_s is not None else "unknown"
    bandwidth = f"{peak.bytes_per_s / 1e9:,.1f} GB/s" if peak.bytes_per_s is not None else "unknown"
    rows: tuple[tuple[str, str], ...] = (
        ("device", f"{run.device_name} ({run.device})"),
        ("dtype", run.dtype),
        ("mode", run.mode if run.layer_batch is None else f"{run.mode}, each layer alone at batch {run.layer_batch}"),
    )
    if run.settings:
        rows += (("settings", ", ".join(f"{key} {_setting(value)}" for key, value in run.settings)),)
    rows += (("peak", f"{ceiling}, {bandwidth}"), ("peak source", peak.source))
    # each op family at its own peak: what the compute bound (and so "of compute bound") is made of
    rows += tuple(
        (f"peak, {FAMILY_NAMES[f.family]}", f"{f.math.upper()} {f.flops_per_s / 1e12:,.3f} TFLOP/s ({f.why})")
        for f in peak.families
    )
    if run.memory_measure is not None:
        rows += (("peak memory is", run.memory_measure),)
    rows += (("FLOPs check", FLOPS_CHECK[run.mode]),)
    return Table(headers=("run", "value"), align="ll", rows=rows, compact=True)


def measured_run_batches(run: MeasuredRun) -> Table:
    """Per batch size: latency, throughput, achieved TFLOP/s and share of the compute bound, memory,
    FLOPs check."""
    rows = tuple(
        (
            fmt_int(b.batch),
            fmt_int(b.iters),
            f"{b.median_ms:,.3f}",
            f"{b.p95_ms:,.3f}",
            f"{b.images_per_s:,.1f}",
            f"{b.achieved_tflops:.4g}",
            "n/a" if b.achieved_over_peak is None else f"{b.achieved_over_peak:.1%}",
            fmt_bytes(b.peak_memory_bytes),
            *_flops_cells(b),
        )
        for b in run.batches
    )
    return Table(
        headers=(
            "batch",
            "iters",
            "median ms",
            "p95 ms",
            "images/s",
            "achieved TFLOP/s",
            "of compute bound",
            "peak memory",
            *FLOPS_HEADERS,
        ),
        align="rrrrrrrrrrl",
        rows=rows,
    )


def measured_run_layers(run: MeasuredRun) -> Table:
    """Per layer timed alone: measured median, roofline bound, bound / measured, FLOPs check."""
    rows = tuple(
        (
            layer.path,
            f"{layer.measured_s * 1e6:,.2f}",
            f"{layer.bound_s * 1e6:,.2f}",
            f"{layer.efficiency:.1%}",
            *_flops_cells(layer),
        )
        for layer in run.layers
    )
    return Table(
        headers=("layer", "measured µs", "roofline bound µs", "bound / measured", *FLOPS_HEADERS),
        align="lrrrrrl",
        rows=rows,
    )


def source_lines(report: Breakdown) -> list[tuple[str, str]]:
    spec = report.analysis.spec
    return [(label, text) for label, text in (("Source", spec.source), ("Notes", spec.notes)) if text]


CONVENTIONS = CONVENTION_LINES + (
    "depth: layers that multiply-accumulate (conv, linear); shares are of the network's totals",
    "chart: each weight layer's share of all parameters beside its share of all MACs",
)


def index(reports: list[Breakdown]) -> Table:
    rows = []
    for r in sorted(reports, key=lambda r: (r.analysis.spec.family, r.name)):
        a, t = r.analysis, r.analysis.totals
        rows.append(
            (
                r.name,
                a.spec.family,
                a.spec.title,
                fmt_shape(a.input_shape),
                str(r.depth),
                fmt_int(t.params),
                fmt_int(t.macs),
                fmt_bytes(r.memory.activations),
            )
        )
    # units are in each report; the index keeps to what fits a laptop screen beside the titles
    return Table(
        headers=(
            "spec",
            "family",
            "title",
            "input (HxWxC)",
            "depth",
            "parameters",
            "MACs",
            f"activations ({reports[0].memory.dtype if reports else 'fp32'})",
        ),
        align="lllrrrrr",
        rows=tuple(rows),
        wrap=(2,),
    )
