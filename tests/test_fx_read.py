"""The torch.fx reader: every mapping from hand-written modules (module and functional forms), names,
unsupported ops and --opaque. Each case states the layers a reader of the code would write down."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from archcalc.errors import SpecError  # noqa: E402
from archcalc.importing.fx_read import read_module  # noqa: E402
from archcalc.importing.shape_check import checked_analysis  # noqa: E402
from archcalc.importing.spec_text import spec_yaml  # noqa: E402
from archcalc.importing.structure import spec_dict  # noqa: E402
from archcalc.importing.traced import MODEL_INPUT, TracedModel  # noqa: E402


class Lambda(nn.Module):
    """A module whose forward is a function of its input (the case's code, written inline)."""

    def __init__(self, forward: Callable[..., Any], **children: nn.Module) -> None:
        super().__init__()
        self.fn = forward
        for name, child in children.items():
            self.add_module(name, child)

    def forward(self, x: Any) -> Any:
        return self.fn(self, x)


def seq(*layers: nn.Module) -> nn.Module:
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class Case:
    make: Callable[[], nn.Module]
    input: tuple[int, ...]
    # (dotted path, kind, fields) in execution order; fields as the spec writes them
    layers: list[tuple[str, str, dict[str, Any]]]


def _shuffle_view(m: nn.Module, x: Any) -> Any:  # ShuffleNetV2's code
    n, c, h, w = x.size()
    x = x.view(n, 2, c // 2, h, w)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(n, -1, h, w)


def _shuffle_permute(m: nn.Module, x: Any) -> Any:  # another way to write it
    n, c, h, w = x.shape
    return x.reshape(n, 4, c // 4, h, w).permute(0, 2, 1, 3, 4).flatten(1, 2)


class ConvNeXtBlock(nn.Module):
    """torchvision's CNBlock, written out: a channels-last region between two permutes."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.ones(dim, 1, 1))

    def forward(self, x: Any) -> Any:
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        return x + self.gamma * y.permute(0, 3, 1, 2)


CASES = {
    "conv1d": Case(
        lambda: seq(nn.Conv1d(3, 8, 5, stride=2, padding=2, bias=False)),
        (3, 32),
        [("0", "conv", {"out_channels": 8, "kernel_size": [5], "stride": [2], "padding": [2], "bias": False})],
    ),
    "conv3d_groups": Case(
        lambda: seq(nn.Conv3d(4, 8, 3, dilation=2, groups=2)),
        (4, 8, 8, 8),
        [("0", "conv", {"out_channels": 8, "kernel_size": [3, 3, 3], "dilation": [2, 2, 2], "groups": 2})],
    ),
    "conv_transpose": Case(
        lambda: seq(nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)),
        (4, 5, 5),
        [
            (
                "0",
                "conv_transpose",
                {
                    "out_channels": 2,
                    "kernel_size": [3, 3],
                    "stride": [2, 2],
                    "padding": [1, 1],
                    "output_padding": [1, 1],
                },
            )
        ],
    ),
    "norms": Case(
        lambda: seq(
            nn.BatchNorm2d(4, eps=1e-3, momentum=0.01),
            nn.GroupNorm(2, 4),
            nn.Flatten(),
            nn.Linear(64, 10),
            nn.BatchNorm1d(10, affine=False),
        ),
        (4, 4, 4),
        [
            ("0", "batchnorm", {"eps": 1e-3, "momentum": 0.01}),
            ("1", "groupnorm", {"num_groups": 2}),
            ("2", "flatten", {}),
            ("3", "linear", {"out_features": 10}),
            ("4", "batchnorm", {"affine": False}),
        ],
    ),
    "pool_modules": Case(
        lambda: seq(
            nn.MaxPool2d(3, 2, 1),
            nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False),
            nn.AdaptiveMaxPool2d((2, 3)),
            nn.AdaptiveAvgPool2d(1),
        ),
        (2, 16, 16),
        [
            ("0", "maxpool", {"kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1]}),
            ("1", "avgpool", {"kernel_size": [2, 2], "ceil_mode": True, "count_include_pad": False}),
            ("2", "adaptive_maxpool", {"output_size": [2, 3]}),
            ("3", "global_avgpool", {}),
        ],
    ),
    "pool_functions": Case(
        lambda: Lambda(lambda m, x: F.adaptive_avg_pool2d(F.avg_pool2d(F.max_pool2d(x, 2), 3, 1, 1), (None, 1))),
        (2, 8, 8),
        [
            ("max_pool2d", "maxpool", {"kernel_size": [2, 2]}),
            ("avg_pool2d", "avgpool", {"kernel_size": [3, 3], "stride": [1, 1], "padding": [1, 1]}),
            ("adaptive_avg_pool2d", "adaptive_avgpool", {"output_size": [4, 1]}),
        ],
    ),
    "activation_modules": Case(
        lambda: seq(
            nn.ReLU(),
            nn.ReLU6(),
            nn.GELU(),
            nn.SiLU(),
            nn.Hardswish(),
            nn.Hardsigmoid(),
            nn.Sigmoid(),
            nn.Tanh(),
            nn.LeakyReLU(0.2),
            nn.Mish(),
            nn.Identity(),
            nn.Dropout(0.3),
            nn.Softmax(dim=1),
        ),
        (3, 4, 4),
        [
            (str(i), kind, fields)
            for i, (kind, fields) in enumerate(
                [
                    ("relu", {}),
                    ("relu6", {}),
                    ("gelu", {}),
                    ("silu", {}),
                    ("hardswish", {}),
                    ("hardsigmoid", {}),
                    ("sigmoid", {}),
                    ("tanh", {}),
                    ("leaky_relu", {"negative_slope": 0.2}),
                    ("mish", {}),
                    ("identity", {}),
                    ("dropout", {"p": 0.3}),
                    ("softmax", {}),
                ]
            )
        ],
    ),
    "activation_functions": Case(
        lambda: Lambda(
            lambda m, x: F.softmax(
                F.dropout(
                    F.leaky_relu(
                        torch.tanh(torch.sigmoid(F.hardsigmoid(F.hardswish(F.silu(F.gelu(F.relu6(x.relu())))))))
                    ),
                    0.1,
                    training=False,
                ),
                1,
            )
        ),
        (3, 4, 4),
        [
            ("relu", "relu", {}),
            ("relu6", "relu6", {}),
            ("gelu", "gelu", {}),
            ("silu", "silu", {}),
            ("hardswish", "hardswish", {}),
            ("hardsigmoid", "hardsigmoid", {}),
            ("sigmoid", "sigmoid", {}),
            ("tanh", "tanh", {}),
            ("leaky_relu", "leaky_relu", {}),
            ("dropout", "dropout", {"p": 0.1}),
            ("softmax", "softmax", {}),
        ],
    ),
    "flatten_torch": Case(lambda: Lambda(lambda m, x: torch.flatten(x, 1)), (2, 3, 3), [("flatten", "flatten", {})]),
    "flatten_view": Case(lambda: Lambda(lambda m, x: x.view(x.size(0), -1)), (2, 3, 3), [("flatten", "flatten", {})]),
    "flatten_reshape": Case(
        lambda: Lambda(lambda m, x: x.reshape(x.shape[0], -1)), (2, 3, 3), [("flatten", "flatten", {})]
    ),
    "merges": Case(
        lambda: Lambda(
            lambda m, x: torch.cat([m.a(x) + m.b(x), torch.add(m.c(x), x) * x], dim=1).mean((-2, -1)),
            a=nn.Conv2d(2, 2, 1),
            b=nn.Conv2d(2, 2, 1),
            c=nn.Conv2d(2, 2, 1),
        ),
        (2, 4, 4),
        [
            ("a", "conv", {"out_channels": 2, "kernel_size": [1, 1]}),
            ("b", "conv", {"out_channels": 2, "kernel_size": [1, 1]}),
            ("add", "add", {}),
            ("c", "conv", {"out_channels": 2, "kernel_size": [1, 1]}),
            ("add_1", "add", {}),
            ("mul", "mul", {}),
            ("cat", "concat", {}),
            ("mean", "mean", {"dims": [2, 3], "keepdim": False}),
        ],
    ),
    "chunk_and_split": Case(
        lambda: Lambda(
            lambda m, x: torch.cat([x.chunk(3, dim=1)[2], torch.split(x, [1, 4], dim=1)[1], torch.split(x, 2, 1)[2]], 1)
        ),
        (5, 2, 2),
        [
            ("chunk", "split", {"chunks": 3, "index": 2}),
            ("split", "split", {"sections": [1, 4], "index": 1}),
            # torch.split(x, 2)[2] is channels 4:5, written as that slice (never channels / 2 sections)
            ("split_1", "split", {"sections": [4, 1], "index": 1}),
            ("cat", "concat", {}),
        ],
    ),
    "shuffle_view_transpose": Case(
        lambda: Lambda(_shuffle_view), (6, 3, 3), [("channel_shuffle", "channel_shuffle", {"groups": 2})]
    ),
    "shuffle_reshape_permute": Case(
        lambda: Lambda(_shuffle_permute), (8, 2, 2), [("channel_shuffle", "channel_shuffle", {"groups": 4})]
    ),
    "shuffle_module": Case(lambda: seq(nn.ChannelShuffle(3)), (6, 2, 2), [("0", "channel_shuffle", {"groups": 3})]),
    "upsample": Case(
        lambda: Lambda(
            lambda m, x: F.interpolate(m.up(x), size=(5, 7), mode="bilinear", align_corners=False),
            up=nn.Upsample(scale_factor=2),
        ),
        (2, 3, 3),
        [
            ("up", "upsample", {"mode": "nearest", "scale_factor": [2.0, 2.0]}),
            ("interpolate", "upsample", {"mode": "bilinear", "size": [5, 7], "align_corners": False}),
        ],
    ),
    "convnext_block": Case(
        lambda: ConvNeXtBlock(8),
        (8, 6, 6),
        [
            ("dwconv", "conv", {"out_channels": 8, "kernel_size": [7, 7], "padding": [3, 3], "groups": 8}),
            ("norm", "layernorm", {"eps": 1e-6}),
            ("pwconv1", "channel_linear", {"out_features": 32}),
            ("act", "gelu", {}),
            ("pwconv2", "channel_linear", {"out_features": 8}),
            ("layer_scale", "layer_scale", {}),
            ("add", "add", {}),
        ],
    ),
    "pad_modules_are_the_next_layer_s_padding": Case(
        lambda: seq(
            nn.ZeroPad2d((0, 1, 0, 1)),
            nn.Conv2d(2, 4, 3, stride=2, padding=1),
            nn.ConstantPad2d(1, float("-inf")),
            nn.MaxPool2d(3, 2),
            nn.ConstantPad1d(2, 0.0),  # on a 4-D tensor: the last dimension's sides
            nn.ZeroPad2d((1, 0, 0, 0)),  # two pads in a row: one padding
            nn.Conv2d(4, 4, 1),
        ),
        (2, 9, 9),
        [
            ("1", "conv", {"out_channels": 4, "kernel_size": [3, 3], "stride": [2, 2], "padding": [[1, 2], [1, 2]]}),
            ("3", "maxpool", {"kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1]}),
            ("6", "conv", {"out_channels": 4, "kernel_size": [1, 1], "padding": [[0, 0], [3, 2]]}),
        ],
    ),
    "functional_pads": Case(
        lambda: Lambda(
            lambda m, x: F.avg_pool2d(
                F.pad(m.conv(F.pad(F.pad(x, [1, 0, 0, 0]), (0, 1, 1, 1))), [0, 2, 0, 2]), 3, 1, count_include_pad=False
            ),
            conv=nn.Conv2d(2, 3, 3),
        ),
        (2, 6, 6),
        [
            ("conv", "conv", {"out_channels": 3, "kernel_size": [3, 3], "padding": [1, 1]}),
            ("avg_pool2d", "avgpool", {"kernel_size": [3, 3], "stride": [1, 1], "padding": [[0, 2], [0, 2]]}),
        ],
    ),
    "pad_of_nothing_is_no_layer": Case(
        lambda: Lambda(
            lambda m, x: torch.cat([x, F.pad(m.up(m.pool(x)), [0, x.size(3) - 2 * 2, 0, x.size(2) - 2 * 2])], 1),
            pool=nn.MaxPool2d(2),
            up=nn.ConvTranspose2d(2, 2, 2, stride=2, bias=False),
        ),
        (2, 4, 4),  # U-Net pads the upsampled map to its skip's size: here they agree
        [
            ("pool", "maxpool", {"kernel_size": [2, 2]}),
            ("up", "conv_transpose", {"out_channels": 2, "kernel_size": [2, 2], "stride": [2, 2], "bias": False}),
            ("cat", "concat", {}),
        ],
    ),
    "channel_slices": Case(
        lambda: Lambda(
            lambda m, x: torch.cat(
                [x[:, 2:5], x[:, :2], x[:, -1:, ...], x.narrow(1, 5, 1), torch.narrow(x, 1, 0, 3), x[:, :, :]], 1
            )
        ),
        (6, 2, 2),
        [
            ("slice", "split", {"sections": [2, 3, 1], "index": 1}),
            ("slice_1", "split", {"sections": [2, 4], "index": 0}),
            ("slice_2", "split", {"sections": [5, 1], "index": 1}),
            ("slice_3", "split", {"sections": [5, 1], "index": 1}),
            ("slice_4", "split", {"sections": [3, 3], "index": 0}),
            ("cat", "concat", {}),
        ],
    ),
}


def _paths(model: TracedModel) -> list[tuple[str, str, dict[str, Any]]]:
    return [(".".join(layer.path), layer.kind, layer.fields) for layer in model.layers]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_mapping(case: Case) -> None:
    """The layers, and the spec written for them computes every traced shape (checked_analysis
    raises on the first that differs); the output's shape is the one torch gives."""
    module = case.make().eval()
    model = read_module(module, case.input, "net")
    got = _paths(model)
    assert got == case.layers, f"got {got}\nexpected {case.layers}"
    checked_analysis(model, spec_yaml(spec_dict(model), []))
    with torch.no_grad():
        expected = module(torch.zeros((1, *case.input))).shape[1:]
    assert model.layers[model.outputs[0]].out_shape == tuple(expected), (model.layers[model.outputs[0]], expected)


class Functional(nn.Module):
    """A network of functional calls only: its weights are its own parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(4, 3, 3, 3))
        self.fc_w = nn.Parameter(torch.zeros(10, 16))

    def forward(self, x: Any) -> Any:
        y = F.relu(F.conv2d(x, self.w, None, 2, 1))
        return F.linear(torch.flatten(y, 1), self.fc_w)


def test_functional_conv_and_linear() -> None:
    got = _paths(read_module(Functional(), (3, 4, 4), "net"))
    assert got == [
        (
            "conv2d",
            "conv",
            {"out_channels": 4, "kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1], "bias": False},
        ),
        ("relu", "relu", {}),
        ("flatten", "flatten", {}),
        ("linear", "linear", {"out_features": 10, "bias": False}),
    ], got


class SharedReLU(nn.Module):
    """torchvision's Bottleneck calls one relu three times."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(2, 2, 1)
        self.conv2 = nn.Conv2d(2, 2, 1)
        self.relu = nn.ReLU()

    def forward(self, x: Any) -> Any:
        y = self.relu(self.conv1(x))
        y = self.relu(self.conv2(y))
        return self.relu(y + x)


def test_a_module_called_again_is_numbered_in_call_order() -> None:
    model = read_module(nn.Sequential(SharedReLU()), (2, 3, 3), "net")
    assert [".".join(layer.path) for layer in model.layers] == [
        "0.conv1",
        "0.relu",
        "0.conv2",
        "0.relu_1",
        "0.add",
        "0.relu_2",
    ]
    assert model.layers[4].inputs == (3, MODEL_INPUT), model.layers[4]
    assert model.method == "torch.fx"


class AttentionBlock(nn.Module):
    """An unsupported module whose input is a plain channels-first tensor: MultiheadAttention named."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(6, 2, batch_first=True)
        self.fc = nn.Linear(6, 3)

    def forward(self, x: Any) -> Any:
        out, _ = self.attn(x, x, x)
        return self.fc(out[:, 0])


MHA_LINE = inspect.getsourcelines(AttentionBlock.forward)[1] + 1


def test_multihead_attention_is_refused_with_its_line() -> None:
    with pytest.raises(SpecError) as caught:
        read_module(nn.Sequential(AttentionBlock()), (5, 6), "net")
    err = caught.value
    assert err.code == "unsupported_op"
    assert err.extra == {"op": "MultiheadAttention", "path": "0.attn", "source": f"{__file__}:{MHA_LINE}"}, err.extra
    assert "0.attn" in str(err) and "--opaque" in str(err), str(err)


def test_opaque_keeps_the_module_s_parameters_exactly() -> None:
    block = AttentionBlock()
    model = read_module(nn.Sequential(block), (5, 6), "net", opaque=True)
    opaque = [layer for layer in model.layers if layer.kind == "opaque"]
    assert [".".join(layer.path) for layer in opaque] == ["0"], _paths(model)  # the slice makes the block opaque
    expected = sum(p.numel() for p in block.parameters())
    assert opaque[0].fields["params"] == expected, (opaque[0].fields, expected)
    assert opaque[0].fields["module"] == "AttentionBlock"
    assert opaque[0].fields["out_shape"] == [3]


def test_opaque_leaf_module_keeps_the_rest_mapped() -> None:
    module = nn.Sequential(
        nn.Conv2d(3, 6, 1), nn.Flatten(2), Lambda(lambda m, x: m.attn(x, x, x)[0], attn=nn.MultiheadAttention(4, 2))
    )
    model = read_module(module, (3, 2, 2), "net", opaque=True)
    kinds = [(".".join(layer.path), layer.kind) for layer in model.layers]
    assert kinds[0] == ("0", "conv"), kinds
    opaque = [(".".join(layer.path), layer.fields["params"]) for layer in model.layers if layer.kind == "opaque"]
    assert opaque == [("2.attn", sum(p.numel() for p in module[2].attn.parameters()))], opaque


def test_returned_dict_gives_outputs_in_order() -> None:
    module = Lambda(lambda m, x: {"out": m.a(x), "aux": m.b(x)}, a=nn.Conv2d(2, 3, 1), b=nn.Conv2d(2, 1, 1))
    model = read_module(module, (2, 4, 4), "net")
    assert [".".join(model.layers[i].path) for i in model.outputs] == ["a", "b"]


def _no_symbolic_trace(*args: Any) -> Any:
    raise TypeError("symbolic tracing refused (as by control flow on sizes)")


RECORDED = ["merges", "chunk_and_split", "convnext_block", "upsample", "functional_pads", "channel_slices"]


@pytest.mark.parametrize("name", RECORDED)
def test_a_model_fx_cannot_trace_is_recorded_from_a_run_with_the_same_layers(name: str, monkeypatch) -> None:
    from archcalc.importing import fx_read

    monkeypatch.setattr(fx_read, "trace", _no_symbolic_trace)
    model = read_module(CASES[name].make(), CASES[name].input, "net")
    assert model.method == "forward hooks"
    assert _paths(model) == CASES[name].layers, _paths(model)


class SizeLoop(nn.Module):
    """Control flow on sizes and a shape unpacked into arguments: symbolic tracing fails on both."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(4, 4, 3, padding=1) for _ in range(3)])
        self.relu = nn.ReLU()

    def forward(self, x: Any) -> Any:
        x = x.reshape(x.shape[0], 2, -1, *x.shape[2:]).transpose(1, 2).flatten(1, 2)
        for i in range(x.shape[-1] // 4):
            x = self.relu(self.convs[i](x)) + x
        return x


def test_size_dependent_control_flow_falls_back_to_a_recorded_run() -> None:
    model = read_module(SizeLoop(), (4, 8, 8), "net")
    assert model.method == "forward hooks"
    assert [(".".join(layer.path), layer.kind) for layer in model.layers] == [
        ("channel_shuffle", "channel_shuffle"),
        ("convs.0", "conv"),
        ("relu", "relu"),
        ("add", "add"),
        ("convs.1", "conv"),
        ("relu_1", "relu"),
        ("add_1", "add"),
    ]


class Tied(nn.Module):
    """One convolution applied twice: its weights would be counted once per row."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x: Any) -> Any:
        return self.conv(self.conv(x))


def test_shared_weights_are_refused_and_opaque_counts_them_once() -> None:
    with pytest.raises(SpecError) as caught:
        read_module(nn.Sequential(Tied()), (4, 5, 5), "net")
    assert caught.value.code == "unsupported_op" and "shared weights" in str(caught.value), str(caught.value)
    model = read_module(nn.Sequential(Tied()), (4, 5, 5), "net", opaque=True)
    opaque = [(".".join(layer.path), layer.fields["params"]) for layer in model.layers]
    assert opaque == [("0", sum(p.numel() for p in Tied().parameters()))], opaque


REFUSED_CUTS = {
    "reflect_pad": (lambda m, x: m.conv(F.pad(x, [1, 1, 1, 1], mode="reflect")), "mode 'reflect'"),
    "zero_pad_before_max_pooling": (lambda m, x: F.max_pool2d(F.pad(x, [1, 1, 1, 1]), 3), "value 0.0 before maxpool"),
    "pad_read_by_an_activation": (lambda m, x: F.relu(F.pad(x, [1, 1, 1, 1])), "a pad read by relu"),
    "pad_read_by_an_add": (lambda m, x: F.pad(x, [1, 1, 1, 1]) + 1, "a pad not read by a convolution"),
    "pad_returned": (lambda m, x: F.pad(x, [1, 1, 1, 1]), "a pad not read by a convolution"),
    "pad_of_the_channels": (lambda m, x: F.avg_pool2d(F.pad(x, [0, 0, 0, 0, 1, 1]), 2), "batch or channels"),
    "crop": (lambda m, x: m.conv(F.pad(x, [-1, -1, -1, -1])), "a crop"),
    "spatial_slice": (lambda m, x: x[:, :, 1:], "indexing or slicing"),
    "slice_with_a_step": (lambda m, x: x[:, ::2], "indexing or slicing"),
    "empty_channel_slice": (lambda m, x: torch.cat([x[:, 3:2], x], 1), "a slice of no channels"),
}


@pytest.mark.parametrize("forward, reason", REFUSED_CUTS.values(), ids=REFUSED_CUTS.keys())
def test_a_pad_or_slice_no_spec_layer_holds_is_unsupported(forward: Callable[..., Any], reason: str) -> None:
    """Each names the op, where it is called, and why."""
    with pytest.raises(SpecError) as caught:
        read_module(Lambda(forward, conv=nn.Conv2d(4, 4, 3)), (4, 8, 8), "net")
    err = caught.value
    assert err.code == "unsupported_op" and reason in str(err), str(err)
    assert err.extra["source"].startswith(f"{__file__}:"), err.extra


def test_a_refused_pad_module_is_opaque_under_opaque() -> None:
    module = seq(nn.ZeroPad2d(1), nn.ReLU(), nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(2, 2, 2))
    model = read_module(module, (2, 4, 4), "net", opaque=True)
    got = [(".".join(layer.path), layer.kind, layer.out_shape) for layer in model.layers]
    assert got == [("0", "opaque", (2, 6, 6)), ("1", "relu", (2, 6, 6)), ("3", "conv", (2, 6, 6))], got
    assert model.layers[2].fields["padding"] == [[0, 1], [0, 1]], model.layers[2]


PER_SIDE_PADDING = """
name: padded
input: [3, 9, 9]
layers:
  - conv: {name: c1, out_channels: 4, kernel_size: 3, stride: 2, padding: [[0, 1], [0, 1]]}
  - maxpool: {name: p1, kernel_size: 2, padding: [[1, 0], [1, 0]]}
  - avgpool: {name: p2, kernel_size: 2, stride: 1, padding: [[0, 1], [0, 1]]}
  - conv: {name: c2, out_channels: 4, kernel_size: 3, padding: 1}
"""


def test_per_side_padding_as_the_verifier_builds_it_imports_back() -> None:
    """`export --to torch` writes per-side padding as a ConstantPad before the op: read back as the
    op's own padding, with the spec's counts (the rows keep the modules' paths, `c1.1`)."""
    from archcalc import analyze, parse_spec
    from archcalc.verify.build import build_model

    spec = parse_spec(PER_SIDE_PADDING)
    model = read_module(build_model(spec), (3, 9, 9), "padded")
    got = [(layer.kind, layer.fields.get("padding")) for layer in model.layers]
    assert got == [
        ("conv", [[0, 1], [0, 1]]),
        ("maxpool", [[1, 0], [1, 0]]),
        ("avgpool", [[0, 1], [0, 1]]),
        ("conv", [1, 1]),
    ], got
    imported, original = checked_analysis(model, spec_yaml(spec_dict(model), [])).totals, analyze(spec).totals
    assert imported == original, (imported, original)
