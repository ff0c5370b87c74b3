"""A pytest plugin (loaded by tests/conftest.py): browser tests skipped for want of chromium are
announced at the end of the run with how to install it, so a fresh machine cannot pass the suite
without ever rendering the HTML report while the only sign is an `s` among the dots."""

from __future__ import annotations

from typing import Any

BROWSER_SKIP = "chromium is not installed"  # the browser tests' skip reason (tests/test_reports.py)
INSTALL = (
    "Install it and run pytest again: `sudo apt-get install chromium` on Debian or Ubuntu (.ci/run does), "
    "or any Chromium build on PATH as `chromium` or `chromium-browser`."
)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    skipped = [report for report in terminalreporter.stats.get("skipped", []) if BROWSER_SKIP in str(report.longrepr)]
    if not skipped:
        return
    terminalreporter.write_sep(
        "=", f"WARNING: {len(skipped)} browser tests skipped: chromium is not installed", yellow=True
    )
    terminalreporter.write_line(
        "The HTML report was not rendered in a browser: its layout tests did not run. " + INSTALL, yellow=True
    )
