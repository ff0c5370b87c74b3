"""What writing MobileNet V2/V3 by hand needed (issue 15): `repeat` of 0 copies, the hint to quote an
unquoted `${...}`, min/max/round_to in expressions, a depthwise conv's default `out`, and counts in
the hyper-parameters text printed with separators."""

from __future__ import annotations

from fractions import Fraction

import pytest

from archcalc import SpecError, analyze, explain, parse_spec, receptive_fields
from archcalc.cli import main
from archcalc.template_functions import round_to

from .helpers import spec_text

# ---------------------------------------------------------------------------------------------
# repeat with times 0: the identity

STAGE = """\
name: t
input: [3, 16, 16]
blocks:
  stage:
    params: [n]
    layers:
      - conv: {{out: 4, kernel: 3, padding: 1}}
      - repeat: {{times: "${{n - 1}}", layers: [conv: {{out: 4, kernel: 3, padding: 1}}, relu]}}
layers:
  - use: stage
    with: {{n: {n}}}
  - flatten
"""

# (id, spec with a repeat of 0 copies, the same spec written without it)
ZERO = [
    (
        "literal-top-level",
        spec_text("- conv: {out: 4, kernel: 3}\n- repeat: {times: 0, layers: [maxpool: {kernel: 2}]}\n- relu"),
        spec_text("- conv: {out: 4, kernel: 3}\n- relu"),
    ),
    ("computed-in-a-template", STAGE.format(n=1), STAGE.format(n=1).replace("      - repeat:", "      # - repeat:")),
    (
        "a-parallel-branch",
        spec_text(
            "- conv: {out: 4, kernel: 3}\n"
            "- parallel: {merge: concat, branches: [[repeat: {times: 0, layers: [relu]}], [relu]]}"
        ),
        spec_text("- conv: {out: 4, kernel: 3}\n- parallel: {merge: concat, branches: [[], [relu]]}"),
    ),
    (
        "read-by-name-in-the-graph-form",
        spec_text(
            "- conv: {name: a, out: 4, kernel: 3}\n"
            "- repeat: {name: r, times: 0, layers: [conv: {out: 4, kernel: 1}]}\n"
            "- {kind: add, from: [a, r]}"
        ),
        spec_text("- conv: {name: a, out: 4, kernel: 3}\n- {kind: add, from: [a, a]}"),
    ),
]


def _rows(text: str) -> list[tuple]:
    analysis = analyze(parse_spec(text, "t.yaml"))
    return [(row.path, row.kind, row.out_shape, row.units, row.params, row.macs) for row in analysis.rows]


@pytest.mark.parametrize(("with_zero", "without"), [case[1:] for case in ZERO], ids=[case[0] for case in ZERO])
def test_a_repeat_of_zero_copies_is_the_identity(with_zero, without):
    """No rows, the shape passes through: the rows and the receptive fields are the spec's without it."""
    assert _rows(with_zero) == _rows(without)
    fields = [[(a.size, a.jump) for a in row.axes] for row in receptive_fields(parse_spec(with_zero, "t.yaml"))]
    expected = [[(a.size, a.jump) for a in row.axes] for row in receptive_fields(parse_spec(without, "t.yaml"))]
    assert fields == expected


def test_a_computed_zero_leaves_the_stage_its_first_layer():
    """`times: "${n - 1}"`: for n = 1 the stage is its first conv, for n = 3 two more pairs (an unnamed
    use: site adds no level of its own)."""
    assert [p for p, *_ in _rows(STAGE.format(n=1))] == ["conv1", "flatten1"]
    assert len(_rows(STAGE.format(n=3))) == len(_rows(STAGE.format(n=1))) + 4


