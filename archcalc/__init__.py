"""archcalc: exact per-layer shapes, parameters, connections and MACs of CNNs from declarative specs.

The public API for notebooks and scripts. Importing it loads pydantic and PyYAML only: no torch,
no rich, no click.

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

from .analyze import Analysis, Memory, Row, Totals, analyze, dtype_bytes
from .calculator import ConvResult, DimSolve, conv_arithmetic, conv_output, solve_conv, transposed_output
from .errors import ExitCode, SpecError
from .explain import explain
from .layers import KINDS, Counts, Layer
from .loader import bundled_names, load_spec, parse_spec
from .receptive import AxisField, FieldRow, receptive_fields
from .spec import Spec

__all__ = [
    "KINDS",
    "Analysis",
    "AxisField",
    "ConvResult",
    "Counts",
    "DimSolve",
    "ExitCode",
    "FieldRow",
    "Layer",
    "Memory",
    "Row",
    "Spec",
    "SpecError",
    "Totals",
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
]

__version__ = "0.1.0"


def list_specs() -> list[Spec]:
    """Every bundled spec, loaded and validated, sorted by name."""
    return [load_spec(name) for name in bundled_names()]
