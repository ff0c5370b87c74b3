"""The command line through click's runner, the JSON contract, and the torch-free static path."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from archcalc import bundled_names
from archcalc.cli import main

ROW_KEYS = {
    "path",
    "kind",
    "summary",
    "depth",
    "trainable",
    "input_shape",
    "output_shape",
    "units",
    "weights",
    "biases",
    "params",
    "buffers",
    "counters",
    "connections",
    "macs",
    "flops",
    "activation_bytes",
    "padded_connections",
    "convention",
}
TOTAL_KEYS = {
    "units",
    "weights",
    "biases",
    "params",
    "trainable_params",
    "frozen_params",
    "buffers",
    "counters",
    "connections",
    "macs",
    "flops",
}


def _json(runner, *args):
    result = runner.invoke(main, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_shapes_table_has_every_column(runner):
    result = runner.invoke(main, ["shapes", "alexnet"], catch_exceptions=False)
    assert result.exit_code == 0
    for text in (
        "55x55x96",
        "units",
        "weights",
        "biases",
        "connections",
        "MACs",
        "62,378,344",
        "1,135,256,096",
        "FLOPs (2 per MAC)",
    ):
        assert text in result.output, text


def test_no_unlabelled_flops(runner):
    out = runner.invoke(main, ["shapes", "lenet5"], catch_exceptions=False).output
    flops = [line for line in out.splitlines() if "FLOPs" in line]
    assert flops, "no FLOPs figure printed at all"
    for line in flops:
        assert "2 per MAC" in line or "2 × MACs" in line, line


def test_shapes_json_contract(runner):
    data = _json(runner, "shapes", "alexnet")
    assert set(data) == {"spec", "conventions", "convention", "layers", "totals", "memory"}
    assert all(set(row) == ROW_KEYS for row in data["layers"])
    assert set(data["totals"]) == TOTAL_KEYS
    assert data["totals"]["params"] == 62_378_344 and isinstance(data["totals"]["macs"], int)
    conv1 = data["layers"][0]
    assert conv1["output_shape"] == [96, 55, 55] and conv1["flops"] == 2 * conv1["macs"]
    assert data["memory"]["activations_bytes"] == 4 * data["totals"]["units"]


@pytest.mark.parametrize(("dtype", "size"), [("fp32", 4), ("fp16", 2), ("bf16", 2), ("int8", 1)])
def test_params_memory_per_dtype(runner, dtype, size):
    data = _json(runner, "params", "alexnet", "--dtype", dtype)
    assert data["memory"]["params_bytes"] == 62_378_344 * size
    assert data["totals"]["trainable_params"] == 62_378_344
    assert [row["path"] for row in data["layers"]] == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]


def test_params_report_separates_buffers(runner, tmp_path):
    spec = tmp_path / "bn.yaml"
    spec.write_text("name: bn\ninput: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 3, bias: false}\n  - batchnorm\n")
    data = _json(runner, "params", str(spec), "--dtype", "fp16")
    t = data["totals"]
    assert (t["weights"], t["biases"], t["buffers"], t["counters"]) == (108 + 4, 4, 8, 1)
    assert data["memory"]["buffers_bytes"] == 8 * 2 + 1 * 8  # running stats at fp16, int64 counter
    text = runner.invoke(main, ["params", str(spec)], catch_exceptions=False).output
    assert "non-trainable buffers: 8 float elements + 1 int64 counters" in text


def test_frozen_layers_are_not_trainable(runner, tmp_path):
    spec = tmp_path / "frozen.yaml"
    spec.write_text(
        "name: f\ninput: [10]\nlayers:\n  - block: {trainable: false, layers: [linear: {out: 5}]}\n"
        "  - linear: {out: 2}\n"
    )
    t = _json(runner, "params", str(spec))["totals"]
    assert (t["params"], t["trainable_params"], t["frozen_params"]) == (55 + 12, 12, 55)


def test_input_override(runner):
    data = _json(runner, "shapes", "alexnet", "--input", "3x259x259")
    assert data["spec"]["input_shape"] == [3, 259, 259]
    assert data["layers"][0]["output_shape"] == [96, 63, 63]
    assert _json(runner, "shapes", "alexnet", "--input", "259")["spec"]["input_shape"] == [3, 259, 259]


def test_list_shows_every_bundled_spec(runner):
    data = _json(runner, "list")
    assert [d["name"] for d in data] == bundled_names()
    lenet = next(d for d in data if d["name"] == "lenet5")
    assert lenet["params"] == 61_706  # the course notes' LeNet-5 (tests/test_golden_foundation.py)
    text = runner.invoke(main, ["list"], catch_exceptions=False).output
    assert "alexnet" in text and "lenet5" in text


def test_kinds_lists_every_kind(runner):
    from archcalc.layers import KINDS

    assert {row["kind"] for row in _json(runner, "kinds")} == set(KINDS)


@pytest.mark.parametrize(
    ("args", "columns"),
    [
        (["shapes", "alexnet", "--json"], 300),
        (["shapes", "resnet152"], 300),
        (["params", "vgg16"], 300),
        (["list"], 300),
        (["kinds"], 300),
        (["kinds"], 60),  # kinds wraps its sentences itself, not through rich
        (["kinds", "conv"], 60),
    ],
)
def test_static_path_imports_no_torch_or_rich(args, columns):
    """The static commands import neither torch (the verifier's) nor rich (their tables are laid
    out directly): start-up time is most of what they cost."""
    code = (
        "import sys; from archcalc.cli import main\n"
        f"from click.testing import CliRunner; r = CliRunner().invoke(main, {args!r}, env={{'COLUMNS': '{columns}'}})\n"
        "assert r.exit_code == 0, r.output\n"
        "bad = [m for m in ('torch', 'fvcore', 'rich') if m in sys.modules]; print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"the static path imported {out}"


def test_calculator_commands_import_no_torch():
    code = (
        "import sys; from click.testing import CliRunner; from archcalc.cli import main\n"
        "r = CliRunner()\n"
        "for args in (['conv', '--input', '32', '--kernel', '3', '--channels', '3,8'], ['rf', 'alexnet'],\n"
        "             ['shapes', 'lenet5', '--explain']):\n"
        "    result = r.invoke(main, args); assert result.exit_code == 0, (args, result.output)\n"
        "print(','.join(m for m in ('torch', 'fvcore') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"the calculator path imported {out}"


def test_importing_archcalc_loads_nothing_until_a_name_is_used():
    code = (
        "import sys, archcalc\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'yaml', 'archcalc'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "archcalc"


def test_console_script_runs():
    result = subprocess.run([sys.executable, "-m", "archcalc.cli", "shapes", "lenet5"], capture_output=True, text=True)
    assert result.returncode == 0 and "C1" in result.stdout


def test_public_names_survive_submodule_imports():
    """`analyze` and `explain` are also submodule names: importing the submodules must not shadow the
    functions (a lazily bound name would be replaced by its module)."""
    code = (
        "import archcalc.analysis, archcalc.explanation, archcalc.calculator, archcalc.receptive\n"
        "from archcalc import analyze, explain, conv_output, receptive_fields, load_spec\n"
        "assert all(callable(f) for f in (analyze, explain, conv_output, receptive_fields))\n"
        "print(analyze(load_spec('lenet5')).totals.params)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "61706"


def _run(*args: str, code: str = "", **kwargs) -> subprocess.CompletedProcess:
    """The console script's entry point (`archcalc.cli:run`) in a fresh interpreter."""
    script = f"import sys; sys.argv = ['archcalc', *{list(args)!r}]\n{code}\nfrom archcalc.cli import run; run()"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, **kwargs)


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (("shapes", "lenet5"), 0),
        (("shapes", "no-such-spec"), 2),
        (("shapes", "lenet5", "--input", "0"), 2),
        (("--version",), 0),
    ],
)
def test_run_keeps_the_exit_status_and_flushes_output(args, status):
    result = _run(*args)
    assert result.returncode == status, result.stderr
    assert (result.stdout or result.stderr).strip(), "nothing was printed"
    if status == 0 and args[0] == "shapes":
        assert result.stdout.rstrip().endswith("FLOPs = 2 × MACs"), "the last line was lost"


