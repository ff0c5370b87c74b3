"""Generated specs for the speed suite: a plain chain of N leaf layers, written out as YAML.

The layers are listed one by one (no `repeat`), so the loader, the validator and the analyzer all
see N layers: conv 3x3 (8 -> 8 channels, padding 1), batchnorm, relu, cycled, and a classifier.
Small maps (8x16x16) keep the torch tools' forward passes cheap, so the comparison measures how
each tool handles many layers, not convolution speed.
"""

from __future__ import annotations

CYCLE = ("  - conv: {out: 8, kernel: 3, padding: 1, bias: false}", "  - batchnorm", "  - relu")
HEAD = ("  - global_avgpool", "  - flatten", "  - linear: {out: 10}")


def chain_yaml(layers: int) -> str:
    """A spec with exactly `layers` leaf layers (at least 4): the cycle, then pool, flatten, linear."""
    if layers < 4:
        raise ValueError("a generated net needs at least 4 layers")
    body = [CYCLE[i % len(CYCLE)] for i in range(layers - len(HEAD))]
    lines = [
        f"name: generated-{layers}",
        f"title: generated chain of {layers:,} layers",
        "input: [8, 16, 16]",
        "layers:",
        *body,
        *HEAD,
    ]
    return "\n".join(lines) + "\n"
