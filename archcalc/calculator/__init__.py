"""The conv-arithmetic calculator: `forward` (one layer's output and cost, with the working),
`solve` (which padding, stride or kernel gives a wanted output), `text` (both as lines and JSON)."""

from .forward import ConvResult, DimResult, LayerCost, conv_arithmetic, conv_output, transposed_output
from .solve import SOLUTIONS_LISTED, DimSolve, Solution, solve_conv

__all__ = [
    "SOLUTIONS_LISTED",
    "ConvResult",
    "DimResult",
    "DimSolve",
    "LayerCost",
    "Solution",
    "conv_arithmetic",
    "conv_output",
    "solve_conv",
    "transposed_output",
]
