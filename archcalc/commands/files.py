"""Writing output files atomically: a temporary file in the same folder, then os.replace.

A reader (a browser, a CI step, `git diff`) never sees a half-written report, and an interrupted
run (an exception, Ctrl-C) leaves the previous file intact and no temporary file behind. Every
file the CLI writes goes through here: reports, JSON, CSV, JUnit, exported source and ONNX.

The new file keeps the mode of the one it replaces. A symbolic link at the output path is
replaced by the file, never written through: a link planted in an output folder (a pull request
can add one to reports/) cannot redirect the write to a file elsewhere on the machine. What is
not a regular file is never renamed over or removed: a character device or a pipe (`-o /dev/null`,
a FIFO) and a descriptor link (`-o /dev/stdout`) are written into, as a shell's redirection does;
a directory, a block device or a socket is refused (error[cannot_write]).

The output rule every command follows: `--json` prints JSON, and only JSON, to standard output;
`-o FILE` writes the file and says `wrote FILE` on standard error (one line per file), so a file
written never mixes with what standard output carries. `-o -` is standard output, as for most
tools, for what is text (a schema, JSON, a CI format, source); a binary output (ONNX) refuses it.

A command that works a long time before it writes (bench, export) checks its output path first
(check_output), so that `-o /dev/full` or `-o afile/x` fails at once, not after the run.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from ..encode import term_text
from ..errors import SpecError

STDOUT = "-"  # `-o -`: standard output
_HINT = "choose another -o path, in a folder you can write to"


def is_stdout(path: Path | str | None) -> bool:
    """Whether an output path is `-`, standard output."""
    return path is not None and str(path) == STDOUT


def _file_in_the_way(path: Path) -> Path | None:
    """The nearest folder of `path` that is in fact something else (`afile` of `afile/x`), if any."""
    for folder in path.parents:
        if os.path.lexists(folder):
            return None if folder.is_dir() else folder
    return None


def _cannot_write(path: Path, err: OSError) -> SpecError:
    """An output path that cannot be written is the user's to fix (exit 2), not a bug (exit 4)."""
    in_the_way = _file_in_the_way(path)
    if in_the_way is not None:
        return SpecError(
            "cannot_write",
            f"cannot write the file: {term_text(str(in_the_way))} is a file, not a folder",
            file=str(path),
            hint=f"choose a path whose folders are folders, or move {term_text(str(in_the_way))} away",
        )
    return SpecError("cannot_write", f"cannot write the file: {err.strerror or err}", file=str(path), hint=_HINT)


def _probe_directly(path: Path) -> None:
    """A write of nothing to a device or descriptor link: /dev/full fails it, /dev/null takes it.
    A pipe is not probed: opening one waits for its reader."""
    if stat.S_ISFIFO(path.stat().st_mode):
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as err:
        raise _cannot_write(path, err) from None
    try:
        os.write(fd, b"")
    except BrokenPipeError:
        raise
    except OSError as err:
        raise _cannot_write(path, err) from None
    finally:
        os.close(fd)


def check_output(path: Path | str, *, binary: bool = False) -> None:
    """Refuse now an output path the write would fail on later: `-` for a binary output, a folder,
    a file in the way of a folder, a folder that cannot be written, a full device. Nothing is created."""
    if is_stdout(path):
        if binary:
            raise SpecError(
                "cannot_write",
                "a binary file is not written to standard output (-o -)",
                file=STDOUT,
                hint="name a file, e.g. -o model.onnx",
            )
        return
    path = Path(path)
    if _direct(path):  # refuses a directory, a block device or a socket
        _probe_directly(path)
        return
    in_the_way = _file_in_the_way(path)
    if in_the_way is not None:
        raise _cannot_write(path, NotADirectoryError())
    folder = next((f for f in path.parents if os.path.lexists(f)), Path("."))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SpecError(
            "cannot_write",
            f"cannot write the file: the folder {term_text(str(folder))} is not writable",
            file=str(path),
            hint=_HINT,
        )


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


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _through_descriptor(path: Path) -> bool:
    """Whether `path` is a link through a process's descriptor table (/dev/stdout -> /proc/self/fd/1,
    /dev/fd/2): such a link names the descriptor, whatever it is open on, so it is written through
    (as a shell's `> /dev/stdout` is), never replaced."""
    hop = path
    for _ in range(40):  # the kernel's own limit on links followed
        if str(hop).startswith(("/proc/", "/dev/fd/")):
            return True
        if not hop.is_symlink():
            return False
        hop = hop.parent / os.readlink(hop)
    return False


