"""Short generated paths (issue 15): a repeat adds its copy index only; block, residual, parallel and
`use:` add a level only when named; auto names count across the whole level; collisions stay one
error at both lines. Then the tree column, `--depth`'s folded blocks (totals unchanged), diff by
path across a restructured twin, and the torchvision names a ResNet's rows reproduce."""

from __future__ import annotations

from pathlib import Path

import pytest

from archcalc import analyze, load_spec, parse_spec
from archcalc.analysis_view import params_table, shapes_table
from archcalc.bundled import bundled_names
from archcalc.cli import main
from archcalc.compare import diff
from archcalc.counted import count, resolve_convention
from archcalc.graph import lower
from archcalc.numfmt import fmt_shapes

from .helpers import spec_text

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

CONV = "conv: {out: 4, kernel: 3, padding: 1}"
BLOCKS = (
    "name: t\ninput: [4, 8, 8]\nblocks:\n"
    "  res:\n    layers:\n      - residual: {body: [" + CONV + ", relu, " + CONV + ", relu]}\n      - relu\n"
    "  down:\n    layers:\n      - residual: {body: [" + CONV + "], shortcut: [" + CONV + "]}\n"
    "layers:\n"
)

# (id, spec text (layers of a [4, 8, 8] input unless it starts with `name:`), the row paths)
PATHS = [
    (
        "unnamed-residual-sits-in-its-level",
        f"- residual: {{body: [{CONV}, relu]}}\n- relu",
        ["conv1", "relu1", "add", "relu2"],
    ),
    ("named-residual-is-a-level", f"- residual: {{name: r, body: [{CONV}]}}", ["r.conv1", "r.add"]),
    (
        "projection-shortcut-is-a-level",
        f"- residual: {{body: [{CONV}], shortcut: [{CONV}]}}",
        ["conv1", "shortcut.conv1", "add"],
    ),
    # the brief's example: a block's trailing relu after a residual body with 2 relus is relu3
    (
        "auto-names-count-across-the-level",
        BLOCKS + "  - use: res\n",
        ["conv1", "relu1", "conv2", "relu2", "add", "relu3"],
    ),
    (
        "named-use-is-a-level",
        BLOCKS + "  - {use: res, name: b}\n",
        ["b.conv1", "b.relu1", "b.conv2", "b.relu2", "b.add", "b.relu3"],
    ),
    (
        "repeat-adds-only-its-index",
        BLOCKS + "  - repeat: {times: 2, layers: [use: down]}\n",
        ["0.conv1", "0.shortcut.conv1", "0.add", "1.conv1", "1.shortcut.conv1", "1.add"],
    ),
    (
        "named-repeat-then-index",
        "- repeat: {name: s, times: 2, layers: [relu]}",
        ["s.0.relu1", "s.1.relu1"],
    ),
    (
        "start-numbers-the-copies",
        BLOCKS + "  - {use: down, name: '0'}\n  - repeat: {start: 1, times: 2, layers: [use: res]}\n",
        [
            "0.conv1",
            "0.shortcut.conv1",
            "0.add",
            *[f"{i}.{s}" for i in (1, 2) for s in ("conv1", "relu1", "conv2", "relu2", "add", "relu3")],
        ],
    ),
    (
        "unnamed-parallel-branches-in-the-level",
        f"- parallel: {{merge: concat, branches: [[{CONV}], {{name: pool, layers: [maxpool: {{kernel: 3, padding: 1, stride: 1}}]}}]}}",
        ["b1.conv1", "pool.maxpool1", "concat"],
    ),
    (
        "named-parallel-is-a-level",
        f"- parallel: {{name: p, merge: add, branches: [[{CONV}], []]}}",
        ["p.b1.conv1", "p.add"],
    ),
    # generated names go on counting in the level, so unnamed containers side by side never clash
    (
        "two-unnamed-residuals",
        "- residual: {body: [relu]}\n- residual: {body: [relu], shortcut: [relu]}",
        ["relu1", "add", "relu2", "shortcut2.relu1", "add2"],
    ),
    (
        "two-unnamed-parallels",
        "- parallel: {merge: add, branches: [[relu], []]}\n- parallel: {merge: add, branches: [[relu], [relu]]}",
        ["b1.relu1", "add", "b3.relu1", "b4.relu1", "add2"],
    ),
    (
        "two-unnamed-repeats",
        "- repeat: {times: 2, layers: [relu]}\n- relu\n- repeat: {times: 2, layers: [relu]}",
        ["0.relu1", "1.relu1", "relu1", "2.relu1", "3.relu1"],
    ),
    ("unnamed-block-splices", f"- block: {{layers: [{CONV}, relu]}}\n- {CONV}", ["conv1", "relu1", "conv2"]),
    ("named-block-is-a-level", f"- block: {{name: k, layers: [{CONV}]}}\n- {CONV}", ["k.conv1", "conv1"]),
]


