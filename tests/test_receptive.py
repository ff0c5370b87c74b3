"""Receptive fields: hand-computed tables (LeNet, AlexNet, VGG16), branch unions, and torch as the
oracle (gradient of one output unit, weights all ones, positive inputs: nothing cancels)."""

from __future__ import annotations

import itertools
import json
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from archcalc import SpecError, load_spec, parse_spec, receptive_fields
from archcalc.cli import main

from .helpers import spec_text

torch = pytest.importorskip("torch")
nn = torch.nn


def _table(rows, paths=None):
    """{path: (size, jump, start)} for the first spatial dimension (the nets below are square)."""
    out = {}
    for row in rows:
        if paths is None or row.path in paths:
            a = row.axes[0]
            assert all(b == a for b in row.axes), f"{row.path}: dimensions differ {row.axes}"
            out[row.path] = "whole" if a.whole else (a.size, a.jump, a.start)
    return out


# By hand: r' = r + (K - 1)*j, j' = j*S, start' = start - P*j, from r = 1, j = 1, start = 0.
LENET = {
    "C1": (5, 1, 0),
    "tanh1": (5, 1, 0),
    "S2": (6, 2, 0),
    "C3": (14, 2, 0),
    "S4": (16, 4, 0),
    "flatten1": "whole",
    "F5": "whole",
    "output": "whole",
}
ALEXNET = {
    "conv1": (11, 4, 0),
    "pool1": (19, 8, 0),
    "norm1": (19, 8, 0),
    "conv2": (51, 8, -16),
    "pool2": (67, 16, -16),
    "conv3": (99, 16, -32),
    "conv4": (131, 16, -48),
    "conv5": (163, 16, -64),
    "pool3": (195, 32, -64),
    "fc6": "whole",
}


@pytest.mark.parametrize(("spec", "expected"), [("lenet5", LENET), ("alexnet", ALEXNET)], ids=["lenet5", "alexnet"])
def test_bundled_specs_by_hand(spec, expected):
    got = _table(receptive_fields(load_spec(spec)), expected)
    assert got == expected


def _vgg16_spec():
    layers = []
    for stage, (count, channels) in enumerate([(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)], 1):
        for i in range(1, count + 1):
            layers += [f"- conv: {{name: conv{stage}_{i}, out: {channels}, kernel: 3, padding: 1}}", "- relu"]
        layers.append(f"- maxpool: {{name: pool{stage}, kernel: 2}}")
    layers += [
        "- flatten",
        "- linear: {name: fc6, out: 4096}",
        "- relu",
        "- linear: {name: fc7, out: 4096}",
        "- relu",
        "- linear: {name: fc8, out: 1000}",
    ]
    return parse_spec(spec_text("\n".join(layers), "[3, 224, 224]", name="vgg16"), "vgg16.yaml")


# By hand, VGG16 (13 convs 3x3/1 pad 1, 5 pools 2x2/2): each conv adds 2*j, each pool adds j and doubles j.
VGG16 = {
    "conv1_1": (3, 1, -1),
    "conv1_2": (5, 1, -2),
    "pool1": (6, 2, -2),
    "conv2_1": (10, 2, -4),
    "conv2_2": (14, 2, -6),
    "pool2": (16, 4, -6),
    "conv3_1": (24, 4, -10),
    "conv3_2": (32, 4, -14),
    "conv3_3": (40, 4, -18),
    "pool3": (44, 8, -18),
    "conv4_1": (60, 8, -26),
    "conv4_2": (76, 8, -34),
    "conv4_3": (92, 8, -42),
    "pool4": (100, 16, -42),
    "conv5_1": (132, 16, -58),
    "conv5_2": (164, 16, -74),
    "conv5_3": (196, 16, -90),
    "pool5": (212, 32, -90),
    "fc6": "whole",
}


def test_vgg16_by_hand():
    rows = receptive_fields(_vgg16_spec())
    assert _table(rows, VGG16) == VGG16
    pool5 = next(r for r in rows if r.path == "pool5")
    assert pool5.axes[0].center == Fraction(31, 2)  # -90 + (212 - 1)/2


