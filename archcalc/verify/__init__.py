"""The verifier: specs built as torch modules and held against torch and other counters.

The only package that imports torch or fvcore, always inside functions, so the static commands
never load them. `plan` turns a spec into plain data (no torch); `build` instantiates it.
"""

from __future__ import annotations

from ..errors import SpecError

EXTRA_HINT = "install the verify extra: pip install 'archcalc[verify]' (torch first, see README)"


class MissingExtra(Exception):
    """torch, fvcore or another counter is not installed (exit code 3)."""

    def __init__(self, package: str, needed_for: str):
        super().__init__(f"{needed_for} needs the Python package '{package}', which is not installed")
        self.package = package
        self.hint = EXTRA_HINT


def require(package: str, needed_for: str):
    """Import an optional package, or raise MissingExtra naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(package)
    except ImportError:
        raise MissingExtra(package, needed_for) from None


__all__ = ["EXTRA_HINT", "MissingExtra", "SpecError", "require"]
