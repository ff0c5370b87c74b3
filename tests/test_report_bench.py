"""`report --measured` with bench's own JSON: real `archcalc bench --json` output (inference, train,
per-layer) made here on CPU, shown as a "Measured run" in every format with its FLOPs held to the
static count; a changed value is one error[bad_measured] naming the JSON path, hostile text stays text."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import assume, given, settings

from archcalc import analyze, load_spec, parse_spec
from archcalc.breakdown import build_breakdown, measured_from_dict
from archcalc.cli import main
from archcalc.errors import SpecError
from archcalc.measured_run import step_macs
from archcalc.peaks import FAMILY_NAMES
from archcalc.report import formats
from tests.test_untrusted_text import (
    EXAMPLES,
    PROPERTY,
    assert_html_writes_no_element,
    assert_markdown_writes_no_element,
    hostile,
    strict_json,
)

pytest.importorskip("torch")

BENCH = ["bench", "lenet5", "--device", "cpu", "--batch", "1,2", "--iters", "2", "--warmup", "0", "--json"]
RUNS = {"inference": BENCH, "train": [*BENCH, "--train"], "per-layer": [*BENCH, "--per-layer"]}
LENET = analyze(load_spec("lenet5"))


@pytest.fixture(scope="module")
def bench_json(tmp_path_factory) -> dict[str, dict[str, Any]]:
    """Each run's JSON as bench wrote it (one run each: the CPU probe and timing take about a second)."""
    folder = tmp_path_factory.mktemp("bench")
    out = {}
    for name, args in RUNS.items():
        path = folder / f"{name}.json"
        result = CliRunner().invoke(main, [*args, "-o", str(path)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        out[name] = json.loads(path.read_text())
    return out


def _report(tmp_path: Path, data: dict[str, Any], *fmts: str) -> tuple[int, str, Path]:
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(data))
    out = tmp_path / "out"
    args = ["report", "lenet5", "--measured", str(path), "-o", str(out)]
    for fmt in fmts or ("md", "html", "json", "csv"):
        args += ["--format", fmt]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, result.output, out


@pytest.mark.parametrize("run", list(RUNS))
def test_bench_json_is_a_measured_run_in_every_format(bench_json, tmp_path, run):
    data = bench_json[run]
    code, output, out = _report(tmp_path, data)
    assert code == 0, output
    document = strict_json((out / "lenet5.json").read_text())["measured"]["run"]
    assert document["device_name"] == data["device_name"] and document["dtype"] == "fp32"
    assert document["peak"]["flops_per_s"] == data["peak"]["flops_per_s"]
    entries = document["batches"] or document["layers"]
    written = data.get("batches") or data["layers"]
    assert [e["flops"] for e in entries] == [e["flops"] for e in written]
    assert all(e["flops_match"] is True for e in entries), entries  # bench and archcalc count alike
    assert document["peak"]["families"] == data["peak"]["families"]
    for shown_entry, entry in zip(document["batches"], data.get("batches", ()), strict=True):
        for key in ("images_per_s", "achieved_tflops", "achieved_over_peak"):
            assert shown_entry[key] == pytest.approx(entry[key], rel=1e-9), (key, shown_entry[key], entry[key])
    markdown = (out / "lenet5.md").read_text()
    assert "## Measured run" in markdown and "## Measured\n" not in markdown
    for f in data["peak"]["families"]:  # one row per op family: its math, TFLOP/s and why
        row = f"| peak, {FAMILY_NAMES[f['family']]} | {f['math'].upper()} {f['flops_per_s'] / 1e12:,.3f} TFLOP/s ("
        assert row in markdown.replace("\\", ""), (row, markdown)
    assert ("| of compute bound |" in markdown) == bool(document["batches"]) and "of peak" not in markdown
    assert f"| {data['device_name']} (cpu) |" in markdown.replace("\\", ""), markdown
    html = (out / "lenet5.html").read_text()
    assert "<h2>Measured run</h2>" in html and html.count("<td>yes</td>") == len(entries)
    # the CSV report is the per-layer table: it carries no measured figures, of a run or otherwise
    assert (out / "lenet5.csv").read_text() == _static_csv(tmp_path)


def _static_csv(tmp_path: Path) -> str:
    out = tmp_path / "static"
    result = CliRunner().invoke(main, ["report", "lenet5", "--format", "csv", "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return (out / "lenet5.csv").read_text()


def test_train_flops_are_forward_plus_backward(bench_json):
    """The train run's FLOPs are archcalc.training's step; the same batches read as inference differ."""
    train = bench_json["train"]
    forward, step = step_macs(LENET, False), step_macs(LENET, True)
    assert forward is not None and step is not None and step > forward
    assert [b["flops"] for b in train["batches"]] == [2 * step * b["batch"] for b in train["batches"]]
    relabelled = {**train, "mode": "inference"}
    run = measured_from_dict(relabelled, LENET, LENET.memory("fp32"), "t.json").run
    assert run is not None
    assert [(b.flops, b.static_flops, b.flops_match) for b in run.batches] == [
        (2 * step * b.batch, 2 * forward * b.batch, False) for b in run.batches
    ]


def test_a_flops_mismatch_is_shown_with_both_numbers(bench_json, tmp_path):
    data = copy.deepcopy(bench_json["inference"])
    data["batches"][1]["flops"] += 2
    data["batches"][1]["achieved_tflops"] = _worked_out(data["batches"][1], "achieved_tflops")  # bench's, of them
    del data["batches"][1]["flops_by_family"]  # as in a file from before bench split its FLOPs by family
    code, output, out = _report(tmp_path, data, "md")
    assert code == 0, output
    written, static = data["batches"][1]["flops"], 2 * LENET.totals.macs * 2
    assert f"| {written:,} | {static:,} | NO |" in (out / "lenet5.md").read_text()


def test_unknown_keys_are_ignored_and_known_settings_shown(bench_json, tmp_path):
    """bench's JSON grows: keys archcalc does not use pass; the settings it knows are shown when present."""
    data = copy.deepcopy(bench_json["inference"])
    data |= {"cudnn_benchmark": True, "optimizer": "sgd", "fused_bound_s": 1.5, "new": {"x": [None, "y"]}}
    data["peak"]["measured_by"] = {"conv": {"flops_per_s": 1e12, "source": "tf32"}}
    data["peak"]["families"][0]["note"] = "not used"
    data["batches"][0]["predicted_memory_bytes"] = "not used"
    code, output, out = _report(tmp_path, data, "md", "json")
    assert code == 0, output
    settings = strict_json((out / "lenet5.json").read_text())["measured"]["run"]["settings"]
    assert settings == {"channels_last": False, "compile": False, "cudnn_benchmark": True, "optimizer": "sgd"}
    assert (
        "| settings | channels_last off, compile off, cudnn_benchmark on, optimizer sgd |"
        in (out / "lenet5.md").read_text()
    )


def _set(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """A deep copy with the value at `path` replaced (or removed, for the DROP marker)."""
    out = copy.deepcopy(data)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    if value is DROP:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


DROP = object()
BAD = [
    ("median-text", "inference", ("batches", 0, "median_ms"), "34", "batches[0].median_ms", "must be a number"),
    ("flops-float", "inference", ("batches", 1, "flops"), 1666080.0, "batches[1].flops", "an integer"),
    ("batch-zero", "inference", ("batches", 0, "batch"), 0, "batches[0].batch", "at least 1"),
    ("iters-boolean", "inference", ("batches", 0, "iters"), True, "batches[0].iters", "an integer"),
    ("rate-negative", "inference", ("batches", 0, "images_per_s"), -1.0, "batches[0].images_per_s", "positive"),
    ("memory-negative", "inference", ("batches", 0, "peak_memory_bytes"), -1, "peak_memory_bytes", "never negative"),
    ("p95-under-median", "inference", ("batches", 0, "p95_ms"), 1e-9, "batches[0].p95_ms", "at least the median"),
    ("share-text", "inference", ("batches", 0, "achieved_over_peak"), "1%", "achieved_over_peak", "must be a number"),
    ("bound-text", "inference", ("batches", 0, "compute_bound_s"), "1", "batches[0].compute_bound_s", "a number"),
    ("split-float", "inference", ("batches", 0, "flops_by_family", "conv"), 1.0, "flops_by_family.conv", "integer"),
    ("split-sum", "train", ("batches", 1, "flops_by_family", "conv"), 2, "batches[1].flops_by_family", "but flops is"),
    (
        "split-no-peak",
        "inference",
        ("batches", 0, "flops_by_family", "attention"),
        2,
        "flops_by_family.attention",
        "has no peak",
    ),
    ("split-list", "inference", ("batches", 0, "flops_by_family"), [], "flops_by_family", "must be an object"),
    ("families-object", "inference", ("peak", "families"), {}, "peak.families", "must be a list"),
    ("families-empty", "inference", ("peak", "families"), [], "peak.families", "is empty"),
    ("family-other", "inference", ("peak", "families", 0, "family"), "attention", "families[0].family", "one of conv"),
    ("family-math-other", "inference", ("peak", "families", 1, "math"), "fp8", "families[1].math", "one of fp32, tf32"),
    ("family-peak-zero", "inference", ("peak", "families", 0, "flops_per_s"), 0, "families[0].flops_per_s", "positive"),
    ("family-why-null", "train", ("peak", "families", 2, "why"), None, "families[2].why", "a string"),
    ("family-no-why", "per-layer", ("peak", "families", 0, "why"), DROP, "families[0].why", "is missing"),
    ("peak-list", "inference", ("peak",), [], "peak", "must be an object"),
    ("peak-zero", "inference", ("peak", "flops_per_s"), 0, "peak.flops_per_s", "positive"),
    ("source-null", "inference", ("peak", "source"), None, "peak.source", "a string"),
    ("mode-other", "inference", ("mode",), "eval", "mode", "one of inference, train"),
    ("dtype-other", "inference", ("dtype",), "fp8", "dtype", "bench writes one of"),
    ("flag-text", "inference", ("channels_last",), "no", "channels_last", "true or false"),
    ("setting-text", "inference", ("cudnn_benchmark",), "yes", "cudnn_benchmark", "true or false"),
    ("no-memory-measure", "inference", ("memory_measure",), DROP, "memory_measure", "is missing"),
    ("batches-empty", "inference", ("batches",), [], "batches", "is empty"),
    ("batches-object", "inference", ("batches",), {}, "batches", "must be a list"),
    ("batch-number", "inference", ("batches", 0), 5, "batches[0]", "must be an object"),
    ("name-long", "inference", ("device_name",), "x" * 1001, "device_name", "1,001 characters"),
    ("spec-number", "inference", ("spec",), 5, "spec", "must be a string"),
    ("train-flops-text", "train", ("batches", 0, "flops"), "2263920", "batches[0].flops", "an integer"),
    ("layer-time-zero", "per-layer", ("layers", 0, "measured_s"), 0, "layers[0].measured_s", "positive"),
    ("layer-path-number", "per-layer", ("layers", 1, "path"), 3, "layers[1].path", "a string"),
    ("layer-batch-float", "per-layer", ("batch",), 1.0, "batch", "an integer"),
    ("neither", "per-layer", ("layers",), DROP, "the top level", "neither `batches`"),
]


@pytest.mark.parametrize(
    ("run", "path", "value", "where", "fragment"), [row[1:] for row in BAD], ids=[row[0] for row in BAD]
)
def test_a_changed_value_is_one_error_naming_its_path(bench_json, tmp_path, run, path, value, where, fragment):
    code, output, out = _report(tmp_path, _set(bench_json[run], path, value), "md")
    assert code == 2, output
    assert "error[bad_measured]" in output and f"{where}: " in output and fragment in output, output
    assert "Traceback" not in output and not out.exists()


@pytest.mark.parametrize(
    ("value", "fragment"),
    [(10**41, "at most 40 digits"), (1e300, "not finite or not below 10^40")],
    ids=["integer", "float"],
)
def test_a_huge_number_is_refused_at_the_door(bench_json, tmp_path, value, fragment):
    code, output, _ = _report(tmp_path, _set(bench_json["inference"], ("batches", 0, "flops"), value), "md")
    assert code == 2 and "error[bad_measured]" in output and fragment in output, output


def test_a_layers_bound_over_its_time_past_any_float_is_refused(bench_json, tmp_path):
    """Each number is within the door; their ratio (1e39 / 1e-300) is not a float: refused, not inf%."""
    data = _set(_set(bench_json["per-layer"], ("layers", 0, "bound_s"), 1e39), ("layers", 0, "measured_s"), 1e-300)
    code, output, _ = _report(tmp_path, data, "md")
    assert code == 2 and "layers[0].measured_s: " in output and "past any float" in output, output


def _worked_out(entry: dict[str, Any], key: str, peak: float | None = None) -> float:
    """A figure as bench works it out from the entry's base values (throughput/run.py BatchResult)."""
    seconds = entry["median_ms"] / 1e3
    return {
        "images_per_s": lambda: entry["batch"] / seconds,
        "achieved_tflops": lambda: entry["flops"] / seconds / 1e12,
        "achieved_over_peak": lambda: (
            entry["compute_bound_s"] / seconds if peak is None else entry["flops"] / seconds / peak
        ),
    }[key]()


# (id, key tampered, factor): each figure bench works out, off by more than float rounding
TAMPERED = [
    ("rate", "images_per_s", 100.0),
    ("rate-just-off", "images_per_s", 1 + 1e-8),
    ("tflops", "achieved_tflops", 0.5),
    ("share", "achieved_over_peak", 2.0),
    ("share-just-under", "achieved_over_peak", 1 - 1e-8),
]


@pytest.mark.parametrize("run", ["inference", "train"])
@pytest.mark.parametrize(("key", "factor"), [row[1:] for row in TAMPERED], ids=[row[0] for row in TAMPERED])
def test_a_figure_not_what_its_base_values_give_is_refused(bench_json, tmp_path, run, key, factor):
    written = bench_json[run]["batches"][1][key] * factor
    code, output, out = _report(tmp_path, _set(bench_json[run], ("batches", 1, key), written), "md")
    worked_out = _worked_out(bench_json[run]["batches"][1], key)
    assert code == 2 and "error[bad_measured]" in output and f"batches[1].{key}: is {written!r}, but " in output
    assert repr(worked_out) in output and output.count("error[") == 1 and not out.exists(), output


def test_a_changed_base_value_is_refused_through_the_figures_it_gives(bench_json, tmp_path):
    """A median changed alone no longer gives the written figures; a compute bound no longer its
    FLOPs by family at their peaks."""
    slower = _set(_set(bench_json["inference"], ("batches", 0, "median_ms"), 1e3), ("batches", 0, "p95_ms"), 2e3)
    code, output, _ = _report(tmp_path, slower, "md")
    assert code == 2 and "batches[0].images_per_s: is " in output and "batch / (median_ms / 1e3) is 1.0" in output
    bound = bench_json["inference"]["batches"][0]["compute_bound_s"] * 3
    code, output, _ = _report(tmp_path, _set(bench_json["inference"], ("batches", 0, "compute_bound_s"), bound), "md")
    assert (
        code == 2 and f"batches[0].compute_bound_s: is {bound!r}, but the FLOPs by op family, each at its" in output
    ), output


def _older(data: dict[str, Any]) -> dict[str, Any]:
    """The file as bench wrote it before its per-family peaks: no peak.families, no compute_bound_s,
    and the share as achieved FLOP/s over the one peak."""
    out = copy.deepcopy(data)
    del out["peak"]["families"]
    for entry in out["batches"]:
        del entry["compute_bound_s"]
        entry["achieved_over_peak"] = _worked_out(entry, "achieved_over_peak", out["peak"]["flops_per_s"])
    return out


def test_an_older_file_without_families_or_compute_bound_is_read(bench_json, tmp_path):
    data = _older(bench_json["inference"])
    code, output, out = _report(tmp_path, data, "md", "json")
    assert code == 0, output
    run = strict_json((out / "lenet5.json").read_text())["measured"]["run"]
    assert run["peak"]["families"] == [] and [b["compute_bound_s"] for b in run["batches"]] == [None, None]
    shares = [b["achieved_over_peak"] for b in run["batches"]]
    assert shares == pytest.approx([b["achieved_over_peak"] for b in data["batches"]], rel=1e-9), shares
    assert "| peak, " not in (out / "lenet5.md").read_text()
    share = data["batches"][0]["achieved_over_peak"] * 1.5
    wrong = _set(data, ("batches", 0, "achieved_over_peak"), share)
    code, output, _ = _report(tmp_path, wrong, "md")
    assert code == 2 and "batches[0].achieved_over_peak: " in output and "peak.flops_per_s is " in output, output


def test_without_any_peak_the_share_is_null(bench_json, tmp_path):
    """An older file from a device bench had no peak for: the share is unknown, and only null is right."""
    data = _set(_older(bench_json["inference"]), ("peak", "flops_per_s"), None)
    code, output, _ = _report(tmp_path, data, "md")
    assert code == 2 and "there is neither compute_bound_s nor peak.flops_per_s: bench writes null" in output
    for entry in data["batches"]:
        entry["achieved_over_peak"] = None
    code, output, out = _report(tmp_path, data, "md")
    assert code == 0 and "| n/a |" in (out / "lenet5.md").read_text(), output


def test_a_family_named_twice_is_refused(bench_json, tmp_path):
    data = copy.deepcopy(bench_json["inference"])
    data["peak"]["families"][1]["family"] = data["peak"]["families"][0]["family"]
    code, output, _ = _report(tmp_path, data, "md")
    assert code == 2 and "peak.families[1].family: names 'conv' again" in output, output


def test_a_huge_batch_within_the_door_is_shown_against_its_flops(bench_json, tmp_path):
    data = _set(bench_json["inference"], ("batches", 0, "batch"), 10**30)
    data["batches"][0]["images_per_s"] = _worked_out(data["batches"][0], "images_per_s")
    code, output, out = _report(tmp_path, _set(data, ("batches", 0, "peak_memory_bytes"), 10**39), "json", "md")
    assert code == 0, output
    first = strict_json((out / "lenet5.json").read_text())["measured"]["run"]["batches"][0]
    assert (first["static_flops"], first["flops_match"]) == (2 * LENET.totals.macs * 10**30, False)


def test_another_specs_bench_json_is_refused(bench_json, tmp_path):
    code, output, _ = _report(tmp_path, {**bench_json["inference"], "spec": "alexnet"}, "md")
    assert code == 2 and "error[bad_measured]" in output and "match no spec" in output, output
    with pytest.raises(SpecError, match="spec: is 'alexnet', but this report is of 'lenet5'"):
        measured_from_dict({**bench_json["inference"], "spec": "alexnet"}, LENET, LENET.memory("fp32"), "t.json")


HOSTILE = "<script>alert(1)</script> | *x* [l](javascript:1) ![i](x.png) `c` \n# H\r\n=cmd"


@pytest.mark.parametrize("run", ["inference", "per-layer"])
def test_hostile_text_in_a_bench_json_stays_text(bench_json, tmp_path, run):
    data = copy.deepcopy(bench_json[run])
    data |= {"device_name": HOSTILE, "device": HOSTILE, "optimizer": HOSTILE}
    data["peak"]["source"] = data["peak"]["families"][0]["why"] = HOSTILE
    if run == "per-layer":
        data["layers"][0]["path"] = HOSTILE  # a layer not in the spec: listed as such
    code, output, out = _report(tmp_path, data)
    assert code == 0, output
    assert_markdown_writes_no_element((out / "lenet5.md").read_text(), headings=6, images=1)
    assert_html_writes_no_element((out / "lenet5.html").read_text())
    document = strict_json((out / "lenet5.json").read_text())["measured"]
    assert document["run"]["device_name"] == HOSTILE and document["run"]["peak"]["source"] == HOSTILE
    assert document["run"]["peak"]["families"][0]["why"] == HOSTILE
    assert document["unmatched_layers"] == ([HOSTILE] if run == "per-layer" else [])


@settings(PROPERTY, max_examples=EXAMPLES or 25)  # the hostile-text suite's settings, fewer by default
@given(text=hostile)
def test_any_text_in_a_bench_json_stays_text(bench_json, text):
    """Generated hostile text (markup, line breaks, CI commands) in every string a run shows."""
    assume(len(text) <= 1_000)
    data = copy.deepcopy(bench_json["per-layer"])
    data |= {"device_name": text, "device": text, "optimizer": text}
    data["peak"]["source"] = data["peak"]["families"][0]["why"] = text
    data["layers"][0]["path"] = text + "\x01"  # never a lenet5 layer: listed as one not in the spec
    report = build_breakdown(LENET, "fp32", measured_from_dict(data, LENET, LENET.memory("fp32"), text))
    assert_markdown_writes_no_element(formats()["md"].report(report, "t.svg"), headings=6, images=1)
    assert_html_writes_no_element(formats()["html"].report(report, None))
    document = strict_json(formats()["json"].report(report, None))["measured"]
    assert (document["source"], document["run"]["device_name"], document["run"]["settings"]["optimizer"]) == (
        text,
        text,
        text,
    )


OPAQUE_LENET = """
name: lenet5
input: [1, 32, 32]
layers:
  - {kind: opaque, params: 10, out_shape: [6, 28, 28], module: Mystery}
  - {kind: flatten}
  - {kind: linear, out: 10}
"""


def test_an_opaque_layer_leaves_archcalcs_flops_unknown(bench_json, tmp_path):
    """Its MACs are not counted, so no FLOPs check can be made: `unknown`, and no match claimed."""
    analysis = analyze(parse_spec(OPAQUE_LENET, "opaque.yaml"))
    run = measured_from_dict(bench_json["inference"], analysis, analysis.memory("fp32"), "t.json").run
    assert run is not None and [(b.static_flops, b.flops_match) for b in run.batches] == [(None, None)] * 2
    report = formats()["md"].report(
        build_breakdown(
            analysis, "fp32", measured_from_dict(bench_json["inference"], analysis, analysis.memory("fp32"), "t.json")
        ),
        None,
    )
    assert f"| {bench_json['inference']['batches'][0]['flops']:,} | unknown |  |" in report, report


def test_a_compute_bound_without_its_split_is_held_to_the_specs(bench_json, tmp_path):
    """A file without flops_by_family: the compute bound is the spec's own FLOPs by family at the
    file's peaks, so a changed bound (and the share made from it) is refused, not shown."""
    data = copy.deepcopy(bench_json["inference"])
    entry = data["batches"][0]
    del entry["flops_by_family"]
    assert _report(tmp_path, data, "md")[0] == 0
    entry["compute_bound_s"] *= 1000
    entry["achieved_over_peak"] = entry["compute_bound_s"] / (entry["median_ms"] / 1e3)
    code, output, _ = _report(tmp_path, data, "md")
    assert code == 2 and "batches[0].compute_bound_s: is " in output, output


def test_a_layer_timed_twice_is_refused(bench_json, tmp_path):
    data = copy.deepcopy(bench_json["per-layer"])
    data["layers"].append(copy.deepcopy(data["layers"][0]))
    code, output, _ = _report(tmp_path, data, "md")
    assert code == 2 and f"layers[{len(data['layers']) - 1}].path: names" in output and "again" in output, output
