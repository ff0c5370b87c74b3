"""The verifier: specs built as torch modules and held against torch and other counters.

The only package that imports torch or fvcore, always inside functions, so the static commands
never load them. `plan` turns a spec into plain data (no torch); `build` instantiates it.
"""

from __future__ import annotations

from ..errors import SpecError

EXTRA_HINT = "install the verify extra: pip install 'archcalc[verify]' (torch first, see README)"
COUNTERS_HINT = "install the counters extra: pip install 'archcalc[counters]'"
# The extra that brings each optional package (pyproject.toml); any other package: the verify extra.
EXTRA_OF = {
    "ptflops": COUNTERS_HINT,
    "torchinfo": COUNTERS_HINT,
    "thop": COUNTERS_HINT,
    "onnx": COUNTERS_HINT,
    "onnxscript": COUNTERS_HINT,
}


class MissingExtra(Exception):
    """torch, fvcore or another counter is not installed (exit code 3)."""

    def __init__(self, package: str, needed_for: str):
        super().__init__(f"{needed_for} needs the Python package '{package}', which is not installed")
        self.package = package
        self.hint = EXTRA_OF.get(package.split(".")[0], EXTRA_HINT)

    @classmethod
    def from_import_error(cls, err: ImportError, needed_for: str) -> MissingExtra | None:
        """What an ImportError escaping a torch-backed command means: a package from outside
        archcalc that is not installed (or hidden, `sys.modules[name] = None`); None when the
        module that failed is archcalc's own, or unnamed: that is a bug, not a missing extra."""
        package = (err.name or "").split(".")[0]
        return cls(package, needed_for) if package and package != "archcalc" else None


def require(package: str, needed_for: str):
    """Import an optional package, or raise MissingExtra naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(package)
    except ImportError:
        raise MissingExtra(package, needed_for) from None


__all__ = ["COUNTERS_HINT", "EXTRA_HINT", "MissingExtra", "SpecError", "require"]
