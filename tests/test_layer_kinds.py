"""Every layer kind, one or more rows each, held against PyTorch as the oracle.

A kind without a row fails `test_every_kind_has_a_row`: adding a kind means adding its rows here.
"""

from __future__ import annotations

from math import prod

import pytest

from archcalc.layers import KINDS

from .helpers import analyse_text

torch = pytest.importorskip("torch")
nn = torch.nn

# (id, kind, layers YAML, input shape [C, ...], torch module for the same layers, MACs expected by
#  torch's FlopCounterMode / 2 — None where torch counts nothing for the kind)
CASES = [
    (
        "conv2d",
        "conv",
        "- conv: {out: 8, kernel: 3, padding: 1}",
        (3, 16, 16),
        lambda: nn.Conv2d(3, 8, 3, padding=1),
        True,
    ),
    (
        "conv1d-stride-dilation",
        "conv",
        "- conv: {out: 4, kernel: 5, stride: 2, dilation: 2}",
        (2, 40),
        lambda: nn.Conv1d(2, 4, 5, stride=2, dilation=2),
        True,
    ),
    (
        "conv3d-nobias",
        "conv",
        "- conv: {out: 4, kernel: [3, 3, 1], bias: false}",
        (2, 6, 7, 8),
        lambda: nn.Conv3d(2, 4, (3, 3, 1), bias=False),
        True,
    ),
    (
        "conv-groups",
        "conv",
        "- conv: {out: 8, kernel: 3, groups: 2}",
        (4, 9, 9),
        lambda: nn.Conv2d(4, 8, 3, groups=2),
        True,
    ),
    (
        "conv-depthwise",
        "conv",
        "- conv: {out: 6, kernel: 3, groups: depthwise, padding: 1}",
        (6, 10, 10),
        lambda: nn.Conv2d(6, 6, 3, padding=1, groups=6),
        True,
    ),
    (
        "conv-same-stride1",
        "conv",
        "- conv: {out: 5, kernel: 4, padding: same}",
        (3, 11, 11),
        lambda: nn.Sequential(nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(3, 5, 4)),
        True,
    ),
    (
        "conv-per-side",
        "conv",
        "- conv: {out: 2, kernel: 3, padding: [[0, 2], [1, 0]]}",
        (1, 8, 8),
        lambda: nn.Sequential(nn.ZeroPad2d((1, 0, 0, 2)), nn.Conv2d(1, 2, 3)),
        True,
    ),
    (
        "conv-transpose",
        "conv_transpose",
        "- conv_transpose: {out: 4, kernel: 3, stride: 2, padding: 1, output_padding: 1}",
        (6, 5, 5),
        lambda: nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1),
        True,
    ),
    (
        "maxpool-ceil",
        "maxpool",
        "- maxpool: {kernel: 3, stride: 2, ceil_mode: true}",
        (3, 14, 14),
        lambda: nn.MaxPool2d(3, 2, ceil_mode=True),
        None,
    ),
    (
        "maxpool-pad",
        "maxpool",
        "- maxpool: {kernel: 3, stride: 2, padding: 1}",
        (3, 15, 15),
        lambda: nn.MaxPool2d(3, 2, padding=1),
        None,
    ),
    ("avgpool", "avgpool", "- avgpool: {kernel: 2}", (3, 9, 9), lambda: nn.AvgPool2d(2), None),
    (
        "adaptive-avg",
        "adaptive_avgpool",
        "- adaptive_avgpool: {output_size: 6}",
        (4, 13, 13),
        lambda: nn.AdaptiveAvgPool2d(6),
        None,
    ),
    (
        "adaptive-max",
        "adaptive_maxpool",
        "- adaptive_maxpool: {output_size: [2, 3]}",
        (4, 7, 8),
        lambda: nn.AdaptiveMaxPool2d((2, 3)),
        None,
    ),
    ("global-avg", "global_avgpool", "- global_avgpool", (5, 7, 7), lambda: nn.AdaptiveAvgPool2d(1), None),
    ("global-max", "global_maxpool", "- global_maxpool", (5, 4, 6), lambda: nn.AdaptiveMaxPool2d(1), None),
    ("flatten", "flatten", "- flatten", (3, 4, 5), lambda: nn.Flatten(), None),
    ("linear", "linear", "- linear: {out: 7}", (12,), lambda: nn.Linear(12, 7), True),
    ("linear-nobias", "linear", "- linear: {out: 7, bias: false}", (12,), lambda: nn.Linear(12, 7, bias=False), True),
    ("dropout", "dropout", "- dropout: {p: 0.3}", (4, 5, 5), lambda: nn.Dropout(0.3), None),
    ("batchnorm", "batchnorm", "- batchnorm", (6, 5, 5), lambda: nn.BatchNorm2d(6), None),
    ("batchnorm-1d", "batchnorm", "- batchnorm: {affine: false}", (6,), lambda: nn.BatchNorm1d(6, affine=False), None),
    ("lrn", "lrn", "- lrn: {size: 5, k: 2}", (8, 5, 5), lambda: nn.LocalResponseNorm(5, k=2), None),
    ("leaky", "leaky_relu", "- leaky_relu: {negative_slope: 0.2}", (3, 4, 4), lambda: nn.LeakyReLU(0.2), None),
    (
        "block",
        "block",
        "- block: {layers: [conv: {out: 4, kernel: 3}, relu]}",
        (3, 8, 8),
        lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()),
        True,
    ),
    (
        "repeat",
        "repeat",
        "- repeat: {times: 3, layers: [conv: {out: 3, kernel: 3, padding: 1}]}",
        (3, 8, 8),
        lambda: nn.Sequential(*[nn.Conv2d(3, 3, 3, padding=1) for _ in range(3)]),
        True,
    ),
]

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "mish": nn.Mish,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "hardswish": nn.Hardswish,
    "hardsigmoid": nn.Hardsigmoid,
    "softmax": lambda: nn.Softmax(dim=1),
    "log_softmax": lambda: nn.LogSoftmax(dim=1),
    "identity": nn.Identity,
}
CASES += [(kind, kind, f"- {kind}", (3, 4, 4), factory, None) for kind, factory in _ACTIVATIONS.items()]


