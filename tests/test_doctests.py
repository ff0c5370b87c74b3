"""The docstring examples of the public modules run as tests (each formula's worked example)."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "archcalc",
        "archcalc.arith",
        "archcalc.formulas.text",
        "archcalc.formulas.conv",
        "archcalc.formulas.pool",
        "archcalc.formulas.dense",
        "archcalc.calculator.forward",
        "archcalc.calculator.solve",
        "archcalc.receptive_text",
        "archcalc.explanation",
        "archcalc.receptive",
        "archcalc.report",
        "archcalc.sizes",
        "archcalc.limits",
        "archcalc.layers.base",
        "archcalc.templates",
        "archcalc.loader",
        "archcalc.encode",
    ],
)
def test_doctests(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0, f"{module}: {result}"


def test_calculator_commands_import_no_torch():
    import subprocess
    import sys

    code = (
        "import sys; from click.testing import CliRunner; from archcalc.cli import main\n"
        "r = CliRunner()\n"
        "for args in (['conv', '--input', '32', '--kernel', '3', '--channels', '3,8'], ['rf', 'alexnet'],\n"
        "             ['shapes', 'lenet5', '--explain']):\n"
        "    result = r.invoke(main, args); assert result.exit_code == 0, (args, result.output)\n"
        "print(','.join(m for m in ('torch', 'fvcore') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"the calculator path imported {out}"
