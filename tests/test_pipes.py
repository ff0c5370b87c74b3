"""A closed pipe (`archcalc shapes lenet5 | head -1`) ends a command quietly: nothing on standard
error, and the end a shell reports as 141, whether SIGPIPE ends the process (its default) or the
write fails because whoever started archcalc blocked the signal (commands/pipes.py)."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys

import pytest

COMMANDS = {
    "shapes": ["shapes", "lenet5"],
    "list": ["list"],
    "kinds": ["kinds"],
    "memory": ["memory", "lenet5"],
    "roofline": ["roofline", "lenet5"],
    "schema-to-stdout": ["schema", "-o", "/dev/stdout"],
    "json": ["params", "alexnet", "--json"],
    "help": ["--help"],
    "verify": ["verify", "lenet5", "--quiet"],  # rich's console, whose own end would be exit 1
}


def _script(args: list[str]) -> str:
    return f"import sys; sys.argv = ['archcalc', *{args!r}]\nfrom archcalc.cli import run; run()"


def _block_sigpipe() -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGPIPE})


@pytest.mark.parametrize("blocked", [False, True], ids=["sigpipe", "sigpipe-blocked"])
@pytest.mark.parametrize("args", list(COMMANDS.values()), ids=list(COMMANDS))
def test_a_reader_gone_before_the_first_write_ends_the_command_quietly(args, blocked):
    if args[0] == "verify":
        pytest.importorskip("torch")
    proc = subprocess.Popen(
        [sys.executable, "-c", _script(args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_block_sigpipe if blocked else None,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before archcalc has started: its first write finds no reader
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=120)
    expected = 141 if blocked else -signal.SIGPIPE  # a shell shows both as 141
    assert (proc.returncode, stderr) == (expected, ""), f"got {proc.returncode} {stderr!r}, wanted {expected} and ''"


@pytest.mark.parametrize("blocked", [False, True], ids=["sigpipe", "sigpipe-blocked"])
def test_piping_into_head_prints_the_first_line_and_nothing_else(blocked):
    """The race of a real pipe: archcalc may finish writing into the pipe's buffer before head leaves
    (status 0); otherwise it ends as a closed pipe does (141). Never an error, never a traceback."""
    command = shlex.join([sys.executable, "-c", _script(["shapes", "resnet152"])])
    line = f"{command} | head -1; echo status ${{PIPESTATUS[0]}}"
    done = subprocess.run(
        ["bash", "-c", line],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_block_sigpipe if blocked else None,
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and lines[-1] in ("status 0", "status 141") and done.stderr == "", (done.stdout, done.stderr)
    assert "resnet152" in lines[0], lines[0]
