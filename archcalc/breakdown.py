"""What a report shows, computed once for every output format: headline figures, where parameters
and compute sit (by layer and by kind), and measured figures held against the static ones.

Pure: an Analysis (and optionally a measured-figures mapping) in, frozen values out. The renderers
in archcalc/report/ only format these values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .analysis import Analysis, Memory, Row, Totals, dtype_bytes
from .arith import ratio
from .counted import Counted, count
from .errors import SpecError
from .layers.opaque import UNKNOWN_COUNTS
from .measured import json_path, json_type, refused
from .measured_run import MeasuredRun, is_bench, run_from_dict

SHARE_QUANTITIES = ("units", "params", "connections", "macs")
QUANTITY_LABELS = {"units": "units", "params": "parameters", "connections": "connections", "macs": "MACs"}


def share(part: int, whole: int) -> float:
    """part / whole as a percentage for display (0 when the whole is 0)."""
    return ratio(100 * part, whole)


def depth(analysis: Analysis) -> int:
    """Weight layers: layers that multiply-accumulate (conv, linear), as 'AlexNet, 8 weight layers' counts."""
    return sum(1 for row in analysis.rows if row.macs)


@dataclass(frozen=True, slots=True)
class KindShare:
    """One layer kind's sums and how many layers of it there are."""

    kind: str
    layers: int
    totals: Totals
    opaque: bool = False  # holds an opaque layer: its connections and MACs are unknown, not the sums shown


@dataclass(frozen=True, slots=True)
class Leader:
    """The kind holding the largest part of one quantity (seed 002: 'most weights are in FC layers')."""

    quantity: str
    kind: str
    value: int
    total: int


@dataclass(frozen=True, slots=True)
class MeasuredFigure:
    """One measured number, beside the static one when archcalc computes the same quantity."""

    key: str
    measured: int | float
    static: int | None

    @property
    def delta(self) -> int | float | None:
        return None if self.static is None else self.measured - self.static

    @property
    def matches(self) -> bool | None:
        return None if self.static is None else self.measured == self.static


@dataclass(frozen=True, slots=True)
class Measured:
    """Figures measured by a verifier or a benchmark: totals and per-layer, matched by layer path;
    or bench's own JSON, read as a run."""

    source: str
    tool: str
    totals: tuple[MeasuredFigure, ...]
    layers: tuple[tuple[str, tuple[MeasuredFigure, ...]], ...]
    unmatched_layers: tuple[str, ...] = ()
    run: MeasuredRun | None = None


@dataclass(frozen=True, slots=True)
class Breakdown:
    """Everything one report shows."""

    analysis: Analysis
    memory: Memory
    counted: Counted  # archcalc's own convention, applied once (the JSON document's per-row values)
    depth: int
    by_kind: tuple[KindShare, ...]
    leaders: tuple[Leader, ...]
    measured: Measured | None = None
    chart_rows: tuple[Row, ...] = field(default=())

    @property
    def name(self) -> str:
        return self.analysis.spec.name


def kind_shares(analysis: Analysis) -> tuple[KindShare, ...]:
    """Sums per kind, the kinds that hold something first by parameters then MACs, then the rest."""
    counts: dict[str, int] = {}
    for row in analysis.rows:
        counts[row.kind] = counts.get(row.kind, 0) + 1
    opaque = {row.kind for row in analysis.opaque_rows}
    shares = [KindShare(kind, counts[kind], totals, kind in opaque) for kind, totals in analysis.by_kind().items()]
    return tuple(sorted(shares, key=lambda s: (-s.totals.params, -s.totals.macs, -s.totals.units, s.kind)))


def leaders(analysis: Analysis, shares: tuple[KindShare, ...]) -> tuple[Leader, ...]:
    """For units, parameters, connections and MACs: the kind with the largest part (none for
    connections and MACs where an opaque layer's are unknown: the share of a partial sum would mislead)."""
    out = []
    for quantity in SHARE_QUANTITIES:
        total = getattr(analysis.totals, quantity)
        if not total or (analysis.opaque_rows and quantity in UNKNOWN_COUNTS):
            continue
        best = max(shares, key=lambda s: (getattr(s.totals, quantity), -shares.index(s)))
        out.append(Leader(quantity=quantity, kind=best.kind, value=getattr(best.totals, quantity), total=total))
    return tuple(out)


def build_breakdown(analysis: Analysis, dtype: str = "fp32", measured: Measured | None = None) -> Breakdown:
    shares = kind_shares(analysis)
    return Breakdown(
        analysis=analysis,
        memory=analysis.memory(dtype),
        counted=count(analysis),
        depth=depth(analysis),
        by_kind=shares,
        leaders=leaders(analysis, shares),
        measured=measured,
        chart_rows=tuple(row for row in analysis.rows if row.params or row.macs),
    )


# ---------------------------------------------------------------------------------------------
# Measured figures: a generic JSON from a verifier or a benchmark


# Every quantity archcalc computes that a measured file may hold: the names static_totals and
# static_row give (a test holds them to this list). Each is a count (of parameters, MACs, bytes).
COUNT_NAMES = frozenset(
    {
        "units",
        "weights",
        "biases",
        "params",
        "trainable_params",
        "buffers",
        "connections",
        "macs",
        "flops",
        "activation_bytes",
        "params_bytes",
    }
)


