"""The GPU suite's report, tested on CPU: its writer encodes what the run reports, and reports/gpu.md
is either the plain "no run recorded" text or a run's report (never a hand-edited figure)."""

from __future__ import annotations

from pathlib import Path

from tests.gpu.report import NO_RUN, render
from tests.gpu.suite import Record

GPU_REPORT = Path(__file__).parent.parent / "reports" / "gpu.md"


def test_committed_report_is_the_no_run_text_or_a_run():
    text = GPU_REPORT.read_text(encoding="utf-8")
    if text != NO_RUN:
        assert text.startswith("# archcalc on a GPU\n") and "\n- torch: " in text and "\n- device: " in text, (
            "reports/gpu.md is written by `python -m tests.gpu` on a GPU, or says no run was recorded"
        )


def test_render_lists_the_machine_and_every_figure():
    record = Record(environment={"device": "NVIDIA H100 80GB HBM3", "torch": "2.13.0"})
    record.add("memory", {"spec": "resnet50", "measured": 3_021_156_864, "predicted": 2_990_000_000, "ratio": 0.9897})
    record.add("memory", {"spec": "alexnet", "measured": 712_099_840, "predicted": 700_000_000, "ratio": 0.983})
    text = render(record, passed=True)
    assert "- device: NVIDIA H100 80GB HBM3" in text and "- suite: passed" in text
    assert "| resnet50 | 3,021,156,864 | 2,990,000,000 | 0.99 |" in text, text
    assert "max\\_memory\\_allocated" in text or "max_memory_allocated" in text


def test_render_encodes_text_from_the_run():
    record = Record(environment={"device": "<script>x</script> | [l](javascript:1)"})
    record.add("bench", {"spec": "a|b\nc", "batch": 1})
    text = render(record, passed=False)
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "| a\\|b c | 1 |" in text and "FAILED" in text