def _direct(path: Path) -> bool:
    """Whether `path` is written into directly rather than replaced: it finally names a character
    device (/dev/null) or a pipe (a FIFO, a shell's process substitution), or is a descriptor link.
    Anything else that is not a regular file (a directory, a block device, a socket) is refused:
    renaming over it or writing into it is never what an output flag means."""
    try:
        mode = path.stat().st_mode  # follows links: what the path finally names
    except OSError:  # nothing there yet, a dangling link, a loop: the atomic replace handles it
        return False
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return True
    if stat.S_ISREG(mode):
        return _through_descriptor(path)
    raise SpecError(
        "cannot_write",
        f"cannot write the file: it is {_kind(mode)}, not a file",
        file=str(path),
        hint="name a regular file (or a character device such as /dev/null, or a pipe)",
    )


@contextmanager
def _opened_directly(path: Path) -> Iterator[int]:
    """A descriptor on the existing device, pipe or descriptor link: opened for writing without
    creating, and never renamed, unlinked or chmod-ed. A regular file behind a descriptor link is
    truncated first, as a shell's redirection does."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY)
    except OSError as err:
        raise _cannot_write(path, err) from None
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.ftruncate(fd, 0)
        yield fd
    except BrokenPipeError:  # `-o /dev/stdout | head`: the reader went away, which is no error (pipes.py)
        raise
    except OSError as err:
        raise _cannot_write(path, err) from None
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """A temporary path beside `path` for a writer that wants a file name (torch.onnx.export);
    when the block ends normally it replaces `path` in one step, otherwise it is removed. A device,
    pipe or descriptor link at `path` (see _direct) is instead written with what the writer wrote."""
    if is_stdout(path):
        check_output(path, binary=True)
    path = Path(path)
    if _direct(path):
        with _staged(path) as staged:
            yield staged
            with _opened_directly(path) as fd, open(staged, "rb") as source:
                while chunk := source.read(1 << 20):
                    _write_all(fd, chunk)
        return
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


@contextmanager
def _staged(path: Path) -> Iterator[Path]:
    """A temporary file (in the system's temporary folder) for a writer that needs a name, removed after."""
    try:
        fd, tmp = tempfile.mkstemp(prefix="archcalc-", suffix=".tmp")
    except OSError as err:
        raise _cannot_write(path, err) from None
    os.close(fd)
    try:
        yield Path(tmp)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_atomic(path: Path | str, text: str) -> None:
    """Write `text` (UTF-8, '\\n' line ends) to `path`, replacing it in one step; a character device,
    a pipe or a descriptor link (/dev/null, a FIFO, /dev/stdout) is written into, as a shell would."""
    path = Path(path)
    if _direct(path):
        with _opened_directly(path) as fd:
            _write_all(fd, text.encode("utf-8"))
        return
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def tell_written(path: Path | str) -> None:
    """`wrote PATH` on standard error: every command says so for each file it writes, and never on
    standard output, which `--json` and `export --to torch` keep for what they print."""
    click.echo(f"wrote {term_text(str(path))}", err=True)


def write_file(path: Path | str, text: str) -> None:
    """Write `text` to `path` in one step (write_atomic) and say so (tell_written); `-` prints it."""
    if is_stdout(path):
        click.echo(text, nl=False)
        return
    write_atomic(path, text)
    tell_written(path)
