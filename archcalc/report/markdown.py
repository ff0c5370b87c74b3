"""Breakdown -> GitHub-flavoured markdown, linking the SVG chart written beside it."""

from __future__ import annotations

from ..breakdown import Breakdown
from ..encode import md_text, md_url
from . import Format, content
from .content import Table


def table(t: Table, first_is_markdown: bool = False) -> str:
    """Every cell passes md_text (the index's first column is a link made of encoded parts)."""
    rule = {"l": "---", "r": "---:"}
    lines = ["| " + " | ".join(map(md_text, t.headers)) + " |", "|" + "|".join(rule[a] for a in t.align) + "|"]
    for row in t.rows:
        lines.append(
            "| " + " | ".join(c if first_is_markdown and i == 0 else md_text(c) for i, c in enumerate(row)) + " |"
        )
    if t.footer:
        lines.append("| " + " | ".join(f"**{md_text(c)}**" if c else "" for c in t.footer) + " |")
    return "\n".join(lines)


def report(r: Breakdown, chart_file: str | None) -> str:
    out = [f"# {md_text(content.title(r))}", ""]
    for label, text in content.source_lines(r):
        out += [f"**{label}.** {md_text(text)}", ""]
    out += ["## Summary", "", table(content.summary(r)), ""]
    out += ["## Where the parameters and the compute sit", ""]
    out += [f"- {md_text(line)}" for line in content.leaders(r)] + [""]
    out += [table(content.by_kind(r)), ""]
    if chart_file:
        out += [f"![{md_text(r.name)}: share of parameters and of MACs per layer]({md_url(chart_file)})", ""]
    out += ["## Layers", "", table(content.layers(r)), ""]
    if r.measured is not None and r.measured.run is not None:
        run = r.measured.run
        out += ["## Measured run", "", md_text(content.measured_note(r.measured)), ""]
        out += [table(content.measured_run(run)), ""]
        if run.batches:
            out += [table(content.measured_run_batches(run)), ""]
        if run.layers:
            out += [table(content.measured_run_layers(run)), ""]
    elif r.measured is not None:
        out += [
            "## Measured",
            "",
            md_text(content.measured_note(r.measured)),
            "",
            table(content.measured_totals(r.measured)),
            "",
        ]
        if r.measured.layers:
            out += [table(content.measured_layers(r.measured)), ""]
    out += ["## Conventions", ""] + [f"- {md_text(line)}" for line in content.CONVENTIONS]
    return "\n".join(out) + "\n"


def index(reports: list[Breakdown], files: dict[str, str]) -> str:
    t = content.index(reports)
    rows = tuple((f"[{md_text(row[0])}]({md_url(files[row[0]])})", *row[1:]) for row in t.rows)
    out = [
        "# archcalc reports",
        "",
        "Every bundled spec, analysed statically (`archcalc report --all`).",
        "",
        table(Table(headers=t.headers, align=t.align, rows=rows), first_is_markdown=True),
        "",
        "## Conventions",
        "",
    ]
    return "\n".join(out + [f"- {md_text(line)}" for line in content.CONVENTIONS]) + "\n"


FORMAT = Format(name="md", extension="md", report=report, index=index, wants_chart_file=True)
