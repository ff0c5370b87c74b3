"""Issue 16's kinds split, channel_shuffle, mean, upsample and groupnorm: counts derived by hand,
their closed forms against enumeration, receptive fields, the presets' terms, and export."""

from __future__ import annotations

from fractions import Fraction
from math import floor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archcalc import parse_spec, receptive_fields
from archcalc.cli import main
from archcalc.conventions import PRESETS
from archcalc.errors import SpecError
from archcalc.formulas.reshape import bilinear_edges, chunk_part, chunk_sizes, source_ratio

from .helpers import analyse_text, spec_text

# (id, layers, input, expected (out_shape, units, weights, biases, connections, macs) of the one row),
# each worked out by hand in its comment
HAND = [
    # C=5 in chunks of ceil(5/4) = 2: parts 2, 2, 1 (three, not four); part 2 has 1 channel, a view: no units
    ("split-chunk-fewer-parts", "- split: {chunks: 4, index: 2}", "[5, 3, 3]", ((1, 3, 3), 0, 0, 0, 0, 0)),
    # sections 2 + 4 = 6; part 1 is 4 channels
    ("split-sections", "- split: {sections: [2, 4], index: 1}", "[6, 3, 3]", ((4, 3, 3), 0, 0, 0, 0, 0)),
    # a copy with the shape kept; no neurons, as a concat has none
    ("channel-shuffle", "- channel_shuffle: {groups: 3}", "[6, 2, 2]", ((6, 2, 2), 0, 0, 0, 0, 0)),
    # 6 means over 5 x 7 = 35 positions: 6 units, each reading its 35 inputs = 210 connections
    ("mean-hw", "- mean: {dims: [2, 3]}", "[6, 5, 7]", ((6,), 6, 0, 0, 210, 0)),
    # the mean over H only keeps W: [6, 7], 42 units, every one of the 210 inputs read once
    ("mean-h", "- mean: {dims: [-2]}", "[6, 5, 7]", ((6, 7), 42, 0, 0, 210, 0)),
    # nearest x2 of 4x5: 8x10 per map, 3 x 80 = 240 units, one input each
    ("upsample-nearest", "- upsample: {scale_factor: 2}", "[3, 4, 5]", ((3, 8, 10), 240, 0, 0, 240, 0)),
    # floor(5 x 1.5) = 7: 7 x 7 x 2 = 98 units
    ("upsample-fractional", "- upsample: {scale_factor: 1.5}", "[2, 5, 5]", ((2, 7, 7), 98, 0, 0, 98, 0)),
    # bilinear x2, 4 -> 8: src = (o + 1/2)/2 - 1/2 reaches the last input (3) at o = 7 only, so 7
    # outputs read two inputs and one reads one: 15 pairs; W 5 -> 10: 9 read two, 1 reads one: 19;
    # 15 x 19 = 285 per map, x 3 maps = 855
    (
        "upsample-bilinear",
        "- upsample: {mode: bilinear, scale_factor: 2}",
        "[3, 4, 5]",
        ((3, 8, 10), 240, 0, 0, 855, 0),
    ),
    # aligned corners, 4 -> 7: src = o x 3/6 = o/2 is 3 (the last input) at o = 6 only: 6 x 2 + 1 = 13
    # pairs; one map of one row (H 1 -> 1: a copy, 1 pair): 13
    (
        "upsample-aligned",
        "- upsample: {mode: bilinear, size: [1, 7], align_corners: true}",
        "[1, 1, 4]",
        ((1, 1, 7), 7, 0, 0, 13, 0),
    ),
    # 6 channels in 2 groups: gamma and beta per channel, 6 + 6; 150 outputs
    ("groupnorm", "- groupnorm: {num_groups: 2}", "[6, 5, 5]", ((6, 5, 5), 150, 6, 6, 0, 0)),
    ("groupnorm-noaffine", "- groupnorm: {num_groups: 3, affine: false}", "[6, 4]", ((6, 4), 24, 0, 0, 0, 0)),
]


