"""Browser tests skipped for want of chromium end the run with a warning saying how to install it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.skip_notice import BROWSER_SKIP

ROOT = Path(__file__).resolve().parent.parent

# one test skipped for want of chromium, one for another reason: only the first is announced
TESTS = f"""
import pytest

@pytest.mark.skip(reason={BROWSER_SKIP + " (apt-get install chromium)"!r})
def test_page_in_a_browser():
    pass

@pytest.mark.skip(reason="needs a GPU")
def test_on_a_gpu():
    pass
"""


def test_skipped_browser_tests_are_announced_with_how_to_install(tmp_path: Path) -> None:
    (tmp_path / "test_pages.py").write_text(TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.skip_notice", "-p", "no:cacheprovider", "test_pages.py"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 skipped" in result.stdout, result.stdout
    assert "WARNING: 1 browser tests skipped: chromium is not installed" in result.stdout, result.stdout
    assert "sudo apt-get install chromium" in result.stdout, result.stdout
