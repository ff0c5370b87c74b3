"""`verify` over several specs: a summary line (specs, rows, ✓, ≈, ✗, seconds) that agrees with the
JSON's cells, `--quiet` (the failures and the summary only), and a progress bar on a terminal only.

`--all` runs here on a fast subset of the bundled specs: `bundled_names` is replaced for the test.
"""

from __future__ import annotations

import json
import re

import pytest

from archcalc.cli import main

pytest.importorskip("torch")
pytest.importorskip("fvcore")

SUBSET = ["lenet5", "simple-cnn"]
SUMMARY = re.compile(
    r"^summary: (\d+) spec\(s\), ([\d,]+) rows, ([\d,]+) checks: ✓ ([\d,]+), ≈ ([\d,]+), ✗ ([\d,]+), [\d.]+ s$"
)


@pytest.fixture
def few_bundled(monkeypatch):
    """`verify --all` on SUBSET only."""
    monkeypatch.setattr("archcalc.commands.verify.bundled_names", lambda: list(SUBSET))


@pytest.fixture
def one_failure(monkeypatch):
    """simple-cnn's first layer disagrees on params: a ✗ as a real mismatch would make it."""
    from archcalc.verify import verification

    real = verification.verify_analysis

    def failing(analysis, batch=2, placement=verification.CPU_FP32):
        result = real(analysis, batch, placement)
        if result.spec == "simple-cnn":
            result.layers[0].cells["params"] = verification.Cell(status="fail", ours=1, theirs=2)
        return result

    monkeypatch.setattr(verification, "verify_analysis", failing)


def _recount(data: dict) -> tuple[int, int, int, int]:
    """specs, rows, ✓ and ≈ counted from the JSON's cells, apart from the command's tally."""
    cells = [
        cell["status"]
        for spec in data["specs"]
        for cell in [
            *(c for layer in spec["layers"] for c in layer.values() if isinstance(c, dict)),
            *spec["totals"].values(),
        ]
    ]
    rows = sum(len(spec["layers"]) for spec in data["specs"])
    return len(data["specs"]), rows, cells.count("ok"), cells.count("convention")


def _summary(stdout: str) -> tuple[int, ...]:
    match = SUMMARY.match(stdout.splitlines()[-1])
    assert match, stdout.splitlines()[-1]
    return tuple(int(g.replace(",", "")) for g in match.groups())


def test_all_ends_with_a_summary_that_agrees_with_the_json(runner, few_bundled):
    text = runner.invoke(main, ["verify", "--all"], catch_exceptions=False)
    data = json.loads(runner.invoke(main, ["verify", "--all", "--json"], catch_exceptions=False).stdout)
    assert text.exit_code == 0, text.output
    specs, rows, ok, convention = _recount(data)
    # the marks count checks (every figure compared), which outnumber the rows: the line says both
    assert _summary(text.stdout) == (specs, rows, ok + convention, ok, convention, 0) and specs == len(SUBSET)
    assert ok + convention > rows, (ok, convention, rows)
    summary = data["summary"]
    assert (
        summary["specs"],
        summary["rows"],
        summary["checks"],
        summary["ok"],
        summary["convention"],
        summary["fail"],
    ) == (
        specs,
        rows,
        ok + convention,
        ok,
        convention,
        0,
    ), summary
    assert summary["seconds"] > 0


def test_quiet_prints_only_the_summary_when_all_pass(runner, few_bundled):
    result = runner.invoke(main, ["verify", "--all", "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 1, result.stdout
    assert _summary(result.stdout)[0] == len(SUBSET)


def test_quiet_prints_the_failures_and_the_summary(runner, few_bundled, one_failure):
    full = runner.invoke(main, ["verify", "--all"], catch_exceptions=False)
    quiet = runner.invoke(main, ["verify", "--all", "-q"], catch_exceptions=False)
    assert full.exit_code == quiet.exit_code == 1, quiet.output
    assert _summary(quiet.stdout)[5] == _summary(full.stdout)[5] == 1
    assert "simple-cnn: FAILED" in quiet.stdout and "lenet5" not in quiet.stdout, quiet.stdout
    rows = [line for line in quiet.stdout.splitlines() if line.startswith("│") and "┃" not in line]
    assert len(rows) == 1 and "✗ 1 vs 2" in rows[0], quiet.stdout  # the failing row, no passing one
    assert len(quiet.stdout.splitlines()) < len(full.stdout.splitlines()) / 2, quiet.stdout


@pytest.mark.parametrize(
    ("env", "bar"),
    [({}, False), ({"FORCE_COLOR": "1"}, True)],
    ids=["off-a-terminal", "on-a-terminal"],
)
def test_a_progress_bar_on_a_terminal_only(runner, env, bar):
    result = runner.invoke(main, ["verify", "lenet5"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert ("verifying lenet5" in result.stderr and "1/1" in result.stderr) == bar, repr(result.stderr)
    assert "[progress" not in result.stderr  # the description is a column, not markup printed as text
    assert "verifying" not in result.stdout


def test_json_shows_no_bar_even_on_a_terminal(runner):
    result = runner.invoke(main, ["verify", "lenet5", "--json"], env={"FORCE_COLOR": "1"}, catch_exceptions=False)
    assert result.stderr == "" and json.loads(result.stdout)["summary"]["specs"] == 1
