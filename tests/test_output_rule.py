"""One output rule for every command: `--json` prints JSON, and only JSON, to standard output;
`-o FILE` writes the file and says `wrote FILE` on standard error, never on standard output."""

from __future__ import annotations

import json

import pytest

from archcalc.cli import COMMANDS, main

# bench's measured runs, as short as they go
BENCH = ["bench", "lenet5", "--device", "cpu", "--batch", "1", "--iters", "1", "--warmup", "0"]

# The arguments that make each command print JSON. Every command is here or in NO_JSON: a new
# command fails this test until it follows the rule or says why it cannot.
JSON_ARGS: dict[str, list[str]] = {
    "shapes": ["shapes", "lenet5", "--json"],
    "params": ["params", "lenet5", "--json"],
    "list": ["list", "--json"],
    "kinds": ["kinds", "--json"],
    "verify": ["verify", "lenet5", "--json"],
    "check": ["check", "lenet5", "--json"],
    "compare": ["compare", "lenet5", "alexnet", "--json"],
    "diff": ["diff", "lenet5", "lenet5-1998", "--json"],
    "conv": ["conv", "--input", "32", "--kernel", "5", "--json"],
    "rf": ["rf", "lenet5", "--json"],
    "bench": [*BENCH, "--json"],
    "roofline": ["roofline", "lenet5", "--json"],
    "memory": ["memory", "lenet5", "--json"],
}
NO_JSON = {
    "export": "its output is PyTorch source or an ONNX file",
    "import": "its output is a spec: YAML, which `archcalc shapes --json` reads",
    "report": "writes files; `--format json` is one of them",
    "schema": "its output is a JSON Schema: JSON already",
}
TORCH_COMMANDS = {"verify", "bench", "export", "import"}

# The commands that write files: their arguments (`{out}` a file, `{dir}` a folder) and the files written.
WRITERS: dict[str, tuple[list[str], list[str]]] = {
    "schema": (["schema", "-o", "{out}"], ["out"]),
    "check": (["check", "lenet5", "--format", "junit", "-o", "{out}"], ["out"]),
    "check-json": (["check", "lenet5", "--json", "-o", "{out}"], ["out"]),
    "export-torch": (["export", "lenet5", "--to", "torch", "-o", "{out}"], ["out"]),
    "export-onnx": (["export", "lenet5", "--to", "onnx", "-o", "{out}"], ["out"]),
    "import": (["import", "tests.import_models:SENet", "--input", "3x16x16", "-o", "{out}"], ["out"]),
    "report": (["report", "lenet5", "--format", "md", "-o", "{dir}"], ["lenet5.md", "lenet5.svg"]),
    "bench": ([*BENCH, "--json", "-o", "{out}"], ["out"]),
}


def test_every_command_is_in_the_json_table():
    assert sorted({*JSON_ARGS, *NO_JSON}) == sorted(COMMANDS)


def _needs(args: list[str]) -> None:
    """Skip where the extra a command needs is not installed."""
    if args[0] in TORCH_COMMANDS:
        pytest.importorskip("torch")
    if args[0] == "verify":
        pytest.importorskip("fvcore")
    if "onnx" in args:
        pytest.importorskip("onnx")


@pytest.mark.parametrize("command", sorted(JSON_ARGS))
def test_json_prints_only_json_to_stdout(runner, command):
    _needs(JSON_ARGS[command])
    result = runner.invoke(main, JSON_ARGS[command], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)  # the whole of standard output is one JSON document
    assert "wrote" not in result.stdout, result.stdout


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_o_writes_the_file_and_says_so_on_stderr(runner, tmp_path, writer):
    args, names = WRITERS[writer]
    _needs(args)
    out = tmp_path / "out"
    result = runner.invoke(main, [a.format(out=out, dir=tmp_path) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    files = [tmp_path / name for name in names]
    assert all(f.is_file() and f.stat().st_size for f in files), sorted(p.name for p in tmp_path.iterdir())
    said = [line for line in result.stderr.splitlines() if line.startswith("wrote ")]
    assert sorted(said) == sorted(f"wrote {f}" for f in files), result.stderr
    assert "wrote" not in result.stdout, result.stdout


def test_bench_json_with_o_prints_the_table_too(runner, tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "bench.json"
    result = runner.invoke(main, [*BENCH, "--json", "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "median ms" in result.stdout and json.loads(out.read_text())["spec"] == "lenet5", result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--json", "old.json"], "`--json FILE` is now `--json -o FILE`"),
        (["-o", "x.json"], "add --json"),
        (["extra"], "unexpected extra argument 'extra'"),
    ],
    ids=["old-json-file-form", "o-without-json", "extra-argument"],
)
def test_bench_output_usage_errors(runner, tmp_path, args, expected):
    pytest.importorskip("torch")
    result = runner.invoke(main, [*BENCH, *args], catch_exceptions=False)
    assert result.exit_code == 2 and expected in result.stderr, result.output
    assert not (tmp_path / "old.json").exists()


def test_check_json_is_format_json(runner):
    by_flag = runner.invoke(main, ["check", "lenet5", "--json"], catch_exceptions=False)
    by_format = runner.invoke(main, ["check", "lenet5", "--format", "json"], catch_exceptions=False)
    assert by_flag.stdout == by_format.stdout and by_flag.exit_code == by_format.exit_code == 0


def test_check_json_refuses_another_format(runner):
    result = runner.invoke(main, ["check", "lenet5", "--json", "--format", "junit"], catch_exceptions=False)
    assert result.exit_code == 2 and "--json is --format json" in result.stderr, result.output
