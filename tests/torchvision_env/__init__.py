"""The test machine's torchvision workaround, for CLI runs in subprocesses: this folder holds a
`sitecustomize.py` that Python runs at start-up when the folder is on PYTHONPATH (`subprocess_env`).
In-process tests use the `torchvision` fixture (tests/conftest.py), which installs the same stub."""

from __future__ import annotations

import os
from pathlib import Path

DIRECTORY = Path(__file__).parent


def subprocess_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) with this folder first on PYTHONPATH, so a
    subprocess imports torchvision as the in-process tests do."""
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(DIRECTORY), env.get("PYTHONPATH", "")) if p)
    return env
