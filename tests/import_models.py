"""Models written as users write them, for `archcalc import` to read: what torchvision's zoo does
not hold (a U-Net's four-level skips, a feature pyramid returning several maps, a network of bare
functional calls) and one small model per pattern the importer must recognise. Imports torch: only
the import tests and `archcalc import tests/import_models.py:Name` load this file.

Each class builds with no arguments (so `file.py:Name` is a complete target); `INPUTS` gives the
smallest input shape (no batch) each accepts with every check meaningful."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class DoubleConv(nn.Module):
    """conv-bn-relu twice, U-Net's unit at every level."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(x)))


class Down(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.pool = nn.MaxPool2d(2)
        self.block = DoubleConv(in_channels, out_channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.block(self.pool(x))


class Up(nn.Module):
    """Up by a transposed convolution (or bilinear interpolation and a 1x1 conv), then the skip
    concatenated on channels: the cat is written in the decoder's forward, as users write it."""

    def __init__(self, in_channels: int, out_channels: int, bilinear: bool = False) -> None:
        super().__init__()
        self.bilinear = bilinear
        self.up: nn.Module
        if bilinear:
            self.up = nn.Conv2d(in_channels, in_channels // 2, 1)
        else:
            self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, 2, stride=2)
        self.block = DoubleConv(in_channels, out_channels)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        if self.bilinear:
            x = self.up(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
        else:
            x = self.up(x)
        return self.block(torch.cat([skip, x], dim=1))


class UNet(nn.Module):
    """Ronneberger et al. 2015 at small width: skips at four levels, three up by transposed
    convolution and the last by bilinear interpolation (both forms users write)."""

    def __init__(self, in_channels: int = 3, num_classes: int = 2, width: int = 8) -> None:
        super().__init__()
        w = width
        self.inc = DoubleConv(in_channels, w)
        self.down1 = Down(w, 2 * w)
        self.down2 = Down(2 * w, 4 * w)
        self.down3 = Down(4 * w, 8 * w)
        self.down4 = Down(8 * w, 16 * w)
        self.up1 = Up(16 * w, 8 * w)
        self.up2 = Up(8 * w, 4 * w)
        self.up3 = Up(4 * w, 2 * w)
        self.up4 = Up(2 * w, w, bilinear=True)
        self.outc = nn.Conv2d(w, num_classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x5 = self.down4(x4)
        x = self.up1(x5, x4)
        x = self.up2(x, x3)
        x = self.up3(x, x2)
        x = self.up4(x, x1)
        return self.outc(x)


class FPN(nn.Module):
    """A feature pyramid (Lin et al. 2017) over a small four-stage backbone: lateral 1x1 convs,
    top-down nearest upsampling added to the lateral, a 3x3 conv per level, and one extra level by
    max pooling; returns the five maps as a tuple, finest first."""

    def __init__(self, width: int = 16, out_channels: int = 32) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, width, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)
        )
        chans = [width, 2 * width, 4 * width, 8 * width]
        self.stages = nn.ModuleList()
        prev = width
        for c in chans:
            self.stages.append(
                nn.Sequential(nn.Conv2d(prev, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
            )
            prev = c
        self.lateral = nn.ModuleList(nn.Conv2d(c, out_channels, 1) for c in chans)
        self.smooth = nn.ModuleList(nn.Conv2d(out_channels, out_channels, 3, padding=1) for _ in chans)

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        x = self.stem(x)
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        top = self.lateral[3](features[3])
        merged = [top]
        for i in (2, 1, 0):
            top = self.lateral[i](features[i]) + F.interpolate(top, scale_factor=2, mode="nearest")
            merged.insert(0, top)
        maps = [smooth(m) for smooth, m in zip(self.smooth, merged)]
        return (*maps, F.max_pool2d(maps[-1], 1, stride=2))


class FunctionalNet(nn.Module):
    """Only the weight layers are modules; everything else is a functional call or a tensor
    method in forward: F.relu, F.max_pool2d, torch.cat, +, x.mean, F.adaptive_avg_pool2d,
    torch.flatten."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.conv2a = nn.Conv2d(16, 16, 3, padding=1)
        self.conv2b = nn.Conv2d(16, 16, 1)
        self.conv3 = nn.Conv2d(32, 32, 3, stride=2, padding=1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = torch.cat([F.relu(self.conv2a(x)), F.relu(self.conv2b(x))], dim=1)
        y = F.relu(self.conv3(x))
        y = y + F.max_pool2d(x, kernel_size=3, stride=2, padding=1)
        pooled = torch.flatten(F.adaptive_avg_pool2d(y, 1), 1)
        averaged = y.mean([2, 3])
        return self.fc(torch.cat([pooled, averaged], dim=1))


def channel_shuffle(x: Tensor, groups: int) -> Tensor:
    """torchvision's shufflenetv2.channel_shuffle: view, transpose, view."""
    batch, channels, height, width = x.size()
    x = x.view(batch, groups, channels // groups, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(batch, -1, height, width)


class ShuffleUnit(nn.Module):
    """ShuffleNet V2's unit (Ma et al. 2018, fig. 3c/d): stride 1 splits the channels in two and
    transforms one half; stride 2 transforms both; concatenated, then shuffled."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        half = out_channels // 2
        branch_in = in_channels if stride > 1 else in_channels // 2
        if stride > 1:
            self.branch1 = nn.Sequential(
                nn.Conv2d(in_channels, in_channels, 3, stride, 1, groups=in_channels, bias=False),
                nn.BatchNorm2d(in_channels),
                nn.Conv2d(in_channels, half, 1, bias=False),
                nn.BatchNorm2d(half),
                nn.ReLU(inplace=True),
            )
        self.branch2 = nn.Sequential(
            nn.Conv2d(branch_in, half, 1, bias=False),
            nn.BatchNorm2d(half),
            nn.ReLU(inplace=True),
            nn.Conv2d(half, half, 3, stride, 1, groups=half, bias=False),
            nn.BatchNorm2d(half),
            nn.Conv2d(half, half, 1, bias=False),
            nn.BatchNorm2d(half),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: Tensor) -> Tensor:
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetLike(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 24, 3, 2, 1, bias=False), nn.BatchNorm2d(24), nn.ReLU(inplace=True))
        self.units = nn.Sequential(ShuffleUnit(24, 48, 2), ShuffleUnit(48, 48, 1), ShuffleUnit(48, 48, 1))
        self.fc = nn.Linear(48, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.units(self.stem(x))
        return self.fc(x.mean([2, 3]))


class LayerNorm2d(nn.LayerNorm):
    """torchvision's convnext.LayerNorm2d: LayerNorm over the channels of a channels-first map."""

    def forward(self, x: Tensor) -> Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    """Liu et al. 2022, as its reference code writes it: depthwise 7x7, permute to channels-last,
    LayerNorm, Linear 4x, GELU, Linear back, a learned per-channel scale (gamma), permute back,
    stochastic depth (identity at inference), residual add."""

    def __init__(self, dim: int, layer_scale: float = 1e-6, drop_path: float = 0.1) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(layer_scale * torch.ones(dim))
        self.drop_path = nn.Dropout(drop_path)  # torchvision's StochasticDepth is in the zoo tests

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x
        x = self.dwconv(x)
        x = x.permute(0, 2, 3, 1)
        x = self.pwconv2(self.act(self.pwconv1(self.norm(x))))
        x = self.gamma * x
        x = x.permute(0, 3, 1, 2)
        return shortcut + self.drop_path(x)


class ConvNeXtLike(nn.Module):
    def __init__(self, num_classes: int = 10, dims: tuple[int, int] = (16, 32)) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, dims[0], 4, stride=4), LayerNorm2d(dims[0], eps=1e-6))
        self.stage1 = nn.Sequential(ConvNeXtBlock(dims[0]), ConvNeXtBlock(dims[0]))
        self.downsample = nn.Sequential(LayerNorm2d(dims[0], eps=1e-6), nn.Conv2d(dims[0], dims[1], 2, stride=2))
        self.stage2 = nn.Sequential(ConvNeXtBlock(dims[1]), ConvNeXtBlock(dims[1]))
        self.norm = nn.LayerNorm(dims[1], eps=1e-6)
        self.head = nn.Linear(dims[1], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stage2(self.downsample(self.stage1(self.stem(x))))
        return self.head(self.norm(x.mean([-2, -1])))


class SqueezeExcitation(nn.Module):
    """Hu et al. 2018: global average pool, 1x1 reduce, ReLU, 1x1 expand, sigmoid, then the map
    scaled channel by channel (`x * scale`)."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: Tensor) -> Tensor:
        scale = self.sigmoid(self.fc2(self.relu(self.fc1(self.avgpool(x)))))
        return x * scale


class SENet(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.se = SqueezeExcitation(32)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        out = self.se(self.bn2(self.conv2(x)))
        x = self.relu(out + x)
        return self.fc(torch.flatten(self.pool(x), 1))


class SelfAttention2d(nn.Module):
    """nn.MultiheadAttention over the positions of a feature map (as in SAGAN or a non-local
    block): the map to tokens, attention, tokens back to a map."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.mha = nn.MultiheadAttention(dim, num_heads, batch_first=True)

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        attended, _ = self.mha(tokens, tokens, tokens, need_weights=False)
        return attended.transpose(1, 2).reshape(n, c, h, w)


class AttentionNet(nn.Module):
    """A conv stem, then nn.MultiheadAttention over the positions: not a kind archcalc maps, so
    `import` names `attn` (its module path) as unsupported; `--opaque` keeps its params."""

    def __init__(self, dim: int = 32, num_heads: int = 4, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, dim, 4, stride=4)
        self.attn = nn.MultiheadAttention(dim, num_heads, batch_first=True)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x).flatten(2).transpose(1, 2)
        x, _ = self.attn(x, x, x, need_weights=False)
        return self.head(x.mean(1))


class AttentionBlockNet(nn.Module):
    """AttentionNet's attention inside a block that takes and gives a map (tokens in between), with
    a residual: `import` names `attn.mha` as unsupported; `--opaque` keeps the params exact."""

    def __init__(self, dim: int = 32, num_heads: int = 4, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, dim, 4, stride=4)
        self.attn = SelfAttention2d(dim, num_heads)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        x = x + self.attn(x)
        return self.head(torch.flatten(self.pool(x), 1))


# class name -> a small input (C, H, W) with every check meaningful: U-Net halves four times (32
# leaves a 2x2 bottom, so its pooling still pools), the FPN's extra level halves a sixth time.
INPUTS: dict[str, tuple[int, int, int]] = {
    "UNet": (3, 32, 32),
    "FPN": (3, 64, 64),
    "FunctionalNet": (3, 32, 32),
    "ShuffleNetLike": (3, 32, 32),
    "ConvNeXtLike": (3, 32, 32),
    "SENet": (3, 32, 32),
    "AttentionNet": (3, 32, 32),
    "AttentionBlockNet": (3, 32, 32),
}
# the models `import` must refuse without --opaque, and what the refusal must name: the module
# path, the op, the file of its call
UNSUPPORTED: dict[str, tuple[str, ...]] = {
    "AttentionNet": ("attn: MultiheadAttention", "import_models.py:"),
    "AttentionBlockNet": ("attn.mha: MultiheadAttention", "import_models.py:"),
}