class _Parallel(nn.Module):
    def __init__(self, branches, merge):
        super().__init__()
        self.branches = nn.ModuleList(branches)
        self.merge = merge

    def forward(self, x):
        outs = [b(x) for b in self.branches]
        if self.merge == "mul":
            return outs[0] * outs[1]
        return torch.cat(outs, 1) if self.merge == "concat" else sum(outs)


CASES += [
    (
        "parallel-concat",
        "parallel",
        "- parallel: {merge: concat, branches: [[conv: {out: 2, kernel: 1}], [conv: {out: 3, kernel: 3, padding: 1}], []]}",
        (4, 6, 6),
        lambda: _Parallel([nn.Conv2d(4, 2, 1), nn.Conv2d(4, 3, 3, padding=1), nn.Identity()], "concat"),
        True,
    ),
    (
        "parallel-add",
        "parallel",
        "- parallel: {merge: add, branches: [[conv: {out: 4, kernel: 1}], []]}",
        (4, 6, 6),
        lambda: _Parallel([nn.Conv2d(4, 4, 1), nn.Identity()], "add"),
        True,
    ),
    (
        "parallel-mul-se",
        "parallel",
        "- parallel: {merge: mul, branches: [[], [global_avgpool, conv: {out: 2, kernel: 1}, relu, conv: {out: 8, kernel: 1}, sigmoid]]}",
        (8, 5, 5),
        lambda: _Parallel(
            [
                nn.Identity(),
                nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(8, 2, 1), nn.ReLU(), nn.Conv2d(2, 8, 1), nn.Sigmoid()),
            ],
            "mul",
        ),
        True,
    ),
    (
        "parallel-mul-spatial-gate",
        "parallel",
        "- parallel: {merge: mul, branches: [[conv: {out: 1, kernel: 3, padding: 1}, sigmoid], [conv: {out: 4, kernel: 1}]]}",
        (3, 6, 6),
        lambda: _Parallel([nn.Sequential(nn.Conv2d(3, 1, 3, padding=1), nn.Sigmoid()), nn.Conv2d(3, 4, 1)], "mul"),
        True,
    ),
    (
        "residual-projection",
        "residual",
        "- residual: {body: [conv: {out: 8, kernel: 3, stride: 2, padding: 1}], shortcut: [conv: {out: 8, kernel: 1, stride: 2}]}",
        (4, 8, 8),
        lambda: _Parallel([nn.Conv2d(4, 8, 3, 2, 1), nn.Conv2d(4, 8, 1, 2)], "add"),
        True,
    ),
]


