"""Files the CLI writes are written atomically: an interrupted write leaves the old file intact
and no temporary file behind (simulated by raising in the middle of writing)."""

from __future__ import annotations

import builtins
import os
import stat

import pytest

from archcalc.cli import main
from archcalc.commands import files
from archcalc.errors import SpecError


class Interrupted(BaseException):
    """Stands in for Ctrl-C or a crash half-way through a write."""


def _half_then_raise(monkeypatch):
    real_open = builtins.open

    class Half:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()
            return False

        def write(self, text):
            self.handle.write(text[: len(text) // 2])
            self.handle.flush()
            raise Interrupted

    def fake_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        return Half(handle) if "w" in mode else handle

    monkeypatch.setattr(files, "open", fake_open, raising=False)


def test_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "report.md"
    target.write_text("old report\n")
    _half_then_raise(monkeypatch)
    with pytest.raises(Interrupted):
        files.write_atomic(target, "new report, much longer than the old one\n" * 100)
    assert target.read_text() == "old report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


def test_complete_write_replaces(tmp_path):
    target = tmp_path / "sub" / "out.json"
    files.write_atomic(target, '{"a": 1}\n')
    files.write_atomic(target, '{"a": 2}\n')
    assert target.read_text() == '{"a": 2}\n' and len(list(target.parent.iterdir())) == 1


def test_atomic_path_removes_a_failed_writers_file(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"old")
    with pytest.raises(Interrupted), files.atomic_path(target) as tmp:
        tmp.write_bytes(b"half of a new mod")
        raise Interrupted
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


@pytest.mark.parametrize(
    "args",
    [
        ["report", "lenet5", "--format", "json", "-o", "{dir}"],
        ["report", "lenet5", "--format", "md", "-o", "{dir}"],
        ["check", "lenet5", "--max-params", "1M", "--format", "junit", "-o", "{dir}/lenet5.json"],
    ],
    ids=["report-json", "report-md", "check-junit"],
)
def test_cli_writers_interrupted_leave_old_files(tmp_path, monkeypatch, runner, args):
    for name in ("lenet5.json", "lenet5.md", "lenet5.svg"):
        (tmp_path / name).write_text("old\n")
    _half_then_raise(monkeypatch)
    with pytest.raises(Interrupted):
        runner.invoke(main, [a.format(dir=tmp_path) for a in args], catch_exceptions=False)
    assert all((tmp_path / n).read_text() == "old\n" for n in ("lenet5.json", "lenet5.md", "lenet5.svg"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("model.py", ["export", "lenet5", "--to", "torch", "-o"]),
        (
            "bench.json",
            ["bench", "lenet5", "--device", "cpu", "--batch", "1", "--iters", "1", "--warmup", "0", "--json", "-o"],
        ),
    ],
    ids=["export-torch", "bench-json"],
)
def test_torch_command_writers_are_atomic(tmp_path, monkeypatch, runner, name, args):
    pytest.importorskip("torch")
    target = tmp_path / name
    target.write_text("old\n")
    _half_then_raise(monkeypatch)
    with pytest.raises(Interrupted):
        runner.invoke(main, [*args, str(target)], catch_exceptions=False)
    assert target.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == [name]
    monkeypatch.undo()
    result = runner.invoke(main, [*args, str(target)], catch_exceptions=False)
    assert result.exit_code == 0 and target.read_text() != "old\n"


def test_export_onnx_interrupted_leaves_no_partial_file(tmp_path, monkeypatch, runner):
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    import torch

    target = tmp_path / "lenet5.onnx"
    target.write_bytes(b"old")

    def export_half(model, args, path, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"\x08\x07partial")
        raise Interrupted

    monkeypatch.setattr(torch.onnx, "export", export_half)
    with pytest.raises(Interrupted):
        runner.invoke(main, ["export", "lenet5", "--to", "onnx", "-o", str(target)], catch_exceptions=False)
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["lenet5.onnx"]


@pytest.mark.parametrize(
    "args",
    [
        ["report", "lenet5", "-o", "{bad}/sub"],
        ["check", "lenet5", "--format", "junit", "-o", "{bad}/x.xml"],
        ["schema", "-o", "{bad}/s.json"],
        ["export", "lenet5", "--to", "torch", "-o", "{bad}/x.py"],
    ],
    ids=["report", "check-junit", "schema", "export-torch"],
)
def test_unwritable_output_is_a_clear_error(runner, tmp_path, args):
    """An output path under a regular file cannot be created: exit 2 and one message, not exit 4."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = runner.invoke(main, [a.format(bad=blocker) for a in args], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert "error[cannot_write]" in result.output and "internal error" not in result.output


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755, 0o444], ids=oct)
def test_a_replaced_file_keeps_its_mode(tmp_path, mode):
    target = tmp_path / "report.md"
    target.write_text("old\n")
    target.chmod(mode)
    files.write_atomic(target, "new\n")
    assert (target.read_text(), oct(target.stat().st_mode & 0o7777)) == ("new\n", oct(mode))


def test_a_new_file_takes_the_umask_default(tmp_path):
    old = os.umask(0o027)
    try:
        files.write_atomic(tmp_path / "new.md", "x\n")
    finally:
        os.umask(old)
    assert oct((tmp_path / "new.md").stat().st_mode & 0o777) == oct(0o640)


def test_a_setuid_bit_is_not_carried_over(tmp_path):
    target = tmp_path / "x.py"
    target.write_text("old\n")
    target.chmod(0o4755)
    files.write_atomic(target, "new\n")
    assert oct(target.stat().st_mode & 0o7777) == oct(0o755)


def test_a_symlinked_output_is_replaced_never_written_through(tmp_path):
    """A link planted at the output path (reports/x.md -> ~/.bashrc) must not redirect the write:
    the link becomes a regular file with its target's mode, and the target is left as it was."""
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    outside.chmod(0o600)
    link = tmp_path / "out" / "report.md"
    link.parent.mkdir()
    link.symlink_to(outside)
    files.write_atomic(link, "report\n")
    assert not link.is_symlink() and link.read_text() == "report\n"
    assert oct(link.stat().st_mode & 0o777) == oct(0o600)
    assert outside.read_text() == "precious\n"


def test_a_dangling_symlinked_output_is_replaced(tmp_path):
    link = tmp_path / "report.md"
    link.symlink_to(tmp_path / "nowhere" / "x.md")
    files.write_atomic(link, "report\n")
    assert not link.is_symlink() and link.read_text() == "report\n"
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize(
    ("fmts", "blocked", "before"),
    [
        (["md", "html"], "lenet5.html", ["lenet5.svg", "lenet5.md"]),
        (["json", "csv", "md"], "lenet5.csv", ["lenet5.json"]),
        (["md"], "lenet5.md", ["lenet5.svg"]),
    ],
    ids=["html-after-md", "csv-after-json", "md-after-its-chart"],
)
def test_a_partial_report_write_lists_what_it_wrote(runner, tmp_path, fmts, blocked, before):
    (tmp_path / blocked).mkdir()  # a folder where a report file goes: that one cannot be written
    args = ["report", "lenet5", "-o", str(tmp_path), *[a for f in fmts for a in ("--format", f)]]
    result = runner.invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert "error[cannot_write]" in result.output and f"{tmp_path / blocked}" in result.output, result.output
    assert f"written before it: {', '.join(str(tmp_path / n) for n in before)};" in result.output, result.output
    assert all((tmp_path / n).is_file() for n in before)


def test_a_first_file_that_cannot_be_written_lists_nothing(runner, tmp_path):
    (tmp_path / "lenet5.json").mkdir()
    result = runner.invoke(main, ["report", "lenet5", "--format", "json", "-o", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 2 and "error[cannot_write]" in result.output and "written before" not in result.output


# --- What is not a regular file is never renamed over or removed ---------------------------------

WRITERS = {
    "check-o": (["check", "lenet5", "--format", "json", "-o", "{out}"], "out"),
    "report-o": (["report", "lenet5", "--format", "json", "-o", "{dir}"], "lenet5.json"),
    "schema-o": (["schema", "-o", "{out}"], "out"),
    "export-o": (["export", "lenet5", "--to", "torch", "-o", "{out}"], "out"),
    "bench-json": (
        [
            "bench",
            "lenet5",
            "--device",
            "cpu",
            "--batch",
            "1",
            "--iters",
            "1",
            "--warmup",
            "0",
            "--json",
            "-o",
            "{out}",
        ],
        "out",
    ),
}


def _writer_args(name, tmp_path, target):
    args, _ = WRITERS[name]
    if name in ("export-o", "bench-json"):
        pytest.importorskip("torch")
    return [a.format(out=target, dir=tmp_path) for a in args]


def _target(name, tmp_path):
    return tmp_path / WRITERS[name][1]


@pytest.mark.parametrize("name", list(WRITERS))
def test_every_writer_writes_into_a_fifo(runner, tmp_path, name):
    import threading

    target = _target(name, tmp_path)
    os.mkfifo(target)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(target, "rb").read()), daemon=True)
    reader.start()
    result = runner.invoke(main, _writer_args(name, tmp_path, target), catch_exceptions=False)
    reader.join(timeout=10)  # a replaced FIFO never gets its writer: fail, not hang
    assert result.exit_code in (0, 1), result.output
    assert got and got[0], "the reader got nothing"
    assert stat.S_ISFIFO(os.lstat(target).st_mode), "the FIFO was replaced"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


@pytest.mark.parametrize("via_link", [False, True], ids=["devnull", "link-to-devnull"])
@pytest.mark.parametrize("name", list(WRITERS))
def test_every_writer_writes_into_devnull(runner, tmp_path, name, via_link):
    before = os.stat(os.devnull)
    assert stat.S_ISCHR(before.st_mode)
    target = _target(name, tmp_path)
    if name == "report-o":
        target.symlink_to(os.devnull)  # a report's file lies in its folder: only a link can be /dev/null
    elif via_link:
        target.symlink_to(os.devnull)
    else:
        target = type(target)(os.devnull)
    result = runner.invoke(main, _writer_args(name, tmp_path, target), catch_exceptions=False)
    after = os.stat(os.devnull)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino
    assert result.exit_code in (0, 1), result.output
    if target.is_symlink():
        assert os.readlink(target) == os.devnull  # the link was written through, not replaced


@pytest.mark.parametrize("name", list(WRITERS))
def test_every_writer_refuses_a_socket(runner, tmp_path, name):
    import socket

    target = _target(name, tmp_path)
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(target))
        result = runner.invoke(main, _writer_args(name, tmp_path, target), catch_exceptions=False)
    finally:
        sock.close()
    assert result.exit_code == 2, result.output
    assert "error[cannot_write]" in result.output and "a socket" in result.output
    assert str(target.name) in result.output
    assert stat.S_ISSOCK(os.lstat(target).st_mode)


def test_a_directory_behind_a_link_is_refused(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "d")
    with pytest.raises(SpecError, match="a directory"):
        files.write_atomic(tmp_path / "out", "x")
    assert (tmp_path / "out").is_symlink()


def test_a_descriptor_link_is_written_through(tmp_path):
    """`-o /dev/stdout` with stdout on a file: the file gets the text, as a shell's redirection gives it."""
    target = tmp_path / "stdout.txt"
    target.write_text("old old old\n")
    with open(target, "r+") as handle:
        files.write_atomic(f"/proc/self/fd/{handle.fileno()}", "new\n")
    assert target.read_text() == "new\n"
