"""Breakdown -> one self-contained HTML page (inline CSS, the SVG chart embedded inline, no scripts)."""

from __future__ import annotations

from ..breakdown import Breakdown
from ..encode import html_text
from ..numfmt import fmt_bytes, fmt_si
from . import Format, content, svg
from .content import Table

# A table wider than its box scrolls inside it (.scroll), its first column (each row's name) held in
# view (sticky) while the figures scroll under it, so no row loses its name at any window width.
CSS = """
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --zebra: #f6f8fa; --accent: #3b6fb6; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: var(--ink); background: #fff; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; line-height: 1.25; }
h2 { font-size: 19px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
p { margin: 6px 0; }
p.meta { color: var(--muted); font-size: 14px; overflow-wrap: anywhere; }
a { color: var(--accent); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; margin: 18px 0 6px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card .label { color: var(--muted); font-size: 13px; }
.card .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
ul.leaders { padding-left: 20px; margin: 6px 0 14px; }
.scroll { overflow-x: auto; max-width: 100%; border: 1px solid var(--line); border-radius: 6px; }
.scroll.compact { display: inline-block; }
table.compact { width: auto; }
figure { text-align: center; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 9px; border-bottom: 1px solid var(--line); white-space: nowrap; text-align: left; }
th { background: var(--zebra); font-weight: 600; position: sticky; top: 0; }
tbody tr:nth-child(even) { background: #fbfcfd; }
tfoot td { font-weight: 600; border-top: 2px solid var(--line); border-bottom: none; }
.scroll tr > :first-child { position: sticky; left: 0; z-index: 1; background: #fff; box-shadow: inset -1px 0 var(--line); }
.scroll tbody tr:nth-child(even) > :first-child { background: #fbfcfd; }
.scroll thead th:first-child { z-index: 2; background: var(--zebra); }
td.r, th.r { text-align: right; }
td.w { white-space: normal; min-width: 14em; }
td.muted { color: var(--muted); }
figure { margin: 14px 0; }
figure svg { max-width: 100%; height: auto; display: block; margin: 0 auto; }
figcaption { color: var(--muted); font-size: 13px; }
ul.conventions { color: var(--muted); font-size: 13px; padding-left: 20px; }
"""


WRAP = ' class="w"'


def table(t: Table, first_is_html: bool = False) -> str:
    cls = {"l": "", "r": ' class="r"'}
    head = "".join(f"<th{cls[a]}>{html_text(h)}</th>" for h, a in zip(t.headers, t.align))
    body = []
    for row in t.rows:
        cells = []
        for i, (cell, a) in enumerate(zip(row, t.align)):
            text = cell if (first_is_html and i == 0) else html_text(cell)
            cells.append(f"<td{WRAP if i in t.wrap else cls[a]}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    foot = ""
    if t.footer:
        foot_cells = "".join(f"<td{cls[a]}>{html_text(c)}</td>" for c, a in zip(t.footer, t.align))
        foot = f"<tfoot><tr>{foot_cells}</tr></tfoot>"
    wrap, table_class = ('"scroll compact"', ' class="compact"') if t.compact else ('"scroll"', "")
    return (
        f"<div class={wrap}><table{table_class}><thead><tr>{head}</tr></thead><tbody>\n"
        + "\n".join(body)
        + f"\n</tbody>{foot}</table></div>"
    )


def _page(title: str, body: list[str]) -> str:
    return (
        "\n".join(
            [
                "<!DOCTYPE html>",
                '<html lang="en">',
                "<head>",
                '<meta charset="utf-8">',
                '<meta name="viewport" content="width=device-width, initial-scale=1">',
                f"<title>{html_text(title)}</title>",
                f"<style>{CSS}</style>",
                "</head>",
                "<body>",
                "<main>",
                *body,
                "</main>",
                "</body>",
                "</html>",
            ]
        )
        + "\n"
    )


def _cards(r: Breakdown) -> str:
    t = r.analysis.totals
    items = (
        ("parameters", fmt_si(t.params)),
        ("MACs", fmt_si(t.macs)),
        ("FLOPs (2 per MAC)", fmt_si(t.flops)),
        (f"activations ({r.memory.dtype})", fmt_bytes(r.memory.activations)),
        ("weight layers", str(r.depth)),
    )
    cards = "".join(
        f'<div class="card"><div class="label">{html_text(label)}</div>'
        f'<div class="value">{html_text(value)}</div></div>'
        for label, value in items
    )
    return f'<div class="cards">{cards}</div>'


def report(r: Breakdown, chart_file: str | None) -> str:
    body = [f"<h1>{html_text(content.title(r))}</h1>"]
    body += [
        f'<p class="meta"><strong>{label}.</strong> {html_text(text)}</p>' for label, text in content.source_lines(r)
    ]
    body += [_cards(r), "<h2>Summary</h2>", table(content.summary(r))]
    body += ["<h2>Where the parameters and the compute sit</h2>", '<ul class="leaders">']
    body += [f"<li>{html_text(line)}</li>" for line in content.leaders(r)] + ["</ul>", table(content.by_kind(r))]
    body += [
        "<figure>",
        svg.chart(r).rstrip("\n"),
        "<figcaption>Each weight layer's share of all parameters beside its share of all MACs.</figcaption>",
        "</figure>",
    ]
    body += ["<h2>Layers</h2>", table(content.layers(r))]
    if r.measured is not None and r.measured.run is not None:
        run = r.measured.run
        body += ["<h2>Measured run</h2>", f"<p>{html_text(content.measured_note(r.measured))}</p>"]
        body += [table(content.measured_run(run))]
        if run.batches:
            body += ["<p></p>", table(content.measured_run_batches(run))]
        if run.layers:
            body += ["<p></p>", table(content.measured_run_layers(run))]
    elif r.measured is not None:
        body += [
            "<h2>Measured</h2>",
            f"<p>{html_text(content.measured_note(r.measured))}</p>",
            table(content.measured_totals(r.measured)),
        ]
        if r.measured.layers:
            body += ["<p></p>", table(content.measured_layers(r.measured))]
    body += ["<h2>Conventions</h2>", '<ul class="conventions">']
    body += [f"<li>{html_text(line)}</li>" for line in content.CONVENTIONS] + ["</ul>"]
    return _page(content.title(r), body)


def index(reports: list[Breakdown], files: dict[str, str]) -> str:
    t = content.index(reports)
    rows = tuple((f'<a href="{html_text(files[row[0]])}">{html_text(row[0])}</a>', *row[1:]) for row in t.rows)
    body = [
        "<h1>archcalc reports</h1>",
        '<p class="meta">Every bundled spec, analysed statically (<code>archcalc report --all</code>).</p>',
        table(Table(headers=t.headers, align=t.align, rows=rows, wrap=t.wrap), first_is_html=True),
        "<h2>Conventions</h2>",
        '<ul class="conventions">',
        *(f"<li>{html_text(line)}</li>" for line in content.CONVENTIONS),
        "</ul>",
    ]
    return _page("archcalc reports", body)


FORMAT = Format(name="html", extension="html", report=report, index=index)