class _TableConv(nn.Module):
    """A conv with a connection table, as torch computes it: one small conv per output map over
    just the input maps its table row names, outputs concatenated. Its parameters are exactly the
    table's kernels (plus one bias per map), and FlopCounterMode counts only the real taps."""

    def __init__(self, table, kernel, **kwargs):
        super().__init__()
        self.rows = [list(row) for row in table]
        self.maps = nn.ModuleList(nn.Conv2d(len(row), 1, kernel, **kwargs) for row in self.rows)

    def forward(self, x):
        return torch.cat([conv(x[:, row]) for conv, row in zip(self.maps, self.rows)], 1)


class _MaskedConv(nn.Module):
    """The same table as a dense conv whose weight is multiplied by a fixed 0/1 mask."""

    def __init__(self, in_channels, table, kernel, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, len(table), kernel, **kwargs)
        mask = torch.zeros_like(self.conv.weight)
        for out, row in enumerate(table):
            mask[out, row] = 1
        self.register_buffer("mask", mask)

    def forward(self, x):
        return nn.functional.conv2d(
            x, self.conv.weight * self.mask, self.conv.bias, self.conv.stride, self.conv.padding
        )


class _UnsharedBias(nn.Module):
    """A conv without bias plus a trainable bias tensor broadcast over the output."""

    def __init__(self, conv, bias_shape):
        super().__init__()
        self.conv = conv
        self.bias = nn.Parameter(torch.randn(*bias_shape))

    def forward(self, x):
        return self.conv(x) + self.bias


class _RBF(nn.Module):
    """Euclidean RBF units, sum_j (x_j - w_ij)^2, computed as |x|^2 - 2 x.w + |w|^2: the dense
    implementation, whose x.w product FlopCounterMode counts as in x out MACs."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in))

    def forward(self, x):
        return (x * x).sum(1, keepdim=True) - 2 * x @ self.weight.T + (self.weight * self.weight).sum(1)


_TABLE = [[0], [0, 1], [1, 2], [0, 1, 2]]
_LENET89_H2 = [list(range(0, 8))] * 4 + [list(range(4, 12))] * 4 + [[0, 1, 2, 3, 8, 9, 10, 11]] * 4

CASES += [
    (
        "conv-table",
        "conv",
        f"- conv: {{out: 4, kernel: 3, table: {_TABLE}}}",
        (3, 8, 8),
        lambda: _TableConv(_TABLE, 3),
        True,
    ),
    (
        "conv-table-stride-pad",
        "conv",
        f"- conv: {{out: 4, kernel: 3, stride: 2, padding: 1, connection_table: {_TABLE}}}",
        (3, 9, 9),
        lambda: _TableConv(_TABLE, 3, stride=2, padding=1),
        True,
    ),
    (
        "conv-bias-per-unit",
        "conv",
        "- conv: {out: 3, kernel: 3, stride: 2, padding: 1, bias: per_unit}",
        (2, 9, 9),
        lambda: _UnsharedBias(nn.Conv2d(2, 3, 3, 2, 1, bias=False), (3, 5, 5)),
        True,
    ),
    (
        "conv-bias-per-position",
        "conv",
        "- conv: {out: 3, kernel: 1, bias: per_position}",
        (4, 6, 7),
        lambda: _UnsharedBias(nn.Conv2d(4, 3, 1, bias=False), (1, 6, 7)),
        True,
    ),
    (
        "conv-table-per-unit-lenet89-h2",
        "conv",
        f"- conv: {{out: 12, kernel: 5, stride: 2, padding: 2, table: {_LENET89_H2}, bias: per_unit}}",
        (12, 8, 8),
        lambda: _UnsharedBias(_TableConv(_LENET89_H2, 5, stride=2, padding=2, bias=False), (12, 4, 4)),
        True,
    ),
    (
        "subsample",
        "subsample",
        "- subsample: {kernel: 2}",
        (6, 10, 10),
        lambda: nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(6, 6, 1, groups=6)),
        True,
    ),
    (
        "subsample-nobias-stride",
        "subsample",
        "- subsample: {kernel: 3, stride: 2, bias: false}",
        (4, 11, 11),
        lambda: nn.Sequential(nn.AvgPool2d(3, 2), nn.Conv2d(4, 4, 1, groups=4, bias=False)),
        True,
    ),
    ("rbf", "rbf", "- rbf: {out: 10}", (84,), lambda: _RBF(84, 10), True),
    # the graph form's merge kinds: a reads the input, b reads a, the merge reads both
    *(
        (
            f"{kind}-graph-form",
            kind,
            f"- {{conv: {{name: a, out: 4, kernel: 3, padding: 1}}}}\n- {second}\n- {{kind: {kind}, from: [a, b]}}",
            (3, 8, 8),
            lambda kind=kind: _GraphMerge(kind),
            True,
        )
        for kind, second in (
            ("add", "{conv: {name: b, out: 4, kernel: 1}}"),
            ("concat", "{conv: {name: b, out: 2, kernel: 1}}"),
            ("mul", "{global_avgpool: {name: b}}"),
        )
    ),
]


# issue 16's kinds (kinds-a): torch's own calls, written here as a user's model would
class _Call(nn.Module):
    """A functional call (x.chunk, torch.split, x.mean, the view-transpose-view shuffle) as a module."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _shuffle(x, groups):
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


