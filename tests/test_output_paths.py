"""`-o` paths: `-` is standard output for a text output and refused for ONNX; a path that cannot be
written is refused before any long work (bench, export), with what is in the way; the hint names
the option as the command takes it."""

from __future__ import annotations

import json
import os

import pytest

from archcalc.cli import main

BENCH = ["bench", "lenet5", "--device", "cpu", "--batch", "1", "--iters", "1", "--warmup", "0"]


@pytest.fixture
def here(tmp_path, monkeypatch):
    """A folder holding one regular file, `afile`, in the way of any `afile/...` path."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("not a folder\n")
    return tmp_path


# What `-o -` prints on standard output, for each text writer.
TO_STDOUT = {
    "schema": (["schema", "-o", "-"], lambda out: json.loads(out)["title"]),
    "check-json": (["check", "lenet5", "--json", "-o", "-"], lambda out: json.loads(out)["ok"] in (True, False)),
    "check-junit": (["check", "lenet5", "--format", "junit", "-o", "-"], lambda out: out.startswith("<?xml")),
    "export-torch": (["export", "lenet5", "--to", "torch", "-o", "-"], lambda out: "import torch" in out),
    "bench-json": ([*BENCH, "--json", "-o", "-"], lambda out: json.loads(out)["spec"] == "lenet5"),
}


@pytest.mark.parametrize("args,valid", list(TO_STDOUT.values()), ids=list(TO_STDOUT))
def test_o_dash_prints_a_text_output_on_stdout(runner, here, args, valid):
    if args[0] in ("export", "bench"):
        pytest.importorskip("torch")
    result = runner.invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert valid(result.stdout), result.stdout[:500]
    assert not (here / "-").exists() and "wrote" not in result.stderr, (os.listdir(here), result.stderr)


@pytest.mark.parametrize(
    "args,expected",
    [
        (["export", "lenet5", "--to", "onnx", "-o", "-"], "a binary file is not written to standard output"),
        (["report", "lenet5", "-o", "-"], "`-o -` (standard output) is not one: give -o DIR"),
    ],
    ids=["onnx", "report-folder"],
)
def test_o_dash_is_refused_where_there_is_no_text_to_print(runner, here, args, expected):
    result = runner.invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 2 and expected in result.output, result.output
    assert not (here / "-").exists(), os.listdir(here)


@pytest.mark.parametrize(
    "args",
    [
        ["schema", "-o", "afile/x.json"],
        ["schema", "-o", "afile/deeper/x.json"],
        ["check", "lenet5", "--json", "-o", "afile/x.json"],
        ["export", "lenet5", "--to", "torch", "-o", "afile/x.py"],
        ["export", "lenet5", "--to", "onnx", "-o", "afile/x.onnx"],
        [*BENCH, "--json", "-o", "afile/x.json"],
    ],
    ids=["schema", "schema-deeper", "check", "export-torch", "export-onnx", "bench"],
)
def test_a_file_in_the_way_of_a_folder_is_named(runner, here, args):
    result = runner.invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert "error[cannot_write]" in result.output and "afile is a file, not a folder" in result.output, result.output
    assert "File exists" not in result.output and "-o DIR" not in result.output, result.output


@pytest.mark.parametrize(
    "args",
    [
        ["schema", "-o", "/dev/full"],
        ["check", "lenet5", "--json", "-o", "/dev/full"],
        ["export", "lenet5", "--to", "onnx", "-o", "/dev/full"],
        [*BENCH, "--json", "-o", "/dev/full"],
    ],
    ids=["schema", "check", "export-onnx", "bench"],
)
def test_a_full_device_is_refused_with_an_o_file_hint(runner, here, args):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    result = runner.invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 2 and "No space left on device" in result.output, result.output
    assert "hint: choose another -o path" in result.output and "-o DIR" not in result.output, result.output


@pytest.mark.parametrize("target", ["/dev/full", "afile/x.json"], ids=["full-device", "file-in-the-way"])
def test_bench_checks_its_output_before_it_runs(runner, here, monkeypatch, target):
    """`bench --json -o PATH` used to time every batch and only then find it could not write."""
    pytest.importorskip("torch")
    import archcalc.throughput.run as run

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("bench ran before its output path was checked")

    monkeypatch.setattr(run, "bench", never)
    monkeypatch.setattr(run, "per_layer", never)
    result = runner.invoke(main, [*BENCH, "--json", "-o", target], catch_exceptions=False)
    assert result.exit_code == 2 and "error[cannot_write]" in result.output, result.output


def test_export_checks_its_output_before_it_exports(runner, here, monkeypatch):
    pytest.importorskip("torch")
    import archcalc.verify.export as export

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the export ran before its output path was checked")

    monkeypatch.setattr(export, "write_onnx", never)
    result = runner.invoke(main, ["export", "lenet5", "--to", "onnx", "-o", "afile/x.onnx"], catch_exceptions=False)
    assert result.exit_code == 2 and "afile is a file, not a folder" in result.output, result.output
