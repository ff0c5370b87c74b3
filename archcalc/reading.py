"""Input files read at the door: regular files only, and never more than a limit into memory.

A path from the command line may name /dev/zero (never ends), a FIFO (blocks on open until a
writer comes) or a 100 GB file: each is refused, or read no further than one byte past the limit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import SpecError


def regular_file(path: Path, what: str) -> None:
    """Refuse `path` unless it is a regular file (`what` it holds names it in errors): a directory,
    device, pipe or socket is `not_a_file`, a path the system cannot look at (missing, a name too
    long) `unreadable`. One SpecError, never an OSError."""
    try:
        mode = path.stat().st_mode
    except OSError as err:
        raise SpecError("unreadable", f"cannot read {what}: {err.strerror or err}", file=str(path)) from None
    if not stat.S_ISREG(mode):
        raise SpecError(
            "not_a_file",
            f"{path} is not a regular file (a directory, device, pipe or socket)",
            file=str(path),
            hint=f"give the path of {what}",
        )


def read_bounded(path: Path, limit: int, what: str) -> bytes:
    """At most `limit + 1` bytes of the regular file at `path` (`what` it holds names it in errors):
    the caller refuses a result longer than `limit` with its own message."""
    regular_file(path, what)
    try:
        # non-blocking: a FIFO swapped in after the check above must not block the open
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise SpecError("not_a_file", f"{path} is not a regular file", file=str(path))
            return handle.read(limit + 1)
    except OSError as err:
        raise SpecError("unreadable", f"cannot read {what}: {err.strerror or err}", file=str(path)) from None
