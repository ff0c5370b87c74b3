"""docs/examples/my_net.yaml written as PyTorch code, as a project would have it: the README's
`archcalc verify docs/examples/my_net.yaml --against docs/examples/my_net_model.py:MyNet` holds
the spec to it. `mid` (the middle branch's 3x3 width) is there to show a divergence."""

from __future__ import annotations

import torch
from torch import nn


class MyNet(nn.Module):
    def __init__(self, num_classes: int = 10, mid: int = 32) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.ZeroPad2d((0, 1, 0, 1)),  # TensorFlow SAME at stride 2: the extra pad right and bottom
            nn.Conv2d(3, 32, 3, stride=2),
            nn.BatchNorm2d(32),
            nn.ReLU(),
        )
        self.body = nn.Sequential(
            nn.Conv2d(32, 64, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1, bias=False),
            nn.BatchNorm2d(64),
        )
        self.shortcut = nn.Conv2d(32, 64, 1, stride=2, bias=False)
        self.branch1 = nn.Conv2d(64, 16, 1)
        self.branch2 = nn.Sequential(nn.Conv2d(64, 16, 1), nn.Conv2d(16, mid, 3, padding=1))
        self.branch3 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(64, 16, 1))
        self.head = nn.Sequential(
            nn.Conv2d(16 + mid + 16, 64, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(64, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = torch.relu(self.body(x) + self.shortcut(x))
        x = torch.cat([self.branch1(x), self.branch2(x), self.branch3(x)], dim=1)
        return self.head(x)