def test_inception_branches_take_the_union():
    yaml = """
- parallel:
    merge: concat
    branches:
      - [conv: {out: 2, kernel: 1}]
      - [conv: {out: 2, kernel: 3, padding: 1}]
      - [conv: {out: 2, kernel: 1}, conv: {out: 2, kernel: 5, padding: 2}]
      - [maxpool: {kernel: 3, stride: 1, padding: 1}, conv: {out: 2, kernel: 1}]
"""
    rows = receptive_fields(parse_spec(spec_text(yaml, "[3, 16, 16]"), "x.yaml"))
    assert rows[-1].path == "concat"
    assert _table(rows[-1:]) == {"concat": (5, 1, -2)}


def test_residual_takes_the_union_with_its_shortcut():
    yaml = """
- residual:
    body: [conv: {out: 4, kernel: 3, stride: 2, padding: 1}, conv: {out: 4, kernel: 3, padding: 1}]
    shortcut: [conv: {out: 4, kernel: 1, stride: 2}]
- repeat: {times: 2, layers: [conv: {out: 4, kernel: 3, padding: 1}]}
"""
    rows = receptive_fields(parse_spec(spec_text(yaml, "[4, 16, 16]"), "x.yaml"))
    table = _table(rows)
    assert table["add"] == (7, 2, -3)
    assert table["shortcut.conv1"] == (1, 2, 0)
    assert table["1.conv1"] == (7 + 4 + 4, 2, -3 - 2 - 2)


def test_global_pool_covers_the_whole_input_and_cli(runner):
    rows = receptive_fields(parse_spec(spec_text("- conv: {out: 4, kernel: 3}\n- global_avgpool", "[3, 9, 9]"), "x"))
    assert rows[-1].axes[0].whole and rows[-1].axes[0].size == 9
    result = runner.invoke(main, ["rf", "alexnet"], catch_exceptions=False)
    assert result.exit_code == 0 and "195" in result.output and "whole input (227x227)" in result.output
    data = json.loads(runner.invoke(main, ["rf", "alexnet", "--json"], catch_exceptions=False).stdout)
    pool3 = next(layer for layer in data["layers"] if layer["path"] == "pool3")
    assert pool3["axes"][0] == {"axis": "H", "size": 195, "jump": 32, "start": -64, "center": 33, "whole_input": False}
    bad = runner.invoke(main, ["rf", "no-such-spec"], catch_exceptions=False)
    assert bad.exit_code == 2


# ---------------------------------------------------------------------------------------------
# torch as the oracle


def _extent(grad, axis):
    """First and last index along `axis` where the gradient is non-zero."""
    other = tuple(i for i in range(grad.dim()) if i != axis)
    hit = (grad.abs().sum(dim=other) if other else grad.abs()) > 0
    idx = hit.nonzero().flatten().tolist()
    return (idx[0], idx[-1]) if idx else None


