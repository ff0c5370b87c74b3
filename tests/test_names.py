"""One namespace per path level: the names archcalc generates (a residual's `add` and `shortcut`, a
parallel's merge row and its b1, b2 branches, a repeat's copy indices, conv1-style automatic names,
a `use:` site's block1-style names) and the names a spec writes never share a path. Each collision
is error[duplicate_name] at the line of the written layer, naming the other; the near misses (the
same words one level down) are valid and build the module the analysis describes."""

from __future__ import annotations

from collections import Counter

import pytest

from archcalc import analyze, parse_spec
from archcalc.cli import main

from .helpers import spec_text

CONV = "conv: {out: 4, kernel: 3, padding: 1"
USE_HEAD = (
    "name: t\ninput: [4, 8, 8]\nblocks:\n  blk:\n    layers: [relu]\n  inner:\n    layers: ["
    + CONV
    + ", name: add}]\nlayers:\n"
)

# (id, spec text (layers under `layers:` of a [4, 8, 8] input unless it starts with `name:`),
#  line of the written layer or branch, text the message must hold)
COLLISIONS = [
    # the reproductions of issue 13
    (
        "residual-body-named-add",
        f"- residual: {{name: r, body: [{CONV}, name: add}}]}}",
        4,
        "body[0] is named 'add', as is the residual's merge row ('add': body + shortcut)",
    ),
    (
        "residual-body-named-shortcut",
        f"- residual: {{name: r, body: [{CONV}, name: shortcut}}]}}",
        4,
        "body[0] is named 'shortcut', as is the residual's shortcut ('shortcut': its projection layers' path)",
    ),
    # a residual, in block form, with a projection shortcut and the clash further down its body
    (
        "residual-projection-body-add",
        f"- residual:\n    body:\n      - {CONV}}}\n      - relu: {{name: add}}\n    shortcut: [conv: {{out: 4, kernel: 1}}]",
        7,
        "layers[0].body[1] is named 'add', as is the residual at layers[0]'s merge row ('add': body + shortcut) (line 4)",
    ),
    (
        "residual-body-block-named-shortcut",
        "- residual:\n    body:\n      - block: {name: shortcut, layers: [relu]}",
        6,
        "layers[0].body[0] is named 'shortcut', as is the residual at layers[0]'s shortcut ('shortcut': its projection layers' path) (line 4)",
    ),
    (
        "residual-shortcut-layers",
        "- residual:\n    body: [relu]\n    shortcut:\n      - relu: {name: p}\n      - relu: {name: p}",
        8,
        "layers[1] is named 'p', as is layers[0] (line 7)",
    ),
    # a parallel: its merge row is named after the merge
    *[
        (
            f"parallel-branch-named-{merge}",
            f"- parallel:\n    merge: {merge}\n    branches:\n      - [relu]\n"
            f"      - {{name: {merge}, layers: [relu]}}",
            8,
            f"the parallel at layers[0]'s branch 2 (branches[1]) is named '{merge}', as is the parallel at layers[0]'s merge row",
        )
        for merge in ("concat", "add", "mul")
    ],
    (
        "parallel-branch-named-b1",
        "- parallel:\n    merge: add\n    branches:\n      - [relu]\n      - {name: b1, layers: [relu]}",
        8,
        "the parallel at layers[0]'s branch 2 (branches[1]) is named 'b1', as is the parallel at layers[0]'s branch 1 (branches[0]; unnamed: named b1 by its position) (line 7)",
    ),
    (
        "parallel-branch-named-b2-first",
        "- parallel:\n    merge: add\n    branches:\n      - {name: b2, layers: [relu]}\n      - [relu]",
        7,
        "the parallel at layers[0]'s branch 1 (branches[0]) is named 'b2', as is the parallel at layers[0]'s branch 2 (branches[1]; unnamed: named b2 by its position) (line 8)",
    ),
    (
        "parallel-two-branches-alike",
        "- parallel:\n    merge: add\n    branches:\n      - {name: x, layers: [relu]}\n"
        "      - {name: x, layers: [relu]}",
        8,
        "the parallel at layers[0]'s branch 2 (branches[1]) is named 'x', as is the parallel at layers[0]'s branch 1 (branches[0]) (line 7)",
    ),
    (
        "parallel-branch-layers",
        "- parallel:\n    merge: add\n    branches:\n      - [relu, {relu: {name: relu1}}]",
        7,
        "layers[1] is named 'relu1', as is layers[0] (an unnamed relu: named by kind and count) (line 7)",
    ),
    # lists at every level: the top, a block, a repeat, automatic names before and after
    (
        "top-written-twice",
        "- relu: {name: a}\n- relu: {name: a}",
        5,
        "layers[1] is named 'a', as is layers[0] (line 4)",
    ),
    (
        "top-automatic-after",
        "- relu: {name: conv2}\n- " + CONV + "}\n- " + CONV + "}",
        4,
        "layers[0] is named 'conv2', as is layers[2] (an unnamed conv: named by kind and count) (line 6)",
    ),
    (
        "top-automatic-before",
        "- " + CONV + "}\n- " + CONV + ", name: conv1}",
        5,
        "layers[1] is named 'conv1', as is layers[0] (an unnamed conv: named by kind and count) (line 4)",
    ),
    (
        "block-layers",
        "- block:\n    layers:\n      - relu\n      - relu: {name: relu1}",
        7,
        "layers[1] is named 'relu1', as is layers[0] (an unnamed relu: named by kind and count) (line 6)",
    ),
    (
        "repeat-layers",
        "- repeat:\n    times: 2\n    layers:\n      - relu: {name: x}\n      - relu: {name: x}",
        8,
        "layers[1] is named 'x', as is layers[0] (line 7)",
    ),
    # every container kind's automatic name (kind and count) against a written one
    *[
        (
            f"{kind}-automatic-name",
            f"- {layer}\n- relu: {{name: {kind}1}}",
            5,
            f"layers[1] is named '{kind}1', as is layers[0] (an unnamed {kind}: named by kind and count) (line 4)",
        )
        for kind, layer in (
            ("block", "block: {layers: [relu]}"),
            ("residual", "residual: {body: [relu]}"),
            ("parallel", "parallel: {merge: add, branches: [[relu]]}"),
            ("repeat", "repeat: {times: 2, layers: [relu]}"),
        )
    ],
    # an unnamed use: site adds no level: its block's layers sit in the site's level
    (
        "use-spliced-layers",
        USE_HEAD + "  - use: blk\n  - relu: {name: relu1}\n",
        10,
        "layers[1] is named 'relu1', as is layers[0].layers[0] (an unnamed relu: named by kind and count) (line 5)",
    ),
    (
        "use-named-add-in-body",
        USE_HEAD + "  - residual:\n      body: [{use: blk, name: add}]\n",
        10,
        "layers[0].body[0] is named 'add', as is the residual at layers[0]'s merge row ('add': body + shortcut) (line 9)",
    ),
    (
        "unnamed-use-in-residual-body-named-add",
        USE_HEAD + "  - residual:\n      body: [use: inner]\n",
        7,
        "layers[0].body[0].layers[0] is named 'add', as is the residual at layers[0]'s merge row ('add': body + shortcut) (line 9)",
    ),
    (
        "template-residual-body-named-add",
        "name: t\ninput: [4, 8, 8]\nblocks:\n  res:\n    layers:\n      - residual:\n"
        "          body: [relu: {name: add}]\nlayers:\n  - use: res\n",
        7,
        "layers[0].layers[0].body[0] is named 'add', as is the residual at layers[0].layers[0]'s merge row ('add': body + shortcut) (line 6)",
    ),
]


