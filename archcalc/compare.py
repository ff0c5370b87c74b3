"""Designs side by side (`compare`) and what a change to a design costs (`diff`). Pure: analyses in, values out.

`compare` reproduces tables such as seed 002's "LeNet (1989) / LeNet (1998) / AlexNet (2012)"
(units, parameters, connections, input size), under archcalc's conventions or each paper's own.
`diff` matches layers by path, so renaming a layer reads as one removed and one added.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from .analysis import Analysis, Row
from .analysis_view import unknown_cell
from .breakdown import depth
from .conventions import ARCHCALC, Convention
from .counted import convention_totals, resolve_convention
from .layers import Shape
from .layers.opaque import UNKNOWN_COUNTS
from .numfmt import fmt_bytes, fmt_int, fmt_shape, fmt_shapes


@dataclass(frozen=True, slots=True)
class Column:
    """One design's figures for a comparison, under the convention chosen for it."""

    analysis: Analysis
    convention: Convention
    fallback: bool  # `paper` asked, but the spec declares no convention: archcalc's counts
    dtype: str

    @property
    def name(self) -> str:
        return self.analysis.spec.name

    def figures(self) -> dict[str, Any]:
        a, t = self.analysis, self.analysis.totals
        under = convention_totals(a, self.convention)
        return {
            "name": self.name,
            "title": a.spec.title,
            "input_shape": list(a.input_shape),
            "output_shape": list(a.output_shape),
            "output_shapes": [list(shape) for shape in a.output_shapes],
            "weight_layers": depth(a),
            "units": under["units"],
            "params": under["params"],
            "connections": under["connections"],
            "macs": t.macs,
            "ops": under["ops"],
            "ops_label": self.convention.ops_label,
            "activation_bytes": a.memory(self.dtype).activations,
            "convention": self.convention.name,
            "convention_fallback": self.fallback,
            # only a design holding opaque layers has the key: their MACs are unknown
            **({"opaque_layers": [row.path for row in a.opaque_rows]} if a.opaque_rows else {}),
        }


def column(analysis: Analysis, convention: str, dtype: str = "fp32") -> Column:
    """`paper` takes the spec's declared convention, or archcalc's (flagged) when it declares none."""
    if convention == "paper" and analysis.spec.convention is None:
        return Column(analysis=analysis, convention=ARCHCALC, fallback=True, dtype=dtype)
    return Column(
        analysis=analysis, convention=resolve_convention(convention, analysis.spec), fallback=False, dtype=dtype
    )


def compare_rows(columns: list[Column]) -> list[tuple[str, list[str]]]:
    """Row label and one cell per design, in the order of seed 002's comparison table."""
    figs = [c.figures() for c in columns]
    dtype = columns[0].dtype if columns else "fp32"
    # a design holding opaque layers: its connections and MACs are the other layers' sum + ?
    held = [bool(c.analysis.opaque_rows) for c in columns]
    rows = [
        ("input (HxWxC)", [fmt_shape(tuple(f["input_shape"])) for f in figs]),
        ("output", [fmt_shapes(tuple(tuple(s) for s in f["output_shapes"])) for f in figs]),
        ("weight layers", [str(f["weight_layers"]) for f in figs]),
        ("units", [fmt_int(f["units"]) for f in figs]),
        ("parameters", [fmt_int(f["params"]) for f in figs]),
        ("connections", [unknown_cell(fmt_int(f["connections"]), h, False) for f, h in zip(figs, held)]),
        ("MACs", [unknown_cell(fmt_int(f["macs"]), h, False) for f, h in zip(figs, held)]),
    ]
    if any(f["ops_label"] != "MACs" for f in figs):
        rows.append(
            (
                "ops (as the convention counts)",
                [f"{unknown_cell(fmt_int(f['ops']), h, False)} {f['ops_label']}" for f, h in zip(figs, held)],
            )
        )
    rows.append((f"activation memory ({dtype})", [fmt_bytes(f["activation_bytes"]) for f in figs]))
    if any(c.convention.name != "archcalc" for c in columns):
        rows.append(("convention", [f["convention"] for f in figs]))
    return rows


def compare_dict(columns: list[Column]) -> dict[str, Any]:
    return {"specs": [c.figures() for c in columns]}


# ---------------------------------------------------------------------------------------------
# diff

DIFF_FIELDS = ("units", "params", "connections", "macs")
# the counts an opaque row leaves unknown
OPAQUE_FIELDS = UNKNOWN_COUNTS


