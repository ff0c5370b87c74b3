"""The conv-arithmetic calculator: `forward` (one layer's output and cost, with the working),
`solve` (which padding, stride or kernel gives a wanted output), `text` (both as lines and JSON)."""

from .forward import ConvResult, DimResult, LayerCost, conv_arithmetic, conv_output, transposed_output
from .inputs import Op
from .solve import SOLUTIONS_LISTED, DimSolve, Solution, Unknown, solve_conv

__all__ = [
    "SOLUTIONS_LISTED",
    "ConvResult",
    "DimResult",
    "DimSolve",
    "LayerCost",
    "Op",
    "Solution",
    "Unknown",
    "conv_arithmetic",
    "conv_output",
    "solve_conv",
    "transposed_output",
]
