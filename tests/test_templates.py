"""Reusable parametrised blocks (`blocks:` / `use:`): expansion, torch as the oracle, bad input."""

from __future__ import annotations

import pytest

from archcalc import SpecError, analyze, parse_spec
from archcalc.cli import main

INCEPTION = """\
name: t
input: [16, 12, 12]
blocks:
  inception:
    params: [c1, c3r, c3, c5r, c5, pp]
    layers:
      - parallel:
          merge: concat
          branches:
            - [conv: {out: $c1, kernel: 1}, relu]
            - [conv: {out: $c3r, kernel: 1}, relu, conv: {out: $c3, kernel: 3, padding: 1}, relu]
            - [conv: {out: $c5r, kernel: 1}, relu, conv: {out: $c5, kernel: 5, padding: 2}, relu]
            - [maxpool: {kernel: 3, stride: 1, padding: 1}, conv: {out: $pp, kernel: 1}, relu]
  stage:
    params: [w, n, {stride: 2}]
    layers:
      - conv: {out: "${2 * w}", kernel: 3, stride: $stride, padding: "${(3 - 1) // 2}"}
      - repeat: {times: "${n - 1}", layers: [conv: {out: "${2 * w}", kernel: 1}]}
layers:
  - {use: inception, name: a, with: {c1: 4, c3r: 3, c3: 5, c5r: 2, c5: 3, pp: 4}}
  - use: inception
    with: {c1: 2, c3r: 2, c3: 2, c5r: 2, c5: 2, pp: 2}
  - use: stage
    with: {w: 4, n: 3}
"""


def _inception(nn, torch, c_in, c1, c3r, c3, c5r, c5, pp):
    class Inception(nn.Module):
        def __init__(self):
            super().__init__()
            self.b = nn.ModuleList(
                [
                    nn.Sequential(nn.Conv2d(c_in, c1, 1), nn.ReLU()),
                    nn.Sequential(nn.Conv2d(c_in, c3r, 1), nn.ReLU(), nn.Conv2d(c3r, c3, 3, padding=1), nn.ReLU()),
                    nn.Sequential(nn.Conv2d(c_in, c5r, 1), nn.ReLU(), nn.Conv2d(c5r, c5, 5, padding=2), nn.ReLU()),
                    nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(c_in, pp, 1), nn.ReLU()),
                ]
            )

        def forward(self, x):
            return torch.cat([b(x) for b in self.b], 1)

    return Inception()


def test_template_expands_and_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    nn = torch.nn
    analysis = analyze(parse_spec(INCEPTION, "inline.yaml"))
    module = nn.Sequential(
        _inception(nn, torch, 16, 4, 3, 5, 2, 3, 4),
        _inception(nn, torch, 16, 2, 2, 2, 2, 2, 2),
        nn.Conv2d(8, 8, 3, stride=2, padding=1),
        nn.Conv2d(8, 8, 1),
        nn.Conv2d(8, 8, 1),
    ).eval()
    x = torch.randn(1, 16, 12, 12)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        y = module(x)
    assert analysis.output_shape == tuple(y.shape[1:])
    assert analysis.totals.params == sum(p.numel() for p in module.parameters())
    assert analysis.totals.macs == counter.get_total_flops() // 2
    paths = [r.path for r in analysis.rows]
    # a named site is a level (a.); unnamed sites and the parallel and repeat in them add none
    assert paths[0] == "a.b1.conv1" and paths[14] == "b1.conv1" and "concat" in paths
    assert paths[-3:] == ["conv1", "0.conv1", "1.conv1"]


def test_unused_parameters_take_defaults_and_expressions_are_integers():
    spec = parse_spec(INCEPTION, "inline.yaml")
    stage = spec.layers[2]
    assert stage.kind == "block" and stage.name is None  # an unnamed use: site: no level of its own
    conv = stage.layers[0]
    assert (conv.out_channels, conv.stride, conv.padding) == (8, (2,), ((1, 1),))
    assert stage.layers[1].times == 2


HEAD = "name: t\ninput: [3, 16, 16]\nblocks:\n  cb:\n    params: [c, {k: 3}]\n    layers:\n      - conv: {out: $c, kernel: $k, padding: 1}\n      - relu\n"
LOOP = "  a:\n    params: [c]\n    layers: [{use: b, with: {c: $c}}]\n  b:\n    params: [c]\n    layers: [{use: a, with: {c: $c}}]\n"
SELF = "  me:\n    layers: [use: me]\n"

