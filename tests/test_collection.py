"""pytest collects archcalc/'s docstring examples itself (`--doctest-modules`), with or without torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
# pytest in a process where torch and the counters cannot be imported, as on a machine without the extras
WITHOUT_TORCH = (
    "import sys\n"
    "for name in ('torch', 'fvcore', 'ptflops', 'thop', 'torchinfo', 'onnx', 'onnxscript'):\n"
    "    sys.modules[name] = None\n"
    "import pytest\n"
    "sys.exit(pytest.main(['--collect-only', '-q', '-p', 'no:cacheprovider', 'archcalc']))\n"
)


def test_archcalc_doctests_collect_without_torch():
    result = subprocess.run([sys.executable, "-c", WITHOUT_TORCH], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    collected = result.stdout
    for example in ("archcalc/arith.py::archcalc.arith.window_output_size", "archcalc/encode.py::"):
        assert example in collected, f"{example} not collected:\n{collected}"
    assert "archcalc/verify/modules.py" not in collected, collected
