"""What a report shows, computed once for every output format: headline figures, where parameters
and compute sit (by layer and by kind), and measured figures held against the static ones.

Pure: an Analysis (and optionally a measured-figures mapping) in, frozen values out. The renderers
in archcalc/render/ only format these values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .analysis import Analysis, Memory, Row, Totals, dtype_bytes
from .arith import ratio
from .errors import SpecError

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


@dataclass(frozen=True)
class Measured:
    """Figures measured by a verifier or a benchmark: totals and per-layer, matched by layer path."""

    source: str
    tool: str
    totals: tuple[MeasuredFigure, ...]
    layers: tuple[tuple[str, tuple[MeasuredFigure, ...]], ...]
    unmatched_layers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    """Everything one report shows."""

    analysis: Analysis
    memory: Memory
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
    shares = [KindShare(kind, counts[kind], totals) for kind, totals in analysis.by_kind().items()]
    return tuple(sorted(shares, key=lambda s: (-s.totals.params, -s.totals.macs, -s.totals.units, s.kind)))


def leaders(analysis: Analysis, shares: tuple[KindShare, ...]) -> tuple[Leader, ...]:
    """For units, parameters, connections and MACs: the kind with the largest part."""
    out = []
    for quantity in SHARE_QUANTITIES:
        total = getattr(analysis.totals, quantity)
        if not total:
            continue
        best = max(shares, key=lambda s: (getattr(s.totals, quantity), -shares.index(s)))
        out.append(Leader(quantity, best.kind, getattr(best.totals, quantity), total))
    return tuple(out)


def build_report(analysis: Analysis, dtype: str = "fp32", measured: Measured | None = None) -> Report:
    shares = kind_shares(analysis)
    return Report(
        analysis=analysis,
        memory=analysis.memory(dtype),
        depth=depth(analysis),
        by_kind=shares,
        leaders=leaders(analysis, shares),
        measured=measured,
        chart_rows=tuple(row for row in analysis.rows if row.params or row.macs),
    )


# ---------------------------------------------------------------------------------------------
# Measured figures: a generic JSON from a verifier or a benchmark


def static_totals(analysis: Analysis, memory: Memory) -> dict[str, int]:
    t = analysis.totals
    return {"units": t.units, "weights": t.weights, "biases": t.biases, "params": t.params,
            "trainable_params": t.trainable_params, "buffers": t.buffers, "connections": t.connections,
            "macs": t.macs, "flops": t.flops, "activation_bytes": memory.activations,
            "params_bytes": memory.params}  # fmt: skip


def static_row(row: Row, bytes_per_unit: int) -> dict[str, int]:
    return {"units": row.units, "weights": row.weights, "biases": row.biases, "params": row.params,
            "buffers": row.buffers, "connections": row.connections, "macs": row.macs, "flops": row.flops,
            "activation_bytes": row.units * bytes_per_unit}  # fmt: skip


def _figures(values: Any, static: dict[str, int], where: str, file: str) -> tuple[MeasuredFigure, ...]:
    if not isinstance(values, dict):
        raise SpecError("bad_measured", f"{where} must be a mapping of names to numbers, got {type(values).__name__}",
                        file=file)  # fmt: skip
    out = []
    for key, value in values.items():
        if key in ("path", "name"):
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue  # text, lists and nested data are the tool's business, not figures
        if str(key) in static and value < 0:  # (finite and in range already: measured.py read it)
            raise SpecError("bad_measured", f"{where}: {key} is {value}, but a count is never negative", file=file)
        out.append(MeasuredFigure(str(key), value, static.get(str(key))))
    return tuple(out)


def spec_name_of(data: dict) -> str | None:
    """The spec a measured JSON is about: `"spec": "alexnet"` or `"spec": {"name": "alexnet"}`."""
    spec = data.get("spec", data.get("name"))
    if isinstance(spec, dict):
        spec = spec.get("name")
    return spec if isinstance(spec, str) else None


def measured_from_dict(data: Any, analysis: Analysis, memory: Memory, file: str) -> Measured:
    """Read a measured-figures JSON (see README: reports) against an analysis.

    `totals` (or the top level) holds numbers by name; `layers` is a list of {path, ...} or a
    mapping path -> {...}. Names archcalc also computes (params, macs, units, ...) are compared.
    """
    if not isinstance(data, dict):
        raise SpecError("bad_measured", f"a measured JSON is an object, got {type(data).__name__}", file=file)
    size = dtype_bytes(memory.dtype)
    totals = _figures(data.get("totals", data), static_totals(analysis, memory), "totals", file)
    raw_layers = data.get("layers", [])
    if isinstance(raw_layers, dict):
        raw_layers = [{"path": path, **(v if isinstance(v, dict) else {})} for path, v in raw_layers.items()]
    if not isinstance(raw_layers, list):
        raise SpecError("bad_measured", "`layers` must be a list of {path: ..., ...} or a mapping by path", file=file)
    rows = {row.path: row for row in analysis.rows}
    layers, unmatched = [], []
    for i, entry in enumerate(raw_layers):
        if not isinstance(entry, dict) or not isinstance(entry.get("path", entry.get("name")), str):
            raise SpecError("bad_measured", f"layers[{i}] needs a `path` naming the layer (e.g. 'conv1')", file=file)
        path = entry.get("path", entry.get("name"))
        row = rows.get(path)
        if row is None:
            unmatched.append(path)
            continue
        layers.append((path, _figures(entry, static_row(row, size), f"layers[{i}]", file)))
    tool = data.get("tool", data.get("source", ""))
    return Measured(source=file, tool=tool if isinstance(tool, str) else "", totals=totals, layers=tuple(layers),
                    unmatched_layers=tuple(unmatched))  # fmt: skip