# (id, file, code, line, text in the message)
BAD = [
    ("missing-parameter", HEAD + "layers:\n  - use: cb\n", "missing_parameter", 10, "block 'cb' needs parameter 'c'"),
    (
        "unknown-parameter",
        HEAD + "layers:\n  - use: cb\n    with: {c: 4, kk: 5}\n",
        "unknown_parameter",
        11,
        "block 'cb' has no parameter 'kk'",
    ),
    ("unknown-block", HEAD + "layers:\n  - use: cbb\n", "unknown_block", 10, "did you mean 'cb'"),
    (
        "recursive-indirect",
        HEAD + LOOP + "layers:\n  - use: a\n    with: {c: 4}\n",
        "recursive_block",
        14,
        "block 'a' uses itself (a -> b -> a)",
    ),
    (
        "recursive-direct",
        HEAD + SELF + "layers:\n  - use: me\n",
        "recursive_block",
        10,
        "block 'me' uses itself (me -> me)",
    ),
    (
        "undeclared-reference",
        "name: t\ninput: [3, 8, 8]\nblocks:\n  x:\n    params: [c]\n    layers: [conv: {out: $cc, kernel: 1}]\n"
        "layers:\n  - {use: x, with: {c: 2}}\n",
        "unknown_parameter",
        6,
        "`$cc` is not a parameter of block 'x'",
    ),
    (
        "bad-value-points-at-use-site",
        HEAD + "layers:\n  - use: cb\n    with: {c: 0}\n",
        "bad_value",
        11,
        "value of `$c`",
    ),
    (
        "layer-error-inside-block",
        HEAD + "layers:\n  - use: cb\n    with: {c: 4, k: 40}\n",
        "kernel_too_large",
        11,
        "in block 'cb' (line 4), used at line 10",
    ),
    (
        "bad-expression",
        "name: t\ninput: [3, 8, 8]\nblocks:\n  x:\n    params: [c]\n    layers: [conv: {out: '${c ** 2}', kernel: 1}]\n"
        "layers:\n  - {use: x, with: {c: 2}}\n",
        "bad_expression",
        6,
        "cannot evaluate",
    ),
    (
        "division-by-zero",
        "name: t\ninput: [3, 8, 8]\nblocks:\n  x:\n    params: [c]\n    layers: [conv: {out: '${4 // c}', kernel: 1}]\n"
        "layers:\n  - {use: x, with: {c: 0}}\n",
        "bad_expression",
        6,
        "division by zero",
    ),
    ("with-not-mapping", HEAD + "layers:\n  - use: cb\n    with: 3\n", "wrong_type", 11, "`with:` takes a mapping"),
    (
        "unknown-use-field",
        HEAD + "layers:\n  - use: cb\n    wiht: {c: 3}\n",
        "unknown_field",
        11,
        "did you mean 'with'",
    ),
    (
        "block-without-layers",
        "name: t\ninput: [3, 8, 8]\nblocks:\n  x:\n    params: [c]\nlayers:\n  - relu\n",
        "missing_field",
        4,
        "block 'x' needs a non-empty list of `layers`",
    ),
    (
        "bad-param-name",
        "name: t\ninput: [3, 8, 8]\nblocks:\n  x:\n    params: [2c]\n    layers: [relu]\nlayers:\n  - relu\n",
        "bad_value",
        5,
        "must be a name",
    ),
    (
        "blocks-not-mapping",
        "name: t\ninput: [3, 8, 8]\nblocks: [x]\nlayers:\n  - relu\n",
        "wrong_type",
        3,
        "`blocks:` takes a mapping",
    ),
]


@pytest.mark.parametrize(("text", "code", "line", "snippet"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_template(tmp_path, runner, text, code, line, snippet):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = runner.invoke(main, ["shapes", str(path)], catch_exceptions=False)
    message = result.stderr if hasattr(result, "stderr") else result.output
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"error[{code}]" in message, message
    assert f"{path}:{line}:" in message, message
    assert snippet in message, message


def test_template_bomb_is_stopped(monkeypatch):
    from archcalc import templates

    monkeypatch.setattr(templates, "MAX_NODES", 20_000)  # the same check, reached sooner
    blocks = "".join(
        f"  b{i}:\n    layers: [{{use: b{i + 1}}}, {{use: b{i + 1}}}, {{use: b{i + 1}}}, {{use: b{i + 1}}}]\n"
        for i in range(12)
    )
    text = f"name: t\ninput: [3, 8, 8]\nblocks:\n{blocks}  b12:\n    layers: [relu]\nlayers:\n  - use: b0\n"
    with pytest.raises(SpecError) as info:
        parse_spec(text, "bomb.yaml")
    assert info.value.code == "spec_too_large"


def test_mul_broadcast_mismatch_is_an_error(tmp_path, runner):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: t\ninput: [4, 6, 6]\nlayers:\n  - parallel:\n      merge: mul\n"
        "      branches: [[], [global_avgpool, conv: {out: 3, kernel: 1}]]\n"
    )
    result = runner.invoke(main, ["shapes", str(path)], catch_exceptions=False)
    assert (
        result.exit_code == 2 and "error[branch_mismatch]" in result.output and "cannot be multiplied" in result.output
    )
