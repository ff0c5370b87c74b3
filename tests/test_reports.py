"""`archcalc report`, `compare` and `diff`: report contents per format, measured figures, the committed
reports/ folder kept current, and the HTML report rendered in a real headless browser."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from archcalc import analyze, bundled_names, load_spec
from archcalc.cli import main

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "reports"
LENET = {"params": 61_706, "macs": 416_520, "units": 8_094, "connections": 422_824}


def _report(runner, tmp_path, *args):
    result = runner.invoke(main, ["report", *args, "-o", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_markdown_report_links_its_chart_and_labels_every_figure(runner, tmp_path):
    _report(runner, tmp_path, "lenet5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lenet5.md", "lenet5.svg"]
    text = (tmp_path / "lenet5.md").read_text()
    assert "](lenet5.svg)" in text and (tmp_path / "lenet5.svg").read_text().startswith("<svg")
    for fragment in (
        "| parameters (weights + biases) | 61,706 (61.7K) = 61,470 weights + 236 biases |",
        "| MACs (multiply-accumulates per example) | 416,520 (417K) |",
        "| FLOPs (2 per MAC) | 833,040 (833K) |",
        "| depth (weight layers: conv and linear) | 5 |",
        "| activation memory at fp32 | 31.6 KiB (32,376 B) |",
        "32x32x1",
    ):
        assert fragment in text, fragment
    assert re.search(r"\bFLOPs\b(?! \(2 per MAC\)| = 2 × MACs)", text) is None  # never an unlabelled FLOPs


@pytest.mark.parametrize(
    ("spec", "quantity", "kind"),
    [
        ("lenet5", "units", "conv"),
        ("lenet5", "connections", "conv"),
        ("lenet5", "parameters", "linear"),
        ("alexnet", "units", "conv"),
        ("alexnet", "connections", "conv"),
        ("alexnet", "parameters", "linear"),
    ],
    ids=lambda v: str(v),
)
def test_seed_002_rule_of_thumb_is_visible(runner, tmp_path, spec, quantity, kind):
    """'Most of the units and connections are in the convolution layers; most of the weights in the FC ones.'"""
    _report(runner, tmp_path, spec)
    assert f"- Most {quantity}: {kind} layers," in (tmp_path / f"{spec}.md").read_text()


def test_shares_by_kind_add_up(runner, tmp_path):
    _report(runner, tmp_path, "alexnet", "--format", "json")
    data = json.loads((tmp_path / "alexnet.json").read_text())
    for quantity in ("units", "params", "connections", "macs"):
        assert sum(k[quantity] for k in data["by_kind"]) == data["totals"][quantity]
    assert data["summary"]["depth"] == 8
    leader = {x["quantity"]: (x["kind"], x["value"]) for x in data["leaders"]}
    assert leader["params"] == ("linear", 37_752_832 + 16_781_312 + 4_097_000)  # fc6 + fc7 + fc8


def test_csv_rows_sum_to_the_total_row(runner, tmp_path):
    _report(runner, tmp_path, "lenet5", "--format", "csv", "--dtype", "fp16")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "lenet5.csv").read_text())))
    layers, total = rows[:-1], rows[-1]
    assert total["path"] == "total"
    for column in ("units", "params", "connections", "macs", "activation_bytes"):
        assert sum(int(r[column]) for r in layers) == int(total[column]), column
    assert int(total["params"]) == LENET["params"] and int(total["activation_bytes"]) == 2 * LENET["units"]


def test_html_embeds_the_svg_inline(runner, tmp_path):
    _report(runner, tmp_path, "alexnet", "--format", "html")
    assert [p.name for p in tmp_path.iterdir()] == ["alexnet.html"]
    page = (tmp_path / "alexnet.html").read_text()
    assert page.count("<svg") == 1 and "<script" not in page and "fc6" in page


def test_atomic_writes_leave_no_temporary_files(runner, tmp_path):
    (tmp_path / "lenet5.md").write_text("old")
    _report(runner, tmp_path, "lenet5", "--format", "md", "--format", "json", "--format", "csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lenet5.csv", "lenet5.json", "lenet5.md", "lenet5.svg"]
    assert (tmp_path / "lenet5.md").read_text() != "old"


MEASURED = {
    "spec": "lenet5",
    "tool": "a test double of the torch verifier",
    "totals": {"params": LENET["params"], "macs": LENET["macs"] + 10, "latency_ms": 0.25, "device": "cpu"},
    "layers": [
        {"path": "C1", "params": 156, "macs": 117_600},
        {"path": "F5", "params": 48_000},
        {"path": "not_a_layer", "params": 1},
    ],
}


def test_measured_figures_are_held_against_static_ones(runner, tmp_path):
    measured = tmp_path / "verify.json"
    measured.write_text(json.dumps(MEASURED))
    out = tmp_path / "out"
    _report(runner, out, "lenet5", "--measured", str(measured), "--format", "json", "--format", "md")
    data = json.loads((out / "lenet5.json").read_text())["measured"]
    totals = {f["key"]: f for f in data["totals"]}
    assert totals["params"]["match"] is True and totals["macs"]["delta"] == 10 and totals["macs"]["match"] is False
    assert totals["latency_ms"]["static"] is None and "device" not in totals  # text is not a figure
    layers = {entry["path"]: {f["key"]: f for f in entry["figures"]} for entry in data["layers"]}
    assert layers["F5"]["params"]["static"] == 48_120 and layers["F5"]["params"]["delta"] == -120
    assert data["unmatched_layers"] == ["not_a_layer"]
    text = (out / "lenet5.md").read_text()
    assert "## Measured" in text and "| macs | 416,530 | 416,520 | 10 | NO |" in text


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ('{"spec": "alexnet", "totals": {"params": 1}}', "match no spec"),
        ('{"spec": "lenet5", "layers": [{"params": 1}]}', "needs a `path`"),
        ("[1, 2]", "is an object"),
    ],
    ids=["syntax", "other-spec", "layer-without-path", "not-an-object"],
)
def test_bad_measured_json_exit_2(runner, tmp_path, content, fragment):
    measured = tmp_path / "m.json"
    measured.write_text(content)
    result = runner.invoke(main, ["report", "lenet5", "--measured", str(measured), "-o", str(tmp_path)])
    assert result.exit_code == 2 and fragment in result.output, result.output


@pytest.mark.parametrize("args", [[], ["lenet5", "--all"]], ids=["nothing", "both"])
def test_report_usage_errors(runner, args):
    assert runner.invoke(main, ["report", *args]).exit_code == 2


def test_committed_reports_are_current(runner, tmp_path):
    """`archcalc report --all -o reports/` reproduces the committed folder byte for byte."""
    _report(runner, tmp_path, "--all")
    fresh = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    # performance.md is written by `python -m benchmarks` and gpu.md by `python -m tests.gpu`, not by `archcalc report`
    committed = (
        {p.name: p.read_bytes() for p in REPORTS.iterdir() if p.name not in ("performance.md", "gpu.md")}
        if REPORTS.is_dir()
        else {}
    )
    assert sorted(fresh) == sorted(committed), "run `archcalc report --all -o reports/` and commit the result"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"reports/ is out of date for {stale}: run `archcalc report --all -o reports/`"
    assert {f"{n}.html" for n in bundled_names()} <= set(fresh) and "index.html" in fresh and "index.md" in fresh


def test_reports_are_deterministic(runner, tmp_path):
    _report(runner, tmp_path / "a", "--all", "--format", "json", "--format", "csv")
    _report(runner, tmp_path / "b", "--all", "--format", "json", "--format", "csv")
    for path in (tmp_path / "a").iterdir():
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name


# ---------------------------------------------------------------------------------------------
# The HTML report in a real browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

PROBE = """<script>
(() => {
  const doc = document.documentElement;
  const svg = document.querySelector("figure svg");
  const box = svg ? svg.viewBox.baseVal : null;
  const outside = svg ? [...svg.querySelectorAll("text")].filter(t => {
    const b = t.getBBox();
    return b.x < 0 || b.y < 0 || b.x + b.width > box.width + 0.5 || b.y + b.height > box.height + 0.5;
  }).map(t => t.textContent) : [];
  const clipped = [...document.querySelectorAll(".scroll")].filter(e => e.scrollWidth > e.clientWidth + 1).length;
  const rect = svg ? svg.getBoundingClientRect() : {width: 0, height: 0, right: 0};
  document.body.setAttribute("data-probe", JSON.stringify({
    pageOverflow: doc.scrollWidth - doc.clientWidth, clippedTables: clipped, svgs: document.querySelectorAll("svg").length,
    svgWidth: rect.width, svgHeight: rect.height, svgRight: rect.right, viewport: window.innerWidth,
    textOutside: outside, bars: svg ? svg.querySelectorAll("rect").length : 0,
    tables: document.querySelectorAll("table").length, scrolled: scrolled()}));
})();
// Each table box that scrolls sideways, scrolled to its far end: is its last column in view, and does
// its first column (the row names) stay in view? `name` is the first header's text.
function scrolled() {
  return [...document.querySelectorAll(".scroll")].filter(e => e.scrollWidth > e.clientWidth + 1).map(e => {
    e.scrollLeft = e.scrollWidth;
    const box = e.getBoundingClientRect();
    const cells = [...e.querySelectorAll("tr")].map(r => r.cells[0]).filter(c => c);
    const lasts = [...e.querySelectorAll("tr")].map(r => r.cells[r.cells.length - 1]).filter(c => c);
    const inView = c => { const b = c.getBoundingClientRect(); return b.left >= box.left - 1 && b.right <= box.right + 1; };
    const result = {name: e.querySelector("th").textContent, firstInView: cells.every(inView), lastInView: lasts.every(inView),
                    pageLeft: box.left, pageRight: box.right};
    e.scrollLeft = 0;
    return result;
  });
}
</script>"""


def _probe(page: Path, tmp_path: Path, width: int) -> dict:
    probed = tmp_path / f"probe-{width}-{page.name}"
    probed.write_text(page.read_text().replace("</body>", PROBE + "\n</body>"))
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size={width},900",
            "--dump-dom",
            probed.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    match = re.search(r'data-probe="([^"]*)"', result.stdout)
    assert match, f"chromium rendered no probe result (rc {result.returncode}): {result.stderr[-2000:]}"
    return json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run does)")
@pytest.mark.parametrize("spec", ["lenet5", "alexnet"])
def test_html_report_renders_in_chromium(runner, tmp_path, spec):
    _report(runner, tmp_path, spec, "--format", "html")
    probe = _probe(tmp_path / f"{spec}.html", tmp_path, 1280)
    analysis = analyze(load_spec(spec))
    weight_layers = sum(1 for r in analysis.rows if r.params or r.macs)
    assert probe["svgs"] == 1 and probe["svgWidth"] > 600 and probe["svgHeight"] > 100, probe
    assert probe["bars"] >= 2 * weight_layers, probe  # two bars per weight layer, plus background and legend
    assert probe["textOutside"] == [], probe  # no chart label runs off the chart
    assert probe["pageOverflow"] <= 0 and probe["svgRight"] <= probe["viewport"], probe
    assert probe["clippedTables"] == 0, probe  # at a laptop width every table fits: nothing is cut off
    assert probe["tables"] == 3, probe


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run does)")
def test_narrow_window_scrolls_tables_not_the_page(runner, tmp_path):
    _report(runner, tmp_path, "--all", "--format", "html")
    for page in ("alexnet.html", "index.html"):
        probe = _probe(tmp_path / page, tmp_path, 700)
        assert probe["pageOverflow"] <= 0, (page, probe)  # wide tables scroll inside their box
        if page == "index.html":
            assert probe["svgs"] == 0 and probe["tables"] == 1
        else:
            assert probe["svgRight"] <= probe["viewport"], probe  # the chart scales down to fit


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run does)")
@pytest.mark.parametrize("spec", ["resnet50", "alexnet"])
def test_at_1200_px_every_column_shows_or_the_names_stay_in_view(runner, tmp_path, spec):
    """A table wider than its box scrolls sideways; scrolled to its end, its last column is in view
    and so is its first (each row's name), which stays put while the figures scroll under it."""
    _report(runner, tmp_path, spec, "--format", "html")
    probe = _probe(tmp_path / f"{spec}.html", tmp_path, 1200)
    assert probe["pageOverflow"] <= 0, probe
    for table in probe["scrolled"]:
        assert table["lastInView"] and table["firstInView"], (spec, table)
        assert 0 <= table["pageLeft"] and table["pageRight"] <= probe["viewport"], (spec, table)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run does)")
