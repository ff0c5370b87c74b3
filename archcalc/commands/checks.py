"""CI commands: `check` (budgets and validity of spec files, exit 0/1/2) and `schema` (the spec's JSON Schema)."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..analysis import analyze
from ..budget import Budget
from ..bundled import SPEC_SUFFIXES
from ..check import formats
from ..check.budgets import SpecCheck, evaluate, exit_code, opaque_refusal
from ..dtypes import DTYPE_BYTES
from ..encode import json_text
from ..errors import SpecError
from ..loader import load_spec
from ..schema import spec_schema
from ..sizes import SizeError, parse_bytes, parse_count
from .common import Output, handles_errors, input_option, with_input
from .completion import complete_spec
from .files import check_output, write_file


def _size_option(parse: Callable[[str], int]):
    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
        if value is None:
            return None
        try:
            return parse(value)
        except SizeError as err:
            raise click.BadParameter(str(err)) from None

    return callback


def _escapes(link: Path, root: Path) -> str | None:
    """Why a symbolic link under `root` may not be followed: it leads out of `root`, or nowhere
    (a loop); None when it stays inside, where its target is checked in its own right."""
    try:
        link.stat()
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "loops (it leads back to itself)"
    try:  # a dangling link is judged by where it points
        target = link.resolve(strict=False)
    except (OSError, RuntimeError):  # a loop the stat did not see: RuntimeError up to Python 3.12
        return "loops (it leads back to itself)"
    return None if target == root or root in target.parents else f"leads out of {root}"


def _folder_specs(folder: Path) -> list[Path]:
    """The *.yaml / *.yml files under `folder`, recursively, never following a symbolic link out of
    it: a link that leaves the folder, or loops, is refused (exit 2) before any spec is read, so a
    pull request cannot make `check` read, and print parts of, a file elsewhere on the machine.
    A link that stays inside is harmless: a linked file is checked, a linked folder is not walked
    (what it holds is reached by its real path)."""
    root = folder.resolve()
    found = []
    for here, dirs, files in os.walk(folder):  # followlinks=False: linked folders are listed, not entered
        for name in sorted(dirs + files):
            path = Path(here, name)
            if not path.is_symlink():
                if name in files and path.suffix in SPEC_SUFFIXES:
                    found.append(path)
                continue
            if name in dirs or path.suffix in SPEC_SUFFIXES or path.is_dir():
                why = _escapes(path, root)
                if why is not None:
                    raise SpecError(
                        "unsafe_link",
                        f"{path} is a symbolic link that {why}; `archcalc check` does "
                        f"not follow links out of the folder it checks",
                        file=str(path),
                        hint="check the target by its own path, or replace the link by the file",
                    )
                if name in files and path.suffix in SPEC_SUFFIXES and path.is_file():
                    found.append(path)
    return sorted(found)


def spec_files(refs: tuple[str, ...]) -> list[str]:
    """Spec references with folders expanded to their *.yaml / *.yml files (recursively, sorted)."""
    found: list[str] = []
    for ref in refs:
        path = Path(ref)
        if path.is_dir():
            files = _folder_specs(path)
            if not files:
                raise SpecError(
                    "no_specs",
                    f"no *.yaml or *.yml spec files in {ref}",
                    file=ref,
                    hint="give spec files, bundled spec names or a folder that holds specs",
                )
            found.extend(str(p) for p in files)
        else:
            found.append(ref)
    return found


def check_one(ref: str, cli_budget: Budget, input_shape: tuple[int, ...] | None, dtype: str) -> SpecCheck:
    """Load, validate and analyse one spec, then hold its own budget and the command line's against it."""
    try:
        spec = load_spec(ref)
    except SpecError as err:
        return SpecCheck(file=err.file or ref, name=None, error=err)
    file = spec._source.file if spec._source is not None else ref
    try:
        analysis = analyze(with_input(spec, input_shape))
    except SpecError as err:
        return SpecCheck(file=file, name=spec.name, error=err)
    refused = opaque_refusal(analysis, [b for b in (spec.budget, cli_budget) if b is not None])
    if refused is not None:
        return SpecCheck(file=file, name=spec.name, error=refused.located(file, None))
    results = []
    if spec.budget is not None:
        results += evaluate(analysis, spec.budget, "spec", dtype)
    results += evaluate(analysis, cli_budget, "cli", dtype)
    positions = spec._source.positions if spec._source is not None else {}
    lines = {
        name: (p.line, p.column)
        for (section, name), p in ((k, v) for k, v in positions.items() if len(k) == 2)
        if section == "budget"
    }
    return SpecCheck(file=file, name=spec.name, results=tuple(results), lines=lines)