def _text(layers: str) -> str:
    return layers if layers.startswith("name:") else spec_text(layers, "[4, 8, 8]")


@pytest.mark.parametrize(("layers", "paths"), [c[1:] for c in PATHS], ids=[c[0] for c in PATHS])
def test_generated_paths_are_as_short_as_written(layers, paths):
    got = [row.path for row in analyze(parse_spec(_text(layers), "t.yaml")).rows]
    assert got == paths, f"got {got}, expected {paths}"


@pytest.mark.parametrize(("layers", "paths"), [c[1:] for c in PATHS], ids=[c[0] for c in PATHS])
def test_the_built_module_follows_the_short_paths(layers, paths):
    pytest.importorskip("torch")
    from archcalc.verify.build import build_model
    from archcalc.verify.verification import module_mismatches

    spec = parse_spec(_text(layers), "t.yaml")
    assert module_mismatches(analyze(spec), build_model(spec)) == []


# (id, spec text, line of the error, text the message must hold)
COLLISIONS = [
    (
        "branch-named-as-an-earlier-parallels-branch",
        "- parallel: {merge: add, branches: [[relu], [relu]]}\n"
        "- parallel: {merge: add, branches: [[relu], {name: b2, layers: []}]}",
        5,
        "'b2'",
    ),
    (
        "copies-overlapping-a-start",
        "- repeat: {times: 2, layers: [relu]}\n- repeat: {start: 1, times: 2, layers: [relu]}",
        5,
        "the repeat at layers[1]'s copy is named '1'",
    ),
    (
        "repeat-index-against-a-name",
        "- relu: {name: '1'}\n- repeat: {times: 2, layers: [relu]}",
        4,
        "layers[0] is named '1', as is the repeat at layers[1]'s copy",
    ),
    ("spliced-body-against-a-written-name", "- residual: {body: [relu]}\n- relu: {name: relu1}", 5, "'relu1'"),
    ("use-layers-against-the-site-level", BLOCKS + "  - use: res\n  - relu: {name: add}\n", 13, "'add'"),
]


