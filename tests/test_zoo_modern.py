"""Golden figures of the zoo, part B (VGG, GoogLeNet, ResNet, Inception, MobileNet, DenseNet,
EfficientNet): every published figure computed by the tool from the bundled spec.

Figures and their sources: shared/reference/published_numbers.md sections 4-8 and the seed notes.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from archcalc import analyze, load_spec
from archcalc.counted import convention_rows, resolve_convention

# (spec, params = weights + biases, MACs of conv + linear at the spec's input)
TOTALS = [
    ("vgg11", 132_863_336, 7_609_090_048),
    ("vgg11-lrn", 132_863_336, 7_609_090_048),
    ("vgg13", 133_047_848, 11_308_466_176),
    ("vgg16-c", 133_638_952, 11_770_888_192),
    ("vgg16", 138_357_544, 15_470_264_320),
    ("vgg19", 143_667_240, 19_632_062_464),
    ("googlenet", 6_998_552, 1_582_671_872),
    ("googlenet-torchvision", 6_624_904, 1_498_376_192),
    ("resnet18", 11_689_512, 1_814_073_344),
    ("resnet34", 21_797_672, 3_663_761_408),
    ("resnet50", 25_557_032, 4_089_184_256),
    ("resnet101", 44_549_160, 7_801_405_440),
    ("resnet152", 60_192_808, 11_513_626_624),
    ("resnet50-v1", 25_557_032, 3_857_973_248),
    ("resnet101-v1", 44_549_160, 7_570_194_432),
    ("resnet152-v1", 60_192_808, 11_282_415_616),
    ("mobilenet-v1", 4_209_088, 568_740_352),
    ("densenet121", 7_978_856, 2_834_161_664),
    ("efficientnet-b0", 5_288_548, 385_814_752),
]


@pytest.mark.parametrize(("name", "params", "macs"), TOTALS, ids=[t[0] for t in TOTALS])
def test_totals(name, params, macs):
    analysis = analyze(load_spec(name))
    got = (analysis.totals.params, analysis.totals.macs)
    assert got == (params, macs), f"{name}: archcalc params/MACs {got}, published {(params, macs)}"
    assert analysis.output_shape in ((1000,),), analysis.output_shape


# VGG Table 2, "number of parameters (in millions)", rounded; and weights only (the CS231n count)
VGG_TABLE2 = [
    ("vgg11", 133, 132_851_392),
    ("vgg11-lrn", 133, 132_851_392),
    ("vgg13", 133, 133_035_712),
    ("vgg16-c", 134, 133_625_536),
    ("vgg16", 138, 138_344_128),
    ("vgg19", 144, 143_652_544),
]


@pytest.mark.parametrize(("name", "millions", "weights"), VGG_TABLE2, ids=[t[0] for t in VGG_TABLE2])
def test_vgg_table2(name, millions, weights):
    totals = analyze(load_spec(name)).totals
    assert round(totals.params / 1e6) == millions, (
        f"{name}: {totals.params:,} rounds to {round(totals.params / 1e6)}M, paper {millions}M"
    )
    assert totals.weights == weights


# ResNet Table 1 "FLOPs" (multiply-adds, Section 3.3), in 10^9, printed with one decimal: the
# paper's v1 (stride on the first 1x1) agrees to the printed digit, sometimes truncated (3.66 -> 3.6,
# 3.86 -> 3.8), sometimes rounded (7.57 -> 7.6, 11.28 -> 11.3).
RESNET_TABLE1 = [
    ("resnet18", "1.8"),
    ("resnet34", "3.6"),
    ("resnet50-v1", "3.8"),
    ("resnet101-v1", "7.6"),
    ("resnet152-v1", "11.3"),
]


@pytest.mark.parametrize(("name", "printed"), RESNET_TABLE1, ids=[t[0] for t in RESNET_TABLE1])
def test_resnet_table1_multiply_adds(name, printed):
    macs = analyze(load_spec(name)).totals.macs
    tenths = Fraction(macs, 10**8)
    assert Fraction(printed) * 10 in (int(tenths), round(tenths)), f"{name}: {macs:,} MACs, paper {printed} x10^9"


def test_resnet_v15_moves_only_compute():
    for depth in (50, 101, 152):
        v15, v1 = analyze(load_spec(f"resnet{depth}")), analyze(load_spec(f"resnet{depth}-v1"))
        assert v15.totals.params == v1.totals.params
        assert v15.totals.macs > v1.totals.macs


# GoogLeNet Table 1 (seed 001): row, output (H, W, C), depth, printed params (K = 1024), printed ops (M)
GOOGLENET_TABLE1 = [
    ("conv1", (112, 112, 64), 1, "2.7", 34),
    ("conv2", (56, 56, 192), 2, "112", 360),
    ("inception3a", (28, 28, 256), 2, "159", 128),
    ("inception3b", (28, 28, 480), 2, "380", 304),
    ("inception4a", (14, 14, 512), 2, "364", 73),
    ("inception4b", (14, 14, 512), 2, "437", 88),
    ("inception4c", (14, 14, 512), 2, "463", 100),
    ("inception4d", (14, 14, 528), 2, "580", 119),
    ("inception4e", (14, 14, 832), 2, "840", 170),
    ("inception5a", (7, 7, 832), 2, "1072", 54),
    ("inception5b", (7, 7, 1024), 2, "1388", 71),
    ("linear", (1000,), 1, "1000", 1),
]

# Rows the printed figures do not reproduce: the exact count, and why.
GOOGLENET_MISMATCH = {
    # 7x7x3x64 weights, 64 x 112 x 112 outputs x 147 MACs; no consistent reading of a 7x7/2 layer
    # of depth 64 gives 2.7K or 34M (the printed row is a known puzzle)
    "conv1": (9_408, 118_013_952),
    # the printed pair is self-consistent (1072K x 7 x 7 = 53.8M), as if computed for other columns
    "inception5a": (1_042_432, 51_079_168),
}
# Params rows off by more than the rounding of a printed K (ops agree): 1-7 % from the recomputation
GOOGLENET_PARAMS_OFF = {
    "inception4a": 375_552,
    "inception4c": 509_440,
    "inception4d": 604_672,
    "inception4e": 867_328,
    "inception5b": 1_442_816,
}


@pytest.fixture(scope="module")
def googlenet_rows():
    analysis = analyze(load_spec("googlenet"))
    convention = resolve_convention("paper", analysis.spec)
    return {row.name: row for row in convention_rows(analysis, convention)}, convention


@pytest.mark.parametrize(
    ("row", "output", "depth", "params_k", "ops_m"), GOOGLENET_TABLE1, ids=[r[0] for r in GOOGLENET_TABLE1]
)
def test_googlenet_table1_row(googlenet_rows, row, output, depth, params_k, ops_m):
    rows, convention = googlenet_rows
    got = rows[row]
    assert (*got.out_shape[1:], got.out_shape[0]) == output if len(output) == 3 else got.out_shape == output
    # the paper's depth counts conv layers in a chain (2 for an inception module); ours counts every conv
    assert got.depth == (6 if row.startswith("inception") else depth)
    in_k = got.params_in_unit(convention)
    if row in GOOGLENET_MISMATCH:
        assert (got.params, got.ops) == GOOGLENET_MISMATCH[row], (
            f"{row}: archcalc {got.params:,} weights / {got.ops:,} MACs"
        )
        assert abs(in_k - Fraction(params_k)) > 1 and abs(Fraction(got.ops, 10**6) - ops_m) > 1
        return
    # ops: the printed million is the recomputation rounded or truncated (4a: 73.6 -> 73)
    millions = Fraction(got.ops, 10**6)
    assert ops_m in (int(millions), round(millions)), f"{row}: {got.ops:,} MACs, paper {ops_m}M"
    if row in GOOGLENET_PARAMS_OFF:
        assert got.params == GOOGLENET_PARAMS_OFF[row]
        assert abs(in_k - Fraction(params_k)) > 1, f"{row} now agrees with the paper: move it out of PARAMS_OFF"
    else:
        assert abs(in_k - Fraction(params_k)) <= 1, f"{row}: {float(in_k):.1f}K, paper {params_k}K"


def test_googlenet_paper_convention_totals(googlenet_rows):
    rows, convention = googlenet_rows
    assert convention.params_include_biases is False and convention.params_unit == 1024
    assert sum(r.params for r in rows.values()) == 6_990_272  # weights only
    assert sum(r.ops for r in rows.values()) == 1_582_671_872  # the "1.5 billion multiply-adds" budget


def test_googlenet_cli_prints_the_paper_column(runner):
    from archcalc.cli import main

    out = runner.invoke(main, ["shapes", "googlenet", "--convention", "paper"], catch_exceptions=False).output
    for text in ("params (K=1024)", "159.5K", "112.0K", "1,000.0K", "128,049,152", "one row per top-level layer"):
        assert text in out, text


# Seeds 000 and 003: (spec, branch or None, weights, MACs)
SEED_EXAMPLES = [
    ("inception-naive", None, 153_600, 120_422_400),  # "120M"
    ("inception-bottleneck", None, 15_872, 12_443_648),  # "12.4M"
    ("separable-3x3x3x5", "standard", 135, None),
    ("separable-3x3x3x5", "separable", 42, None),
    ("separable-5x5x64x128", "standard", 204_800, None),
    ("separable-5x5x64x128", "separable", 9_792, None),
]


@pytest.mark.parametrize(
    ("name", "branch", "weights", "macs"), SEED_EXAMPLES, ids=[f"{n}-{b}" if b else n for n, b, _, _ in SEED_EXAMPLES]
)
def test_seed_examples(name, branch, weights, macs):
    analysis = analyze(load_spec(name))
    rows = [r for r in analysis.rows if branch is None or r.path.startswith(f"compare.{branch}.")]
    assert sum(r.weights for r in rows) == weights
    if macs is not None:
        assert sum(r.macs for r in rows) == macs


def test_mobilenet_separable_ratio():
    # Howard et al. 3.1: separable / standard = 1/N + 1/D_K^2, exactly, per block
    rows = {r.path: r for r in analyze(load_spec("separable-5x5x64x128")).rows}
    standard = rows["compare.standard.conv1"].macs
    separable = rows["compare.separable.depthwise"].macs + rows["compare.separable.pointwise"].macs
    assert Fraction(separable, standard) == Fraction(1, 128) + Fraction(1, 25)


def test_efficientnet_squeeze_excitation_is_elementwise():
    analysis = analyze(load_spec("efficientnet-b0"))
    muls = [r for r in analysis.rows if r.kind == "mul"]
    assert len(muls) == 16  # one SE per MBConv block
    assert all(r.macs == 0 and r.units == r.connections // 2 for r in muls)


def test_list_groups_by_family(runner):
    from archcalc.cli import main

    out = runner.invoke(main, ["list"], catch_exceptions=False).output
    for family in ("vgg", "inception", "resnet", "mobilenet", "densenet", "efficientnet", "depthwise-separable"):
        assert f" {family} " in out, family


def test_every_spec_of_part_b_has_its_metadata():
    for name in {t[0] for t in TOTALS} | {e[0] for e in SEED_EXAMPLES}:
        spec = load_spec(name)
        assert spec.title and spec.source and spec.notes and spec.family != "custom", name
