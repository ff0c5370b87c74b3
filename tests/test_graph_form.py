"""The graph form of the spec language (`from:`, merge kinds, `outputs:`): designs that are not
nested, analysed, built in torch and exported, agreeing with the nested forms where both apply."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from archcalc import analyze, load_spec, parse_spec
from archcalc.graph import lower

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _spec(layers: str, shape: str = "[4, 8, 8]", tail: str = "") -> str:
    return f"name: g\ninput: {shape}\nlayers:\n{layers}{tail}"


def test_the_feature_pyramid_returns_three_levels():
    analysis = analyze(load_spec(str(EXAMPLES / "fpn.yaml")))
    graph = analysis.graph
    shapes = [graph.shapes[t] for t in graph.outputs]
    assert shapes == [(128, 32, 32), (128, 16, 16), (128, 8, 8)], shapes
    by_path = {node.path: node for node in graph.nodes}
    writer = {node.output: node.path for node in graph.nodes}
    assert [writer[t] for t in by_path["m4"].inputs] == ["lat4", "up5"]
    assert [writer[t] for t in by_path["lat3"].inputs] == ["c3.relu1"]
    assert analysis.output_shape == (128, 32, 32)


def test_nested_and_graph_forms_of_one_residual_block_count_alike():
    nested = _spec(
        "  - conv: {name: x, out: 4, kernel: 3, padding: 1}\n"
        "  - residual: {name: r, body: [conv: {out: 4, kernel: 3, padding: 1}, relu, conv: {out: 4, kernel: 3, padding: 1}]}\n"
    )
    graph = _spec(
        "  - conv: {name: x, out: 4, kernel: 3, padding: 1}\n"
        "  - conv: {name: c1, out: 4, kernel: 3, padding: 1}\n"
        "  - relu\n"
        "  - conv: {name: c2, out: 4, kernel: 3, padding: 1}\n"
        "  - add: {from: [c2, x]}\n"
    )
    a, b = analyze(parse_spec(nested, "n.yaml")), analyze(parse_spec(graph, "g.yaml"))
    assert a.totals == b.totals, f"nested {a.totals}, graph form {b.totals}"
    assert [r.out_shape for r in a.rows] == [r.out_shape for r in b.rows]
    assert [len(n.inputs) for n in a.graph.nodes] == [len(n.inputs) for n in b.graph.nodes] == [1, 1, 1, 1, 2]


def test_a_repeat_of_a_block_with_references_copies_them_per_copy():
    """Each copy of a repeated block reads its own copy's tensors, not the first copy's."""
    text = _spec(
        "  - repeat:\n      times: 3\n      layers:\n"
        "        - block: {name: blk, layers: [conv: {name: a, out: 4, kernel: 1}, relu, {kind: add, from: [a, relu1]}]}\n"
    )
    graph = lower(parse_spec(text, "r.yaml"))
    writer = {node.output: node.path for node in graph.nodes}
    merges = [node for node in graph.nodes if node.kind == "add"]
    assert [[writer[t] for t in m.inputs] for m in merges] == [[f"{i}.blk.a", f"{i}.blk.relu1"] for i in range(3)]
    assert graph.nodes[3].inputs == (merges[0].output,)  # the second copy reads the first's merge


def test_outputs_order_is_the_spec_order_not_the_layer_order():
    text = _spec(
        "  - conv: {name: a, out: 4, kernel: 1}\n  - conv: {name: b, out: 2, kernel: 1}\n",
        tail="outputs: [b, a]\n",
    )
    graph = lower(parse_spec(text, "o.yaml"))
    assert [graph.shapes[t] for t in graph.outputs] == [(2, 8, 8), (4, 8, 8)]


@pytest.mark.parametrize("name", ["fpn.yaml", "cross-stage.yaml"])
def test_the_examples_verify_against_torch_layer_by_layer(name):
    pytest.importorskip("torch")
    from archcalc.verify.verification import verify_analysis

    analysis = analyze(load_spec(str(EXAMPLES / name)).with_input((3, 64, 64)))
    result = verify_analysis(analysis)
    assert result.error is None, result.error
    assert result.failures == 0, [(c.path, c.cells) for c in result.layers]


def test_the_exported_feature_pyramid_runs_and_returns_every_level(tmp_path):
    torch = pytest.importorskip("torch")
    from archcalc.verify.build import render

    spec = load_spec(str(EXAMPLES / "fpn.yaml"))
    path = tmp_path / "fpn.py"
    path.write_text(render(spec))
    model = runpy.run_path(str(path))["model"]
    outputs = model(torch.randn(1, 3, 256, 256))
    assert [tuple(t.shape[1:]) for t in outputs] == [(128, 32, 32), (128, 16, 16), (128, 8, 8)]
    params = sum(p.numel() for p in model.parameters())
    assert params == analyze(spec).totals.params, f"exported {params}, analysed {analyze(spec).totals.params}"


def test_the_feature_pyramid_exports_to_onnx_with_three_outputs(tmp_path):
    pytest.importorskip("torch")
    onnx = pytest.importorskip("onnx")
    from archcalc.verify.export import write_onnx

    path = tmp_path / "fpn.onnx"
    write_onnx(load_spec(str(EXAMPLES / "fpn.yaml")).with_input((3, 64, 64)), str(path))
    assert [o.name for o in onnx.load(str(path)).graph.output] == ["output", "output1", "output2"]


def test_a_use_site_reads_the_sibling_its_from_names():
    """`from:` on a `use:` site (and `$param` inside it) is the block's: the block reads that sibling."""
    text = (
        "name: g\ninput: [4, 8, 8]\n"
        "blocks:\n  unit:\n    params: [src]\n    layers:\n"
        "      - conv: {name: a, out: 4, kernel: 1}\n"
        "      - conv: {name: b, out: 4, kernel: 1, from: a}\n"
        "  pair:\n    params: [src]\n    layers:\n"
        "      - conv: {name: p, out: 4, kernel: 1}\n"
        "      - conv: {name: q, out: 4, kernel: 1}\n"
        "      - {use: unit, name: u, from: [$src], with: {src: a}}\n"
        "      - {kind: add, from: [u, q]}\n"
        "layers:\n"
        "  - conv: {name: stem, out: 4, kernel: 1}\n"
        "  - conv: {name: x, out: 4, kernel: 1}\n"
        "  - {use: pair, name: pr, from: stem, with: {src: p}}\n"
        "  - {kind: add, from: [pr, x]}\n"
    )
    graph = lower(parse_spec(text, "u.yaml"))
    writer = {node.output: node.path for node in graph.nodes}
    reads = {node.path: [writer.get(t, "input") for t in node.inputs] for node in graph.nodes}
    assert reads["pr.p"] == ["stem"], reads
    assert reads["pr.u.a"] == ["pr.p"], reads
    assert reads["pr.add1"] == ["pr.u.b", "pr.q"], reads
    assert reads["add1"] == ["pr.add1", "x"], reads


