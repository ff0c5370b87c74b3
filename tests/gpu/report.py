"""reports/gpu.md from a GPU suite run: the machine, then one table per section with every figure.

Text from the run (the device name torch reports, spec names) goes through the Markdown encoder."""

from __future__ import annotations

from typing import Any

from archcalc.encode import md_text

from .suite import Record

NO_RUN = """# archcalc on a GPU

No GPU run has been recorded yet. The suite in `tests/gpu/` is skipped where torch sees no CUDA device
(CI runs on CPU); on a machine with one, `python -m tests.gpu` runs it all and rewrites this file with
the device, the torch version and every figure.
"""

SECTIONS = {
    "verify": "`archcalc verify --all --device cuda` (fp32; the zoo at bf16): every spec built and counted on the device",
    "bench": "The zoo at batch {batch}, channels-last: achieved against the peak each op family meets, and both roofline bounds",
    "memory": "Training step (bf16, channels-last): the memory model against `torch.cuda.max_memory_allocated`",
    "compiled": "`torch.compile`: the fused roofline bound against the compiled run",
    "cudnn.benchmark": "Batch 1 with and without `--cudnn-benchmark`",
}


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) >= 1 else f"{value:.3g}"
    return md_text(str(value))


def render(record: Record, passed: bool) -> str:
    """The report as Markdown."""
    lines = ["# archcalc on a GPU", ""]
    lines += [f"- {md_text(key)}: {md_text(value)}" for key, value in record.environment.items()]
    lines += [f"- suite: {'passed' if passed else 'FAILED (see the figures below)'}", ""]
    lines.append("Written by `python -m tests.gpu` (tests/gpu/); each figure is what archcalc's own commands printed.")
    for name, rows in record.sections.items():
        batch = rows[0].get("batch", "")
        lines += ["", f"## {SECTIONS.get(name, md_text(name)).format(batch=batch)}", ""]
        columns = list(dict.fromkeys(key for row in rows for key in row))
        lines.append("| " + " | ".join(md_text(c) for c in columns) + " |")
        lines.append("|" + "---|" * len(columns))
        for row in rows:
            lines.append("| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines) + "\n"
