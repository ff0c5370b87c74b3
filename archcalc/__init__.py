"""archcalc: exact per-layer shapes, parameters, connections and MACs of CNNs from declarative specs.

The public API for notebooks and scripts. Importing it loads pydantic and PyYAML only: no torch,
no rich, no click.

>>> from archcalc import load_spec, analyze
>>> analysis = analyze(load_spec("alexnet"))
>>> analysis.totals.params
62378344
"""

from .analyze import Analysis, Memory, Row, Totals, analyze, dtype_bytes
from .errors import ExitCode, SpecError
from .layers import KINDS, Counts, Layer
from .loader import bundled_names, load_spec, parse_spec
from .spec import Spec

__all__ = [
    "KINDS",
    "Analysis",
    "Counts",
    "ExitCode",
    "Layer",
    "Memory",
    "Row",
    "Spec",
    "SpecError",
    "Totals",
    "analyze",
    "bundled_names",
    "dtype_bytes",
    "list_specs",
    "load_spec",
    "parse_spec",
]

__version__ = "0.1.0"


def list_specs() -> list[Spec]:
    """Every bundled spec, loaded and validated, sorted by name."""
    return [load_spec(name) for name in bundled_names()]
