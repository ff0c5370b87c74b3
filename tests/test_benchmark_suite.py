"""The speed suite's bookkeeping, not its timings (those are measured by `python -m benchmarks`,
never asserted in pytest): target verdicts and the exit code, the fits, the import-time parse, and a
one-net run whose report shows each tool's totals agreeing with archcalc's."""

from __future__ import annotations

import pytest

from benchmarks import run

pytest.importorskip("torchinfo")
pytest.importorskip("fvcore")
pytest.importorskip("ptflops")


def _timing(*seconds: float) -> run.Timing:
    return run.Timing(list(seconds), list(seconds))


def _comparison(name: str, analyze_s: float, torchinfo_s: float) -> run.Comparison:
    tools = {tool: (_timing(torchinfo_s), {"params": 1, "ops": 1}, {"params": 1, "ops": 1}) for tool in run.TOOLS}
    return run.Comparison(name, 10, _timing(analyze_s * 3), _timing(analyze_s), _timing(0.5), 1, 1, tools)


@pytest.mark.parametrize(("analyze_s", "met"), [(0.002, True), (0.004, False)])
def test_the_ratio_target_is_judged_on_the_analysis(analyze_s, met):
    checks = run.targets([_comparison("resnet152", analyze_s, 0.3)], {}, {})
    ((what, value, ok),) = checks
    assert "100x" in what and ok is met, value


def test_paired_rounds_decide_the_ratio_when_measured():
    comparison = _comparison("resnet152", 0.002, 0.3)  # 150x from the best times
    comparison.paired = [90.0, 95.0, 99.0]  # drift: back to back, the rounds say otherwise
    ((_, value, ok),) = run.targets([comparison], {}, {})
    assert ok is False and value.startswith("95x")


@pytest.mark.parametrize(("best", "met"), [(0.2, True), (0.26, False)])
def test_the_process_target_is_judged_on_the_best_run(best, met):
    process = {"ours": _timing(0.4, best, 0.3), "loaded": ["archcalc", "click"]}
    verdicts = {what.split(" as ")[0]: ok for what, _, ok in run.targets([], process, {})}
    assert verdicts["`archcalc shapes resnet152` under 0.25 s"] is met
    assert verdicts["the static path imports no torch or fvcore"] is True
    leaked = run.targets([], {"ours": _timing(0.2), "loaded": ["torch.nn"]}, {})
    assert [ok for _, _, ok in leaked] == [True, False]


def test_linear_fit_recovers_a_line():
    slope, intercept = run._linear_fit([1, 2, 3, 4], [5, 7, 9, 11])
    assert (slope, intercept) == pytest.approx((2, 3))


def test_importtime_parse_totals_archcalc_and_groups_by_package():
    stderr = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:       100 |        100 |   pydantic.fields",
            "import time:       200 |        300 | pydantic",
            "import time:        50 |        350 |     archcalc.layers",
            "import time:        10 |        360 | archcalc",
            "import time:        40 |         40 | site",
        ]
    )
    total, heavy = run._importtime(stderr)
    assert total == pytest.approx(360e-6)
    assert dict(heavy) == pytest.approx({"pydantic": 300e-6, "archcalc": 60e-6, "site": 40e-6})


def test_a_one_net_run_reports_every_tool_agreeing(tmp_path):
    out = tmp_path / "performance.md"
    code = run.main(
        [
            "--specs",
            "alexnet",
            "--skip",
            "process,scaling,harness",
            "--runs",
            "1",
            "--tool-runs",
            "1",
            "--output",
            str(out),
        ]
    )
    text = out.read_text()
    assert code == 0  # alexnet alone carries no target
    import torch

    assert torch.is_grad_enabled(), "the run left autograd off for whatever runs next"
    for tool in run.TOOLS:
        assert f"| alexnet | {tool} | 62,378,344 | 62,378,344 |" in text
    assert text.count("params =, ops =") == len(run.TOOLS)