def _text(layers: str) -> str:
    return layers if layers.startswith("name:") else spec_text(layers, "[4, 8, 8]")


@pytest.mark.parametrize(("layers", "line", "snippet"), [c[1:] for c in COLLISIONS], ids=[c[0] for c in COLLISIONS])
def test_a_name_clash_is_one_error_at_the_written_layer(runner, tmp_path, layers, line, snippet):
    path = tmp_path / "clash.yaml"
    path.write_text(_text(layers))
    result = runner.invoke(main, ["shapes", str(path)], catch_exceptions=False)
    message = result.stderr if hasattr(result, "stderr") else result.output
    assert result.exit_code == 2, result.output
    assert message.count("error[") == 1 and "error[duplicate_name]" in message, message
    assert f"{path}:{line}:" in message, f"expected line {line} in:\n{message}"
    assert snippet in message, f"expected {snippet!r} in:\n{message}"
    assert "Traceback" not in result.output


# the same words where they do not share a level: valid, every row path its own
NEAR_MISSES = [
    ("shortcut-layer-named-add", "- residual:\n    body: [relu]\n    shortcut: [relu: {name: add}]"),
    ("shortcut-layer-named-shortcut", "- residual:\n    body: [relu]\n    shortcut: [relu: {name: shortcut}]"),
    ("body-block-holding-add", "- residual:\n    body: [block: {name: x, layers: [relu: {name: add}]}]"),
    ("branch-layer-named-concat", "- parallel:\n    merge: concat\n    branches: [[relu: {name: concat}], [relu]]"),
    (
        "branch-named-add-merge-concat",
        "- parallel:\n    merge: concat\n    branches: [{name: add, layers: [relu]}, [relu]]",
    ),
    (
        "branch-named-b3-of-two",
        "- parallel:\n    merge: add\n    branches: [{name: b2, layers: [relu]}, {name: b3, layers: []}]",
    ),
    ("add-and-shortcut-outside-residuals", "- relu: {name: add}\n- relu: {name: shortcut}\n- relu: {name: concat}"),
    ("repeat-layer-named-0", "- repeat: {name: r, times: 3, layers: [relu: {name: '0'}, relu: {name: '1'}]}"),
    ("nested-residuals", "- residual:\n    name: add\n    body: [residual: {name: r, body: [relu]}]"),
    ("template-add-one-level-down", USE_HEAD + "  - residual:\n      body: [{use: inner, name: i}]\n"),
    (
        "use-sites-named-apart",
        USE_HEAD + "  - use: blk\n  - use: blk\n  - {use: blk, name: blk3}\n  - residual: {body: [use: blk]}\n",
    ),
    # the words the built Fork module once used for its own attributes
    ("residual-layers-named-paths-and-merge", "- residual:\n    body: [relu: {name: paths}, relu: {name: merge}]"),
    (
        "branches-named-paths-and-merge",
        "- parallel:\n    merge: add\n    branches: [{name: paths, layers: [relu]}, [relu: {name: merge}]]",
    ),
]


