"""The torch modules archcalc needs beyond torch.nn: paths that fork and merge (Fork, Merge).

Each is small and readable, because `archcalc export --to torch` copies their source into the
module it prints.
"""

from __future__ import annotations

import functools
from collections import OrderedDict

import torch
from torch import nn

MERGES = {
    "concat": lambda xs: torch.cat(xs, dim=1),  # along channels
    "add": lambda xs: functools.reduce(torch.add, xs),
}


class Merge(nn.Module):
    """Merges branch outputs: `concat` along channels or element-wise `add`."""

    def __init__(self, op: str):
        super().__init__()
        self.op = op

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return MERGES[self.op](list(xs))

    def extra_repr(self) -> str:
        return self.op


class Fork(nn.Module):
    """Runs several paths on the same input and merges their outputs (parallel branches, residual).

    `paths` lists, per path, the names of the children it applies in order (an empty path is
    the identity); the child named `merge` combines the path outputs.
    """

    def __init__(self, children: OrderedDict[str, nn.Module], paths: list[list[str]], merge: str):
        super().__init__()
        for name, module in children.items():
            self.add_module(name, module)
        self.paths = paths
        self.merge = merge

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = []
        for path in self.paths:
            y = x
            for name in path:
                y = self._modules[name](y)
            outs.append(y)
        return self._modules[self.merge](*outs)

