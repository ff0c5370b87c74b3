"""The README's `$ archcalc ...` examples: found, run at a fixed width, compared with their written
output, and rewritten from the real commands (`python -m tests.readme_examples --update`).

The rules (DEVELOPERS.md, "README examples", says the same for people):
- An example is a line `$ archcalc ...` inside a fenced block; its output is every following line
  up to the next line starting with `$ ` or the end of the block. A `# comment` after the command
  is for the reader and is not run.
- It runs in-process through click's runner, from the repository root, with COLUMNS=120, NO_COLOR
  and no terminal, standard error interleaved with standard output as a terminal shows them.
  Trailing spaces are ignored on both sides (editors strip them).
- A written line `...` stands for one or more lines of the real output (a long table abridged).
- The output of a command in MEASURED (timed figures) is compared by its shape: every number, with
  its byte unit if it has one, reads as `N`, and runs of spaces and of box-drawing rules as one, so a
  faster run still matches. The `summary:` line that ends with the seconds the run took (verify's)
  is compared with those seconds left out, and only those.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import re
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
WIDTH = 120
ENV = {"COLUMNS": str(WIDTH), "NO_COLOR": "1", "FORCE_COLOR": None}
PROMPT = "$ "
ELLIPSIS = "..."
FENCE = "```"
SHOWN_EXITS = frozenset({0, 1, 2})  # success, a finding, a bad spec
MEASURED = frozenset({"bench"})  # timed figures throughout: compared by shape
# verify's summary line ends with the seconds the run took: only those may differ.
_SECONDS = re.compile(r"^(summary: .*, )\d+(\.\d+)? s$")
UPDATE_COMMAND = "python -m tests.readme_examples --update"

# with its exponent (a tiny rate is 9.05e-06) and its byte unit: 282.0 MiB may next be 1.1 GiB
_NUMBER = re.compile(r"\d[\d,.]*(?:e[+-]\d+)?(?P<bytes> ?[KMGTPE]?i?B\b)?")
_RULE = re.compile(r"([─━═┄┅╌╍-])\1+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Example:
    """One `$ archcalc` line of the README and the output lines written under it."""

    line: int  # 1-based line number of the `$` line in the README
    command: str  # as written, comment included
    argv: tuple[str, ...]  # the arguments after `archcalc`, comment dropped
    output: tuple[str, ...]  # the written output lines, trailing spaces dropped
    start: int  # 0-based index of the first output line in the README's lines
    end: int  # 0-based index after the last output line

    @property
    def measured(self) -> bool:
        return bool(self.argv) and self.argv[0] in MEASURED

    @property
    def id(self) -> str:
        return f"L{self.line}-{'-'.join(self.argv[:2])}"


def fenced_blocks(lines: Sequence[str]) -> list[tuple[str, int, int]]:
    """(info string, first line index, index after the last line) of every fenced block's body."""
    blocks: list[tuple[str, int, int]] = []
    opened: tuple[str, int] | None = None
    for index, line in enumerate(lines):
        if not line.startswith(FENCE):
            continue
        if opened is None:
            opened = (line[len(FENCE) :].strip(), index + 1)
        else:
            blocks.append((opened[0], opened[1], index))
            opened = None
    if opened is not None:
        raise ValueError(f"README.md:{opened[1]}: a fenced block is never closed")
    return blocks


def find_examples(text: str) -> list[Example]:
    """Every `$ archcalc` example of a Markdown text, in order."""
    lines = text.splitlines()
    examples: list[Example] = []
    for _info, first, last in fenced_blocks(lines):
        starts = [i for i in range(first, last) if lines[i].startswith(PROMPT)]
        for position, index in enumerate(starts):
            end = starts[position + 1] if position + 1 < len(starts) else last
            command = lines[index][len(PROMPT) :]
            words = shlex.split(command, comments=True)
            if not words or words[0] != "archcalc":
                continue
            output = tuple(line.rstrip() for line in lines[index + 1 : end])
            examples.append(Example(index + 1, command, tuple(words[1:]), output, index + 1, end))
    return examples


class ExampleCrashed(Exception):
    """An example ended as no README example may: a missing extra (exit 3) or a bug (exit 4)."""


def run(argv: Sequence[str]) -> list[str]:
    """The output lines (trailing spaces dropped) of `archcalc ARGV` as the README shows it. An exit
    of 0, 1 (a finding) or 2 (a bad spec, shown on purpose) is output like any other; a crash is
    never written into the README."""
    from click.testing import CliRunner

    from archcalc.cli import main

    with contextlib.chdir(ROOT):
        result = CliRunner().invoke(main, list(argv), env=ENV, color=False, catch_exceptions=False)
    if result.exit_code not in SHOWN_EXITS:
        raise ExampleCrashed(f"`archcalc {shlex.join(argv)}` ended with exit {result.exit_code}:\n{result.output}")
    return [line.rstrip() for line in result.output.splitlines()]