def _coloured(text: str) -> Any:
    """The text format with its marks coloured: a rich Text, so nothing in it is read as markup."""
    from rich.text import Text

    styled = Text(text)
    offset = 0
    for line in text.split("\n"):
        mark = next((m for m in formats.MARKS if line.startswith(m + " ")), None)
        if mark is not None:
            styled.stylize(formats.MARKS[mark], offset, offset + len(mark))
        offset += len(line) + 1
    return styled


@click.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC_OR_DIR...", shell_complete=complete_spec)
@click.option(
    "--max-params",
    callback=_size_option(parse_count),
    metavar="N",
    help="Most parameters (weights + biases): 5M, 2.5G, 61706.",
)
@click.option(
    "--max-macs",
    callback=_size_option(parse_count),
    metavar="N",
    help="Most multiply-accumulates per example: 2G, 720M.",
)
@click.option(
    "--max-activations",
    callback=_size_option(parse_bytes),
    metavar="SIZE",
    help="Most activation memory per example: 100MB (10^6 B), 96MiB (2^20 B).",
)
@click.option(
    "--dtype",
    type=click.Choice(list(DTYPE_BYTES)),
    default="fp32",
    show_default=True,
    help="Element type for memory limits (a spec's budget may name its own).",
)
@input_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(formats.FORMATS)),
    default="text",
    show_default=True,
    help="text for people; github (workflow annotations), junit (XML) or json for CI systems.",
)
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the result to this file (e.g. junit.xml) instead of standard output.",
)
@handles_errors
def check(
    out: Output,
    specs: tuple[str, ...],
    max_params: int | None,
    max_macs: int | None,
    max_activations: int | None,
    dtype: str,
    input_shape: tuple[int, ...] | None,
    fmt: str,
    as_json: bool,
    output: Path | None,
) -> None:
    """Check specs against budgets: exit 0 all hold, 1 a budget is exceeded, 2 a spec is invalid.

    SPEC_OR_DIR is a spec file, a bundled spec name or a folder (its *.yaml files, recursively).
    Each spec is held against its own `budget:` section and against the limits given here.
    """
    if as_json:
        if fmt not in ("text", "json"):
            raise click.UsageError(f"--json is --format json; leave out --format {fmt}")
        fmt = "json"
    if output is not None:  # before the checks, not after them
        check_output(output)
    cli_budget = Budget(max_params=max_params, max_macs=max_macs, max_activations=max_activations)
    checks = [check_one(ref, cli_budget, input_shape, dtype) for ref in spec_files(specs)]
    rendered = formats.FORMATS[fmt](checks)
    if output is not None:
        write_file(output, rendered + "\n")
        click.echo(formats.summary(checks), err=True)
    elif fmt == "text":
        out.out.print(_coloured(rendered), soft_wrap=True)
    else:
        click.echo(rendered)
    sys.exit(exit_code(checks))


@click.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the schema to this file instead of standard output.",
)
@handles_errors
def schema(out: Output, output: Path | None) -> None:
    """The JSON Schema of the spec format, for editors (YAML language server) and validators."""
    text = json_text(spec_schema()) + "\n"
    if output is not None:
        write_file(output, text)
    else:
        click.echo(text, nl=False)