class _ShuffleUnit(nn.Module):
    """ShuffleNetV2's stride-1 unit: half the channels pass, half go through 1x1 - depthwise 3x3 - 1x1."""

    def __init__(self, c):
        super().__init__()
        half = c // 2
        self.branch = nn.Sequential(
            nn.Conv2d(half, half, 1),
            nn.ReLU(),
            nn.Conv2d(half, half, 3, padding=1, groups=half),
            nn.Conv2d(half, half, 1),
        )

    def forward(self, x):
        a, b = x.chunk(2, 1)
        return _shuffle(torch.cat([a, self.branch(b)], 1), 2)


CASES += [
    (
        "split-chunks",
        "split",
        "- split: {chunks: 4, index: 2}",
        (5, 3, 3),
        lambda: _Call(lambda x: x.chunk(4, 1)[2]),
        None,
    ),
    (
        "split-sections",
        "split",
        "- split: {sections: [2, 4], index: 1}",
        (6, 3, 3),
        lambda: _Call(lambda x: torch.split(x, [2, 4], 1)[1]),
        None,
    ),
    (
        "split-branch-alone",
        "split",
        "- parallel: {merge: concat, branches: [[split: {chunks: 2, index: 0}], [split: {chunks: 2, index: 1}]]}",
        (6, 4, 4),
        lambda: _Call(lambda x: torch.cat([x.chunk(2, 1)[0], x.chunk(2, 1)[1]], 1)),
        None,
    ),
    (
        "shufflenet-unit",
        "channel_shuffle",
        "- parallel: {merge: concat, branches: [[split: {chunks: 2, index: 0}], [split: {chunks: 2, index: 1},"
        " conv: {out: 4, kernel: 1}, relu, conv: {out: 4, kernel: 3, padding: 1, groups: depthwise},"
        " conv: {out: 4, kernel: 1}]]}\n- channel_shuffle: {groups: 2}",
        (8, 6, 6),
        lambda: _ShuffleUnit(8),
        True,
    ),
    (
        "channel-shuffle",
        "channel_shuffle",
        "- channel_shuffle: {groups: 3}",
        (6, 4, 5),
        lambda: nn.ChannelShuffle(3),
        None,
    ),
    ("mean-hw", "mean", "- mean: {dims: [2, 3]}", (6, 5, 7), lambda: _Call(lambda x: x.mean([2, 3])), None),
    (
        "mean-last-keepdim",
        "mean",
        "- mean: {dims: [-1], keepdim: true}",
        (6, 5, 7),
        lambda: _Call(lambda x: x.mean([-1], keepdim=True)),
        None,
    ),
    (
        "mean-h-then-conv1d",
        "mean",
        "- mean: {dims: [2]}\n- conv: {out: 4, kernel: 3}",
        (6, 5, 7),
        lambda: nn.Sequential(_Call(lambda x: x.mean([2])), nn.Conv1d(6, 4, 3)),
        True,
    ),
    (
        "upsample-nearest",
        "upsample",
        "- upsample: {scale_factor: 2}",
        (3, 4, 5),
        lambda: nn.Upsample(scale_factor=2),
        None,
    ),
    (
        "upsample-nearest-odd",
        "upsample",
        "- upsample: {scale_factor: [1.5, 2.5]}",
        (3, 5, 7),
        lambda: nn.Upsample(scale_factor=(1.5, 2.5)),
        None,
    ),
    ("upsample-nearest-1d", "upsample", "- upsample: {size: 9}", (3, 4), lambda: nn.Upsample(size=9), None),
    (
        "upsample-nearest-3d",
        "upsample",
        "- upsample: {scale_factor: 2}",
        (2, 2, 3, 4),
        lambda: nn.Upsample(scale_factor=2),
        None,
    ),
    (
        "upsample-bilinear",
        "upsample",
        "- upsample: {mode: bilinear, scale_factor: 2}",
        (3, 4, 5),
        lambda: nn.Upsample(scale_factor=2, mode="bilinear"),
        None,
    ),
    (
        "upsample-bilinear-size-aligned",
        "upsample",
        "- upsample: {mode: bilinear, size: [7, 9], align_corners: true}",
        (3, 4, 5),
        lambda: nn.Upsample(size=(7, 9), mode="bilinear", align_corners=True),
        None,
    ),
    ("groupnorm", "groupnorm", "- groupnorm: {num_groups: 2}", (6, 5, 5), lambda: nn.GroupNorm(2, 6), None),
    (
        "groupnorm-noaffine-1d",
        "groupnorm",
        "- groupnorm: {num_groups: 3, affine: false}",
        (6, 5),
        lambda: nn.GroupNorm(3, 6, affine=False),
        None,
    ),
]


