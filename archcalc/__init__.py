"""archcalc: exact per-layer shapes, parameters, connections and MACs of CNNs from declarative specs.

The public API for notebooks and scripts. Importing it loads nothing until a name is used; the
analyzer loads pydantic and PyYAML only: no torch, no rich, no click.

>>> from archcalc import load_spec, analyze
>>> analysis = analyze(load_spec("alexnet"))
>>> analysis.totals.params
62378344

The conv-arithmetic calculator, derivations and receptive fields, for notebooks:

>>> from archcalc import conv_output, receptive_fields
>>> conv_output(227, 11, stride=4)
55
>>> [row.axes[0].size for row in receptive_fields(load_spec("lenet5"))][:4]
[5, 5, 6, 14]
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

# Every name loads on first use (PEP 562), so `import archcalc` (and the command line, which
# imports it first) costs nothing until a name is used. No public name is also a submodule's
# name: importing a submodule sets the package attribute to the module, which would shadow a
# lazily bound function of that name (hence analysis.py, not analyze.py).
_EXPORTS: dict[str, str] = {
    "Analysis": "analysis",
    "Memory": "analysis",
    "Row": "analysis",
    "Totals": "analysis",
    "analyze": "analysis",
    "dtype_bytes": "analysis",
    "explain": "explanation",
    "ConvResult": "calculator",
    "DimSolve": "calculator",
    "conv_arithmetic": "calculator",
    "conv_output": "calculator",
    "solve_conv": "calculator",
    "transposed_output": "calculator",
    "ExitCode": "errors",
    "SpecError": "errors",
    "KINDS": "layers",
    "Counts": "layers",
    "Layer": "layers",
    # the layer kinds, built by name in Python: `Spec(..., layers=[Conv(out=16, kernel=3), ReLU()])`
    "Activation": "layers",
    "AdaptivePool": "layers",
    "AvgPool": "layers",
    "BatchNorm": "layers",
    "Block": "layers",
    "Branch": "layers",
    "Conv": "layers",
    "ConvTranspose": "layers",
    "Dropout": "layers",
    "Flatten": "layers",
    "GlobalPool": "layers",
    "LeakyReLU": "layers",
    "Linear": "layers",
    "LocalResponseNorm": "layers",
    "MaxPool": "layers",
    "Merge": "layers",
    "Parallel": "layers",
    "RBF": "layers",
    "Repeat": "layers",
    "Residual": "layers",
    "Subsample": "layers",
    # issue 16's kinds (kinds-a)
    "Split": "layers",
    "ChannelShuffle": "layers",
    "Mean": "layers",
    "Upsample": "layers",
    "GroupNorm": "layers",
    "LayerNorm": "layers",
    "ChannelLinear": "layers",
    "LayerScale": "layers",
    "StochasticDepth": "layers",
    "Opaque": "layers",
    "ReLU": "layers.by_kind",
    "ReLU6": "layers.by_kind",
    "GELU": "layers.by_kind",
    "SiLU": "layers.by_kind",
    "Mish": "layers.by_kind",
    "Tanh": "layers.by_kind",
    "Sigmoid": "layers.by_kind",
    "Hardswish": "layers.by_kind",
    "Hardsigmoid": "layers.by_kind",
    "Softmax": "layers.by_kind",
    "LogSoftmax": "layers.by_kind",
    "Identity": "layers.by_kind",
    "AdaptiveAvgPool": "layers.by_kind",
    "AdaptiveMaxPool": "layers.by_kind",
    "GlobalAvgPool": "layers.by_kind",
    "GlobalMaxPool": "layers.by_kind",
    "Add": "layers.by_kind",
    "Concat": "layers.by_kind",
    "Mul": "layers.by_kind",
    "bundled_names": "bundled",
    "load_spec": "loader",
    "parse_spec": "loader",
    "AxisField": "receptive",
    "FieldRow": "receptive",
    "receptive_fields": "receptive",
    "Spec": "spec",
}

__all__ = [
    "GELU",
    "KINDS",
    "RBF",
    "Activation",
    "AdaptiveAvgPool",
    "AdaptiveMaxPool",
    "AdaptivePool",
    "Add",
    "Analysis",
    "AvgPool",
    "AxisField",
    "BatchNorm",
    "Block",
    "Branch",
    "Concat",
    "Conv",
    "ConvResult",
    "ConvTranspose",
    "Counts",
    "DimSolve",
    "Dropout",
    "ExitCode",
    "FieldRow",
    "Flatten",
    "GlobalAvgPool",
    "GlobalMaxPool",
    "GlobalPool",
    "Hardsigmoid",
    "Hardswish",
    "Identity",
    "Layer",
    "LeakyReLU",
    "Linear",
    "LocalResponseNorm",
    "LogSoftmax",
    "MaxPool",
    "Memory",
    "Merge",
    "Mish",
    "Mul",
    "Parallel",
    "ReLU",
    "ReLU6",
    "Repeat",
    "Residual",
    "Row",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Spec",
    "SpecError",
    "Subsample",
    "Tanh",
    "Totals",
    # kinds-b's kinds
    "ChannelLinear",
    "LayerNorm",
    "LayerScale",
    "Opaque",
    "StochasticDepth",
    "analyze",
    "bundled_names",
    "conv_arithmetic",
    "conv_output",
    "dtype_bytes",
    "explain",
    "list_specs",
    "load_spec",
    "parse_spec",
    "receptive_fields",
    "solve_conv",
    "transposed_output",
    # issue 16's kinds (kinds-a)
    "ChannelShuffle",
    "GroupNorm",
    "Mean",
    "Split",
    "Upsample",
]
assert set(__all__) == {*_EXPORTS, "list_specs"}

if TYPE_CHECKING:
    from .analysis import Analysis, Memory, Row, Totals, analyze, dtype_bytes
    from .bundled import bundled_names
    from .calculator import ConvResult, DimSolve, conv_arithmetic, conv_output, solve_conv, transposed_output
    from .errors import ExitCode, SpecError
    from .explanation import explain
    from .layers import (  # issue 16's kinds (kinds-a)
        KINDS,
        RBF,
        Activation,
        AdaptivePool,
        AvgPool,
        BatchNorm,
        Block,
        Branch,
        ChannelLinear,
        ChannelShuffle,
        Conv,
        ConvTranspose,
        Counts,
        Dropout,
        Flatten,
        GlobalPool,
        GroupNorm,
        Layer,
        LayerNorm,
        LayerScale,
        LeakyReLU,
        Linear,
        LocalResponseNorm,
        MaxPool,
        Mean,
        Merge,
        Opaque,
        Parallel,
        Repeat,
        Residual,
        Split,
        StochasticDepth,
        Subsample,
        Upsample,
    )
    from .layers.by_kind import (
        GELU,
        AdaptiveAvgPool,
        AdaptiveMaxPool,
        Add,
        Concat,
        GlobalAvgPool,
        GlobalMaxPool,
        Hardsigmoid,
        Hardswish,
        Identity,
        LogSoftmax,
        Mish,
        Mul,
        ReLU,
        ReLU6,
        Sigmoid,
        SiLU,
        Softmax,
        Tanh,
    )
    from .loader import load_spec, parse_spec
    from .receptive import AxisField, FieldRow, receptive_fields
    from .spec import Spec


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'archcalc' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names and the lazy exports, each once (a used export is in globals() too)."""
    return sorted({*globals(), *_EXPORTS})


__version__ = "0.1.0"


def list_specs() -> list[Spec]:
    """Every bundled spec, loaded and validated, sorted by name."""
    from .bundled import bundled_names
    from .loader import load_spec

    return [load_spec(name) for name in bundled_names()]