@pytest.mark.parametrize("layers", [c[1] for c in NEAR_MISSES], ids=[c[0] for c in NEAR_MISSES])
def test_the_same_words_one_level_apart_are_valid(layers):
    paths = [row.path for row in analyze(parse_spec(_text(layers), "near.yaml")).rows]
    assert [p for p, n in Counter(paths).items() if n > 1] == [], paths


@pytest.mark.parametrize("layers", [c[1] for c in NEAR_MISSES], ids=[c[0] for c in NEAR_MISSES])
def test_the_near_misses_build_the_analysed_module(layers):
    pytest.importorskip("torch")
    from archcalc.verify.build import build_model
    from archcalc.verify.verification import module_mismatches

    spec = parse_spec(_text(layers), "near.yaml")
    assert module_mismatches(analyze(spec), build_model(spec)) == []


def test_the_reproduction_no_longer_builds_a_different_model(runner, tmp_path):
    """Issue 13: two rows named `r.add`, the merge replacing the conv, verify "params 148 vs 0"."""
    path = tmp_path / "r.yaml"
    path.write_text(spec_text(f"- residual: {{name: r, body: [{CONV}, name: add}}]}}", "[4, 8, 8]"))
    for command in ("shapes", "verify", "export"):
        result = runner.invoke(main, [command, str(path)], catch_exceptions=False)
        assert result.exit_code == 2 and "error[duplicate_name]" in result.output, (command, result.output)
