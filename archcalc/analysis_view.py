"""An analysis as the static commands show it: the `shapes` and `params` tables, summary lines and the JSON dict.

Computes nothing; every number comes from analysis.py, and numfmt.py writes each one."""

from __future__ import annotations

from typing import Any

from .analysis import Analysis, Memory, Row, dtype_bytes
from .arith import ratio
from .conventions import ARCHCALC
from .counted import Counted
from .layers import Shape
from .layers.opaque import UNKNOWN_COUNTS
from .numfmt import fmt_bytes, fmt_cell, fmt_count, fmt_int, fmt_shape, fmt_shapes, fmt_si
from .table import TextTable, column_name
from .tree_view import tree_lines

CONVENTIONS = {
    "units": "output activations per example; element-wise layers applied in place (activations, dropout) and views (flatten) add none",
    "weights": "multiplicative trainable parameters (kernel and matrix entries, batch-norm gamma)",
    "biases": "additive trainable parameters (bias vectors, batch-norm beta)",
    "params": "weights + biases",
    "buffers": "non-trainable float state (batch-norm running mean and variance)",
    "counters": "non-trainable int64 scalars (batch-norm num_batches_tracked), 8 bytes each",
    "connections": "input-to-output edges over all output units; biases and zero padding excluded",
    "macs": "multiply-accumulates of conv and linear layers as a dense implementation computes them: padding positions included, bias adds excluded (fvcore's 'flop')",
    "flops": "2 x MACs (torch.utils.flop_counter's convention)",
}

CONVENTION_LINES = (
    "units: new output activations per example (element-wise layers applied in place add none)",
    "connections: input→output edges, biases and zero padding excluded",
    "MACs: multiply-accumulates of conv and linear layers, padding included, bias adds excluded; FLOPs = 2 × MACs",
)


# An opaque row's MACs and connections are unknown (layers/opaque.py): its cell says so, and a
# sum over it is the other rows' sum plus something unknown.
UNKNOWN = "?"
OPAQUE_COLUMNS = UNKNOWN_COUNTS
MAX_LISTED = 5  # opaque layers named in the note; the rest counted


def opaque_note(analysis: Analysis) -> str | None:
    """The line every output adds for a spec holding opaque layers (None: it holds none).

    >>> from archcalc import Spec, Opaque, analyze
    >>> spec = Spec(name="n", input=(3, 8, 8), layers=[Opaque(params=10, out_shape=(4,), module="Attention")])
    >>> opaque_note(analyze(spec))
    'opaque: 1 layer whose MACs are unknown (opaque1: Attention); the MACs, FLOPs and connections totals count the other layers only'
    """
    rows = analysis.opaque_rows
    if not rows:
        return None
    named = [f"{row.path}: {row.layer.module}" if row.layer.module else row.path for row in rows[:MAX_LISTED]]  # type: ignore[attr-defined]
    more = f", and {len(rows) - MAX_LISTED:,} more" if len(rows) > MAX_LISTED else ""
    return (
        f"opaque: {len(rows):,} layer{'s' if len(rows) != 1 else ''} whose MACs are unknown ({', '.join(named)}{more});"
        " the MACs, FLOPs and connections totals count the other layers only"
    )


def unknown_cell(text: str, opaque: bool, whole: bool) -> str:
    """A cell of an unknown column: `?` for an opaque row itself (`whole`), `N + ?` for a sum
    over rows that hold one; other cells as they are.

    >>> unknown_cell("0", True, True), unknown_cell("1,024", True, False), unknown_cell("7", False, False)
    ('?', '1,024 + ?', '7')
    """
    if not opaque:
        return text
    return UNKNOWN if whole else f"{text} + {UNKNOWN}"


# The order in which a table's columns give way when it is wider than the screen (fit.py): the
# first named goes first. `layer` and the ops column (shapes) or `params` (params) always stay.
SHAPES_DROPS = ("hyper-parameters", "connections", "biases", "weights", "kind", "units", "output", "params")
PARAMS_DROPS = ("trainable", "share", "counters", "buffers", "biases", "weights", "kind")


def _drop(order: tuple[str, ...], header: str) -> int | None:
    """A column's place in `order` (1 first), None for a column that always stays."""
    name = column_name(header)
    return order.index(name) + 1 if name in order else None


