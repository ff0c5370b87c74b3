"""pytest's settings for the whole checkout: besides tests/, archcalc/ is collected for its docstring
examples (`--doctest-modules` in pyproject.toml), so no list of doctest modules is kept by hand.

A few modules (the verifier's torch modules, the torch.fx reader) import torch as they are imported;
where torch is not installed those files are left out of collection instead of failing it. They are
found by their top-level `import torch` / `from torch` lines, so a new one needs no list kept by hand."""

from __future__ import annotations

import doctest
import re
from importlib.util import find_spec
from pathlib import Path

import pytest

_IMPORTS_TORCH = re.compile(r"^(import torch|from torch)\b", re.M)


def _torch_modules() -> list[str]:
    """archcalc's files that import torch at their top level (as paths relative to this file)."""
    root = Path(__file__).parent
    return sorted(
        str(path.relative_to(root))
        for path in (root / "archcalc").rglob("*.py")
        if _IMPORTS_TORCH.search(path.read_text(encoding="utf-8"))
    )


collect_ignore = [] if find_spec("torch") else _torch_modules()

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
