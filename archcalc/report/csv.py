"""Breakdown -> CSV: the per-layer table with exact integers, one row per layer and a total row
(an opaque row's unknown cells read `?`, and a total over one `N + ?`)."""

from __future__ import annotations

import csv
import io

from ..analysis import dtype_bytes
from ..analysis_view import UNKNOWN, unknown_cell
from ..breakdown import Breakdown, static_row
from ..encode import csv_cell
from ..layers.opaque import UNKNOWN_COUNTS
from ..numfmt import fmt_shape
from . import Format

COLUMNS = (
    "path",
    "kind",
    "summary",
    "output_shape",
    "units",
    "weights",
    "biases",
    "params",
    "buffers",
    "connections",
    "macs",
    "flops",
    "activation_bytes",
)


UNKNOWN_COLUMNS = (*sorted(UNKNOWN_COUNTS), "flops")  # an opaque row's (layers/opaque.py), FLOPs with its MACs


def _write(rows: list[list[object]]) -> str:
    """Every cell passes csv_cell: text that would be a formula is made inert, numbers stay numbers.
    Text cells are quoted (the csv module quotes only around its line terminator, so a CR in a name
    would otherwise split a row for a reader); numbers are not."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC).writerows(
        [csv_cell(c) for c in row] for row in rows
    )
    return buffer.getvalue()


def report(r: Breakdown, chart_file: str | None) -> str:
    size = dtype_bytes(r.memory.dtype)
    rows: list[list[object]] = [list(COLUMNS)]
    for row in r.analysis.rows:
        counts: dict[str, object] = dict(static_row(row, size))
        if row.opaque:  # unknown, not 0 (layers/opaque.py)
            counts.update(dict.fromkeys(UNKNOWN_COLUMNS, UNKNOWN))
        rows.append([row.path, row.kind, row.summary, fmt_shape(row.out_shape), *(counts[c] for c in COLUMNS[4:])])
    t = r.analysis.totals
    held = bool(r.analysis.opaque_rows)  # then a total of an unknown column is the others' sum + ?
    rows.append(
        [
            "total",
            "",
            "",
            fmt_shape(r.analysis.output_shape),
            t.units,
            t.weights,
            t.biases,
            t.params,
            t.buffers,
            unknown_cell(str(t.connections), held, False) if held else t.connections,
            unknown_cell(str(t.macs), held, False) if held else t.macs,
            unknown_cell(str(t.flops), held, False) if held else t.flops,
            r.memory.activations,
        ]
    )
    return _write(rows)


def index(reports: list[Breakdown], files: dict[str, str]) -> str:
    rows: list[list[object]] = [
        [
            "spec",
            "family",
            "input_shape",
            "weight_layers",
            "params",
            "macs",
            "flops",
            "units",
            "connections",
            "activation_bytes",
            "file",
        ]
    ]
    for r in sorted(reports, key=lambda r: (r.analysis.spec.family, r.name)):
        t = r.analysis.totals
        rows.append(
            [
                r.name,
                r.analysis.spec.family,
                "x".join(map(str, r.analysis.input_shape)),
                r.depth,
                t.params,
                t.macs,
                t.flops,
                t.units,
                t.connections,
                r.memory.activations,
                files[r.name],
            ]
        )
    return _write(rows)


FORMAT = Format(name="csv", extension="csv", report=report, index=index)
