"""Shell completion of SPEC arguments: bundled spec names, then *.yaml / *.yml files and folders.

click calls this on every Tab press (`_ARCHCALC_COMPLETE=bash_complete`), so it reads one folder
listing and the bundled names (a glob), and imports nothing else: no spec is loaded, no torch.
"""

from __future__ import annotations

import os

import click
from click.shell_completion import CompletionItem

from ..bundled import SPEC_SUFFIXES, bundled_names


def _files(incomplete: str) -> list[str]:
    """Entries of the folder `incomplete` names that start with its last part: spec files, and
    folders (with a trailing `/`, so the next Tab goes inside). Hidden entries only when asked for."""
    folder, start = os.path.split(incomplete)
    try:
        entries = sorted(os.scandir(folder or "."), key=lambda e: e.name)
    except OSError:  # no such folder, or unreadable: nothing to offer
        return []
    found = []
    for entry in entries:
        if not entry.name.startswith(start) or (entry.name.startswith(".") and not start.startswith(".")):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            continue
        if is_dir:
            found.append(os.path.join(folder, entry.name) + "/")
        elif entry.name.endswith(SPEC_SUFFIXES):
            found.append(os.path.join(folder, entry.name))
    return found


def complete_spec(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """What a SPEC may be: a bundled name (unless the text is a path), or a spec file or folder.

    >>> [item.value for item in complete_spec(None, None, "lenet5-")]  # type: ignore[arg-type]
    ['lenet5-1998']
    """
    names = [] if os.sep in incomplete else [n for n in bundled_names() if n.startswith(incomplete)]
    return [CompletionItem(value) for value in names + _files(incomplete)]
