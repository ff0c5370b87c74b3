"""A reader that goes away early (`archcalc shapes resnet152 | head -1`) ends the command quietly.

The console script restores SIGPIPE's default (cli.run), so the kernel ends the process as it ends
`cat` or `yes`, and a shell reports 141 (128 + SIGPIPE). Where the signal cannot do it (it is
ignored or blocked by whoever started the process, or archcalc runs in-process), the write fails
with BrokenPipeError instead: that is no bug and no bad spec, so the command ends with the same
141 and nothing on standard error, and standard output is pointed at the null device so that the
interpreter's last flush does not fail again (the recipe in Python's documentation of SIGPIPE).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from ..errors import ExitCode


def closed_pipe() -> ExitCode:
    """Point standard output at the null device; the exit code a closed pipe ends with."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real descriptor (an in-process capture): nothing to redirect
        pass
    return ExitCode.CLOSED_PIPE


def console(**options: Any) -> Any:
    """A rich Console whose closed pipe raises BrokenPipeError, like every other write, instead of
    rich's own `SystemExit(1)` (1 is a finding here)."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError

    return _Console(**options)
