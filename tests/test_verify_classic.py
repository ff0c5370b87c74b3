"""The torch builders of the early networks' features compute what the papers define, not just
the right counts: a connection table wires each output map to its own input maps, an unshared
bias has one value per unit or per position, RBF units output squared Euclidean distances."""

from __future__ import annotations

import pytest

from .helpers import spec_text

torch = pytest.importorskip("torch")

from archcalc import parse_spec  # noqa: E402
from archcalc.verify.build import build_model, render  # noqa: E402

F = torch.nn.functional
_TABLE = [[0], [0, 2], [1, 2], [0, 1, 2]]


def _first(model):
    """The built model's first layer module (the model is a Graph of the spec's layers)."""
    return next(iter(model.children()))


def _build(yaml: str, shape: tuple[int, ...]):
    torch.manual_seed(0)
    return build_model(parse_spec(spec_text(yaml, str(list(shape))), "inline.yaml")).eval()


@pytest.mark.parametrize("padding", ["1", "same"], ids=["symmetric", "same-per-side"])
def test_table_conv_is_the_masked_dense_conv(padding):
    model = _build(f"- conv: {{out: 4, kernel: 4, stride: 2, padding: {padding}, table: {_TABLE}}}", (3, 9, 9))
    conv = _first(model) if padding == "1" else _first(model)[1]
    dense = torch.zeros(4, 3, 4, 4)
    for out, (part, row) in enumerate(zip(conv.maps, _TABLE)):
        dense[out, row] = part.weight[0]
    bias = torch.cat([part.bias for part in conv.maps])
    x = torch.randn(2, 3, 9, 9)
    pads = (1, 1, 1, 1) if padding == "1" else _first(model)[0].padding
    with torch.no_grad():
        gap = (model(x) - F.conv2d(F.pad(x, pads), dense, bias, stride=2)).abs().max().item()
    assert gap < 1e-5, f"per-map convs and the masked dense conv differ by up to {gap}"


@pytest.mark.parametrize(("mode", "bias_shape"), [("per_unit", (1, 3, 4, 5)), ("per_position", (1, 1, 4, 5))])
def test_unshared_bias_is_added_per_unit_or_per_position(mode, bias_shape):
    model = _build(f"- conv: {{out: 3, kernel: 3, bias: {mode}}}", (2, 6, 7))
    conv, bias = _first(model)
    assert conv.bias is None and tuple(bias.bias.shape) == bias_shape
    with torch.no_grad():
        bias.bias.normal_()
        x = torch.randn(2, 2, 6, 7)
        gap = (model(x) - (conv(x) + bias.bias)).abs().max().item()
    assert gap == 0.0


def test_subsample_is_a_scaled_window_average_plus_bias():
    model = _build("- subsample: {kernel: 2}", (3, 6, 6))
    pool, coef = _first(model)
    x = torch.randn(2, 3, 6, 6)
    with torch.no_grad():
        expected = F.avg_pool2d(x, 2) * coef.weight.view(1, 3, 1, 1) + coef.bias.view(1, 3, 1, 1)
        gap = (model(x) - expected).abs().max().item()
    assert gap < 1e-6


def test_rbf_outputs_squared_euclidean_distances():
    model = _build("- rbf: {out: 10}", (84,))
    weight = _first(model).linear.weight
    x = torch.randn(3, 84)
    with torch.no_grad():
        expected = ((x[:, None, :] - weight[None]) ** 2).sum(-1)
        gap = ((model(x) - expected).abs().max() / expected.abs().max()).item()
    assert gap < 1e-5, f"relative gap {gap}"


@pytest.mark.parametrize("name", ["lenet5-1998", "lenet-1989", "alphago-policy"])
def test_exported_source_builds_the_same_module(name):
    from archcalc import load_spec

    spec = load_spec(name)
    namespace: dict = {}
    exec(compile(render(spec), f"<export {name}>", "exec"), namespace)
    exported, built = namespace["model"], build_model(spec)
    assert [(k, tuple(v.shape)) for k, v in exported.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in built.state_dict().items()
    ]
    assert tuple(exported(torch.randn(1, *spec.input)).shape[1:]) == tuple(built(torch.randn(1, *spec.input)).shape[1:])
