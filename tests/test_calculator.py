"""`archcalc conv`: the seeds' worked examples, torch as the oracle for sizes and counts, the solvers
against brute force, and every bad command line."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from archcalc import arith, calculator, conv_arithmetic, conv_output, solve_conv, transposed_output
from archcalc.cli import main
from archcalc.errors import LayerError, SpecError

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _run(runner, *args):
    return runner.invoke(main, ["conv", *args], catch_exceptions=False)


# (id, CLI arguments, texts the output must contain)
CLI_CASES = [
    ("alexnet-conv1", "--input 227 --kernel 11 --stride 4 --padding 0", ["output: 55", "(227 - 11 + 2*0)/4 + 1 = 55"]),
    (
        "seed001-valid",
        "--input 13 --kernel 6 --stride 5 --padding valid",
        [
            "output: 2",
            "floor((13 - 6 + 2*0)/5) + 1 = 2",
            "not divisible by the stride 5 (remainder 2)",
            "input positions 12-13 (1-based; 2 of 13) are never covered",
        ],
    ),
    (
        "seed001-same",
        "--input 13 --kernel 6 --stride 5 --padding same",
        [
            "output: 3",
            "SAME pads 3 = 1 before + 2 after",
            "nn.ConstantPad1d((1, 2), 0) then nn.Conv1d",
            "symmetric padding=2 gives the same size",
        ],
    ),
    (
        "same-stride1-symmetric",
        "--input 32x32 --kernel 3 --padding same",
        ["output: 32x32", "padding=1", "padding='same'"],
    ),
    (
        "per-side-2d",
        "--input 8x8 --kernel 3 --padding 0,2x1,0",
        ["H: (8 - 3 + 0 + 2)/1 + 1 = 8", "nn.ZeroPad2d((1, 0, 0, 2))"],
    ),
    ("dilation", "--input 32 --kernel 3 --dilation 2", ["(32 - (2*(3 - 1) + 1) + 2*0)/1 + 1 = 28", "dilation=2"]),
    ("kernel-3x5", "--input 227x227 --kernel 3x5 --stride 2", ["output: 113x112", "W: (227 - 5 + 2*0)/2 + 1 = 112"]),
    ("3d", "--input 16x112x112 --kernel 3 --padding 1", ["output: 16x112x112", "nn.Conv3d"]),
    ("gaps-1x1-stride3", "--input 7 --kernel 1 --stride 3", ["input positions 2-3, 5-6"]),
    (
        "pool-ceil",
        "--input 14 --kernel 3 --stride 2 --pool --ceil",
        ["pooling output: 7", "ceil((14 - 3 + 2*0)/2) + 1 = 7", "ceil_mode=True"],
    ),
    (
        "pool-ceil-dropped-window",
        "--input 5 --kernel 2 --stride 2 --padding 1 --pool --ceil",
        ["ceil((5 - 2 + 2*1)/2) + 1 - 1 = 3"],
    ),
    (
        "transposed",
        "--input 4 --kernel 3 --stride 2 --padding 1 --transposed --output-padding 1",
        ["output: 8", "(4 - 1)*2 - 2*1 + (3 - 1) + 1 + 1 = 8", "maps every input size from 7 to 8 to 4"],
    ),
    (
        "channels",
        "--input 227x227 --kernel 11 --stride 4 --channels 3,96",
        [
            "96 x (3 x 11 x 11) + 96 = 34,944 parameters",
            "55 x 55 x 96 outputs x (3 x 11 x 11) = 105,415,200 MACs",
            "FLOPs (2 per MAC): 210,830,400",
        ],
    ),
    (
        "groups",
        "--input 27x27 --kernel 5 --padding 2 --channels 96,256 --groups 2 --no-bias",
        ["256 x (48 x 5 x 5) = 307,200 parameters", "groups=2", "bias=False"],
    ),
    (
        "solve-padding",
        "--input 224 --kernel 11 --stride 4 --output 55",
        [
            "padding giving output 55 from input 224: 2 solutions",
            "padding 2: floor((224 - 11 + 2*2)/4) + 1 = 55",
            "padding 3",
        ],
    ),
    ("solve-padding-odd", "--input 10 --kernel 4 --output 10", ["padding 1,2 (any split summing to 3)"]),
    (
        "solve-stride-none",
        "--input 10 --kernel 3 --padding 0 --output 5",
        ["none; 5 is skipped: stride 1 gives 8, stride 2 gives 4"],
    ),
    ("solve-stride-open", "--input 32 --kernel 3 --padding 1 --output 1", ["and every stride from 32 upward"]),
    (
        "solve-kernel",
        "--input 32 --stride 2 --padding 1 --output 16",
        ["kernel 3", "kernel 4: (32 - 4 + 2*1)/2 + 1 = 16"],
    ),
    (
        "solve-padding-too-small",
        "--input 32 --kernel 3 --output 16",
        ["none; the smallest output any padding gives is 30 (padding 0)"],
    ),
    (
        "solve-transposed",
        "--input 4 --kernel 3 --stride 2 --transposed --output 8",
        ["padding 1, output_padding 1: (4 - 1)*2 - 2*1 + (3 - 1) + 1 + 1 = 8"],
    ),
]


@pytest.mark.parametrize(("args", "texts"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_conv_command(runner, args, texts):
    result = _run(runner, *args.split())
    unanswered = any(text.startswith("none") for text in texts)  # a question with no answer: a finding
    assert result.exit_code == (1 if unanswered else 0), result.output
    for text in texts:
        assert text in result.output, f"missing {text!r} in:\n{result.output}"


BAD_CASES = [
    ("no-input", "--kernel 3", "Missing option '--input'"),
    ("bad-size", "--input 22a --kernel 3", "expected sizes like 227"),
    ("zero-size", "--input 0 --kernel 3", "positive integers"),
    ("no-kernel", "--input 32", "--kernel is required"),
    ("bad-padding", "--input 32 --kernel 3 --padding 1,2,3", "expected same, valid, N, L,R"),
    ("kernel-too-large", "--input 5 --kernel 7", "kernel spans 7 positions but the padded input has only 5"),
    ("rank-mismatch", "--input 32x32 --kernel 3x3x3", "kernel has 3 values but the input has 2"),
    ("ceil-without-pool", "--input 32 --kernel 3 --ceil", "--ceil applies to pooling only"),
    ("op-without-transposed", "--input 32 --kernel 3 --output-padding 1", "add --transposed"),
    (
        "output-padding-too-big",
        "--input 4 --kernel 3 --stride 2 --transposed --output-padding 2",
        "output_padding 2 must be smaller than the stride",
    ),
    ("groups-mismatch", "--input 8 --kernel 3 --channels 3,8 --groups 2", "groups=2 does not divide in_channels=3"),
    ("groups-without-channels", "--input 8 --kernel 3 --groups 2", "--groups needs --channels"),
    ("pool-padding", "--input 8 --kernel 2 --padding 2 --pool", "exceeds half the kernel"),
    ("channels-pool", "--input 8 --kernel 2 --pool --channels 3,3", "pooling has no weights"),
    ("bad-channels", "--input 8 --kernel 2 --channels 3", "expected IN,OUT"),
    ("two-unknowns", "--input 32 --stride 2 --output 16", "leave out exactly one"),
    ("same-transposed", "--input 8 --kernel 3 --transposed --padding same", "takes padding as a number"),
    ("solve-same", "--input 8 --padding same --stride 2 --output 4", "padding 'same' fixes the output size"),
]


@pytest.mark.parametrize(("args", "message"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_bad_command_line_exits_2_with_one_message(runner, args, message):
    result = _run(runner, *args.split())
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_json_output(runner):
    result = _run(runner, "--input", "227x227", "--kernel", "11", "--stride", "4", "--channels", "3,96", "--json")
    data = json.loads(result.stdout)
    assert data["output"] == [55, 55] and data["dims"][0]["formula"] == "(227 - 11 + 2*0)/4 + 1 = 55"
    assert data["cost"]["params"] == 96 * (3 * 11 * 11) + 96 and data["cost"]["flops"] == 2 * data["cost"]["macs"]
    solved = json.loads(
        _run(runner, "--input", "224", "--kernel", "11", "--stride", "4", "--output", "55", "--json").stdout
    )
    assert solved["unknown"] == "padding"
    assert [s["padding"] for s in solved["dimensions"][0]["solutions"]] == [[2, 2], [3, 3]]
    bad = _run(runner, "--input", "5", "--kernel", "7", "--json")
    assert bad.exit_code == 2 and json.loads(bad.stdout)["error"]["code"] == "kernel_too_large"


# ---------------------------------------------------------------------------------------------
# torch as the oracle


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(1, 30), kernel=st.integers(1, 6), stride=st.integers(1, 4), dilation=st.integers(1, 3))
def test_same_padding_matches_tensorflow_and_the_torch_recipe(size, kernel, stride, dilation):
    """TF SAME: output ceil(W/S); the suggested F.pad split then a padding=0 conv gives it in torch."""
    result = conv_arithmetic(size, kernel, stride, "same", dilation)
    dim = result.dims[0]
    assert dim.output == -(-size // stride)
    x = F.pad(torch.ones(1, 1, size), dim.same_split)
    y = F.conv1d(x, torch.ones(1, 1, kernel), stride=stride, dilation=dilation)
    assert y.shape[-1] == dim.output, f"archcalc {dim.output}, torch {y.shape[-1]}"


@settings(max_examples=120, deadline=None)
@given(
    size=st.integers(1, 12),
    kernel=st.integers(1, 5),
    stride=st.integers(1, 4),
    padding=st.integers(0, 3),
    dilation=st.integers(1, 3),
    data=st.data(),
)
def test_transposed_size_and_its_forward_conv(size, kernel, stride, padding, dilation, data):
    output_padding = data.draw(st.integers(0, max(stride, dilation) - 1))
    try:
        ours = transposed_output(size, kernel, stride, padding, output_padding, dilation)
    except SpecError:
        assume(False)
    x = torch.ones(1, 1, size)
    y = F.conv_transpose1d(
        x, torch.ones(1, 1, kernel), stride=stride, padding=padding, output_padding=output_padding, dilation=dilation
    )
    assert y.shape[-1] == ours, f"archcalc {ours}, torch {y.shape[-1]}"
    first, last = arith.forward_inputs(size, kernel, stride, padding, dilation)
    for n in range(max(first, 1), last + 1):  # every forward input in the ambiguous range maps back to `size`
        back = F.conv1d(
            torch.ones(1, 1, n), torch.ones(1, 1, kernel), stride=stride, padding=padding, dilation=dilation
        )
        assert back.shape[-1] == size, f"forward conv of {n}: torch {back.shape[-1]}, expected {size}"


def _brute_runs(size, out, kernel, stride, pad, dilation):
    """The old enumeration, kept as the oracle: mark every tap, then collect 1-based runs."""
    covered = bytearray(size)
    for o in range(out):
        for tap in range(kernel):
            pos = o * stride - pad + tap * dilation
            if 0 <= pos < size:
                covered[pos] = 1
    runs: list[tuple[int, int]] = []
    for pos, hit in enumerate(covered):
        if not hit:
            if runs and runs[-1][1] == pos:
                runs[-1] = (runs[-1][0], pos + 1)
            else:
                runs.append((pos + 1, pos + 1))
    return runs


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(1, 60),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 9),
    pad=st.integers(0, 4),
    dilation=st.integers(1, 5),
    listed=st.integers(0, 4),
)
def test_uncovered_positions_match_brute_force(size, kernel, stride, pad, dilation, listed):
    try:
        out = arith.window_output_size(size, kernel, stride, pad, pad, dilation)
    except LayerError:
        assume(False)
    expected = _brute_runs(size, out, kernel, stride, pad, dilation)
    every = arith.uncovered_positions(size, out, kernel, stride, pad, dilation, runs=size)
    assert list(every.runs) == expected, f"archcalc {every.runs}, enumeration {expected}"
    total = sum(b - a + 1 for a, b in expected)
    assert (every.total, every.more, every.drops_last) == (total, False, any(b == size for _, b in expected)), every
    first = arith.uncovered_positions(size, out, kernel, stride, pad, dilation, runs=listed)
    assert (list(first.runs), first.more, first.total) == (expected[:listed], len(expected) > listed, total), first


@pytest.mark.parametrize(
    ("args", "module"),
    [
        (
            dict(input=(13, 15), kernel=(3, 5), stride=2, padding=1, channels=(6, 8), groups=2),
            lambda: torch.nn.Conv2d(6, 8, (3, 5), stride=2, padding=1, groups=2),
        ),
        (
            dict(input=9, kernel=3, stride=2, padding=1, op="conv_transpose", output_padding=1, channels=(4, 6)),
            lambda: torch.nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1),
        ),
        (
            dict(input=(5, 6, 7), kernel=3, dilation=2, padding=2, channels=(2, 3), bias=False),
            lambda: torch.nn.Conv3d(2, 3, 3, dilation=2, padding=2, bias=False),
        ),
    ],
    ids=["conv2d-groups", "conv-transpose1d", "conv3d-dilated"],
)
def test_layer_cost_matches_torch(args, module):
    from torch.utils.flop_counter import FlopCounterMode

    result = conv_arithmetic(**args)
    layer = module()
    x = torch.randn(1, args["channels"][0], *(args["input"] if isinstance(args["input"], tuple) else (args["input"],)))
    with FlopCounterMode(display=False) as counter:
        y = layer(x)
    assert result.output == tuple(y.shape[2:]), f"archcalc {result.output}, torch {tuple(y.shape[2:])}"
    params = sum(p.numel() for p in layer.parameters())
    assert result.cost.params == params, f"params: archcalc {result.cost.params}, torch {params}"
    assert result.cost.macs == counter.get_total_flops() // 2


# ---------------------------------------------------------------------------------------------
# solvers: every listed solution is right, and none is missed (brute force over a wide range)


def _forward(unknown, value, size, kernel, stride, pad, dilation, ceil_mode, pool):
    k = value if unknown == "kernel" else kernel
    s = value if unknown == "stride" else stride
    before, after = (value // 2, value - value // 2) if unknown == "padding" else (pad, pad)
    if pool and max(before, after) > arith.effective_kernel(k, dilation) // 2:
        return None
    try:
        return arith.window_output_size(size, k, s, before, after, dilation, ceil_mode)
    except LayerError:
        return None


def _every_solution(result):
    """The listed solutions, with the run between the last two filled in when only some are listed."""
    listed = list(result.solutions)
    assert len(listed) == min(result.count, calculator.SOLUTIONS_LISTED), (len(listed), result.count)
    if result.count <= len(listed):
        return listed
    key = {"padding": lambda s: s.padding[0], "stride": lambda s: s.stride, "kernel": lambda s: s.kernel}[
        result.unknown
    ]
    between = range(key(listed[-2]) + 1, key(listed[-1]))
    assert len(listed) + len(between) == result.count, (listed, result.count)
    return [*(key(s) for s in listed[:-1]), *between, key(listed[-1])]


@settings(max_examples=300, deadline=None)
@given(
    unknown=st.sampled_from(["padding", "stride", "kernel"]),
    size=st.integers(1, 120),
    target=st.integers(1, 45),
    kernel=st.integers(1, 9),
    stride=st.integers(1, 40),
    pad=st.integers(0, 5),
    dilation=st.integers(1, 4),
    pool=st.booleans(),
    ceil_mode=st.booleans(),
)
def test_solver_finds_exactly_the_brute_force_solutions(
    unknown, size, target, kernel, stride, pad, dilation, pool, ceil_mode
):
    """Binary searches over monotone formulas against trying every value (the old enumeration)."""
    ceil_mode = ceil_mode and pool
    known = {"kernel": kernel, "stride": stride, "padding": pad}
    known[unknown] = None
    (result,) = solve_conv(
        unknown, size, target, dilation=dilation, op="pool" if pool else "conv", ceil_mode=ceil_mode, **known
    )
    limit = 3 * (size + 2 * target * 40 + 20)
    brute = [
        v
        for v in range(0 if unknown == "padding" else 1, limit)
        if _forward(unknown, v, size, kernel, stride, pad, dilation, ceil_mode, pool) == target
    ]
    every = _every_solution(result)
    key = {"padding": lambda s: s.padding, "stride": lambda s: s.stride, "kernel": lambda s: s.kernel}[unknown]
    found = [key(s) if not isinstance(s, int) else s for s in every]
    if unknown == "padding":
        symmetric = [v // 2 for v in brute if v % 2 == 0]
        if symmetric:
            assert [p if isinstance(p, int) else p[0] for p in found] == symmetric
            assert all(isinstance(p, int) or p[0] == p[1] for p in found)
        else:
            assert found == [(v // 2, v - v // 2) for v in brute]
    else:
        if result.open_from is not None:
            assert all(v in brute for v in range(result.open_from, limit))
            brute = [v for v in brute if v <= result.open_from]
        assert found == brute, f"archcalc {found}, enumeration {brute}"
    assert (result.reason is None) == bool(result.solutions)


@settings(max_examples=300, deadline=None)
@given(
    unknown=st.sampled_from(["padding", "stride", "kernel"]),
    size=st.integers(1, 30),
    target=st.integers(1, 80),
    kernel=st.integers(1, 9),
    stride=st.integers(1, 8),
    pad=st.integers(0, 5),
    dilation=st.integers(1, 4),
    output_padding=st.one_of(st.none(), st.integers(0, 5)),
)
def test_transposed_solver_finds_exactly_the_brute_force_solutions(
    unknown, size, target, kernel, stride, pad, dilation, output_padding
):
    known = {"kernel": kernel, "stride": stride, "padding": pad}
    known[unknown] = None
    (result,) = solve_conv(
        unknown, size, target, dilation=dilation, op="conv_transpose", output_padding=output_padding, **known
    )
    brute = []  # every (value, output_padding) giving the target, the first output_padding per value
    for v in range(0 if unknown == "padding" else 1, size * stride + dilation * kernel + 2 * target + 50):
        k, s, p = (v if unknown == name else known[name] for name in ("kernel", "stride", "padding"))
        for op in [output_padding] if output_padding is not None else range(max(s, dilation)):
            try:
                if arith.transposed_output_size(size, k, s, p, op, dilation) == target:
                    brute.append((v, op))
                    break
            except LayerError:
                pass
    every = _every_solution(result)
    values = [
        s if isinstance(s, int) else {"padding": s.padding[0], "stride": s.stride, "kernel": s.kernel}[unknown]
        for s in every
    ]
    if result.open_from is not None:
        brute = [b for b in brute if b[0] <= result.open_from]
    assert values == [v for v, _ in brute], f"archcalc {values}, enumeration {brute}"
    for sol in result.solutions:  # each listed one, its output_padding included, gives the target
        assert (
            arith.transposed_output_size(size, sol.kernel, sol.stride, sol.padding[0], sol.output_padding, dilation)
            == target
        )


def test_conv_output_notebook_form():
    assert conv_output(227, 11, stride=4) == 55
    assert conv_output((227, 227), (11, 11), stride=4) == (55, 55)
    assert conv_output(14, 3, stride=2, ceil_mode=True) == -(-(14 - 3) // 2) + 1  # ceil((14 - 3)/2) + 1 = 7


@pytest.mark.parametrize(
    ("args", "exit_code"),
    [
        (["--input", "224", "--kernel", "3", "--output", "100"], 1),  # no padding gives 100
        (["--input", "224x224", "--kernel", "3", "--output", "100x222"], 1),  # one dimension has none
        (["--input", "224", "--kernel", "3", "--output", "100", "--json"], 1),
        (["--input", "224", "--kernel", "11", "--stride", "4", "--output", "55"], 0),
        (["--input", "224", "--padding", "0", "--stride", "1", "--output", "222"], 0),
    ],
    ids=["no-padding", "one-dimension-of-two", "json", "answered", "kernel-answered"],
)
def test_a_question_with_no_answer_is_a_finding(runner, args, exit_code):
    """`conv --output` with no solution exits 1 (a finding), with the reason; an answer exits 0."""
    result = runner.invoke(main, ["conv", *args], catch_exceptions=False)
    assert result.exit_code == exit_code, f"exit {result.exit_code}, expected {exit_code}: {result.output}"
    if exit_code == 1 and "--json" not in args:
        assert "none" in result.output, result.output