class _ChannelsLast(nn.Module):
    """A torch module run on the channels of a channels-first tensor, as ConvNeXt runs its
    LayerNorm and pointwise Linear: channels moved last (ConvNeXt's permute), applied, moved back."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module(x.movedim(1, -1)).movedim(-1, 1)


class _Scale(nn.Module):
    """ConvNeXt's layer scale: a [C, 1, 1] parameter times the input."""

    def __init__(self, channels, ones=(1, 1)):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((channels, *ones), 1e-6))

    def forward(self, x):
        return self.gamma * x


# kinds-b: ConvNeXt's block kinds and the importer's opaque stand-in
CASES += [
    (
        "layernorm",
        "layernorm",
        "- layernorm: {eps: 1.0e-6}",
        (6, 5, 7),
        lambda: _ChannelsLast(nn.LayerNorm(6, 1e-6)),
        None,
    ),
    (
        "layernorm-nobias",
        "layernorm",
        "- layernorm: {bias: false}",
        (6, 5, 7),
        lambda: _ChannelsLast(nn.LayerNorm(6, bias=False)),
        None,
    ),
    (
        "layernorm-noaffine",
        "layernorm",
        "- layernorm: {elementwise_affine: false}",
        (6, 5, 7),
        lambda: _ChannelsLast(nn.LayerNorm(6, elementwise_affine=False)),
        None,
    ),
    ("layernorm-flat", "layernorm", "- layernorm", (10,), lambda: nn.LayerNorm(10), None),
    ("layernorm-1d", "layernorm", "- layernorm", (6, 9), lambda: _ChannelsLast(nn.LayerNorm(6)), None),
    (
        "channel-linear-1d",
        "channel_linear",
        "- channel_linear: {out: 3}",
        (6, 9),
        lambda: _ChannelsLast(nn.Linear(6, 3)),
        True,
    ),
    ("layer-scale-flat", "layer_scale", "- layer_scale", (6,), lambda: _Scale(6, ()), None),
    (
        "channel-linear",
        "channel_linear",
        "- channel_linear: {out: 4}",
        (6, 5, 7),
        lambda: _ChannelsLast(nn.Linear(6, 4)),
        True,
    ),
    (
        "channel-linear-nobias",
        "channel_linear",
        "- channel_linear: {out_features: 9, bias: false}",
        (6, 5, 7),
        lambda: _ChannelsLast(nn.Linear(6, 9, bias=False)),
        True,
    ),
    ("layer-scale", "layer_scale", "- layer_scale", (6, 5, 7), lambda: _Scale(6), None),
    ("stochastic-depth", "stochastic_depth", "- stochastic_depth: {p: 0.2}", (6, 5, 7), lambda: nn.Identity(), None),
    (
        "stochastic-depth-batch",
        "stochastic_depth",
        "- stochastic_depth: {p: 0.5, mode: batch}",
        (6, 5, 7),
        lambda: nn.Identity(),
        None,
    ),
    # the module an opaque layer stands for: its parameters, buffers (counter included) and output
    (
        "opaque",
        "opaque",
        "- opaque: {params: 12, buffers: 13, out_shape: [6, 2, 2], module: BatchNormPool}",
        (6, 5, 7),
        lambda: nn.Sequential(nn.BatchNorm2d(6), nn.AdaptiveAvgPool2d(2)),
        None,
    ),
]


