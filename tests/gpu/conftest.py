"""The GPU suite runs only where torch sees a CUDA device (or, as a dry run of the suite itself, on
the CPU when ARCHCALC_GPU_SUITE_DEVICE=cpu); with ARCHCALC_GPU_REPORT=PATH set, the run writes what
it measured there (an environment variable, not an option: pytest takes options only from the root's
conftest)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .report import render
from .suite import RECORD, environment, settings


def _cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    dry = os.environ.get("ARCHCALC_GPU_SUITE_DEVICE") == "cpu"
    if dry or _cuda():
        return
    skip = pytest.mark.skip(reason="no CUDA device: the GPU suite runs where torch.cuda.is_available()")
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = os.environ.get("ARCHCALC_GPU_REPORT")
    if path and RECORD.sections:
        RECORD.environment = environment(settings().device)
        Path(path).write_text(render(RECORD, passed=exitstatus == 0), encoding="utf-8")
