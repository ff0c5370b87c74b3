"""Hand-built `TracedModel`s, as a model reader would give them, for the spec writer's tests (no torch).

`Net` appends layers in execution order: `net.add("layer1.0.conv1", "conv", out_channels=8)` reads
the layer before it; `reads=[a, b]` names earlier layers by the index `add` returned (-1: the
model's input). Shapes are left empty: the tests compare the spec's analyses, not the reader's.
"""

from __future__ import annotations

from typing import Any

from archcalc.importing.traced import MODEL_INPUT, TracedLayer, TracedModel


class Net:
    """A TracedModel under construction (a builder: filled step by step)."""

    __slots__ = ("input", "layers", "name")

    def __init__(self, name: str = "net", input_shape: tuple[int, ...] = (3, 16, 16)) -> None:
        self.name, self.input, self.layers = name, input_shape, []

    @property
    def last(self) -> int:
        return len(self.layers) - 1

    def add(self, path: str | tuple[str, ...], kind: str, reads: int | list[int] | None = None, **fields: Any) -> int:
        steps = tuple(path.split(".")) if isinstance(path, str) else path
        inputs = (self.last,) if reads is None else (reads,) if isinstance(reads, int) else tuple(reads)
        self.layers.append(TracedLayer(path=steps, kind=kind, fields=fields, inputs=inputs, out_shape=()))
        return self.last

    def conv(self, path: str, out: int, kernel: int = 3, stride: int = 1, reads: Any = None) -> int:
        return self.add(
            path,
            "conv",
            reads,
            out_channels=out,
            kernel_size=[kernel, kernel],
            stride=[stride, stride],
            padding=[kernel // 2, kernel // 2],
            bias=False,
        )

    def model(self, outputs: tuple[int, ...] | None = None) -> TracedModel:
        return TracedModel(
            name=self.name,
            input_shape=self.input,
            layers=tuple(self.layers),
            outputs=(self.last,) if outputs is None else outputs,
            method="test",
        )


def conv_bn_relu(net: Net, prefix: str, out: int, stride: int = 1, reads: Any = None) -> int:
    net.conv(f"{prefix}.conv", out, 3, stride, reads)
    net.add(f"{prefix}.bn", "batchnorm")
    return net.add(f"{prefix}.relu", "relu")


def basic_block(net: Net, prefix: str, out: int, stride: int = 1) -> int:
    """torchvision's BasicBlock: conv-bn-relu-conv-bn, + the input (or its projection
    `downsample.0/1`), relu."""
    x = net.last
    net.conv(f"{prefix}.conv1", out, 3, stride)
    net.add(f"{prefix}.bn1", "batchnorm")
    net.add(f"{prefix}.relu", "relu")
    net.conv(f"{prefix}.conv2", out, 3)
    body = net.add(f"{prefix}.bn2", "batchnorm")
    short = x
    if stride != 1:
        net.conv(f"{prefix}.downsample.0", out, 1, stride, reads=x)
        short = net.add(f"{prefix}.downsample.1", "batchnorm")
    net.add(f"{prefix}.add", "add", [body, short])
    return net.add(f"{prefix}.relu_1", "relu")


def stem(net: Net, out: int = 8) -> int:
    net.conv("conv1", out, 3, reads=MODEL_INPUT)
    net.add("bn1", "batchnorm")
    return net.add("relu", "relu")


def chain() -> TracedModel:
    net = Net("chain")
    stem(net)
    net.add("pool", "maxpool", kernel_size=[2, 2], stride=[2, 2])
    net.add("avgpool", "global_avgpool")
    net.add("flatten", "flatten")
    net.add("fc", "linear", out_features=10)
    return net.model()


def resnet_like(stages: tuple[int, ...] = (2, 2)) -> TracedModel:
    net = Net("resnet_like")
    stem(net)
    width = 8
    for s, blocks in enumerate(stages):
        for b in range(blocks):
            stride = 2 if s and not b else 1
            basic_block(net, f"layer{s + 1}.{b}", width * 2**s, stride)
    net.add("avgpool", "global_avgpool")
    net.add("flatten", "flatten")
    net.add("fc", "linear", out_features=10)
    return net.model()


def inception_like() -> TracedModel:
    """Branches that are modules of the block (`branch1x1.conv`), and one that is two modules."""
    net = Net("inception_like")
    x = stem(net)
    a = conv_bn_relu(net, "mixed.branch1x1", 4, reads=x)
    conv_bn_relu(net, "mixed.branch3x3_1", 4, reads=x)
    b = conv_bn_relu(net, "mixed.branch3x3_2", 6)
    net.add("mixed.avg_pool", "avgpool", x, kernel_size=[3, 3], stride=[1, 1], padding=[1, 1])
    c = conv_bn_relu(net, "mixed.branch_pool", 2)
    net.add("mixed.cat", "concat", [a, b, c])
    net.add("fc", "conv", out_channels=4, kernel_size=[1, 1])
    return net.model()


def squeeze_excitation() -> TracedModel:
    net = Net("se")
    x = stem(net)
    net.add("se.avgpool", "global_avgpool")
    net.add("se.fc1", "conv", out_channels=2, kernel_size=[1, 1])
    net.add("se.relu", "relu")
    net.add("se.fc2", "conv", out_channels=8, kernel_size=[1, 1])
    gate = net.add("se.sigmoid", "sigmoid")
    net.add("se.mul", "mul", [gate, x])
    net.add("head", "conv", out_channels=4, kernel_size=[1, 1])
    return net.model()


def densenet_like(layers: int = 3) -> TracedModel:
    """Each dense layer concatenates every earlier feature map (its `cat` inside the layer reads
    several tensors from outside it): not series-parallel."""
    net = Net("densenet_like")
    feats = [stem(net)]
    for i in range(1, layers + 1):
        p = f"block.denselayer{i}"
        if len(feats) > 1:
            net.add(f"{p}.cat", "concat", list(feats))
        else:
            net.add(f"{p}.norm1", "batchnorm", feats[0])
        net.add(f"{p}.relu1", "relu")
        feats.append(net.conv(f"{p}.conv1", 4, 3))
    net.add("block.cat", "concat", list(feats))
    net.add("norm5", "batchnorm")
    return net.model()


def _up(net: Net, path: str, reads: int) -> int:
    return net.add(path, "conv_transpose", reads, out_channels=8, kernel_size=[2, 2], stride=[2, 2])


def fpn() -> TracedModel:
    """Three stages and a top-down path with three outputs."""
    net = Net("fpn", (3, 32, 32))
    c2 = net.conv("body.layer1.conv", 8, 3, 2, MODEL_INPUT)
    c3 = net.conv("body.layer2.conv", 16, 3, 2)
    c4 = net.conv("body.layer3.conv", 32, 3, 2)
    l4 = net.conv("fpn.inner.2", 8, 1, reads=c4)
    l3 = net.conv("fpn.inner.1", 8, 1, reads=c3)
    u4 = _up(net, "fpn.up", l4)
    m3 = net.add("fpn.add", "add", [l3, u4])
    l2 = net.conv("fpn.inner.0", 8, 1, reads=c2)
    u3 = _up(net, "fpn.up_1", m3)
    m2 = net.add("fpn.add_1", "add", [l2, u3])
    p2 = net.conv("fpn.layer.0", 8, 3, reads=m2)
    p3 = net.conv("fpn.layer.1", 8, 3, reads=m3)
    p4 = net.conv("fpn.layer.2", 8, 3, reads=l4)
    return net.model((p2, p3, p4))


def bottleneck(net: Net, prefix: str, width: int, stride: int, project: bool) -> int:
    """torchvision's Bottleneck: 1x1 w, 3x3 w (stride), 1x1 4w, + the input or its projection."""
    x = net.last
    net.conv(f"{prefix}.conv1", width, 1)
    net.add(f"{prefix}.bn1", "batchnorm")
    net.add(f"{prefix}.relu", "relu")
    net.conv(f"{prefix}.conv2", width, 3, stride)
    net.add(f"{prefix}.bn2", "batchnorm")
    net.add(f"{prefix}.relu_1", "relu")
    net.conv(f"{prefix}.conv3", 4 * width, 1)
    body = net.add(f"{prefix}.bn3", "batchnorm")
    short = x
    if project:
        net.conv(f"{prefix}.downsample.0", 4 * width, 1, stride, reads=x)
        short = net.add(f"{prefix}.downsample.1", "batchnorm")
    net.add(f"{prefix}.add", "add", [body, short])
    return net.add(f"{prefix}.relu_2", "relu")


def bottleneck_net(stages: tuple[int, ...] = (2, 3, 2)) -> TracedModel:
    """Stages of bottlenecks, widths 4, 8, 16, ...: the first block of each projects."""
    net = Net("bottleneck_net", (3, 32, 32))
    stem(net)
    for s, blocks in enumerate(stages):
        for b in range(blocks):
            bottleneck(net, f"layer{s + 1}.{b}", 4 * 2**s, 2 if s and not b else 1, b == 0)
    net.add("avgpool", "global_avgpool")
    return net.model()


def unet(levels: int = 3) -> TracedModel:
    """An encoder of `levels` stages and a decoder whose stages each concatenate the matching
    encoder map (a skip across levels): a decoder stage reads two tensors from outside."""
    net = Net("unet", (3, 32, 32))
    skips = []
    x = net.conv("inc.conv", 4, 3, reads=MODEL_INPUT)
    for i in range(levels):
        skips.append(x)
        net.add(f"down{i + 1}.pool", "maxpool", kernel_size=[2, 2], stride=[2, 2])
        x = net.conv(f"down{i + 1}.conv", 4 * 2 ** (i + 1), 3)
    for i in reversed(range(levels)):
        up = net.add(
            f"up{levels - i}.up", "conv_transpose", x, out_channels=4 * 2**i, kernel_size=[2, 2], stride=[2, 2]
        )
        net.add(f"up{levels - i}.cat", "concat", [skips[i], up])
        x = net.conv(f"up{levels - i}.conv", 4 * 2**i, 3)
    net.add("outc", "conv", out_channels=2, kernel_size=[1, 1])
    return net.model()


def shuffle_units(units: int = 2) -> TracedModel:
    """ShuffleNetV2's stride-1 units: x.chunk(2, 1); cat(x1, branch2(x2)); channel shuffle."""
    net = Net("shuffle", (8, 8, 8))
    net.add("stem", "relu", MODEL_INPUT)
    for u in range(units):
        x = net.last
        x1 = net.add(f"stage.{u}.chunk", "split", x, chunks=2, index=0)
        net.add(f"stage.{u}.chunk_1", "split", x, chunks=2, index=1)
        net.conv(f"stage.{u}.branch2.0", 4, 1)
        net.add(f"stage.{u}.branch2.1", "batchnorm")
        b = net.add(f"stage.{u}.branch2.2", "relu")
        net.add(f"stage.{u}.cat", "concat", [x1, b])
        net.add(f"stage.{u}.shuffle", "channel_shuffle", groups=2)
    return net.model()


def hostile(steps: list[str]) -> TracedModel:
    """A chain whose layers are named by `steps` (module path text from untrusted code), one
    module holding two of them, and a residual add across them."""
    net = Net("hostile\nname")
    net.conv((steps[0], steps[1]), 4, 3, reads=MODEL_INPUT)
    x = net.add((steps[0], steps[2]), "relu")
    for k, step in enumerate(steps[3:]):
        net.add((step, str(k)), "relu")
    net.add((steps[0], "add"), "add", [x, net.last])
    return net.model()
