"""Report -> GitHub-flavoured markdown, linking the SVG chart written beside it."""

from __future__ import annotations

from ..breakdown import Report
from . import Format, content
from .content import Table


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(t: Table) -> str:
    rule = {"l": "---", "r": "---:"}
    lines = ["| " + " | ".join(t.headers) + " |", "|" + "|".join(rule[a] for a in t.align) + "|"]
    for row in t.rows:
        lines.append("| " + " | ".join(_escape(c) for c in row) + " |")
    if t.footer:
        lines.append("| " + " | ".join(f"**{_escape(c)}**" if c else "" for c in t.footer) + " |")
    return "\n".join(lines)


def report(r: Report, chart_file: str | None) -> str:
    out = [f"# {_escape(content.title(r))}", ""]
    for label, text in content.source_lines(r):
        out += [f"**{label}.** {_escape(text)}", ""]
    out += ["## Summary", "", table(content.summary(r)), ""]
    out += ["## Where the parameters and the compute sit", ""]
    out += [f"- {line}" for line in content.leaders(r)] + [""]
    out += [table(content.by_kind(r)), ""]
    if chart_file:
        out += [f"![{_escape(r.name)}: share of parameters and of MACs per layer]({chart_file})", ""]
    out += ["## Layers", "", table(content.layers(r)), ""]
    if r.measured is not None:
        out += ["## Measured", "", content.measured_note(r.measured), "", table(content.measured_totals(r.measured)), ""]
        if r.measured.layers:
            out += [table(content.measured_layers(r.measured)), ""]
    out += ["## Conventions", ""] + [f"- {line}" for line in content.CONVENTIONS]
    return "\n".join(out) + "\n"


def index(reports: list[Report], files: dict[str, str]) -> str:
    t = content.index(reports)
    rows = tuple((f"[{row[0]}]({files[row[0]]})", *row[1:]) for row in t.rows)
    out = ["# archcalc reports", "", "Every bundled spec, analysed statically (`archcalc report --all`).", "",
           table(Table(t.headers, t.align, rows)), "", "## Conventions", ""]  # fmt: skip
    return "\n".join(out + [f"- {line}" for line in content.CONVENTIONS]) + "\n"


FORMAT = Format("md", "md", report, index, wants_chart_file=True)