def test_index_fits_a_laptop_screen(runner, tmp_path):
    _report(runner, tmp_path, "--all", "--format", "html")
    probe = _probe(tmp_path / "index.html", tmp_path, 1280)
    assert probe["clippedTables"] == 0 and probe["pageOverflow"] <= 0, probe


# ---------------------------------------------------------------------------------------------
# compare and diff


def test_compare_side_by_side_json(runner):
    result = runner.invoke(main, ["compare", "lenet5", "alexnet", "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    lenet, alexnet = json.loads(result.stdout)["specs"]
    assert {k: lenet[k] for k in LENET} == LENET
    assert (alexnet["params"], alexnet["macs"], alexnet["input_shape"]) == (62_378_344, 1_135_256_096, [3, 227, 227])
    assert lenet["weight_layers"] == 5 and alexnet["weight_layers"] == 8


def test_compare_table_text(runner):
    out = runner.invoke(main, ["compare", "lenet5", "alexnet"], catch_exceptions=False).output
    for text in (
        "units",
        "parameters",
        "connections",
        "MACs",
        "input (HxWxC)",
        "32x32x1",
        "227x227x3",
        "8,094",
        "894,984",
        "61,706",
        "62,378,344",
    ):
        assert text in out, text


PAPER = """name: lenet_paper
input: [1, 32, 32]
convention: {name: paper, bias_is_connection: true, ops_per_mac: 2, ops_label: FLOPs}
layers:
  - conv: {name: C1, out: 6, kernel: 5}
"""


def test_compare_paper_convention_per_spec(runner, tmp_path):
    spec = tmp_path / "paper.yaml"
    spec.write_text(PAPER)
    result = runner.invoke(
        main, ["compare", str(spec), "lenet5", "--convention", "paper", "--json"], catch_exceptions=False
    )
    paper, lenet = json.loads(result.stdout)["specs"]
    assert paper["connections"] == 117_600 + 4_704 and paper["ops"] == 2 * 117_600 and paper["ops_label"] == "FLOPs"
    assert lenet["convention_fallback"] is True and lenet["connections"] == LENET["connections"]
    text = runner.invoke(main, ["compare", str(spec), "lenet5", "--convention", "paper"], catch_exceptions=False).output
    assert "declares no `convention:`" in text and "235,200 FLOPs" in text


def test_compare_unknown_convention_exit_2(runner):
    assert runner.invoke(main, ["compare", "lenet5", "alexnet", "--convention", "papper"]).exit_code == 2


WIDER = (ROOT / "specs" / "lenet5.yaml").read_text().replace("{name: F5, out: 120}", "{name: F5, out: 240}")


def test_diff_per_layer_and_total_deltas(runner, tmp_path):
    wider = tmp_path / "wider.yaml"
    wider.write_text(
        WIDER.replace("  - tanh\n  - linear: {name: output", "  - dropout\n  - tanh\n  - linear: {name: output")
    )
    result = runner.invoke(main, ["diff", "lenet5", str(wider), "--json"], catch_exceptions=False)
    data = json.loads(result.stdout)
    layers = {e["path"]: e for e in data["layers"]}
    # F5: 400 -> 240 instead of 120: +120 x 401 params; F6: 240 -> 84 instead of 120: +120 x 84 weights
    assert layers["F5"]["status"] == "changed" and layers["F5"]["delta"]["params"] == 120 * 401
    assert layers["F6"]["delta"]["params"] == 120 * 84 and layers["F6"]["delta"]["macs"] == 120 * 84
    assert layers["C1"]["status"] == "same" and layers["dropout1"]["status"] == "added"
    assert data["totals"]["params"] == {"a": 61_706, "b": 61_706 + 120 * 401 + 120 * 84, "delta": 120 * 485}
    assert sum(e["delta"]["params"] for e in data["layers"]) == data["totals"]["params"]["delta"]
    text = runner.invoke(main, ["diff", "lenet5", str(wider)], catch_exceptions=False).output
    assert "+48,120" in text and "dropout1" in text and "C1 " not in text  # unchanged layers hidden
    assert "params: 61,706 → 119,906: +58,200 (+94.3%)" in text


def test_diff_removed_layers(runner, tmp_path):
    shorter = tmp_path / "short.yaml"
    shorter.write_text(WIDER.replace("  - linear: {name: F6, out: 84}\n  - tanh\n", ""))
    data = json.loads(runner.invoke(main, ["diff", "lenet5", str(shorter), "--json"], catch_exceptions=False).stdout)
    status = {e["path"]: e["status"] for e in data["layers"]}
    assert status["F6"] == "removed" and status["tanh4"] == "removed" and status["output"] == "changed"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("avgpool: {name: S4, kernel: 2}|maxpool: {name: S4, kernel: 2}", "avgpool → maxpool"),
        ("avgpool: {name: S4, kernel: 2}|avgpool: {name: S4, kernel: 2, stride: 1}", "2x2/2 → 2x2"),
        ("conv: {name: c1, out: 6, kernel: 5}|conv: {name: c1, out: 8, kernel: 5}", "6, 5x5 → 8, 5x5"),
    ],
    ids=["kind", "hyper-parameters", "width"],
)
def test_diff_says_what_changed(runner, tmp_path, change, expected):
    """A changed layer's row says what changed (kind, hyper-parameters), not only that it did; the
    JSON carries both sides' hyper-parameters."""
    old, new = change.split("|")
    base = "input: [1, 28, 28]\nlayers:\n  - conv: {name: c1, out: 6, kernel: 5}\n  - avgpool: {name: S4, kernel: 2}\n  - flatten\n"
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("name: a\n" + base)
    b.write_text("name: b\n" + base.replace(old, new))
    result = runner.invoke(main, ["diff", str(a), str(b)], catch_exceptions=False, env={"COLUMNS": "200"})
    assert result.exit_code == 0 and expected in result.output, result.output
    data = json.loads(runner.invoke(main, ["diff", str(a), str(b), "--json"], catch_exceptions=False).output)
    changed = [e for e in data["layers"] if e["status"] == "changed"]
    assert changed and all("hyper_parameters_a" in e and "hyper_parameters_b" in e for e in changed), changed
