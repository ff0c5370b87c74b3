"""Shared fixtures."""

from __future__ import annotations

import os
import sys
from importlib.util import find_spec
from types import ModuleType

import pytest
from click.testing import CliRunner
from hypothesis import settings

# a hook, found by its name: browser tests skipped for want of chromium are announced at the end
from tests.skip_notice import pytest_terminal_summary  # noqa: F401

# the models the import tests read are torch modules: where torch is not installed the file (which
# has no examples) is left out of --doctest-modules collection instead of failing it
collect_ignore = [] if find_spec("torch") else ["import_models.py", "import_cases.py"]

# CI runs every property test derandomized, so a build is red only for a change, never for the
# luck of a draw; a developer's run stays random and keeps looking for new counterexamples.
settings.register_profile("ci-derandomized", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci-derandomized")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def torchvision() -> ModuleType:
    """torchvision, the oracle of the import tests, importable beside this machine's CPU torch.
    TODO(lead): area against's fixture of the same name (with its sitecustomize) replaces this.

    PyPI's torchvision 0.28.0 is a CUDA build whose compiled ops fail to register beside a CPU
    torch; the model definitions are pure Python, so an empty module stands in for the ops."""
    pytest.importorskip("torch")
    name = "torchvision._meta_registrations"
    sys.modules.setdefault(name, ModuleType(name))
    return pytest.importorskip("torchvision")