@pytest.mark.parametrize(("layers", "line", "snippet"), [c[1:] for c in COLLISIONS], ids=[c[0] for c in COLLISIONS])
def test_a_collision_in_a_level_is_one_error_naming_both_lines(runner, tmp_path, layers, line, snippet):
    path = tmp_path / "clash.yaml"
    path.write_text(_text(layers))
    result = runner.invoke(main, ["shapes", str(path)], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert result.output.count("error[") == 1 and "error[duplicate_name]" in result.output, result.output
    assert f"{path}:{line}:" in result.output, f"expected line {line} in:\n{result.output}"
    assert snippet in result.output, f"expected {snippet!r} in:\n{result.output}"
    assert "(line " in result.output, result.output  # the other one's line


# ---------------------------------------------------------------------------------------------
# the tree column and --depth

NUMERIC = slice(4, None)  # the shapes table's count columns: units, weights, ... MACs


def _number(cell: str) -> int:
    return 0 if cell in ("", "·") else int(cell.replace(",", ""))


def _sums(table, columns: slice) -> list[int]:
    rows = [row.cells for row in table.rows if row.style != "dim"]  # the input row is context
    return [sum(_number(cells[i]) for cells in rows) for i in range(len(table.columns))[columns]]


def _footers(table, columns: slice, input_units: int = 0) -> list[int]:
    totals = [_number(c.footer) for c in table.columns[columns]]
    totals[0] -= input_units
    return totals


@pytest.mark.parametrize("depth", [None, 0, 1, 2, 3])
@pytest.mark.parametrize("name", bundled_names())
def test_every_column_adds_to_its_footer_at_every_depth(name, depth):
    analysis = analyze(load_spec(name))
    counted = count(analysis, resolve_convention("archcalc", analysis.spec))
    table = shapes_table(analysis, counted, depth)
    assert _sums(table, NUMERIC) == _footers(table, NUMERIC, counted.input_units), (name, depth)
    params = params_table(analysis, depth)
    assert _sums(params, slice(2, 5)) == _footers(params, slice(2, 5)), (name, depth)
    labels = [row.cells[0] for row in table.rows]
    if depth is not None:  # no line deeper than N path steps
        assert all(len(label) - len(label.lstrip()) <= 2 * max(depth - 1, 0) for label in labels), labels


def test_depth_1_is_one_row_per_stage(runner):
    result = runner.invoke(main, ["shapes", "resnet50", "--depth", "1"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = [line.split("│")[1].strip() for line in result.output.splitlines() if line.startswith("│")]
    expected = [
        "input",
        "conv1",
        "bn1",
        "relu1",
        "pool1",
        "conv2_x",
        "conv3_x",
        "conv4_x",
        "conv5_x",
        "avgpool",
        "flatten1",
        "fc",
        "total",
    ]
    assert rows == expected, rows


def test_the_tree_shows_each_container_once_and_leaves_by_their_last_step(runner):
    result = runner.invoke(main, ["shapes", "resnet50"], catch_exceptions=False)
    rows = [line.split("│")[1].rstrip() for line in result.output.splitlines() if line.startswith("│")]
    start = rows.index(" conv2_x")
    assert rows[start : start + 4] == [" conv2_x", "   0", "     conv1", "     batchnorm1"], rows[start : start + 4]
    assert rows.count(" conv2_x") == 1 and rows.count("   0") == 4  # one heading per stage's first block


@pytest.mark.parametrize("depth", ["-1", "x", "abc", "201"], ids=["negative", "letter", "word", "past-the-limit"])
def test_a_bad_depth_is_a_usage_error_that_says_what_is_expected(runner, depth):
    result = runner.invoke(main, ["shapes", "lenet5", "--depth", depth])
    assert result.exit_code == 2 and "--depth" in result.output, result.output
    assert "from 0 to 200" in result.output and f"'{depth}'" in result.output, result.output
    assert "integer range" not in result.output, result.output


@pytest.mark.parametrize("depth", [0, 1], ids=["whole-network", "stages"])
def test_a_folded_block_shows_every_network_output_it_holds(depth):
    """fpn returns three levels: folded into one row, the network shows all three, as its total does."""
    analysis = analyze(load_spec(str(EXAMPLES / "fpn.yaml")))
    table = shapes_table(analysis, count(analysis), depth)
    expected = fmt_shapes(analysis.output_shapes)
    shown = [row.cells[3] for row in table.rows[1:]]
    assert (expected in shown) == (depth == 0), f"expected {expected!r} in {shown}" if depth == 0 else shown


# ---------------------------------------------------------------------------------------------
# everything keyed by path: diff across a restructured twin, torchvision's names

TEMPLATED = BLOCKS + "  - {use: down, name: '0'}\n  - repeat: {start: 1, times: 2, layers: [use: res]}\n"
INLINE = (
    "name: t\ninput: [4, 8, 8]\nlayers:\n"
    f"  - block: {{name: '0', layers: [residual: {{body: [{CONV}], shortcut: [{CONV}]}}]}}\n"
    + "".join(
        f"  - block: {{name: '{i}', layers: [residual: {{body: [{CONV}, relu, {CONV}, relu]}}, relu]}}\n"
        for i in (1, 2)
    )
)


def test_diff_matches_a_restructured_twin_layer_by_layer():
    a, b = analyze(parse_spec(TEMPLATED, "a.yaml")), analyze(parse_spec(INLINE, "b.yaml"))
    statuses = {delta.path: delta.status for delta in diff(a, b).layers}
    assert len(statuses) == len(a.rows) == len(b.rows) == 15
    assert set(statuses.values()) == {"same"}, statuses


def test_diff_names_the_layer_that_changed_in_a_twin():
    changed = INLINE.replace(
        "body: [conv: {out: 4, kernel: 3, padding: 1}, relu,", "body: [conv: {out: 4, kernel: 1}, relu,", 1
    )
    result = diff(analyze(parse_spec(TEMPLATED, "a.yaml")), analyze(parse_spec(changed, "b.yaml")))
    assert [d.path for d in result.layers if d.status == "changed"] == ["1.conv1"]


def test_resnet50_conv_paths_are_torchvisions_under_the_stage_names():
    """conv2_x.0.conv1 is torchvision's layer1.0.conv1; its projection shortcut (`shortcut`) is
    torchvision's `downsample`, whose conv is downsample.0."""
    torchvision = pytest.importorskip("torchvision")
    from torch import nn

    model = torchvision.models.resnet50()
    theirs = [
        name for name, module in model.named_modules() if isinstance(module, nn.Conv2d) and name.startswith("layer")
    ]
    ours = [node.path for node in lower(load_spec("resnet50")).nodes if node.kind == "conv" and "_x." in node.path]
    mapped = []
    for path in ours:
        stage, rest = path.split(".", 1)
        mapped.append(f"layer{int(stage[4]) - 1}.{rest.replace('shortcut.conv1', 'downsample.0')}")
    assert mapped == theirs
