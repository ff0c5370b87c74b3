"""Shell completion (click's): SPEC arguments, kind names and convention names.

A SPEC completes to the bundled spec names (unless the text is a path) and to files and folders,
which are left to the shell's own file completion (click's `file` item): the shell escapes a name
with a space or a quote and goes on into a folder without adding a space, which plain words
cannot do (click's bash script inserts them as they are). In bash a file is offered when no
bundled name matches, or once the text holds a `/` (`./`); zsh and fish offer both.

click calls this on every Tab press (`_ARCHCALC_COMPLETE=bash_complete`), so it reads the bundled
names (a glob) and imports nothing else for a SPEC: no spec is loaded, no torch. Kind and
convention names come from the modules the command itself imports.
"""

from __future__ import annotations

import os

import click
from click.shell_completion import CompletionItem

from ..bundled import bundled_names


def _plain(words: list[str], incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(word) for word in words if word.startswith(incomplete)]


def complete_spec(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The shell's files and folders first (bash drops words listed before a `file` item), then
    the bundled names, unless the text is a path.

    >>> [(item.type, item.value) for item in complete_spec(None, None, "lenet5-")]  # type: ignore[arg-type]
    [('file', 'lenet5-'), ('plain', 'lenet5-1998')]
    """
    names = [] if os.sep in incomplete else _plain(bundled_names(), incomplete)
    return [CompletionItem(incomplete, type="file"), *names]


def complete_kind(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """`archcalc kinds co<Tab>`: the layer kinds (their aliases are accepted but not offered)."""
    from ..layers import KINDS

    return _plain(sorted(KINDS), incomplete)


def complete_convention(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """`--convention <Tab>`: the presets, then `paper` (the spec's own)."""
    from ..conventions import PRESETS

    return _plain([*PRESETS, "paper"], incomplete)
