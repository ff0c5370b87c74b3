"""Per-layer formulas as pure functions of shapes and hyper-parameters, one module per family.

The layer kinds (`archcalc.layers`) and the `conv` calculator both call these, so a count has one
definition: `conv` (convolution, transposed convolution), `pool` (window limits, adaptive
windows), `dense` (linear, local response normalisation), `reshape` (channel split parts, resize
sizes and bilinear taps), `text` (each derivation written out
with its numbers). The window sizes themselves are `archcalc.arith`'s.
"""

from .text import Derivation, macs_derivation, params_derivation, transposed_formula, volume, window_formula

__all__ = ["Derivation", "macs_derivation", "params_derivation", "transposed_formula", "volume", "window_formula"]
