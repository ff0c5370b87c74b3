"""Shell completion (click's): SPEC arguments complete bundled spec names and *.yaml / *.yml files and
folders, for every command that takes a spec, without importing torch."""

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
NO_SPEC = {"list", "kinds", "schema", "conv"}


def _complete(runner, words: list[str]) -> list[str]:
    """What bash would be offered for the last of `words` (the values of click's `type,value` lines)."""
    env = {
        "_ARCHCALC_COMPLETE": "bash_complete",
        "COMP_WORDS": " ".join(["archcalc", *words]),
        "COMP_CWORD": str(len(words)),
    }
    result = runner.invoke(main, [], prog_name="archcalc", env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if line]


def test_every_command_is_in_the_table():
    assert sorted({*SPEC_COMMANDS, *NO_SPEC}) == sorted(COMMANDS)


@pytest.mark.parametrize("command", sorted(SPEC_COMMANDS))
def test_a_spec_argument_completes_bundled_names(runner, command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no files here: the bundled names only
    wanted = [name for name in bundled_names() if name.startswith("vgg1")]
    assert len(wanted) > 1 and _complete(runner, [command, *SPEC_COMMANDS[command], "vgg1"]) == wanted


@pytest.fixture
def spec_folder(tmp_path, monkeypatch):
    for name in ("net.yaml", "net2.yml", "notes.txt", ".hidden.yaml", "sub/inner.yaml", "sub/readme.md"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("typed", "offered"),
    [
        ("ne", ["net.yaml", "net2.yml"]),
        ("s", ["separable-3x3x3x5", "separable-5x5x64x128", "simple-cnn", "sub/"]),
        ("sub/", ["sub/inner.yaml"]),
        ("./n", ["./net.yaml", "./net2.yml"]),
        (".h", [".hidden.yaml"]),
        ("missing/", []),
    ],
    ids=["files", "names-then-folders", "inside-a-folder", "a-path-is-not-a-name", "hidden-when-asked", "no-folder"],
)
def test_spec_files_and_folders(runner, spec_folder, typed, offered):
    assert _complete(runner, ["shapes", typed]) == offered


def test_an_empty_word_offers_every_name_and_the_spec_files(runner, spec_folder):
    assert _complete(runner, ["check", ""]) == [*bundled_names(), "net.yaml", "net2.yml", "sub/"]


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
