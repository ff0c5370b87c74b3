"""`python -m speed`: run the suite, write reports/performance.md, exit 1 on a missed target."""

import sys

from .run import main

sys.exit(main())
