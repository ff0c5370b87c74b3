"""One meaning per module name: each renamed module is gone under its old name, lives under its new
one, is named in DEVELOPERS.md's glossary, and no code or doc still refers to the old name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# (old path, new path, the name DEVELOPERS.md's glossary gives it, a pattern any reference to the old name matches)
RENAMES = [
    ("archcalc/checking.py", "archcalc/check/budgets.py", "budgets.py", r"archcalc[./]checking\b|\.\.?checking import"),
    ("archcalc/render/checks.py", "archcalc/check/formats.py", "formats.py", r"render[./]checks\b"),
    (
        "archcalc/verify/check.py",
        "archcalc/verify/verification.py",
        "verification.py",
        r"verify[./]check\b|verify import check\b",
    ),
    ("archcalc/render", "archcalc/report", "archcalc/report/", r"archcalc[./]render\b|\.\.render import"),
    (
        "archcalc/report.py",
        "archcalc/analysis_view.py",
        "analysis_view.py",
        r"archcalc/report\.py|\.\. import report\b|from archcalc import report\b",
    ),
    (
        "archcalc/bench",
        "archcalc/throughput",
        "archcalc/throughput/",
        r"archcalc/bench/|archcalc\.bench\b|from \.\.bench\b",
    ),
]
RENAME_IDS = [old for old, *_ in RENAMES]

# What the old names may still appear in: this file, and reports/ (written by earlier runs, kept byte-identical).
SEARCHED = [
    path
    for pattern in ("archcalc/**/*.py", "tests/*.py", "benchmarks/*.py", "*.md", "docs/*", ".ci/*", "pyproject.toml")
    for path in sorted(ROOT.glob(pattern))
    if path.is_file() and path != Path(__file__).resolve()
]


@pytest.mark.parametrize(("old", "new", "glossary_name", "reference"), RENAMES, ids=RENAME_IDS)
def test_the_old_name_is_gone_and_the_new_one_is_documented(old, new, glossary_name, reference):
    glossary = (ROOT / "DEVELOPERS.md").read_text(encoding="utf-8")
    assert not (ROOT / old).exists(), f"{old} exists again beside {new}"
    assert (ROOT / new).exists(), f"{new} is missing"
    assert f"`{glossary_name}" in glossary, f"DEVELOPERS.md's glossary does not name `{glossary_name}`"


@pytest.mark.parametrize(("old", "new", "glossary_name", "reference"), RENAMES, ids=RENAME_IDS)
def test_nothing_refers_to_the_old_name(old, new, glossary_name, reference):
    pattern = re.compile(reference)
    stale = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in SEARCHED
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert stale == [], f"still refer to {old} (now {new}):\n" + "\n".join(stale)
