"""`python -m tests.gpu [-o reports/gpu.md]`: run the GPU suite and write its report.

Exit status: pytest's (0 when every check held). Without a CUDA device every test is skipped and
nothing is written, unless ARCHCALC_GPU_SUITE_DEVICE=cpu asks for a dry run of the suite itself."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pytest


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.gpu", description=__doc__)
    parser.add_argument("-o", "--output", default="reports/gpu.md", help="the report to write (default %(default)s)")
    args = parser.parse_args()
    os.environ["ARCHCALC_GPU_REPORT"] = str(Path(args.output).resolve())
    began = time.perf_counter()
    status = pytest.main([str(Path(__file__).parent), "-p", "no:cacheprovider", "-q", "-m", "gpu"])
    print(f"GPU suite: {time.perf_counter() - began:.0f} s; report: {args.output}", file=sys.stderr)
    return int(status)


if __name__ == "__main__":
    sys.exit(main())
