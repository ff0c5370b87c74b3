"""A Conv's or ConvTranspose's `group` that onnx's shape inference lets through (0, negative, or
one the channels do not split into) is the file's error, bad_onnx naming the node: it once reached
the spec writer as a reader bug (`unsupported_op`, "please report it") or as an internal error."""

from __future__ import annotations

from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")

from onnx import helper  # noqa: E402

from archcalc.errors import SpecError  # noqa: E402
from archcalc.importing.onnx_read import read_onnx  # noqa: E402
from tests.onnx_files import onnx_file, weight  # noqa: E402


def _read(tmp_path: Path, op: str, group: int, dims: tuple[int, ...]) -> object:
    nodes = [helper.make_node(op, ["x", "w"], ["y"], name="c", group=group)]
    return read_onnx(onnx_file(tmp_path / "m.onnx", nodes, (3, 8, 8), (weight("w", *dims),), ("y",)))


@pytest.mark.parametrize(
    ("op", "group", "dims", "words"),
    [
        ("Conv", 0, (4, 3, 3, 3), "its group is 0"),
        ("Conv", -2, (4, 3, 3, 3), "its group is -2"),
        ("Conv", 3, (4, 1, 3, 3), "group 3 does not fit its 3 input channels and weight dims [4, 1, 3, 3]"),
        ("Conv", 2, (4, 1, 3, 3), "group 2 does not fit"),
        ("ConvTranspose", 1, (5, 4, 3, 3), "does not fit its 3 input channels"),
    ],
    ids=["conv-zero", "conv-negative", "conv-out-not-divisible", "conv-in-not-divisible", "transposed-in"],
)
def test_a_group_the_channels_do_not_take_is_bad_onnx(tmp_path, op, group, dims, words):
    with pytest.raises(SpecError) as caught:
        _read(tmp_path, op, group, dims)
    err = caught.value
    assert err.code == "bad_onnx" and words in str(err), f"want bad_onnx with {words!r}, got {err.code}: {err}"
    assert "node 'c'" in str(err), str(err)


@pytest.mark.parametrize(
    ("op", "group", "dims", "out_channels"),
    [("Conv", 3, (6, 1, 3, 3), 6), ("ConvTranspose", 3, (3, 4, 3, 3), 12)],
    ids=["depthwise-conv", "grouped-transposed"],
)
def test_a_group_that_fits_is_read(tmp_path, op, group, dims, out_channels):
    (layer,) = _read(tmp_path, op, group, dims).layers  # type: ignore[attr-defined]
    assert (layer.fields["groups"], layer.fields["out_channels"]) == (group, out_channels), layer.fields
