"""The spec's models sit below the analyzer: no import (at run time, inside a function, or for type
checking alone) leads from analysis, spec, budget or conventions back to itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "archcalc"
MODULES = ("analysis", "spec", "budget", "conventions", "counted")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Module -> the archcalc modules it names in any `from . import` (every one, wherever written)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                if node.module:
                    targets.add(f"{base}.{node.module}")
                else:  # `from .. import arith`: the submodules named, not the package's __init__
                    targets.update(f"{base}.{alias.name}" for alias in node.names)
        graph[name] = targets
    return graph


def _cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A path of imports from `start` back to itself, if one exists."""
    stack, seen = [(start, [start])], set()
    while stack:
        module, path = stack.pop()
        for target in graph.get(module, ()):
            if target == start:
                return [*path, target]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*path, target]))
    return None


@pytest.mark.parametrize("module", MODULES)
def test_no_import_circle(module):
    graph = _imports()
    assert f"archcalc.{module}" in graph, f"archcalc.{module} not found among {sorted(graph)[:5]}..."
    cycle = _cycle_through(graph, f"archcalc.{module}")
    assert cycle is None, f"import circle: {' -> '.join(cycle)}"
