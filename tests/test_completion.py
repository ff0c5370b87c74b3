"""Shell completion (click's): SPEC arguments complete bundled spec names and, through the shell's own
file completion (which escapes names and enters folders), files and folders, for every command that
takes a spec; `kinds KIND` completes kind names and `--convention` convention names; no torch."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from archcalc.bundled import bundled_names
from archcalc.cli import COMMANDS, main

# Each command that takes specs, with what comes before the spec being completed.
SPEC_COMMANDS = {
    "shapes": [],
    "params": [],
    "rf": [],
    "verify": ["lenet5"],  # a later spec of several
    "export": ["--to", "torch"],
    "check": [],
    "report": [],
    "compare": ["lenet5"],
    "diff": ["lenet5"],  # B
    "bench": [],
    "roofline": [],
    "memory": [],
}
NO_SPEC = {"list", "kinds", "schema", "conv", "import"}  # import's TARGET is a model, not a spec


def _answer(runner, words: list[str], shell: str = "bash") -> list[tuple[str, str]]:
    """click's answer for the last of `words`: (type, value) pairs; `file` asks the shell for its own."""
    env = {
        "_ARCHCALC_COMPLETE": f"{shell}_complete",
        "COMP_WORDS": " ".join(["archcalc", *words]),
        "COMP_CWORD": words[-1] if shell == "fish" else str(len(words)),  # fish gives the word itself
    }
    result = runner.invoke(main, [], prog_name="archcalc", env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    if shell == "zsh":  # type, value and help, one to a line
        lines = result.stdout.splitlines()
        return [(lines[i], lines[i + 1]) for i in range(0, len(lines), 3)]
    return [tuple(line.split(",", 1)) for line in result.stdout.splitlines() if line]  # type: ignore[misc]


def _complete(runner, words: list[str]) -> list[str]:
    """The words offered as they are (plain items) for the last of `words`."""
    return [value for kind, value in _answer(runner, words) if kind == "plain"]


def test_every_command_is_in_the_table():
    assert sorted({*SPEC_COMMANDS, *NO_SPEC}) == sorted(COMMANDS)


@pytest.mark.parametrize("command", sorted(SPEC_COMMANDS))
def test_a_spec_argument_completes_bundled_names(runner, command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no files here: the bundled names only
    wanted = [name for name in bundled_names() if name.startswith("vgg1")]
    assert len(wanted) > 1 and _complete(runner, [command, *SPEC_COMMANDS[command], "vgg1"]) == wanted


@pytest.fixture
def spec_folder(tmp_path, monkeypatch):
    for name in ("net.yaml", "we ird.yaml", "it's.yml", "notes.txt", "sub/inner.yaml"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("typed", "names"),
    [
        ("we", []),
        ("s", ["separable-3x3x3x5", "separable-5x5x64x128", "simple-cnn"]),
        ("sub/", []),
        ("./n", []),
        ("", None),
    ],
    ids=["a-file-with-a-space", "names-and-files", "inside-a-folder", "a-path-is-not-a-name", "empty"],
)
@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_files_and_folders_are_the_shells_to_complete(runner, spec_folder, typed, names, shell):
    """Files come as one `file` item, first (bash's script empties its list at a `file` item), so the
    shell escapes `we ird.yaml` and enters `sub/` without a space; no file name is a plain word."""
    answer = _answer(runner, ["shapes", typed], shell)
    wanted = [("file", typed)] + [("plain", n) for n in (bundled_names() if names is None else names)]
    assert answer == wanted, f"got {answer}, wanted {wanted}"


@pytest.mark.parametrize(
    ("words", "offered"),
    [
        (["kinds", "co"], ["concat", "conv", "conv_transpose"]),
        (["kinds", "batchn"], ["batchnorm"]),
        (
            ["compare", "lenet5", "--convention", ""],
            ["archcalc", "torch", "fvcore", "ptflops", "torchinfo", "thop", "paper"],
        ),
        (["compare", "lenet5", "--convention", "p"], ["ptflops", "paper"]),
    ],
    ids=["kinds", "kinds-one", "conventions", "conventions-p"],
)
def test_kind_and_convention_names(runner, tmp_path, monkeypatch, words, offered):
    monkeypatch.chdir(tmp_path)
    got = _complete(runner, words)
    assert got == offered, f"got {got}, wanted {offered}"


def test_every_convention_is_offered(runner):
    from archcalc.conventions import PRESETS

    assert _complete(runner, ["compare", "lenet5", "--convention", ""]) == [*PRESETS, "paper"]


def test_completion_imports_no_torch():
    code = (
        "import sys\n"
        "from archcalc.cli import main\n"
        "try:\n"
        "    main(prog_name='archcalc')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('torch' in sys.modules, file=sys.stderr)\n"
    )
    env = {**os.environ, "_ARCHCALC_COMPLETE": "bash_complete", "COMP_WORDS": "archcalc verify len", "COMP_CWORD": "2"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.stderr.strip() == "False" and "plain,lenet5" in done.stdout, (done.stdout, done.stderr)