def _counts(row: Row | None) -> dict[str, int]:
    return {name: getattr(row, name) if row is not None else 0 for name in DIFF_FIELDS}


@dataclass(frozen=True, slots=True)
class LayerDelta:
    """One layer path in A, in B, or in both."""

    path: str
    status: str  # added, removed, changed, same
    kind_a: str | None
    kind_b: str | None
    shape_a: Shape | None
    shape_b: Shape | None
    a: dict[str, int]
    b: dict[str, int]
    summary_a: str | None = None  # the hyper-parameters column (`5x5/2 p1`)
    summary_b: str | None = None
    opaque: bool = False  # an opaque row on either side: its connections and MACs are unknown

    def delta(self, name: str) -> int:
        return self.b[name] - self.a[name]

    def what_changed(self) -> str:
        """For a changed layer, what differs besides its counts: the kind and the hyper-parameters,
        each as A → B (`avgpool → maxpool`); "its input" when only what reaches it changed."""
        if self.status != "changed":
            return ""
        parts = []
        if self.kind_a != self.kind_b:
            parts.append(f"{self.kind_a} → {self.kind_b}")
        if self.summary_a != self.summary_b:
            parts.append(f"{self.summary_a or '-'} → {self.summary_b or '-'}")
        return "; ".join(parts) or "its input"


@dataclass(frozen=True, slots=True)
class Diff:
    a: Analysis
    b: Analysis
    layers: tuple[LayerDelta, ...]
    totals: dict[str, tuple[int, int, int]]  # name -> (A, B, B - A)


def _entry(path: str, ra: Row | None, rb: Row | None) -> LayerDelta:
    if ra is None:
        status = "added"
    elif rb is None:
        status = "removed"
    else:
        same = (ra.kind, ra.summary, ra.out_shape, _counts(ra)) == (rb.kind, rb.summary, rb.out_shape, _counts(rb))
        status = "same" if same else "changed"
    return LayerDelta(
        path=path,
        status=status,
        kind_a=ra.kind if ra else None,
        kind_b=rb.kind if rb else None,
        shape_a=ra.out_shape if ra else None,
        shape_b=rb.out_shape if rb else None,
        a=_counts(ra),
        b=_counts(rb),
        summary_a=ra.summary if ra else None,
        summary_b=rb.summary if rb else None,
        opaque=any(r is not None and r.opaque for r in (ra, rb)),
    )


def diff(a: Analysis, b: Analysis) -> Diff:
    """Per-layer deltas in a merged order (B's, with A's removed layers where they stood) and total deltas."""
    rows_a, rows_b = {r.path: r for r in a.rows}, {r.path: r for r in b.rows}
    paths_a, paths_b = [r.path for r in a.rows], [r.path for r in b.rows]
    entries = []
    matcher = difflib.SequenceMatcher(a=paths_a, b=paths_b, autojunk=False)
    for _, i1, i2, j1, j2 in matcher.get_opcodes():
        for path in paths_a[i1:i2]:
            if path not in rows_b:
                entries.append(_entry(path, rows_a[path], None))
        for path in paths_b[j1:j2]:
            entries.append(_entry(path, rows_a.get(path), rows_b[path]))
    totals = {
        name: (getattr(a.totals, name), getattr(b.totals, name), getattr(b.totals, name) - getattr(a.totals, name))
        for name in DIFF_FIELDS
    }
    return Diff(a=a, b=b, layers=tuple(entries), totals=totals)


def signed(value: int) -> str:
    """`+1,234`, `-56`, or '' for no change."""
    return f"{value:+,}" if value else ""


def diff_dict(d: Diff) -> dict[str, Any]:
    return {
        "a": d.a.spec.name,
        "b": d.b.spec.name,
        "layers": [
            {
                "path": e.path,
                "status": e.status,
                "kind_a": e.kind_a,
                "kind_b": e.kind_b,
                "hyper_parameters_a": e.summary_a,
                "hyper_parameters_b": e.summary_b,
                "output_shape_a": list(e.shape_a) if e.shape_a else None,
                "output_shape_b": list(e.shape_b) if e.shape_b else None,
                "a": e.a,
                "b": e.b,
                "delta": {n: None if e.opaque and n in OPAQUE_FIELDS else e.delta(n) for n in DIFF_FIELDS},
                **({"opaque": True} if e.opaque else {}),
            }
            for e in d.layers
        ],
        **({"opaque": True} if d.a.opaque_rows or d.b.opaque_rows else {}),
        "totals": {n: {"a": va, "b": vb, "delta": dv} for n, (va, vb, dv) in d.totals.items()},
    }