def shapes_table(analysis: Analysis, counted: Counted, depth: int | None = None) -> TextTable:
    """Per-layer table: name, kind, hyper-parameters, output volume, units, weights, biases,
    connections, MACs (or the convention's ops), and a totals row.

    The counted columns come from `counted` (the convention applied once); each footer is its
    column's sum (the counted totals, which tests/test_report_tables.py holds it to). The layer
    column is a tree (tree_view.py); `depth` folds deeper blocks into one line of subtotals."""
    spec = analysis.spec
    rows = analysis.rows
    convention = counted.convention
    table = TextTable(title=f"{spec.name}: {spec.title}" if spec.title else spec.name, show_footer=True)
    input_units = counted.input_units
    columns = [
        ("units", counted.column("units")),
        ("weights", [row.weights for row in rows]),
        ("biases", [row.biases for row in rows]),
    ]
    # A convention other than archcalc's gets a params column of its own: a paper's per-layer
    # "parameters" (LeNet-5's C1: 156) are weights and biases as that paper counts them.
    if convention != ARCHCALC:
        columns.append(("params", counted.column("params")))
    columns += [
        ("connections", counted.column("connections")),
        (convention.ops_label, counted.column("ops")),
    ]
    table.add_column("layer", footer="total", shorten=True)
    table.add_column("kind", drop=_drop(SHAPES_DROPS, "kind"))
    table.add_column("hyper-parameters", drop=_drop(SHAPES_DROPS, "hyper-parameters"), shorten=True)
    table.add_column(
        "output (HxWxC)", footer=fmt_shapes(analysis.output_shapes), justify="right", drop=_drop(SHAPES_DROPS, "output")
    )
    # the columns an opaque row leaves unknown: connections and the ops (MACs) column
    unknown = {k for k, (name, _) in enumerate(columns) if name == "connections" or name == convention.ops_label}
    opaque = [row.opaque for row in rows]
    any_opaque = any(opaque)
    for k, (name, values) in enumerate(columns):
        total = sum(values) + (input_units if name == "units" else 0)
        footer = unknown_cell(fmt_count(total), any_opaque and k in unknown, False)
        table.add_column(name, footer=footer, justify="right", drop=_drop(SHAPES_DROPS, name))
    blanks = [""] * (len(columns) - 1)
    table.add_row(
        "input",
        "",
        "",
        fmt_shape(analysis.input_shape),
        fmt_cell(input_units) if input_units else "",
        *blanks,
        style="dim",
    )
    shapes: dict[Shape, str] = {}  # a few distinct shapes recur on every row
    empty = [""] * len(columns)
    returned = set(analysis.graph.outputs)
    for line in tree_lines([row.path for row in rows], depth, analysis.spec.name):
        if line.heading:
            table.add_row(line.label, "", "", "", *empty)
            continue
        last = rows[line.rows[-1]]
        shape = shapes.get(last.out_shape)
        if shape is None:
            shape = shapes[last.out_shape] = fmt_shape(last.out_shape)
        if line.folded:  # a block's subtotals: its output is its last row's, or the network's outputs it holds
            held = {rows[i].output for i in line.rows} & returned
            if len(held) > 1:  # as the total line lists them, in `outputs:` order
                shape = fmt_shapes(tuple(analysis.graph.shapes[t] for t in analysis.graph.outputs if t in held))
            held_opaque = any(opaque[line.rows.start : line.rows.stop])
            counts = [
                unknown_cell(
                    fmt_cell(sum(values[line.rows.start : line.rows.stop])), held_opaque and k in unknown, False
                )
                for k, (_, values) in enumerate(columns)
            ]
            table.add_row(line.label, "block", _layers(len(line.rows)), shape, *counts)
        else:
            i = line.rows[0]
            cells = (
                unknown_cell(fmt_cell(values[i]), opaque[i] and k in unknown, True)
                for k, (_, values) in enumerate(columns)
            )
            table.add_row(line.label, last.kind, last.summary, shape, *cells)
    return table


def _layers(n: int) -> str:
    return f"{n:,} layer{'s' if n != 1 else ''}"


# From this many rows on, a table is laid out directly even when wider than the terminal: rich's
# layout (it measures every cell, repeatedly) of a 100,000-layer table takes about 5 minutes.
RICH_ROWS_LIMIT = 2000