@pytest.mark.parametrize("command", ["shapes", "params", "rf", "memory", "roofline", "verify", "export"])
def test_every_command_takes_a_repeat_of_zero(tmp_path, runner, command):
    """The torch builder (verify, export), the training flow (memory) and the rest run it."""
    if command in ("verify", "export"):
        pytest.importorskip("torch")
    path = tmp_path / "zero.yaml"
    path.write_text(ZERO[2][1])
    result = runner.invoke(main, [command, str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output


def test_a_spec_of_only_a_repeat_of_zero_builds_the_identity_in_torch():
    torch = pytest.importorskip("torch")
    from archcalc.verify.build import build_model

    spec = parse_spec(spec_text("- repeat: {times: 0, layers: [conv: {out: 8, kernel: 3}]}", "[3, 5, 5]"), "t.yaml")
    assert analyze(spec).rows == ()
    x = torch.randn(2, 3, 5, 5)
    assert torch.equal(build_model(spec)(x), x)


def test_a_negative_repeat_is_still_refused():
    with pytest.raises(SpecError) as info:
        parse_spec(spec_text("- repeat: {times: -1, layers: [relu]}"), "t.yaml")
    assert info.value.code == "bad_value" and "greater than or equal to 0" in str(info.value), str(info.value)


# ---------------------------------------------------------------------------------------------
# an unquoted ${...}: the YAML error says to quote it

FLOW = "name: t\ninput: [3, 8, 8]\nblocks:\n  x:\n    params: [c]\n    layers: [conv: {out: ${c * 2}, kernel: 1}]\n"


@pytest.mark.parametrize(
    ("text", "line", "hint"),
    [
        (FLOW + "layers:\n  - {use: x, with: {c: 2}}\n", 6, 'quote the expression: write "${c * 2}"'),
        (
            "name: t\ninput: [3, 8, 8]\nlayers:\n  - repeat: {times: ${n - 1}, layers: [relu]}\n",
            4,
            'write "${n - 1}"',
        ),
        # no expression on the line: the general hint
        ("name: t\ninput: [3, 8, 8]\nlayers:\n  - conv: {out: 3, kernel: 1]\n", 4, "check brackets, indentation"),
        # an expression already quoted (the error is the missing `}`) or in a comment: not the cause
        (FLOW.replace("${c * 2}", '"${c * 2}"').replace("1}]", "1]") + "layers: [relu]\n", 6, "check brackets"),
        ("name: t\ninput: [3, 8, 8]\nlayers:\n  - {use: x, with: {c: 4}\n  - relu  # ${x}\n", 5, "check brackets"),
        ("name: t\ninput: [3, 8, 8]\nlayers: [{relu: {}}  # '${x}' \n", 4, "check brackets"),
    ],
    ids=["flow-mapping", "flow-list-at-top", "no-expression", "quoted-expression", "in-a-comment", "comment-quoted"],
)
def test_a_yaml_error_on_an_unquoted_expression_says_to_quote_it(text, line, hint):
    with pytest.raises(SpecError) as info:
        parse_spec(text, "t.yaml")
    error = info.value
    assert error.code == "yaml_syntax" and error.file == "t.yaml" and error.position.line == line, str(error)
    assert error.hint is not None and hint in error.hint, error.hint


def test_an_unquoted_expression_in_block_style_is_text_and_works():
    """Outside `[...]`/`{...}` YAML reads `${c * 2}` as plain text: no quotes needed there."""
    text = (
        "name: t\ninput: [3, 8, 8]\nblocks:\n  x:\n    params: [c]\n    layers:\n      - conv:\n"
        "          out: ${c * 2}\n          kernel: 1\nlayers:\n  - {use: x, with: {c: 3}}\n"
    )
    assert analyze(parse_spec(text, "t.yaml")).output_shape == (6, 8, 8)


# ---------------------------------------------------------------------------------------------
# min, max, round_to and exact division in expressions


def _evaluate(expression: str, **params: int) -> int:
    names = ", ".join(params)
    given = ", ".join(f"{k}: {v}" for k, v in params.items())
    text = (
        f"name: t\ninput: [3, 8, 8]\nblocks:\n  x:\n    params: [{names}]\n"
        f"    layers: [repeat: {{times: '{expression}', layers: [relu]}}]\n"
        f"layers:\n  - {{use: x, with: {{{given}}}}}\n"
    )
    return parse_spec(text, "t.yaml").layers[0].layers[0].times


# (expression, parameters, value): each value worked by hand
VALUES = [
    ("${max(c, 8)}", {"c": 3}, 8),
    ("${min(c, 8)}", {"c": 3}, 3),
    ("${max(min(c, 100), 2 * c - 200)}", {"c": 150}, 100),
    ("${c / 4}", {"c": 96}, 24),  # a whole fraction is an integer
    ("${c * 3 / 4 * 4 / 3}", {"c": 10}, 10),  # exact, where floats would drift
    ("${c // (1 / 2)}", {"c": 5}, 10),
    ("${round_to(c, 8)}", {"c": 37}, 40),  # 37 + 4 = 41, floor to 40
    ("${round_to(c, 8)}", {"c": 3}, 8),  # never under the divisor
    ("${round_to(c, 8, 4)}", {"c": 3}, 0 + 4),  # ... or under the minimum given
    ("${round_to(c, 16)}", {"c": 18}, 32),  # 16 is more than 10% under 18: one divisor more
    ("${round_to(c * 3 / 4, 8)}", {"c": 96}, 72),  # MobileNet V2 at width 0.75
    ("${round_to(c / 4, 8)}", {"c": 240}, 64),  # MobileNet V3's squeeze channels: 60 -> 64
]


@pytest.mark.parametrize(
    ("expression", "params", "value"), VALUES, ids=[f"{e}-{list(p.values())}" for e, p, _ in VALUES]
)
def test_expression_functions(expression, params, value):
    got = _evaluate(expression, **params)
    assert got == value and type(got) is int, (got, value)


# (expression, code, text in the message)
ERRORS = [
    ("${mx(c, 1)}", "bad_expression", "unknown function 'mx'", "did you mean 'max'?"),
    ("${abs(c)}", "bad_expression", "unknown function 'abs'", "the functions are: min(a, b), max(a, b)"),
    ("${max(c)}", "bad_expression", "max takes 2 arguments", "write max(a, b)"),
    ("${round_to(c)}", "bad_expression", "round_to takes 2 or 3 arguments", "round_to(x, multiple)"),
    ("${max(c, b=1)}", "bad_expression", "named arguments (b=) are not allowed", "write max(a, b)"),
    ("${round_to(c, multiple=8)}", "bad_expression", "round_to takes its arguments by position; named", "round_to("),
    ("${max(*c)}", "bad_expression", "max takes 2 arguments, written by position, got 1", "write max(a, b)"),
    ("${round_to(c, 0)}", "bad_expression", "round_to's multiple must be 1 or more, got 0", "write round_to"),
    ("${round_to(c, c / 7)}", "bad_expression", "argument 2 of round_to is 96/7, not an integer", "write round_to"),
    ("${c / 5}", "bad_expression", "is 96/5, not an integer", "round_to(x, 8)"),
    ("${c / 0}", "bad_expression", "division by zero", None),
    ("${os.system(c)}", "bad_expression", "unknown function 'os.system'", None),
    ("${c / 9223372036854775807 / 7}", "bad_value", "numerator and denominator alike", "sizes are at most 2^40"),
    ("${max(c * 9223372036854775807, 1)}", "bad_value", "past the limit", None),
]


@pytest.mark.parametrize(("expression", "code", "message", "hint"), ERRORS, ids=[e[0] for e in ERRORS])
def test_expression_function_errors(expression, code, message, hint):
    with pytest.raises(SpecError) as info:
        _evaluate(expression, c=96)
    error = info.value
    assert error.code == code and message in error.message, str(error)
    assert error.position is not None and error.position.line == 6, str(error)
    if hint is not None:
        assert error.hint is not None and hint in error.hint, error.hint


def _make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """torchvision/models/_utils.py, as written there (floats)."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


@pytest.mark.parametrize("divisor", [1, 3, 4, 8, 16, 32])
def test_round_to_is_torchvisions_make_divisible_on_integers(divisor):
    """On integers torchvision's floats are exact, so the two agree everywhere."""
    for v in range(0, 2049):
        assert round_to(v, divisor) == _make_divisible(v, divisor), (v, divisor)
        assert round_to(v, divisor, 1) == _make_divisible(v, divisor, 1), (v, divisor)


@pytest.mark.parametrize(("numerator", "denominator"), [(1, 4), (1, 2), (3, 4), (5, 4), (1, 1)])
def test_round_to_matches_make_divisible_at_binary_widths(numerator, denominator):
    """MobileNet's width multipliers 0.25 ... 1.25 are exact in binary: c * width agrees too."""
    width = numerator / denominator
    for c in range(1, 1281):
        exact = round_to(Fraction(c * numerator, denominator), 8)
        assert exact == _make_divisible(c * width, 8), (c, width)


def test_round_to_is_exact_where_torchvisions_float_product_rounds():
    """The documented difference: 360 * 0.35 is 125.99999999999999 in floats (126 exactly)."""
    assert 360 * 0.35 != 126 and _make_divisible(360 * 0.35, 4) == 124
    assert round_to(Fraction(360 * 35, 100), 4) == 128 == _make_divisible(126, 4)


# ---------------------------------------------------------------------------------------------
# a depthwise conv's out defaults to its input channels


# (id, a depthwise conv without out, the same with out written)
DEPTHWISE = [
    (
        "after-a-conv",
        "- conv: {out: 6, kernel: 1}\n- conv: {kernel: 3, groups: depthwise}",
        "- conv: {out: 6, kernel: 1}\n- conv: {out: 6, kernel: 3, groups: depthwise}",
    ),
    (
        "bias-per-unit",
        "- conv: {kernel: 3, groups: depthwise, padding: 1, bias: per_unit}",
        "- conv: {kernel: 3, groups: depthwise, padding: 1, bias: per_unit, out: 3}",
    ),
    (
        "transposed",
        "- conv: {out: 6, kernel: 1}\n- conv_transpose: {kernel: 3, stride: 2, groups: depthwise}",
        "- conv: {out: 6, kernel: 1}\n- conv_transpose: {out: 6, kernel: 3, stride: 2, groups: depthwise}",
    ),
]


@pytest.mark.parametrize(("default", "explicit"), [c[1:] for c in DEPTHWISE], ids=[c[0] for c in DEPTHWISE])
def test_a_depthwise_conv_without_out_has_its_input_channels(default, explicit):
    assert _rows(spec_text(default)) == _rows(spec_text(explicit))
    analysis = analyze(parse_spec(spec_text(default), "t.yaml"))
    assert analysis.rows[-1].out_shape[0] == analysis.rows[-1].in_shape[0]
    row = analysis.rows[-1]
    assert row.kind == "conv_transpose" or " dw" in row.summary, row.summary


@pytest.mark.parametrize("layer", [c[1].splitlines()[-1] for c in DEPTHWISE if c[0] != "bias-per-unit"])
def test_a_depthwise_conv_without_out_verifies_in_torch(tmp_path, runner, layer):
    pytest.importorskip("torch")
    path = tmp_path / "dw.yaml"
    path.write_text(spec_text(f"- conv: {{out: 6, kernel: 1}}\n{layer}"))
    result = runner.invoke(main, ["verify", str(path)], catch_exceptions=False)
    assert result.exit_code == 0 and "0 mismatches" in result.output, result.output


@pytest.mark.parametrize(
    ("layer", "code", "message"),
    [
        ("- conv: {kernel: 3}", "missing_field", "missing required field 'out_channels'"),
        ("- conv: {kernel: 3, groups: 3}", "missing_field", "missing required field 'out_channels'"),
        ("- conv: {kernel: 3, out: null}", "bad_value", "only a depthwise conv (groups: depthwise) may leave it out"),
        ("- conv_transpose: {kernel: 3}", "missing_field", "missing required field 'out_channels'"),
        # a bad groups value is the error, not the out it would have made optional
        ("- conv: {kernel: 3, groups: Depthwise}", "bad_value", "'groups' must be a positive integer or 'depthwise'"),
        (
            "- conv_transpose: {kernel: 3, groups: dw}",
            "bad_value",
            "'groups' must be a positive integer or 'depthwise'",
        ),
    ],
    ids=["plain", "grouped", "null", "transposed", "bad-groups", "transposed-bad-groups"],
)
def test_only_a_depthwise_conv_may_leave_out_out(layer, code, message):
    with pytest.raises(SpecError) as info:
        analyze(parse_spec(spec_text(layer), "t.yaml"))
    assert info.value.code == code and message in info.value.message, str(info.value)
    assert info.value.position is not None and info.value.position.line == 4


# ---------------------------------------------------------------------------------------------
# counts in the hyper-parameters text read with separators


def test_connection_table_links_print_with_separators():
    """40 output maps each seeing 30 of 32 input maps: 1,200 links."""
    table = [[(o + i) % 32 for i in range(30)] for o in range(40)]
    text = spec_text(f"- conv: {{out: 32, kernel: 1}}\n- conv: {{out: 40, kernel: 1, table: {table}}}")
    spec = parse_spec(text, "t.yaml")
    row = analyze(spec).rows[-1]
    assert row.summary == "40, 1x1 table 1,200 links", row.summary
    working = [d.formula for d in explain(spec)[-1].derivations]
    assert any(text.startswith("1,200 links x (1 x 1) + 40 = 1,240 parameters") for text in working), working


def test_a_merge_of_many_inputs_prints_them_with_separators():
    branches = ", ".join(["[]"] * 1200)
    row = analyze(parse_spec(spec_text(f"- parallel: {{merge: add, branches: [{branches}]}}"), "t.yaml")).rows[-1]
    assert row.summary == "1,200 branches", row.summary
