"""The progress bar of the long commands (`bench`, `verify`): rich's, on standard error, on a terminal only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .common import Output

Advance = Callable[[], None]


def progress_bar(out: Output, enabled: bool, description: str) -> tuple[Any, Callable[[int], Advance] | None]:
    """(bar, start) where start(total) adds a task and returns its per-step callback; (None, None)
    when not enabled or off a terminal (a CI log or a pipe gets no bar). The bar is transient:
    it leaves nothing behind once stopped."""
    if not enabled or not out.err.is_terminal:
        return None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        # a column object, not a markup string: the consoles print text literally (markup=False)
        TextColumn("{task.description}", style="progress.description", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=out.err,
        transient=True,
    )

    def start(total: int) -> Advance:
        task = bar.add_task(description, total=total)
        return lambda: bar.advance(task)

    return bar, start