def convention_table(analysis: Analysis, counted: Counted) -> TextTable:
    """The table a publication prints, under its convention: one row per top-level layer (or leaf),
    params and ops exact, and params also in the publication's unit (GoogLeNet: K = 1024)."""
    convention = counted.convention
    table = TextTable(title=f"{analysis.spec.name} as {convention.name} counts it")
    unit = convention.params_unit
    for column, drop in (
        ("layer", None),
        ("output (HxWxC)", 3),
        ("depth", 1),
        ("params", None),
        *([(f"params (K={unit})", 2)] if unit != 1 else []),
        (convention.ops_label, None),
    ):
        table.add_column(
            column,
            justify="left" if column == "layer" else "right",
            drop=drop,  # on a narrow screen: depth first, then the unit's params, then the output volume
            shorten=column == "layer",
            name="params-k" if column.startswith("params (") else None,
        )
    for row in counted.published:
        in_unit = [f"{float(row.params_in_unit(convention)):,.1f}K" if row.params else "·"] if unit != 1 else []
        table.add_row(
            row.name,
            fmt_shape(row.out_shape),
            str(row.depth) if row.depth else "",
            fmt_cell(row.params),
            *in_unit,
            fmt_cell(row.ops),
        )
    return table


def summary_lines(analysis: Analysis, memory: Memory, counted: Counted) -> list[str]:
    """The headline numbers under a table, each with its unit named."""
    t = analysis.totals
    convention = counted.convention
    lines = []
    if convention != ARCHCALC:
        under = counted.totals
        lines.append(
            f"convention: {convention.name} ({'; '.join(convention.differences()) or 'as archcalc'}): "
            f"units {fmt_int(under['units'])}, params {fmt_int(under['params'])}, connections {fmt_int(under['connections'])}, "
            f"{convention.ops_label} {fmt_int(under['ops'])}"
        )
        if convention.description:
            lines.append(f"  {convention.description}")
    note = opaque_note(analysis)
    return (
        lines
        + [
            f"parameters: {fmt_int(t.params)} ({fmt_si(t.params)}; weights {fmt_int(t.weights)} + biases {fmt_int(t.biases)})",
            f"MACs: {fmt_int(t.macs)} ({fmt_si(t.macs)} multiply-accumulates per example)"
            f" = FLOPs (2 per MAC): {fmt_int(t.flops)} ({fmt_si(t.flops)})",
            f"activations: {fmt_int(t.units)} units = {fmt_bytes(memory.activations)} per example at {memory.dtype}",
        ]
        + ([note] if note else [])
    )


def params_table(analysis: Analysis, depth: int | None = None) -> TextTable:
    """Parameter report: layers holding parameters or buffers, with their share of the total; the
    layer column a tree, `depth` folding deeper blocks into one line of subtotals (tree_view.py)."""
    t = analysis.totals
    table = TextTable(title=f"{analysis.spec.name}: parameters", show_footer=True)
    table.add_column("layer", footer="total", shorten=True)
    table.add_column("kind", drop=_drop(PARAMS_DROPS, "kind"))
    # Each column adds up to its footer: float buffers and int64 counters (batch norm's
    # num_batches_tracked) apart, as the totals keep them.
    for name, total in (
        ("weights", t.weights),
        ("biases", t.biases),
        ("params", t.params),
        ("buffers", t.buffers),
        ("counters", t.counters),
    ):
        table.add_column(name, footer=fmt_count(total), justify="right", drop=_drop(PARAMS_DROPS, name))
    table.add_column("share", footer="100%" if t.params else "", justify="right", drop=_drop(PARAMS_DROPS, "share"))
    table.add_column("trainable", justify="center", drop=_drop(PARAMS_DROPS, "trainable"))
    held = [row for row in analysis.rows if row.params or row.buffers or row.counters]
    for line in tree_lines([row.path for row in held], depth, analysis.spec.name):
        if line.heading:
            table.add_row(line.label, *[""] * 8)
            continue
        part = held[line.rows.start : line.rows.stop]
        params = sum(row.params for row in part)
        trains = {row.trainable for row in part}
        table.add_row(
            line.label,
            "block" if line.folded else part[0].kind,
            fmt_cell(sum(row.weights for row in part)),
            fmt_cell(sum(row.biases for row in part)),
            fmt_cell(params),
            fmt_cell(sum(row.buffers for row in part)),
            fmt_cell(sum(row.counters for row in part)),
            f"{ratio(100 * params, t.params):.2f}%" if t.params else "",
            "partly" if len(trains) > 1 else "yes" if trains == {True} else "no",
        )
    return table


