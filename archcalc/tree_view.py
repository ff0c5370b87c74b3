"""The layer column of the text tables as an indented tree, and `--depth`'s collapsed blocks.

Computes no count: it says which analysis rows each displayed line stands for (`Line.rows`), and
the table sums those rows' cells. A dotted path `conv2_x.0.conv1` is shown as torchinfo shows
module depth: a line per container (`conv2_x`, then `  0`) with empty count cells, so each
count column still adds up to its footer, and the leaf indented by its depth (`    conv1`).
Machine-read outputs (JSON, CSV, HTML, Markdown) keep the full dotted path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

INDENT = "  "  # one level of the tree


@dataclass(frozen=True, slots=True)
class Line:
    """One displayed line: its label (indented last path step), the full path it stands for, and
    the analysis rows it covers: none for a container's heading, one for a layer, several for a
    block collapsed by `--depth` (its cells are their sums)."""

    label: str
    path: str
    rows: range
    folded: bool = False  # a block `--depth` folds: kind `block`, its cells the rows' sums

    @property
    def heading(self) -> bool:
        """A container's line: no row of its own, its count cells empty."""
        return not self.rows


def tree_lines(paths: Sequence[str], depth: int | None = None, whole: str = "network") -> list[Line]:
    """The lines of a table whose rows have these paths, in order.

    depth None: every row, under a heading line per container. depth N: a row deeper than N steps
    is folded into its block, the first N steps of its path (one line for each run of rows
    sharing them); depth 0 folds the whole network into one line labelled `whole`.

    >>> [(line.label, list(line.rows)) for line in tree_lines(["c1", "s.0.conv1", "s.0.add", "fc"])]
    [('c1', [0]), ('s', []), ('  0', []), ('    conv1', [1]), ('    add', [2]), ('fc', [3])]
    >>> [(line.label, list(line.rows)) for line in tree_lines(["c1", "s.0.conv1", "s.0.add", "fc"], depth=1)]
    [('c1', [0]), ('s', [1, 2]), ('fc', [3])]
    """
    if depth is not None and depth < 0:
        raise ValueError(f"depth must be 0 or more, got {depth}")
    if depth == 0:
        return [Line(whole, "", range(len(paths)), folded=True)] if paths else []
    lines: list[Line] = []
    open_steps: tuple[str, ...] = ()  # the containers whose headings the last line is under
    i = 0
    while i < len(paths):
        steps = tuple(paths[i].split("."))
        if depth is not None and len(steps) > depth:
            block = steps[:depth]
            j = i + 1
            while j < len(paths) and _under(paths[j], block):
                j += 1
            _headings(lines, open_steps, block[:-1])
            lines.append(Line(INDENT * (depth - 1) + block[-1], ".".join(block), range(i, j), folded=True))
            open_steps, i = block[:-1], j
            continue
        _headings(lines, open_steps, steps[:-1])
        lines.append(Line(INDENT * (len(steps) - 1) + steps[-1], paths[i], range(i, i + 1)))
        open_steps, i = steps[:-1], i + 1
    return lines


def _under(path: str, block: tuple[str, ...]) -> bool:
    """Whether a path lies inside the block (its first steps are the block's, and it goes deeper)."""
    steps = path.split(".")
    return len(steps) > len(block) and tuple(steps[: len(block)]) == block


def _headings(lines: list[Line], open_steps: tuple[str, ...], wanted: tuple[str, ...]) -> None:
    """A heading line for each container of `wanted` not already open above (the common prefix stays)."""
    shared = 0
    while shared < min(len(open_steps), len(wanted)) and open_steps[shared] == wanted[shared]:
        shared += 1
    for level in range(shared, len(wanted)):
        lines.append(Line(INDENT * level + wanted[level], ".".join(wanted[: level + 1]), range(0)))
