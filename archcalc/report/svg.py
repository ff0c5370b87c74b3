"""The per-layer chart: each weight layer's share of the parameters beside its share of the MACs, as SVG.

Written by hand rather than with a plotting library: the chart is a few dozen rectangles, the output
must be byte-for-byte deterministic (reports are committed and regenerated in a test; matplotlib
writes dates and random ids into its SVG), and the static path stays free of heavy dependencies.
Shares (not raw counts) share one axis, so AlexNet's fc6 (60% of the parameters, 3% of the MACs)
and its conv layers (95% of the MACs) read side by side.
"""

from __future__ import annotations

from ..analysis_view import UNKNOWN
from ..breakdown import Breakdown, share
from ..encode import html_text
from ..numfmt import fmt_si

WIDTH = 760
BAR = 9  # height of one bar
ROW = 2 * BAR + 10  # two bars and a gap
TOP = 56
FONT = 12
CHAR = 7.0  # average advance of a 12px sans-serif character, for laying out labels
COLORS = {"params": "#3b6fb6", "macs": "#e08a2c"}
LABELS = {"params": "parameters (weights + biases)", "macs": "MACs (multiply-accumulates)"}
MAX_LABEL = 24


def _num(value: float) -> str:
    """Coordinates with at most one decimal, no trailing zeros: stable text for a stable file."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _axis_max(top: float) -> int:
    for step in (10, 20, 25, 50, 75, 100):
        if top <= step:
            return step
    return 100


def _label(path: str) -> str:
    return path if len(path) <= MAX_LABEL else "…" + path[-(MAX_LABEL - 1) :]


def chart(report: Breakdown) -> str:
    """An SVG document (no XML prolog, so it embeds inline in HTML as is)."""
    rows = report.chart_rows
    t = report.analysis.totals
    label_width = max([len(_label(r.path)) for r in rows] + [6]) * CHAR + 16
    left = round(label_width)
    right = 64  # room for the value label after the longest bar
    plot = WIDTH - left - right
    height = TOP + ROW * max(len(rows), 1) + 34
    data = [(r, share(r.params, t.params), share(r.macs, t.macs)) for r in rows]
    top = max([max(p, m) for _, p, m in data] + [1.0])
    scale = _axis_max(top)
    title = f"{report.name}: share of parameters and of MACs per layer"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="chart-title" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif" font-size="{FONT}">',
        f'<title id="chart-title">{html_text(title)}</title>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="{left}" y="20" font-size="14" font-weight="600" fill="#222">{html_text(title)}</text>',
    ]
    legend_x = left
    for key in ("params", "macs"):
        out.append(f'<rect x="{legend_x}" y="30" width="12" height="12" fill="{COLORS[key]}"/>')
        out.append(f'<text x="{legend_x + 17}" y="40.5" fill="#333">% of {html_text(LABELS[key])}</text>')
        legend_x += 17 + round(len(f"% of {LABELS[key]}") * CHAR) + 24
    bottom = TOP + ROW * len(rows)
    for tick in range(0, scale + 1, scale // 5 if scale % 5 == 0 else scale // 4):
        x = left + plot * tick / scale
        out.append(f'<line x1="{_num(x)}" y1="{TOP - 4}" x2="{_num(x)}" y2="{bottom}" stroke="#e3e3e3"/>')
        out.append(f'<text x="{_num(x)}" y="{bottom + 16}" text-anchor="middle" fill="#555">{tick}%</text>')
    for i, (row, p, m) in enumerate(data):
        y = TOP + ROW * i
        macs = "MACs unknown (opaque)" if row.opaque else f"MACs {row.macs:,} ({m:.1f}%)"
        out.append(
            f"<g><title>{html_text(row.path)} ({html_text(row.kind)}): parameters {row.params:,} ({p:.1f}%), "
            f"{macs}</title>"
        )
        out.append(
            f'<text x="{left - 8}" y="{_num(y + BAR + 4)}" text-anchor="end" fill="#222">'
            f"{html_text(_label(row.path))}</text>"
        )
        for j, (key, value, count) in enumerate((("params", p, row.params), ("macs", m, row.macs))):
            width = plot * value / scale
            by = y + j * BAR
            out.append(
                f'<rect x="{left}" y="{by}" width="{_num(max(width, 0.5 if count else 0))}" height="{BAR - 1}" '
                f'fill="{COLORS[key]}"/>'
            )
            out.append(
                f'<text x="{_num(left + width + 4)}" y="{by + BAR - 1}" font-size="10" fill="#444">'
                f"{UNKNOWN if key == 'macs' and row.opaque else f'{value:.1f}% ({fmt_si(count)})'}</text>"
            )
        out.append("</g>")
    out.append(f'<line x1="{left}" y1="{TOP - 4}" x2="{left}" y2="{bottom}" stroke="#888"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
