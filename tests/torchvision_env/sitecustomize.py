"""Run by Python at start-up in a subprocess whose PYTHONPATH starts with this folder (tests only).

PyPI's torchvision 0.28.0 is built for CUDA torch; beside the CPU build of torch 2.13.0 that the
tests install, its compiled ops fail to register as `import torchvision` runs
`torchvision._meta_registrations`. The model definitions are pure Python and need none of them, so
an empty module stands in for that one. Users install torch and torchvision from one build: this is
the test machine's problem only, and the workaround lives in tests/ only.
"""

from __future__ import annotations

import sys
import types

META_REGISTRATIONS = "torchvision._meta_registrations"


def stub_meta_registrations() -> None:
    """An empty `torchvision._meta_registrations`, unless torchvision's own is loaded already."""
    sys.modules.setdefault(META_REGISTRATIONS, types.ModuleType(META_REGISTRATIONS))


if __name__ == "sitecustomize":  # at a subprocess's start-up; imported by the fixture, it waits to be called
    stub_meta_registrations()
