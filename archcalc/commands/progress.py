"""The progress bar of the long commands (`bench`, `verify`): rich's, on standard error, on a terminal only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..encode import term_text
from .common import Output

# One step done; the text, when given, names the next (the description shown from now on).
Advance = Callable[..., None]


def progress_bar(out: Output, enabled: bool, description: str) -> tuple[Any, Callable[[int], Advance] | None]:
    """(bar, start) where start(total) adds a task and returns its per-step callback (which may
    rename the task: `verifying alexnet`; a spec's path is terminal text); (None, None)
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
        task = bar.add_task(term_text(description), total=total)

        def advance(text: str | None = None) -> None:
            bar.update(task, advance=1, description=term_text(text) if text is not None else None)

        return advance

    return bar, start