def _pick_unit(field, out, n):
    """An output unit whose field lies inside the image (the middle one of those), else the middle unit."""
    inside = [
        u for u in range(out) if field.start + u * field.jump >= 0 and field.start + u * field.jump + field.size <= n
    ]
    return inside[len(inside) // 2] if inside else out // 2


def _check_against_gradient(rows, module, input_sizes):
    """Back-propagate from one output unit; the non-zero gradient spans exactly its field (clipped
    to the image where the field runs into the padding). Returns how many axes matched exactly."""
    x = torch.ones(1, 1, *input_sizes, dtype=torch.float64, requires_grad=True)
    y = module(x)
    units = tuple(_pick_unit(f, o, n) for f, o, n in zip(rows[-1].axes, y.shape[2:], input_sizes))
    y[(0, 0, *units)].backward()
    spans = [(f.start + u * f.jump, f.start + u * f.jump + f.size - 1) for f, u in zip(rows[-1].axes, units)]
    if not x.grad.any():  # the unit reads padding only: possible only if its field leaves the image somewhere
        assert any(lo < 0 or hi > n - 1 for (lo, hi), n in zip(spans, input_sizes)), f"no gradient in {spans}"
        return 0
    exact = 0
    for axis, ((lo, hi), n) in enumerate(zip(spans, input_sizes)):
        got = _extent(x.grad[0, 0], axis)
        if 0 <= lo and hi <= n - 1:
            assert got == (lo, hi), f"axis {axis}: torch {got}, archcalc {(lo, hi)}"
            exact += 1
        elif got is not None:  # the field runs into the padding: torch sees its part inside the image
            assert max(lo, 0) <= got[0] and got[1] <= min(hi, n - 1), f"axis {axis}: torch {got}, archcalc {(lo, hi)}"
        # else: this unit reads padding only along some axis (its field misses the image): nothing to see
    return exact


_conv = st.fixed_dictionaries(
    {
        "kind": st.just("conv"),
        "kernel": st.tuples(st.integers(1, 4), st.integers(1, 4)),
        "stride": st.tuples(st.integers(1, 3), st.integers(1, 3)),
        "padding": st.tuples(st.integers(0, 2), st.integers(0, 2)),
        "dilation": st.tuples(st.integers(1, 2), st.integers(1, 2)),
    }
)
_pool = st.integers(1, 3).flatmap(
    lambda k: st.fixed_dictionaries(
        {
            "kind": st.just("avgpool"),
            "kernel": st.just((k, k)),
            "stride": st.tuples(st.integers(1, 3), st.integers(1, 3)),
            "padding": st.just((k // 2, 0)),
            "dilation": st.just((1, 1)),
        }
    )
)


def _yaml(layer):
    k, s, p = (list(layer[f]) for f in ("kernel", "stride", "padding"))
    extra = f", dilation: {list(layer['dilation'])}, out: 1, bias: false" if layer["kind"] == "conv" else ""
    return f"- {layer['kind']}: {{kernel: {k}, stride: {s}, padding: {p}{extra}}}"


def _torch_layer(layer):
    if layer["kind"] == "avgpool":
        return nn.AvgPool2d(layer["kernel"], layer["stride"], layer["padding"])
    conv = nn.Conv2d(1, 1, layer["kernel"], layer["stride"], layer["padding"], layer["dilation"], bias=False)
    nn.init.ones_(conv.weight)
    return conv.double()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(
    layers=st.lists(st.one_of(_conv, _pool), min_size=1, max_size=4),
    sizes=st.tuples(st.integers(12, 40), st.integers(12, 40)),
)
def test_random_nets_match_the_gradient_region(layers, sizes):
    yaml = "\n".join(_yaml(layer) for layer in layers)
    try:
        rows = receptive_fields(parse_spec(spec_text(yaml, f"[1, {sizes[0]}, {sizes[1]}]"), "random.yaml"))
    except SpecError:
        assume(False)
    module = nn.Sequential(*[_torch_layer(layer) for layer in layers])
    _check_against_gradient(rows, module, sizes)


class _Add(nn.Module):
    def __init__(self, *branches):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x):
        return sum(b(x) for b in self.branches)


def _ones_conv(k, s=1, p=0, d=1):
    conv = nn.Conv1d(1, 1, k, s, p, d, bias=False).double()
    nn.init.ones_(conv.weight)
    return conv


def test_branches_against_the_gradient():
    """Two paths that see different sides of the unit: the field is their union, as torch shows."""
    yaml = """
- conv: {out: 1, kernel: 3, stride: 2, bias: false}
- parallel:
    merge: add
    branches:
      - [conv: {out: 1, kernel: 3, padding: [[2, 0]], bias: false}]
      - [conv: {out: 1, kernel: 3, padding: [[0, 2]], bias: false}, conv: {out: 1, kernel: 1, bias: false}]
      - []
"""
    rows = receptive_fields(parse_spec(spec_text(yaml, "[1, 41]"), "x.yaml"))
    assert _table(rows[-1:]) == {"add": (3 + 4 * 2, 2, -4)}
    pad_left = nn.Sequential(nn.ConstantPad1d((2, 0), 0.0), _ones_conv(3))
    pad_right = nn.Sequential(nn.ConstantPad1d((0, 2), 0.0), _ones_conv(3), _ones_conv(1))
    module = nn.Sequential(_ones_conv(3, 2), _Add(pad_left, pad_right, nn.Identity()))
    assert _check_against_gradient(rows, module, (41,)) == 1


def test_transposed_conv_field_bounds_every_unit():
    """A transposed conv's units see unequal numbers of inputs; the field bounds every one of them."""
    rows = receptive_fields(
        parse_spec(spec_text("- conv_transpose: {out: 1, kernel: 3, stride: 2, padding: 1}", "[1, 6]"), "x.yaml")
    )
    field = rows[-1].axes[0]
    assert (field.size, field.jump, field.start) == (2, Fraction(1, 2), Fraction(-1, 2))
    conv = nn.ConvTranspose1d(1, 1, 3, stride=2, padding=1, bias=False).double()
    nn.init.ones_(conv.weight)
    widest = 0
    for unit in range(11):
        x = torch.ones(1, 1, 6, dtype=torch.float64, requires_grad=True)
        conv(x)[0, 0, unit].backward()
        lo, hi = _extent(x.grad[0, 0], 0)
        assert field.start + unit * field.jump <= lo and hi <= field.start + unit * field.jump + field.size - 1
        widest = max(widest, hi - lo + 1)
    assert widest == field.size


@pytest.mark.parametrize(
    ("spec", "size", "jump"),
    [
        ("vgg16", 212, 32),  # the bundled spec agrees with the inline VGG16 above
        # Araujo, Norris & Sim, "Computing receptive fields of CNNs", Distill 2019, table: resnet_v1_50
        # 483 / 32 (its effective padding, 239, is TF SAME's; PyTorch's symmetric padding gives 241)
        ("resnet50-v1", 483, 32),
    ],
)
def test_bundled_zoo_final_fields(spec, size, jump):
    rows = [r for r in receptive_fields(load_spec(spec)) if r.axes and not r.axes[0].whole]
    field = rows[-1].axes[0]
    assert (field.size, field.jump) == (size, jump), (
        f"{spec}: archcalc {(field.size, field.jump)}, expected {(size, jump)}"
    )


# ---------------------------------------------------------------------------------------------
# adaptive pooling: to 1 is global pooling; to other sizes, torch's uneven windows, bounded


def _se_spec(pool: str) -> str:
    """Two squeeze-and-excitation stages as torchvision writes them (the gate's pool as `pool`)."""
    se = f"""
- parallel:
    merge: mul
    branches:
      - []
      - [{pool}, conv: {{out: 2, kernel: 1}}, relu, conv: {{out: 4, kernel: 1}}, sigmoid]"""
    stage = "- conv: {out: 4, kernel: 3, stride: 2, padding: 1}" + se
    return spec_text(stage + "\n" + stage + "\n- conv: {out: 4, kernel: 3}", "[1, 33, 33]")


def _built(spec):
    """The spec's torch module in float64, every weight 1/10 and bias 0: positive inputs stay positive
    (nothing cancels) and small (no sigmoid saturates to a zero derivative)."""
    from archcalc.verify.build import build_model

    module = build_model(spec).double()
    for name, parameter in module.named_parameters():
        nn.init.constant_(parameter, 0.0 if name.endswith("bias") else 0.1)
    return module


@pytest.mark.parametrize(
    "pool", ["adaptive_avgpool: {output_size: 1}", "adaptive_avgpool: {output_size: [1, 1]}"], ids=["1", "1x1"]
)
def test_adaptive_pool_to_one_is_global_pooling_in_a_squeeze_and_excitation_net(pool):
    adaptive = receptive_fields(parse_spec(_se_spec(pool), "adaptive.yaml"))
    glob = receptive_fields(parse_spec(_se_spec("global_avgpool"), "global.yaml"))
    assert [row.axes for row in adaptive] == [row.axes for row in glob]
    assert [row.path for row in adaptive if row.axes[0].whole][0] == "b2." + pool.split(":")[0] + "1"
    assert adaptive[-1].axes[0].whole and adaptive[-1].axes[0].jump is None  # no jump compounds through the gates
    # torch: every input pixel moves the last layer's middle unit (through the gates), and the
    # field before the first gate is exactly the gradient's region
    spec = parse_spec(_se_spec(pool), "adaptive.yaml")
    x = torch.ones(1, 1, 33, 33, dtype=torch.float64, requires_grad=True)
    y = _built(spec)(x)
    y[0, 0, y.shape[2] // 2, y.shape[3] // 2].backward()
    assert bool((x.grad[0, 0] != 0).all()), "a pixel outside the unit's field per torch"
    first = [row for row in adaptive if row.path == "conv1"]
    conv1 = torch.nn.Conv2d(1, 4, 3, 2, 1).double()
    for parameter in conv1.parameters():
        nn.init.ones_(parameter)
    assert _check_against_gradient(first, conv1, (33, 33)) == 2


# (id, input size, output size): uneven windows (the sizes do not divide), and one that divides
ADAPTIVE_CASES = [("7-to-3", 7, 3), ("10-to-4", 10, 4), ("5-to-3", 5, 3), ("13-to-6", 13, 6), ("4-to-6", 4, 6)]


@pytest.mark.parametrize(("n", "o"), [c[1:] for c in ADAPTIVE_CASES], ids=[c[0] for c in ADAPTIVE_CASES])
def test_uneven_adaptive_windows_bound_every_units_gradient(n, o):
    """After a 3-wide conv, every adaptive output unit's torch gradient lies inside its field; the
    field is within one window step of the widest unit's, and the row says the windows are uneven."""
    spec = parse_spec(
        spec_text(f"- conv: {{out: 1, kernel: 3, padding: 1}}\n- adaptive_avgpool: {{output_size: {o}}}", f"[1, {n}]"),
        "x.yaml",
    )
    rows = receptive_fields(spec)
    field = rows[-1].axes[0]
    assert rows[-1].note is not None and "uneven adaptive windows" in rows[-1].note
    assert field.jump == Fraction(n, o)
    module = _built(spec)
    for unit in range(o):
        x = torch.ones(1, 1, n, dtype=torch.float64, requires_grad=True)
        module(x)[0, 0, unit].backward()
        lo, hi = _extent(x.grad[0, 0], 0)
        first, last = field.start + unit * field.jump, field.start + unit * field.jump + field.size - 1
        # the field ignores the border (padding 1): torch sees its part inside the image
        assert max(first, 0) <= lo and hi <= min(last, n - 1), (
            f"unit {unit}: torch {(lo, hi)}, archcalc {(first, last)}"
        )
    # torch's window i: [floor(i*n/o), ceil((i+1)*n/o)) of the conv's outputs, each seeing 3 pixels
    widest = max(-(-(i + 1) * n // o) - i * n // o for i in range(o)) + 2
    assert widest <= field.size < widest + 1, f"field {field.size}, widest unit {widest}"


def test_even_adaptive_windows_are_exact_and_carry_no_note():
    rows = receptive_fields(parse_spec(spec_text("- adaptive_avgpool: {output_size: 4}", "[1, 12, 12]"), "x.yaml"))
    assert _table(rows) == {"adaptive_avgpool1": (3, 3, 0)} and rows[-1].note is None


def test_rf_text_output_gives_the_notes(runner, tmp_path):
    """What --json says in a layer's `note` (different jumps at a merge, uneven windows), the table's text says too."""
    yaml = """
- parallel:
    merge: add
    branches:
      - [conv: {out: 1, kernel: 1, stride: 2}]
      - [conv: {out: 1, kernel: 8}]
- adaptive_avgpool: {output_size: 3}
"""
    path = tmp_path / "notes.yaml"
    path.write_text(spec_text(yaml, "[1, 14, 14]"))
    data = json.loads(runner.invoke(main, ["rf", str(path), "--json"], catch_exceptions=False).output)
    notes = {layer["path"]: layer["note"] for layer in data["layers"] if layer["note"]}
    assert set(notes) == {"add", "adaptive_avgpool1"}
    assert "different jumps" in notes["add"] and "uneven" in notes["adaptive_avgpool1"]
    text = runner.invoke(main, ["rf", str(path)], catch_exceptions=False).output
    for layer, note in notes.items():
        assert f"note: {layer}: {note}" in text, text


# (id, layers, input): merges whose paths move with different jumps, then more layers after them
_K1S2_WITH_K5 = """
- parallel:
    merge: add
    branches:
      - [conv: {out: 1, kernel: 1, stride: 2}]
      - [conv: {out: 1, kernel: 5}]
- conv: {out: 1, kernel: 3}
"""
DIFFERENT_JUMPS = [
    ("k1s2-with-k5-then-k3", _K1S2_WITH_K5, (8,)),
    (
        "s4-with-s2s1-then-strided",
        """
- parallel:
    merge: add
    branches:
      - [conv: {out: 1, kernel: 1, stride: 4}]
      - [conv: {out: 1, kernel: 5, stride: 2}, conv: {out: 1, kernel: 3}]
- conv: {out: 1, kernel: 3, stride: 2, padding: 1}
- relu
""",
        (17,),
    ),
    ("2d-concat", _K1S2_WITH_K5.replace("merge: add", "merge: concat"), (8, 8)),
]


@pytest.mark.parametrize(("layers", "sizes"), [c[1:] for c in DIFFERENT_JUMPS], ids=[c[0] for c in DIFFERENT_JUMPS])
def test_fields_after_a_merge_of_different_jumps_bound_every_units_gradient(layers, sizes):
    """After a merge whose paths move with different jumps, each row is marked a bound, and every output
    unit's torch gradient (along each dimension) lies inside [start + u*jump, start + u*jump + size - 1]."""
    spec = parse_spec(spec_text(layers, f"[1, {', '.join(map(str, sizes))}]"), "x.yaml")
    rows = receptive_fields(spec)
    merge = next(i for i, row in enumerate(rows) if row.kind in ("add", "concat"))
    assert [row.exact for row in rows[merge:]] == [False] * (len(rows) - merge), [r.path for r in rows]
    assert all(row.exact for row in rows[:merge]), [(r.path, r.exact) for r in rows]
    assert all(row.bound_note for row in rows[merge:])
    module = _built(spec)
    out = module(torch.ones(1, 1, *sizes, dtype=torch.float64)).shape[2:]
    for unit in itertools.product(*(range(n) for n in out)):
        x = torch.ones(1, 1, *sizes, dtype=torch.float64, requires_grad=True)
        module(x)[(0, 0, *unit)].backward()
        for axis, (field, u) in enumerate(zip(rows[-1].axes, unit)):
            lo, hi = _extent(x.grad[0, 0], axis)
            first, last = field.start + u * field.jump, field.start + u * field.jump + field.size - 1
            assert first <= lo and hi <= last, f"unit {unit} axis {axis}: torch {(lo, hi)}, archcalc {(first, last)}"


def test_rf_text_marks_bounds_and_stops_claiming_exact_fields(runner, tmp_path):
    """Rows after a merge of different jumps: ≤ before the size, a note naming them, JSON `exact: false`,
    and a legend that says their interval only holds the field."""
    path = tmp_path / "mj.yaml"
    path.write_text(spec_text(_K1S2_WITH_K5, "[1, 8, 8]"))
    data = json.loads(runner.invoke(main, ["rf", str(path), "--json"], catch_exceptions=False).output)
    assert {layer["path"]: layer["exact"] for layer in data["layers"]} == {
        "b1.conv1": True,
        "b2.conv1": True,
        "add": False,
        "conv1": False,
    }
    text = runner.invoke(main, ["rf", str(path), "--width", "200"], catch_exceptions=False).output
    conv1 = next(line for line in text.splitlines() if "conv1 " in line and "b1" not in line and "b2" not in line)
    assert "≤12" in conv1, text
    assert "note: conv1: bounds (≤), not exact: they follow add" in text, text
    assert "marked ≤ (a bound)" in text, text
    exact = runner.invoke(main, ["rf", "lenet5", "--width", "200"], catch_exceptions=False).output
    assert "≤" not in exact and "marked ≤" not in exact, exact