def _shape(line: str) -> str:
    """A measured line with its figures and the widths they set left out."""
    figures = _NUMBER.sub(lambda match: "N bytes" if match["bytes"] else "N", line)
    return _SPACES.sub(" ", _RULE.sub(r"\1", figures)).strip()


def _same(written: str, actual: str, measured: bool) -> bool:
    """Equal lines; a measured command's lines by shape; a summary line with its run's seconds left out.

    >>> _same("roofline 1.2 s", "roofline 0.8 s", False)
    False

    >>> _same("summary: 1 spec(s), 15 rows: ✓ 15, 1.2 s", "summary: 1 spec(s), 15 rows: ✓ 15, 0.8 s", False)
    True
    >>> _same("summary: 1 spec(s), 15 rows: ✓ 15, 1.2 s", "summary: 1 spec(s), 16 rows: ✓ 16, 1.2 s", False)
    False
    """
    if measured:
        return _shape(written) == _shape(actual)
    return _SECONDS.sub(r"\1N s", written) == _SECONDS.sub(r"\1N s", actual)


def matches(written: Sequence[str], actual: Sequence[str], measured: bool = False) -> bool:
    """Whether the real output fits the written one; a written `...` line stands for one or more lines.

    >>> matches(["a", "...", "d"], ["a", "b", "c", "d"])
    True
    >>> matches(["a", "...", "d"], ["a", "d"])
    False
    >>> matches(["t 1.5 ms"], ["t 12.25 ms"], measured=True)
    True
    >>> matches(["peak 282.0 MiB"], ["peak 1.1 GiB"], measured=True)
    True
    """
    # fits[i][j]: written[i:] fits actual[j:]; filled from the end, so the work is len(written) x len(actual)
    fits = [[False] * (len(actual) + 1) for _ in range(len(written) + 1)]
    fits[len(written)][len(actual)] = True
    for i in range(len(written) - 1, -1, -1):
        for j in range(len(actual), -1, -1):
            if written[i].strip() == ELLIPSIS:
                fits[i][j] = j < len(actual) and (fits[i + 1][j + 1] or fits[i][j + 1])
            else:
                fits[i][j] = j < len(actual) and _same(written[i], actual[j], measured) and fits[i + 1][j + 1]
    return fits[0][0]


def rewritten(written: Sequence[str], actual: Sequence[str], measured: bool = False) -> list[str]:
    """The output to write for an example: the written one while it still fits (so a second update
    changes nothing), else the real output, abridged as the written one was: as many lines before
    its first `...` and after its last one as were written there."""
    if matches(written, actual, measured):
        return list(written)
    marks = [i for i, line in enumerate(written) if line.strip() == ELLIPSIS]
    if not marks:
        return list(actual)
    head, tail = marks[0], len(written) - marks[-1] - 1
    if head + tail >= len(actual):
        return list(actual)
    return [*actual[:head], ELLIPSIS, *actual[len(actual) - tail :]]


def updated(text: str) -> tuple[str, list[Example]]:
    """The README text with every example's output regenerated, and the examples that changed."""
    lines = text.splitlines()
    changed: list[Example] = []
    for example in reversed(find_examples(text)):  # from the end, so earlier indices stay valid
        actual = run(example.argv)
        new = rewritten(example.output, actual, example.measured)
        if new != list(example.output):
            lines[example.start : example.end] = new
            changed.append(example)
    return "\n".join(lines) + ("\n" if text.endswith("\n") else ""), changed[::-1]


def difference(example: Example, actual: Sequence[str]) -> str:
    """A unified diff from the README's lines to the real output, and how to update them."""
    diff = difflib.unified_diff(
        list(example.output), list(actual), f"README.md:{example.line} (written)", "real output", lineterm=""
    )
    return (
        f"README.md:{example.line}: `$ {example.command}` prints something else:\n"
        + "\n".join(diff)
        + f"\nIf the new output is right, run `{UPDATE_COMMAND}` and review the README's diff."
    )


def main(args: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.readme_examples", description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="rewrite README.md's example outputs")
    options = parser.parse_args(args)
    text = README.read_text(encoding="utf-8")
    if options.update:
        try:
            new, changed = updated(text)
        except ExampleCrashed as crash:
            print(f"nothing updated: {crash}", file=sys.stderr)
            return 1
        if new != text:
            README.write_text(new, encoding="utf-8")
        for example in changed:
            print(f"README.md:{example.line}: updated `$ {example.command}`")
        print(f"{len(changed)} of {len(find_examples(text))} examples updated")
        return 0
    failures = 0
    for example in find_examples(text):
        actual = run(example.argv)
        if not matches(example.output, actual, example.measured):
            failures += 1
            print(difference(example, actual), file=sys.stderr)
    print(f"{failures} of {len(find_examples(text))} examples differ")
    return 1 if failures else 0


if __name__ == "__main__":
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    sys.exit(main())
