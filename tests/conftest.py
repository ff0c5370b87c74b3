"""Shared fixtures."""

from __future__ import annotations

import os
from importlib.util import find_spec
from types import ModuleType

import pytest
from click.testing import CliRunner
from hypothesis import settings

# a hook, found by its name: browser tests skipped for want of chromium are announced at the end
from tests.skip_notice import pytest_terminal_summary  # noqa: F401
from tests.torchvision_env.sitecustomize import stub_meta_registrations

# the models the import tests read are torch modules: where torch is not installed the file (which
# has no examples) is left out of --doctest-modules collection instead of failing it
collect_ignore = [] if find_spec("torch") else ["import_models.py", "import_cases.py"]

# For the whole test process, not only the `torchvision` fixture's tests: ptflops imports
# `torchvision.ops` whenever torchvision is installed (and it is, by the test extra), and that import
# fails on this machine for the reason the fixture gives. Idempotent; the fixture stays the way a
# test asks for torchvision.
stub_meta_registrations()

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
    """torchvision (the test extra pins 0.28.0), the oracle for the model tests; build models with
    `weights=None` (nothing is downloaded).

    PyPI's torchvision is a CUDA build: beside the CPU torch the tests install, its compiled ops fail
    to register when `torchvision._meta_registrations` runs at import. The model definitions are pure
    Python, so an empty module stands in for that one before the import. Users install torch and
    torchvision from one build: this is the test machine's problem, solved in tests/ only. CLI runs in
    a subprocess get the same through `tests.torchvision_env.subprocess_env()` (a sitecustomize)."""
    pytest.importorskip("torch")
    stub_meta_registrations()
    return pytest.importorskip("torchvision")