def test_run_still_runs_exit_handlers():
    result = _run(
        "shapes", "lenet5", code="import atexit; atexit.register(lambda: print('handler ran', file=sys.stderr))"
    )
    assert result.returncode == 0 and "handler ran" in result.stderr


def test_a_closed_pipe_ends_quietly():
    """`archcalc shapes resnet152 | head -1`: the reader leaves early; no 'internal error', no traceback."""
    script = "import sys; sys.argv = ['archcalc', 'shapes', 'resnet152']\nfrom archcalc.cli import run; run()"
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "internal error" not in stderr and "Traceback" not in stderr, stderr
    assert proc.returncode in (0, -13), proc.returncode  # -13: SIGPIPE, as `cat` ends


def test_run_collects_garbage_again_once_the_command_starts():
    """run() pauses the cyclic collector for start-up only: a long verify or bench collects."""
    code = (
        "import atexit, gc\n"
        "atexit.register(lambda: print('enabled', gc.isenabled(), 'frozen', gc.get_freeze_count() > 0, file=sys.stderr))"
    )
    result = _run("shapes", "lenet5", code=code)
    assert result.returncode == 0 and "enabled True frozen True" in result.stderr, result.stderr


# (id, conv arguments, the advice the note gives, or None: no note). Every other command reads
# `--input 3x224x224` as channels x height x width; conv reads spatial sizes only, and says so.
CONV_NOTE_CASES = [
    ("3-numbers", "--input 3x224x224 --kernel 3", "write --input 224x224 --channels 3,OUT"),
    ("3-numbers-pool", "--input 3x224x224 --kernel 3 --pool", "write --input 224x224 (pooling keeps the channels)"),
    ("3-numbers-solve", "--input 3x32x32 --kernel 3 --output 32", "write --input 32x32 --channels 3,OUT"),
    ("2-numbers", "--input 224x224 --kernel 3", None),
    ("1-number", "--input 224 --kernel 3 --channels 3,64", None),
    ("2-numbers-solve", "--input 32x32 --kernel 3 --output 32", None),
]


@pytest.mark.parametrize(("args", "advice"), [c[1:] for c in CONV_NOTE_CASES], ids=[c[0] for c in CONV_NOTE_CASES])
def test_conv_notes_that_three_sizes_are_spatial(runner, args, advice):
    result = runner.invoke(main, ["conv", *args.split()], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    as_json = json.loads(runner.invoke(main, ["conv", *args.split(), "--json"], catch_exceptions=False).output)
    notes = [n for n in as_json["notes"] if "spatial sizes" in n]
    if advice is None:
        assert "spatial sizes" not in result.output and notes == [], result.output
        return
    first = result.output.splitlines()[0]
    assert first.startswith("note: --input ") and "is read as 3 spatial sizes" in first and advice in first, first
    assert len(notes) == 1 and advice in notes[0], as_json["notes"]


def test_conv_note_comes_before_an_error_about_the_sizes(runner):
    """`--kernel 3x3` against three sizes is an error; the note above it says why there are three."""
    result = runner.invoke(main, ["conv", "--input", "3x224x224", "--kernel", "3x3"])
    assert result.exit_code == 2, result.output
    assert "kernel has 2 values but the input has 3" in result.output
    assert "write --input 224x224 --channels 3,OUT" in result.output.splitlines()[0]