class _GraphMerge(nn.Module):
    """a = conv3x3(x); b = conv1x1(a) (mul: b = a's global average); merge(a, b)."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.b = {"add": nn.Conv2d(4, 4, 1), "concat": nn.Conv2d(4, 2, 1), "mul": nn.AdaptiveAvgPool2d(1)}[kind]

    def forward(self, x):
        a = self.a(x)
        b = self.b(a)
        return {"add": lambda: a + b, "concat": lambda: torch.cat([a, b], 1), "mul": lambda: a * b}[self.kind]()


@pytest.mark.parametrize(
    ("table", "kwargs"), [(_TABLE, {}), (_TABLE, {"stride": 2, "padding": 1})], ids=["plain", "stride-pad"]
)
def test_connection_table_is_a_masked_conv(table, kwargs):
    """The per-map oracle computes the masked dense conv, and the mask holds exactly archcalc's weights."""
    torch.manual_seed(0)
    masked = _MaskedConv(3, table, 3, **kwargs)
    per_map = _TableConv(table, 3, **kwargs)
    with torch.no_grad():
        for out, (conv, row) in enumerate(zip(per_map.maps, per_map.rows)):
            conv.weight.copy_(masked.conv.weight[out : out + 1, row])
            conv.bias.copy_(masked.conv.bias[out : out + 1])
        x = torch.randn(2, 3, 9, 9)
        gap = (per_map(x) - masked(x)).abs().max().item()
    assert gap < 1e-5, f"per-map convs and the masked conv differ by up to {gap}"
    yaml = f"- conv: {{out: 4, kernel: 3, table: {table}, stride: {kwargs.get('stride', 1)}, padding: {kwargs.get('padding', 0)}}}"
    analysis = analyse_text(yaml, "[3, 9, 9]")
    assert analysis.totals.weights == int(masked.mask.sum()), (
        f"weights: archcalc {analysis.totals.weights}, mask {int(masked.mask.sum())}"
    )


def test_every_kind_has_a_row():
    missing = set(KINDS) - {case[1] for case in CASES}
    assert not missing, f"kinds with no row in CASES: {sorted(missing)}"


@pytest.mark.parametrize(("yaml", "shape", "factory", "has_macs"), [c[2:] for c in CASES], ids=[c[0] for c in CASES])
def test_kind_matches_torch(yaml, shape, factory, has_macs):
    from torch.utils.flop_counter import FlopCounterMode

    analysis = analyse_text(yaml, str(list(shape)))
    module = factory().eval()
    x = torch.randn(2, *shape)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        y = module(x)
    assert tuple(y.shape[1:]) == analysis.output_shape, (
        f"shape: archcalc {analysis.output_shape}, torch {tuple(y.shape[1:])}"
    )
    torch_params = sum(p.numel() for p in module.parameters())
    assert analysis.totals.params == torch_params, f"params: archcalc {analysis.totals.params}, torch {torch_params}"
    torch_buffers = sum(b.numel() for b in module.buffers())
    ours = analysis.totals.buffers + analysis.totals.counters
    assert ours == torch_buffers, f"buffers: archcalc {ours}, torch {torch_buffers}"
    torch_macs = counter.get_total_flops() // 2 // 2  # two FLOPs per MAC, batch of two
    if has_macs:
        assert analysis.totals.macs == torch_macs, f"MACs: archcalc {analysis.totals.macs}, torch {torch_macs}"
    else:
        assert analysis.totals.macs == 0 and torch_macs == 0


def test_units_are_new_activations_only():
    analysis = analyse_text("- conv: {out: 4, kernel: 3}\n- relu\n- dropout\n- flatten")
    assert [r.units for r in analysis.rows] == [4 * 30 * 30, 0, 0, 0]
    assert analysis.rows[-1].out_shape == (prod((4, 30, 30)),)


def test_connections_exclude_padding():
    # 3x3 input, 3x3 kernel, pad 1: 9 outputs x 9 taps = 81 MACs, but only 49 taps see real inputs
    analysis = analyse_text("- conv: {out: 1, kernel: 3, padding: 1, bias: false}", "[1, 3, 3]")
    row = analysis.rows[0]
    assert (row.macs, row.connections) == (81, 49)