def params_lines(analysis: Analysis, memory: Memory) -> list[str]:
    t = analysis.totals
    return [
        f"trainable parameters: {fmt_int(t.trainable_params)}"
        + (f" (frozen: {fmt_int(t.frozen_params)})" if t.frozen_params else ""),
        f"non-trainable buffers: {fmt_int(t.buffers)} float elements + {fmt_int(t.counters)} int64 counters",
        f"memory at {memory.dtype}: parameters {fmt_bytes(memory.params)} ({fmt_int(memory.params)} B), "
        f"buffers {fmt_bytes(memory.buffers)} ({fmt_int(memory.buffers)} B)",
    ]


# ---------------------------------------------------------------------------------------------
# JSON: plain dicts with stable keys and exact integers


def shape_list(shape: Shape) -> list[int]:
    return list(shape)


def row_dict(row: Row, bytes_per_unit: int) -> dict[str, Any]:
    return {
        "path": row.path,
        "kind": row.kind,
        "summary": row.summary,
        "depth": row.depth,
        "trainable": row.trainable,
        "input_shape": shape_list(row.in_shape),
        "output_shape": shape_list(row.out_shape),
        "units": row.units,
        "weights": row.weights,
        "biases": row.biases,
        "params": row.params,
        "buffers": row.buffers,
        "counters": row.counters,
        "connections": row.connections,
        "macs": row.macs,
        "flops": row.flops,
        "padded_connections": row.padded_connections,
        "activation_bytes": row.units * bytes_per_unit,
        # an opaque row's unknowns are null, not 0, and the row says why (only such a row has the key)
        **(
            {"opaque": True, "connections": None, "macs": None, "flops": None, "padded_connections": None}
            if row.opaque
            else {}
        ),
    }


def memory_dict(memory: Memory) -> dict[str, Any]:
    return {
        "dtype": memory.dtype,
        "params_bytes": memory.params,
        "buffers_bytes": memory.buffers,
        "activations_bytes": memory.activations,
        "total_bytes": memory.total,
    }


def spec_dict(analysis: Analysis) -> dict[str, Any]:
    spec = analysis.spec
    return {
        "name": spec.name,
        "title": spec.title,
        "family": spec.family,
        "source": spec.source,
        "input_shape": shape_list(analysis.input_shape),
        "output_shape": shape_list(analysis.output_shape),
        "output_shapes": [shape_list(shape) for shape in analysis.output_shapes],
    }


def analysis_dict(analysis: Analysis, memory: Memory, counted: Counted) -> dict[str, Any]:
    """The full machine-readable result of `archcalc shapes --json`.

    Rows and totals are always in archcalc's conventions; `convention` holds the chosen
    convention and the units / params / connections / ops columns under it.
    """
    size = dtype_bytes(memory.dtype)
    layers = []
    for row, under in zip(analysis.rows, counted.rows):
        entry = row_dict(row, size)
        entry["convention"] = {
            "units": under.units,
            "params": under.params,
            "connections": None if row.opaque else under.connections,
            "ops": None if row.opaque else under.ops,
        }
        layers.append(entry)
    return {
        "spec": spec_dict(analysis),
        "conventions": CONVENTIONS,
        "convention": {
            **counted.convention.model_dump(),
            "totals": counted.totals,
            "rows": [
                {
                    "name": r.name,
                    "output_shape": shape_list(r.out_shape),
                    "depth": r.depth,
                    "params": r.params,
                    "ops": r.ops,
                }
                for r in counted.published
            ],
        },
        "layers": layers,
        "totals": analysis.totals.to_dict(),
        "memory": memory_dict(memory),
        **({"opaque": opaque_dict(analysis)} if analysis.opaque_rows else {}),
    }


def opaque_dict(analysis: Analysis) -> dict[str, Any]:
    """What the JSON says of a spec holding opaque layers: which, and that the totals of their
    unknown columns (macs, flops, connections) count the other layers only."""
    return {
        "layers": [{"path": row.path, "module": row.layer.module} for row in analysis.opaque_rows],  # type: ignore[attr-defined]
        "unknown": sorted(OPAQUE_COLUMNS | {"flops"}),
        "note": opaque_note(analysis),
    }
