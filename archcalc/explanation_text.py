"""Derivations (`archcalc shapes --explain`) -> text lines and JSON dicts; computes nothing."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .explanation import Explained


def explain_lines(rows: tuple[Explained, ...]) -> list[tuple[str, bool]]:
    """`conv1: (227 - 11 + 2*0)/4 + 1 = 55` per derivation; the flag marks element-wise filler."""
    lines = []
    for row in rows:
        for d in row.derivations:
            parts = d.what.split()
            label = f"{row.path} {parts[1]}" if parts[0] == "output" and len(parts) == 2 else row.path
            lines.append((f"{label}: {d.formula}", d.formula.startswith("element-wise")))
    return lines


def explain_dicts(rows: tuple[Explained, ...]) -> dict[str, list[dict[str, Any]]]:
    return {row.path: [asdict(d) for d in row.derivations] for row in rows}
