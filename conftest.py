"""pytest's settings for the whole checkout: besides tests/, archcalc/ is collected for its docstring
examples (`--doctest-modules` in pyproject.toml), so no list of doctest modules is kept by hand.

`archcalc.verify.modules` defines torch modules as it is imported; where torch is not installed its
file (which has no examples) is left out of collection instead of failing it."""

from __future__ import annotations

from importlib.util import find_spec

collect_ignore = [] if find_spec("torch") else ["archcalc/verify/modules.py"]