GRAPH_FORM_SCHEMA_CASES = [
    (
        "use-site-from",
        "blocks: {u: {layers: [relu]}}\nlayers: [conv: {name: s, out: 2, kernel: 1}, {use: u, from: s}]\n",
        True,
    ),
    ("from-list", "layers: [conv: {name: s, out: 2, kernel: 1}, relu: {from: [s]}]\n", True),
    ("empty-from", "layers: [conv: {name: s, out: 2, kernel: 1}, relu: {from: []}]\n", False),
    ("outputs-twice", "layers: [conv: {name: s, out: 2, kernel: 1}]\noutputs: [s, s]\n", False),
    ("outputs-empty", "layers: [conv: {name: s, out: 2, kernel: 1}]\noutputs: []\n", False),
]


@pytest.mark.parametrize(
    ("body", "loads"), [c[1:] for c in GRAPH_FORM_SCHEMA_CASES], ids=[c[0] for c in GRAPH_FORM_SCHEMA_CASES]
)
def test_the_schema_accepts_the_graph_form_the_loader_accepts(body, loads):
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    from archcalc.errors import SpecError
    from archcalc.schema import spec_schema

    text = f"name: g\ninput: [2, 4, 4]\n{body}"
    try:
        parse_spec(text, "s.yaml")
        loaded = True
    except SpecError:
        loaded = False
    errors = [e.message for e in jsonschema.Draft202012Validator(spec_schema()).iter_errors(yaml.safe_load(text))]
    assert (loaded, errors == []) == (loads, loads), f"loader accepts: {loaded}, schema errors: {errors}"


