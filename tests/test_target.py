"""TARGET text to a model (archcalc/importing/target.py): each form loads, each bad target is one
clear error with its own code, and a file target leaves nothing behind in sys.modules or sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from archcalc.errors import SpecError
from archcalc.importing.target import MAX_KWARGS_CHARS, load_target, parse_kwargs

torch = pytest.importorskip("torch")

NET = """
import torch
from blocks import Block  # a sibling module: the file's directory is on the path while it loads


class Net(torch.nn.Module):
    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.block = Block(width)

    def forward(self, x):
        return self.block(x)


def build(width: int = 4) -> torch.nn.Module:
    return Net(width)


def broken() -> torch.nn.Module:
    raise ValueError("no such width")


def not_a_module() -> int:
    return 3


instance = Net(2)
CONSTANT = 7
"""
BLOCKS = """
import torch


class Block(torch.nn.Conv2d):
    def __init__(self, width: int) -> None:
        super().__init__(3, width, 3)
"""


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    (tmp_path / "netfile_under_test.py").write_text(NET)
    (tmp_path / "blocks.py").write_text(BLOCKS)
    return tmp_path


@pytest.mark.parametrize(
    ("target", "kwargs", "out_channels", "name"),
    [
        ("netfile_under_test.py:Net", {}, 4, "Net"),
        ("netfile_under_test.py:Net", {"width": 6}, 6, "Net"),
        ("netfile_under_test.py:build", {"width": 5}, 5, "build"),
        ("netfile_under_test.py:instance", {}, 2, "instance"),
    ],
    ids=["class", "class-kwargs", "function", "instance"],
)
def test_file_target_loads(model_dir: Path, target: str, kwargs: dict, out_channels: int, name: str) -> None:
    loaded = load_target(f"{model_dir}/{target}", kwargs)
    assert (loaded.kind, loaded.name) == ("file", name)
    assert loaded.module.block.out_channels == out_channels, loaded.module


def test_file_target_leaves_no_trace(model_dir: Path) -> None:
    modules, path = set(sys.modules), list(sys.path)
    load_target(f"{model_dir}/netfile_under_test.py:Net")
    assert set(sys.modules) - modules == set(), "modules left behind"
    assert sys.path == path


def test_python_target_loads() -> None:
    loaded = load_target("torch.nn:Conv2d", {"in_channels": 3, "out_channels": 8, "kernel_size": 3})
    assert (loaded.kind, loaded.name, loaded.module.out_channels) == ("python", "Conv2d", 8)


def test_onnx_target_is_a_path(tmp_path: Path) -> None:
    (tmp_path / "m.onnx").write_bytes(b"")
    loaded = load_target(str(tmp_path / "m.onnx"))
    assert (loaded.kind, loaded.name, loaded.path, loaded.module) == ("onnx", "m", tmp_path / "m.onnx", None)


@pytest.mark.parametrize(
    ("target", "kwargs", "code", "words"),
    [
        ("resnet50", {}, "bad_target", "expected pkg.module:callable"),
        ("torch.nn:", {}, "bad_target", "expected pkg.module:callable"),
        ("no_such_pkg_xyz.models:Net", {}, "target_not_found", "no_such_pkg_xyz"),
        ("torch.nn:Conv2dd", {}, "target_attribute", "Conv2d"),
        ("{dir}/netfile_under_test.py:Nett", {}, "target_attribute", "did you mean Net"),
        ("{dir}/netfile_under_test.py:CONSTANT", {}, "target_not_callable", "int"),
        ("{dir}/netfile_under_test.py:broken", {}, "target_raised", "ValueError: no such width"),
        ("{dir}/netfile_under_test.py:Net", {"depth": 3}, "target_raised", "TypeError"),
        ("{dir}/netfile_under_test.py:not_a_module", {}, "target_not_module", "returned a int"),
        ("{dir}/netfile_under_test.py:instance", {"width": 3}, "bad_kwargs", "module instance already"),
        ("{dir}/missing.py:Net", {}, "target_file_missing", "missing.py"),
        ("{dir}/missing.onnx", {}, "target_file_missing", "missing.onnx"),
        ("{dir}/syntax.py:Net", {}, "target_raised", "SyntaxError"),
        ("{dir}/needs_dep.py:Net", {}, "target_import_failed", "no_such_dependency_xyz"),
        ("{dir}/" + "x" * 300 + ".onnx", {}, "target_file_missing", "no such file"),  # once an OSError, exit 4
        ("{dir}/" + "x" * 300 + ".py:Net", {}, "target_file_missing", "no such file"),
        ("{dir}/folder.onnx", {}, "not_a_file", "not a regular file"),  # once 'no such file'
        ("{dir}/folder.py:Net", {}, "not_a_file", "not a regular file"),
    ],
    ids=[
        "no-colon",
        "no-attribute",
        "module-missing",
        "attribute-missing",
        "file-attribute-missing",
        "not-callable",
        "call-raises",
        "bad-kwarg",
        "not-a-module",
        "kwargs-for-instance",
        "file-missing",
        "onnx-missing",
        "syntax-error",
        "dependency-missing",
        "onnx-name-too-long",
        "file-name-too-long",
        "onnx-directory",
        "file-directory",
    ],
)
def test_bad_target(model_dir: Path, target: str, kwargs: dict, code: str, words: str) -> None:
    (model_dir / "syntax.py").write_text("def (:\n")
    (model_dir / "needs_dep.py").write_text("import no_such_dependency_xyz\n")
    (model_dir / "folder.onnx").mkdir()
    (model_dir / "folder.py").mkdir()
    with pytest.raises(SpecError) as caught:
        load_target(target.format(dir=model_dir), kwargs)
    error = caught.value
    assert (error.code, words in str(error)) == (code, True), str(error)
    assert "Traceback" not in str(error)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[1, 2]", "must be a JSON object"),
        ("{bad", "not valid JSON"),
        ('{"x": NaN}', "NaN is not a number"),
        ('{"x": ' + "9" * 41 + "}", "41 digits"),
        ('{"x": ' + "[" * 30_000 + "]" * 30_000 + "}", "nested too deeply"),
        ("{" + " " * MAX_KWARGS_CHARS + "}", "characters; at most"),
    ],
    ids=["array", "malformed", "nan", "huge-int", "deep", "too-long"],
)
def test_bad_kwargs(text: str, words: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_kwargs(text)
    assert (caught.value.code, words in str(caught.value)) == ("bad_kwargs", True), str(caught.value)