@pytest.mark.parametrize(("yaml", "shape", "expected"), [c[1:] for c in HAND], ids=[c[0] for c in HAND])
def test_counts_derived_by_hand(yaml, shape, expected):
    row = analyse_text(yaml, shape).rows[0]
    got = (row.out_shape, row.units, row.weights, row.biases, row.connections, row.macs)
    assert got == expected, f"archcalc {got}, by hand {expected}"


# (id, layers, input, preset -> its ops total), the totals worked out by hand from what each tool charges
PRESET_HAND = [
    # fvcore: 1 per output of 2-D nearest (240), 0 for 1-D; ptflops 2 per output; thop 1; torchinfo none
    (
        "nearest",
        "- upsample: {scale_factor: 2}",
        "[3, 4, 5]",
        {"fvcore": 240, "ptflops": 480, "thop": 240, "torchinfo": 0},
    ),
    ("nearest-1d", "- upsample: {scale_factor: 2}", "[3, 4]", {"fvcore": 0, "ptflops": 48, "thop": 24, "torch": 0}),
    # bilinear: fvcore 4 x 240, thop 11 x 240
    ("bilinear", "- upsample: {mode: bilinear, scale_factor: 2}", "[3, 4, 5]", {"fvcore": 960, "thop": 2640}),
    # group norm on 150 values with affine: fvcore 5 x 150; ptflops (1 x 150) x 2; torchinfo its 12 parameters
    (
        "groupnorm",
        "- groupnorm: {num_groups: 2}",
        "[6, 5, 5]",
        {"fvcore": 750, "ptflops": 300, "torchinfo": 12, "thop": 0},
    ),
    ("groupnorm-noaffine", "- groupnorm: {num_groups: 2, affine: false}", "[6, 5, 5]", {"fvcore": 600, "ptflops": 150}),
    # fvcore charges aten::mean nothing, unlike 2-D adaptive average pooling (1 per input element)
    ("mean-vs-pool", "- mean: {dims: [2, 3], keepdim: true}", "[6, 5, 7]", {"fvcore": 0, "ptflops": 0, "thop": 0}),
    ("global-pool", "- global_avgpool", "[6, 5, 7]", {"fvcore": 210}),
    (
        "split-shuffle",
        "- split: {chunks: 2, index: 1}\n- channel_shuffle: {groups: 3}",
        "[6, 5, 5]",
        {"fvcore": 0, "ptflops": 0, "thop": 0, "torchinfo": 0, "torch": 0},
    ),
]


@pytest.mark.parametrize(("yaml", "shape", "totals"), [c[1:] for c in PRESET_HAND], ids=[c[0] for c in PRESET_HAND])
def test_preset_totals_derived_by_hand(yaml, shape, totals):
    rows = analyse_text(yaml, shape).rows
    got = {tool: sum(PRESETS[tool].ops(row) for row in rows) for tool in totals}
    assert got == totals, f"archcalc {got}, by hand {totals}"


