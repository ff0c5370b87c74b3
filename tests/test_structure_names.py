"""A residual's `shortcut_name` and a parallel's spliced branches: the two ways a spec keeps a
model's module paths (torchvision's `layer1.0.downsample.0`, an SE block's `se.fc1`) as row paths."""

from __future__ import annotations

import pytest

from archcalc import analyze
from archcalc.errors import SpecError
from archcalc.loader import parse_spec

RESIDUAL = """
name: t
input: [8, 8, 8]
layers:
  - residual:
      body: [conv: {name: conv1, out: 8, kernel: 3, padding: 1}]
      shortcut: [conv: {name: "0", out: 8, kernel: 1}]
      {named}
  - residual:
      body: [conv: {name: conv2, out: 8, kernel: 3, padding: 1}]
"""

SE = """
name: t
input: [8, 8, 8]
layers:
  - parallel:
      merge: mul
      branches:
        - []
        - {spliced: true, layers: [global_avgpool: {name: avgpool}, conv: {name: fc1, out: 8, kernel: 1}, sigmoid]}
  - parallel:
      merge: concat
      branches: [[relu], {spliced: true, layers: [conv: {name: proj, out: 4, kernel: 1}, relu]}]
"""


def _paths(text: str) -> list[str]:
    return [row.path for row in analyze(parse_spec(text)).rows]


@pytest.mark.parametrize(
    ("named", "paths"),
    [
        ("", ["conv1", "shortcut.0", "add", "conv2", "add2"]),
        ("shortcut_name: downsample", ["conv1", "downsample.0", "add", "conv2", "add2"]),
    ],
    ids=["generated", "named"],
)
def test_shortcut_name_is_the_projection_step(named, paths):
    assert _paths(RESIDUAL.replace("{named}", named)) == paths


def test_shortcut_name_claims_its_name_in_the_level():
    text = RESIDUAL.replace("{named}", "shortcut_name: conv1")
    with pytest.raises(SpecError, match="duplicate_name|named 'conv1'"):
        parse_spec(text)


def test_spliced_branches_put_their_layers_in_the_parallels_level():
    # the second parallel's unnamed branch is b3: a spliced branch adds no step but keeps its position
    assert _paths(SE) == ["avgpool", "fc1", "sigmoid1", "mul", "b3.relu1", "proj", "relu1", "concat"]


def test_spliced_branch_with_a_name_is_refused():
    text = SE.replace("{spliced: true, layers: [global", "{spliced: true, name: se, layers: [global")
    with pytest.raises(SpecError, match="spliced branch has no step of its own"):
        parse_spec(text)


def test_spliced_branch_names_share_the_level():
    text = SE.replace("name: proj", "name: fc1")
    with pytest.raises(SpecError, match="duplicate_name|'fc1'"):
        parse_spec(text)


def test_built_module_names_are_the_row_paths():
    pytest.importorskip("torch")
    from archcalc.verify.build import build_model

    spec = parse_spec(RESIDUAL.replace("{named}", "shortcut_name: downsample"))
    names = {name for name, _ in build_model(spec).named_modules() if name}
    assert {"conv1", "downsample.0", "conv2"} <= names, names
