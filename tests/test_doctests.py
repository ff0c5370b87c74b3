"""The docstring examples of the public modules run as tests (each formula's worked example)."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "module", ["archcalc", "archcalc.arith", "archcalc.formulas", "archcalc.calculator", "archcalc.explain",
               "archcalc.receptive"],
)  # fmt: skip
def test_doctests(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0, f"{module}: {result}"