@given(st.integers(1, 200), st.integers(1, 200))
def test_chunk_sizes_follow_torch_chunk(channels, chunks):
    """torch.chunk's rule, enumerated: parts of ceil(C/N) until the channels run out."""
    size = -(-channels // chunks)
    parts, left = [], channels
    while left > 0:
        parts.append(min(size, left))
        left -= size
    assert chunk_sizes(channels, chunks) == tuple(parts)
    for index, part in enumerate(parts):
        assert chunk_part(channels, chunks, index) == (part, len(parts))


@given(st.integers(1, 40), st.integers(1, 60), st.booleans(), st.booleans())
def test_bilinear_edges_against_enumeration(size, out, aligned, by_scale):
    """Each output's two source positions (ATen's rule, in exact arithmetic), pairs counted one by one."""
    scale = out / size if by_scale and not aligned else None
    ratio = source_ratio(size, out, scale, aligned)
    pairs = 0
    for o in range(out):
        if size == out:
            pairs += 1
            continue
        src = o * ratio if aligned else max(Fraction(0), (o + Fraction(1, 2)) * ratio - Fraction(1, 2))
        i0 = floor(src)
        pairs += 2 if i0 < size - 1 else 1
    assert bilinear_edges(size, out, ratio, aligned) == pairs


def test_a_chunk_index_past_the_parts_says_how_many_there_are():
    with pytest.raises(SpecError) as error:
        analyse_text("- split: {chunks: 4, index: 3}", "[5, 2, 2]")
    assert "make 3 part(s) (torch.chunk makes 3, not 4, of 5), index 0 to 2" in str(error.value)


@pytest.mark.parametrize(
    ("yaml", "shape", "message"),
    [
        ("- split: {sections: [2, 2], index: 0}", "[5, 2, 2]", "sections [2, 2] sum to 4 channels but the input has 5"),
        ("- split: {chunks: 2, sections: [1, 1], index: 0}", "[2, 2, 2]", "'sections' and `chunks` both say how"),
        ("- split: {index: 0}", "[2, 2, 2]", "'chunks' or `sections` is needed"),
        ("- channel_shuffle: {groups: 4}", "[6, 2, 2]", "channels divisible by groups, but C=6 and groups=4"),
        ("- mean: {dims: [1]}", "[6, 2, 2]", "dim 1 is the channels"),
        ("- mean: {dims: [0]}", "[6, 2, 2]", "dim 0 is the batch"),
        ("- mean: {dims: [-5]}", "[6, 2, 2]", "dim -5 is out of range for a batched input of rank 4"),
        ("- mean: {dims: [3, -1]}", "[6, 2, 2]", "name dimension 3 twice"),
        ("- upsample: {scale_factor: 0.2}", "[1, 4, 4]", "floor(4 x 0.2) = 0: the output would be empty"),
        ("- upsample: {mode: bilinear, scale_factor: 2}", "[1, 4]", "bilinear upsampling needs a [C, H, W] input"),
        ("- upsample: {scale_factor: 2, align_corners: false}", "[1, 4, 4]", "'align_corners' applies to bilinear"),
        ("- upsample: {scale_factor: 2, size: 8}", "[1, 4, 4]", "'size' and `scale_factor` both say the output size"),
        ("- groupnorm: {num_groups: 4}", "[6, 2, 2]", "divisible by num_groups, but C=6 and num_groups=4"),
    ],
    ids=[
        "sections-sum",
        "split-both",
        "split-neither",
        "shuffle-groups",
        "mean-channels",
        "mean-batch",
        "mean-range",
        "mean-twice",
        "upsample-empty",
        "bilinear-rank",
        "nearest-align",
        "upsample-both",
        "groupnorm-groups",
    ],
)
def test_each_bad_layer_gets_one_clear_error(yaml, shape, message):
    with pytest.raises(SpecError) as error:
        analyse_text(yaml, shape)
    assert message in str(error.value), str(error.value)


def _fields(yaml: str, shape: str):
    return receptive_fields(parse_spec(spec_text(yaml, shape), "inline.yaml"))


def test_upsampling_divides_the_jump_by_its_scale():
    """conv 3/2 gives jump 2, field 3; nearest x2 then jump 1, the field widened by (2 - 1)/2 x 2 = 1
    before (a bound: the output pairs share an input); the 3x3 conv after it adds (3 - 1) x 1 = 2."""
    rows = _fields(
        "- conv: {out: 2, kernel: 3, stride: 2}\n- upsample: {scale_factor: 2}\n- conv: {out: 2, kernel: 3}",
        "[1, 17, 17]",
    )
    conv, up, after = (row.axes[0] for row in rows)
    assert (conv.size, conv.jump, conv.start) == (3, 2, 0)
    assert (up.size, up.jump, up.start) == (4, 1, -1) and not rows[1].exact
    assert (after.size, after.jump) == (6, 1)


def test_nearest_downsampling_by_a_whole_ratio_is_exact():
    rows = _fields("- upsample: {size: 4}", "[1, 8, 8]")
    axis = rows[0].axes[0]
    assert (axis.size, axis.jump, axis.start, rows[0].exact) == (1, 2, 0, True)


def test_bilinear_field_holds_both_taps():
    """Bilinear x2: output o reads floor(src) and the next, src = (o + 1/2)/2 - 1/2 (0 where that is
    negative): jump 1/2; the window [src - 1, src + 3/2] is 7/2 wide, starting at -1/4 - 1 = -5/4."""
    axis = _fields("- upsample: {mode: bilinear, scale_factor: 2}", "[1, 8, 8]")[0].axes[0]
    assert (axis.size, axis.jump, axis.start) == (Fraction(7, 2), Fraction(1, 2), Fraction(-5, 4))
    for o in range(16):  # every output's two taps lie in [start + o x jump, start + o x jump + size - 1]
        src = max(Fraction(0), (o + Fraction(1, 2)) / 2 - Fraction(1, 2))
        taps = {floor(src), min(floor(src) + 1, 7)}
        low = axis.start + o * axis.jump
        assert all(low <= t <= low + axis.size - 1 for t in taps), (o, taps, low)


def test_mean_over_one_dimension_ends_its_field():
    """mean over H of [C, 6, 8] then a 1-D conv of 3 over W: W's field is 3; H's has ended."""
    rows = _fields("- conv: {out: 2, kernel: 3}\n- mean: {dims: [2]}\n- conv: {out: 2, kernel: 3}", "[1, 8, 10]")
    assert [len(row.axes) for row in rows] == [2, 1, 1]
    assert rows[2].axes[0].size == 5  # conv 3 then conv 3 along W
    whole = _fields("- mean: {dims: [2, 3]}", "[1, 8, 10]")[0]
    assert all(axis.whole for axis in whole.axes)


def test_kinds_text_gives_each_field(runner):
    for kind, fields in {
        "split": ("chunks", "sections", "index"),
        "upsample": ("mode", "scale_factor", "size", "align_corners"),
        "mean": ("dims", "keepdim"),
    }.items():
        result = runner.invoke(main, ["kinds", kind], env={"COLUMNS": "200"}, catch_exceptions=False)
        assert result.exit_code == 0 and all(f in result.output for f in fields), result.output


SHUFFLE_NET = """
- conv: {out: 8, kernel: 3, padding: 1}
- parallel: {merge: concat, branches: [[split: {chunks: 2, index: 0}], [split: {chunks: 2, index: 1}, conv: {out: 4, kernel: 1}]]}
- channel_shuffle: {groups: 2}
- groupnorm: {num_groups: 4}
- upsample: {mode: bilinear, scale_factor: 2}
- upsample: {size: [20, 18]}
- split: {sections: [3, 5], index: 1}
- mean: {dims: [2, 3]}
"""


def test_export_torch_source_and_onnx_compute_the_built_model(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    np = pytest.importorskip("numpy")
    from onnx.reference import ReferenceEvaluator

    from archcalc.verify.build import build_model, render
    from archcalc.verify.export import write_onnx

    spec = parse_spec(spec_text(SHUFFLE_NET, "[3, 8, 8]"), "inline.yaml")
    torch.manual_seed(0)
    built = build_model(spec).eval()
    source = render(spec)
    namespace: dict = {}
    torch.manual_seed(0)
    exec(compile(source, "exported.py", "exec"), namespace)  # the exported source, as a user runs it
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        want = built(x)
        assert torch.equal(namespace["model"].eval()(x), want)
    path = str(tmp_path / "net.onnx")
    torch.manual_seed(0)
    write_onnx(spec, path)
    (got,) = ReferenceEvaluator(path).run(None, {"input": x.numpy()})
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-4, atol=1e-5)


@given(st.integers(1, 12), st.integers(1, 30), st.sampled_from(["nearest", "bilinear", "aligned"]), st.booleans())
def test_upsample_field_holds_every_tap(size, out, mode, by_scale):
    """Every output's taps (ATen's rule in exact arithmetic) lie in its field, at any size and ratio."""
    aligned = mode == "aligned"
    if by_scale and not aligned:
        scale = out / size
        out = floor(size * scale)
        how = f"scale_factor: [1, {scale!r}]"
    else:
        scale, how = None, f"size: [1, {out}]"
    kind = "nearest" if mode == "nearest" else "bilinear"
    extra = ", align_corners: true" if aligned else ""
    axis = _fields(f"- upsample: {{mode: {kind}, {how}{extra}}}", f"[1, 1, {size}]")[0].axes[1]
    ratio = source_ratio(size, out, scale, aligned)
    for o in range(out):
        if kind == "nearest":
            taps = {o if size == out else min(floor(o * ratio), size - 1)}
        elif size == out:
            taps = {o}
        else:
            src = o * ratio if aligned else max(Fraction(0), (o + Fraction(1, 2)) * ratio - Fraction(1, 2))
            taps = {floor(src), min(floor(src) + 1, size - 1)}
        low = axis.start + o * axis.jump
        assert all(low <= t <= low + axis.size - 1 for t in taps), (o, taps, low, axis)


@pytest.mark.parametrize(
    ("yaml", "shape", "wanted"),
    [
        ("- split: {chunks: 4, index: 2}", "[5, 3, 3]", "chunks of ceil(5/4) = 2 channels, part 2: 1 channels"),
        ("- channel_shuffle: {groups: 3}", "[6, 2, 2]", "6 channels as 3 groups of 2, interleaved"),
        ("- mean: {dims: [2, 3]}", "[6, 5, 7]", "mean over H x W = 35 positions per value -> 6"),
        ("- upsample: {scale_factor: 1.5}", "[2, 5, 5]", "floor(5 x 1.5) = 7"),
        ("- groupnorm: {num_groups: 2}", "[6, 5, 5]", "6 gamma + 6 beta = 12 parameters"),
    ],
    ids=["split", "channel_shuffle", "mean", "upsample", "groupnorm"],
)
def test_explain_writes_the_formula(yaml, shape, wanted):
    from archcalc import explain

    rows = explain(parse_spec(spec_text(yaml, shape), "inline.yaml"))
    text = " | ".join(d.formula for row in rows for d in row.derivations)
    assert wanted in text, text


@settings(deadline=None)  # the first example imports torch
@given(st.integers(1, 40), st.sampled_from([0.3, 0.5, 0.75, 1.0, 1.1, 4 / 3, 1.5, 2.0, 2.5, 3.0, 0.29, 1.7]))
def test_output_size_follows_torch_interpolate(size, scale):
    """floor(size x scale) in double precision, as torch's interpolate computes it."""
    torch = pytest.importorskip("torch")
    from torch.nn.functional import interpolate

    from archcalc.formulas.reshape import resized

    if resized(size, scale) < 1:
        return  # torch refuses an empty output; archcalc too (test_each_bad_layer_gets_one_clear_error)
    got = interpolate(torch.zeros(1, 1, size), scale_factor=scale, mode="nearest").shape[-1]
    assert resized(size, scale) == got, (size, scale, got)


@pytest.mark.parametrize("scale", ["0", "-2", ".nan", ".inf", "2.0e+12", "[2, 0]"], ids=str)
def test_a_scale_outside_its_range_is_refused_at_the_door(scale):
    """A scale is a finite number in (0, 2^40]: the output size floor(input x scale) stays a number."""
    with pytest.raises(SpecError) as caught:
        parse_spec(spec_text(f"- upsample: {{scale_factor: {scale}}}", "[1, 4, 4]"), "f.yaml")
    assert caught.value.code == "bad_value" and caught.value.position.line == 4, str(caught.value)
    assert "scale_factor" in str(caught.value), str(caught.value)
