"""Writing output files atomically: a temporary file in the same folder, then os.replace.

A reader (a browser, a CI step, `git diff`) never sees a half-written report, and an interrupted
run (an exception, Ctrl-C) leaves the previous file intact and no temporary file behind. Every
file the CLI writes goes through here: reports, JSON, CSV, JUnit, exported source and ONNX.

The new file keeps the mode of the one it replaces. A symbolic link at the output path is
replaced by the file, never written through: a link planted in an output folder (a pull request
can add one to reports/) cannot redirect the write to a file elsewhere on the machine.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import SpecError


def _cannot_write(path: Path, err: OSError) -> SpecError:
    """An output path that cannot be written is the user's to fix (exit 2), not a bug (exit 4)."""
    return SpecError("cannot_write", f"cannot write the file: {err.strerror or err}", file=str(path),
                     hint="choose an output folder you can write to (-o DIR)")  # fmt: skip


def _mode_for(path: Path) -> int:
    """The permissions the written file gets: those of the file it replaces (a 0600 report stays
    0600; for a symbolic link, its target's), else the default a new file gets under the umask.
    Set-user-ID and similar bits are never carried over to a generated file."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:  # no file there yet (or a dangling link)
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """A temporary path beside `path` for a writer that wants a file name (torch.onnx.export);
    when the block ends normally it replaces `path` in one step, otherwise it is removed."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise _cannot_write(path, err) from None
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise _cannot_write(path, err) from None
        raise


def write_atomic(path: Path | str, text: str) -> None:
    """Write `text` (UTF-8, '\\n' line ends) to `path`, replacing it in one step."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