def static_totals(analysis: Analysis, memory: Memory) -> dict[str, int]:
    t = analysis.totals
    return {
        "units": t.units,
        "weights": t.weights,
        "biases": t.biases,
        "params": t.params,
        "trainable_params": t.trainable_params,
        "buffers": t.buffers,
        "connections": t.connections,
        "macs": t.macs,
        "flops": t.flops,
        "activation_bytes": memory.activations,
        "params_bytes": memory.params,
    }


def static_row(row: Row, bytes_per_unit: int) -> dict[str, int]:
    return {
        "units": row.units,
        "weights": row.weights,
        "biases": row.biases,
        "params": row.params,
        "buffers": row.buffers,
        "connections": row.connections,
        "macs": row.macs,
        "flops": row.flops,
        "activation_bytes": row.units * bytes_per_unit,
    }


def _figures(values: Any, static: dict[str, int], where: str, file: str) -> tuple[MeasuredFigure, ...]:
    """The figures in one object: under a name archcalc computes (COUNT_NAMES), a non-negative integer
    (a float, even 2.0, is refused: counts are exact); under any other name, a finite non-negative
    number. A boolean under a count's name is refused; text, null, lists and objects are the tool's
    own data and ignored (so a verifier's JSON with nested records still reads)."""
    if not isinstance(values, dict):
        raise refused(where or "the top level", f"must be an object of names to numbers, got {json_type(values)}", file)
    out = []
    for key, value in values.items():
        if key in ("path", "name"):
            continue
        at = json_path(where, key)
        if key in COUNT_NAMES:
            if isinstance(value, bool) or isinstance(value, float):
                raise refused(
                    at,
                    f"is {json_type(value)} {json.dumps(value)}, but {key} is a count: a non-negative integer",
                    file,
                    hint=f'write the exact count, e.g. "{key}": 61706',
                )
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            continue  # text, lists and nested data are the tool's business, not figures
        if isinstance(value, (int, float)) and value < 0:  # (finite and in range already: measured.py read it)
            raise refused(at, f"is {value}, but a measured figure is never negative", file)
        if isinstance(value, (int, float)):
            out.append(MeasuredFigure(key, value, static.get(key)))
    return tuple(out)


def spec_name_of(data: dict) -> str | None:
    """The spec a measured JSON is about: `"spec": "alexnet"` or `"spec": {"name": "alexnet"}`."""
    spec = data.get("spec", data.get("name"))
    if isinstance(spec, dict):
        spec = spec.get("name")
    return spec if isinstance(spec, str) else None


def measured_from_dict(data: Any, analysis: Analysis, memory: Memory, file: str) -> Measured:
    """Read a measured-figures JSON (see README: reports) against an analysis.

    bench's JSON (measured_run.is_bench) is read as a run. Any other: `totals` (or the top level)
    holds numbers by name; `layers` is a list of {path, ...} or a mapping path -> {...}. Names
    archcalc also computes (params, macs, units, ...) are compared.
    """
    if not isinstance(data, dict):
        raise SpecError("bad_measured", f"a measured JSON is an object, got {json_type(data)}", file=file)
    if is_bench(data):
        run, outside = run_from_dict(data, analysis, file)
        return Measured(source=file, tool=run.command, totals=(), layers=(), unmatched_layers=outside, run=run)
    size = dtype_bytes(memory.dtype)
    totals = _figures(
        data.get("totals", data), static_totals(analysis, memory), "totals" if "totals" in data else "", file
    )
    raw_layers = data.get("layers", [])
    if isinstance(raw_layers, dict):
        entries = [(json_path("layers", path), entry, path) for path, entry in raw_layers.items()]
    elif isinstance(raw_layers, list):
        entries = [(json_path("layers", i), entry, None) for i, entry in enumerate(raw_layers)]
    else:
        raise refused(
            "layers", f"must be a list of {{path: ..., ...}} or an object by path, got {json_type(raw_layers)}", file
        )
    rows = {row.path: row for row in analysis.rows}
    layers, unmatched = [], []
    for where, entry, key_path in entries:
        if not isinstance(entry, dict):
            raise refused(where, f"must be an object of figures, got {json_type(entry)}", file)
        path = key_path if key_path is not None else entry.get("path", entry.get("name"))
        if not isinstance(path, str):
            field_name = "path" if "path" in entry else "name"
            what = (
                "needs a `path` naming the layer (e.g. 'conv1')"
                if field_name not in entry
                else f"`{field_name}` must be a string naming the layer, got {json_type(path)}"
            )
            raise refused(where, what, file)
        row = rows.get(path)
        figures = _figures(entry, static_row(row, size) if row else {}, where, file)
        if row is None:
            unmatched.append(path)
            continue
        layers.append((path, figures))
    tool = data.get("tool", data.get("source", ""))
    return Measured(
        source=file,
        tool=tool if isinstance(tool, str) else "",
        totals=totals,
        layers=tuple(layers),
        unmatched_layers=tuple(unmatched),
    )
