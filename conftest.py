"""pytest's settings for the whole checkout: besides tests/, archcalc/ is collected for its docstring
examples (`--doctest-modules` in pyproject.toml), so no list of doctest modules is kept by hand.

`archcalc.verify.modules` defines torch modules as it is imported, and the PyTorch reader's modules
(archcalc/importing/, TORCH_READER) import torch at their top: where torch is not installed these
files are left out of collection instead of failing it (their examples need torch)."""

from __future__ import annotations

import doctest
from importlib.util import find_spec

import pytest

TORCH_READER = [
    f"archcalc/importing/{name}.py" for name in ("fx_read", "fx_trace", "recorded", "torch_kinds", "view_chain")
]
collect_ignore = [] if find_spec("torch") else ["archcalc/verify/modules.py", *TORCH_READER]

# docs/python.md (collected by `--doctest-glob`) marks the examples that need an optional package
# `# doctest: +NEEDS_PANDAS`: each runs where its package is installed and is skipped where not, so
# the rest of the page is tested on every machine.
NEEDS = {doctest.register_optionflag(f"NEEDS_{name.upper()}"): name for name in ("pandas", "torch", "onnx")}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        test = getattr(item, "dtest", None)
        for example in test.examples if test is not None else ():
            if any(example.options.get(flag) and not find_spec(name) for flag, name in NEEDS.items()):
                example.options[doctest.SKIP] = True