def test_the_inference_peak_of_a_wide_graph_is_linear_in_its_branches():
    """10,000 branches of one tensor, all live until one concat reads them: the peak is the
    branches and the concat (the input was freed after the last branch), found without scanning
    every live tensor at every step (quadratic: about 10 s here)."""
    import time

    from archcalc.training import inference_peak

    n, elements = 10_000, 2 * 2 * 2
    lines = [f"  - conv: {{name: c{i}, out: 2, kernel: 1, from: x}}\n" for i in range(n)]
    text = _spec("  - conv: {name: x, out: 2, kernel: 1}\n" + "".join(lines), "[2, 2, 2]")
    text += "  - concat: {from: [" + ", ".join(f"c{i}" for i in range(n)) + "]}\n"
    analysis = analyze(parse_spec(text, "wide.yaml"))
    start = time.perf_counter()
    peak = inference_peak(analysis)
    seconds = time.perf_counter() - start
    assert peak == 4 * (n * elements + n * elements), f"peak {peak} bytes, expected {4 * 2 * n * elements}"
    assert seconds < 2.0, f"inference_peak took {seconds:.2f} s for {n:,} branches"


@pytest.mark.parametrize(
    "args",
    [["shapes"], ["compare", str(EXAMPLES / "cross-stage.yaml")], ["report", "--format", "md", "-o"]],
    ids=["shapes", "compare", "report"],
)
def test_every_output_of_a_network_is_shown(runner, tmp_path, args):
    """A network with several outputs shows all of them where it shows "the" output, not only the first."""
    from archcalc.cli import main

    command, rest = args[0], args[1:] + ([str(tmp_path)] if args[0] == "report" else [])
    result = runner.invoke(main, [command, str(EXAMPLES / "fpn.yaml"), *rest], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    shown = result.output + "".join(path.read_text() for path in tmp_path.glob("*.md"))
    assert "32x32x128, 16x16x128, 8x8x128" in shown, shown[-2000:]


def test_the_json_result_lists_every_output():
    from archcalc.analysis_view import spec_dict

    got = spec_dict(analyze(load_spec(str(EXAMPLES / "fpn.yaml"))))
    assert got["output_shapes"] == [[128, 32, 32], [128, 16, 16], [128, 8, 8]], got
    assert got["output_shape"] == got["output_shapes"][0], got


WIDE_MISMATCHES = [  # the odd input: add needs equal shapes, mul broadcastable ones, concat equal spatial sizes
    ("add", "conv: {name: odd, out: 3, kernel: 1, from: x}", "[3, 2, 2]"),
    ("mul", "conv: {name: odd, out: 3, kernel: 1, from: x}", "[3, 2, 2]"),
    ("concat", "maxpool: {name: odd, kernel: 2, from: x}", "[2, 1, 1]"),
]


@pytest.mark.parametrize(("kind", "odd", "shape"), WIDE_MISMATCHES, ids=[c[0] for c in WIDE_MISMATCHES])
def test_a_wide_merge_that_cannot_merge_names_the_odd_input(kind, odd, shape):
    """A merge of 1,000 inputs, the last one unlike the others: the message names it, not a list
    cut off long before it."""
    from archcalc.errors import SpecError

    n = 1000
    lines = "".join(f"  - conv: {{name: c{i}, out: 2, kernel: 1, from: x}}\n" for i in range(n - 1))
    text = _spec("  - conv: {name: x, out: 2, kernel: 1}\n" + lines + f"  - {odd}\n", "[2, 2, 2]")
    text += f"  - {kind}: {{from: [" + ", ".join([*(f"c{i}" for i in range(n - 1)), "odd"]) + "]}\n"
    with pytest.raises(SpecError) as caught:
        analyze(parse_spec(text, "wide.yaml"))
    message = caught.value.message
    assert f"[2, 2, 2] x999 (first at position 1), {shape} x1 (first at position 1,000)" in message, message


def test_the_built_module_drops_a_tensor_after_its_last_reader():
    """The Graph module frees what no later step reads (as nn.Sequential does), so bench measures
    the live peak: conv a's output is gone when c runs (b was its last reader), while x, which the
    final add reads, is still held."""
    torch = pytest.importorskip("torch")
    import weakref

    from archcalc.verify.build import build_model

    text = _spec(
        "  - conv: {name: x, out: 4, kernel: 1}\n  - conv: {name: a, out: 4, kernel: 1}\n"
        "  - conv: {name: b, out: 4, kernel: 1}\n  - conv: {name: c, out: 4, kernel: 1}\n"
        "  - add: {from: [c, x]}\n"
    )
    model = build_model(parse_spec(text, "f.yaml")).eval()
    seen: dict[str, weakref.ref] = {}
    alive: dict[str, bool] = {}
    model.x.register_forward_hook(lambda m, i, o: seen.__setitem__("x", weakref.ref(o)))
    model.a.register_forward_hook(lambda m, i, o: seen.__setitem__("a", weakref.ref(o)))
    model.c.register_forward_pre_hook(lambda m, i: alive.update({k: r() is not None for k, r in seen.items()}))
    with torch.no_grad():
        model(torch.randn(1, 4, 8, 8))
    assert alive == {"x": True, "a": False}, alive


# an unnamed block splices its layers into the level: the siblings after it count on from them
_AFTER_BLOCK = "  - block: {layers: [conv: {out: 4, kernel: 1}, relu]}\n  - conv: {out: 6, kernel: 3, padding: 1}\n"


@pytest.mark.parametrize(
    "layers, tail, expected",
    [
        (_AFTER_BLOCK + "  - relu\n", "outputs: [conv2, relu2]\n", [(6, 8, 8), (6, 8, 8)]),
        (_AFTER_BLOCK + "  - conv: {from: conv2, out: 2, kernel: 1}\n", "", [(2, 8, 8)]),
        (
            "  - block: {name: b, layers: [conv: {out: 4, kernel: 1}, relu]}\n  - conv: {out: 6, kernel: 1}\n  - relu\n",
            "outputs: [b, relu1]\n",
            [(4, 8, 8), (6, 8, 8)],
        ),
        (
            "  - conv: {out: 4, kernel: 1}\n"
            "  - block: {layers: [conv: {out: 4, kernel: 1}, relu, {add: {from: [conv2, relu1]}}]}\n",
            "",
            [(4, 8, 8)],
        ),
    ],
    ids=["outputs-after-unnamed-block", "from-after-unnamed-block", "named-block", "from-inside-unnamed-block"],
)
def test_a_reference_reads_the_row_the_table_shows_under_its_name(layers, tail, expected):
    """`from:` and `outputs:` read a layer by its row's path step, in analysis and in torch alike."""
    import torch

    from archcalc.verify.build import build_model

    spec = parse_spec(_spec(layers, "[3, 8, 8]", tail), "g.yaml")
    analysis = analyze(spec)
    shapes = [analysis.graph.shapes[t] for t in analysis.graph.outputs]
    assert shapes == expected, f"analysis {shapes}, expected {expected}"
    by_path = {row.path: row.out_shape for row in analysis.rows}
    for name in tail.removeprefix("outputs: [").removesuffix("]\n").split(", ") if tail else ():
        shown = by_path.get(name, by_path.get(f"{name}.relu1"))  # a named block's output is its last row's
        assert shown in expected, f"row {name} shows {shown}, outputs {expected}"
    out = build_model(spec).eval()(torch.zeros(1, 3, 8, 8))
    got = [tuple(t.shape[1:]) for t in (out if isinstance(out, tuple | list) else (out,))]
    assert got == expected, f"torch {got}, analysis {expected}"


@pytest.mark.parametrize(
    "layers, tail",
    [
        (
            "  - block: {layers: [conv: {out: 4, kernel: 1}, relu]}\n  - conv: {out: 4, kernel: 1}\n"
            "  - add: {from: [conv1, conv2]}\n",
            "",
        ),
        (
            "  - block: {layers: [conv: {name: x, out: 4, kernel: 1}, relu]}\n  - conv: {out: 4, kernel: 1}\n"
            "  - add: {from: [x, conv2]}\n",
            "",
        ),
        (_AFTER_BLOCK + "  - relu\n", "outputs: [conv1, relu2]\n"),
    ],
    ids=["from-auto-name-inside", "from-written-name-inside", "outputs-inside"],
)
def test_a_reference_into_an_unnamed_block_is_refused_with_where_it_is(layers, tail):
    from archcalc.errors import SpecError

    with pytest.raises(SpecError) as caught:
        parse_spec(_spec(layers, "[3, 8, 8]", tail), "g.yaml")
    text = str(caught.value)
    assert "inside the unnamed block at layers[0]" in text and "name the block" in text, text
