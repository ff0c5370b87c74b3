"""What every command shares: the consoles, error handling and exit codes, common options."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from .. import fit
from ..dtypes import DTYPE_BYTES
from ..encode import json_text, term_text
from ..errors import ExitCode, SpecError, out_of_memory
from ..fields import MAX_SIZE
from ..fit import narrowed, wrap_line
from ..limits import flag_int, shown
from ..spec import Spec
from ..table import TextTable
from .completion import complete_convention, complete_spec
from .pipes import closed_pipe

MAX_TERMINAL_SIZE = 10_000  # columns or lines: past any screen, and a width rich can lay out


def _terminal_size_env(name: str) -> int | None:
    """COLUMNS or LINES when it is a usable size (1 to 10,000), else None. An unusable one
    (`COLUMNS=abc`, 0, a 5,000-digit number) is dropped from the environment, as if unset, so
    that rich, click and shutil, which read it too, fall back to their defaults instead of failing."""
    text = os.environ.get(name)
    if text is None:
        return None
    if text.isascii() and text.isdigit() and len(text) <= 5 and 1 <= int(text) <= MAX_TERMINAL_SIZE:
        return int(text)
    del os.environ[name]
    return None


def _console(stderr: bool = False, width: int | None = None) -> Any:
    from rich.console import Console

    from .pipes import console

    _terminal_size_env("LINES")
    columns = _terminal_size_env("COLUMNS")
    if width is None:
        # Off a terminal (CI logs, pipes) rich would wrap at 80 columns; tables read better unwrapped.
        probe = Console(stderr=stderr)
        width = None if probe.is_terminal else columns or 200
    # Strings print as they are: a name or a path holding `[` or `:smile:` is text, never a tag or
    # an emoji; what is styled is built as rich Text (encode.py says why not rich.markup.escape).
    # Printed text is never wrapped (soft_wrap): a wrap would start a line with whatever word of a
    # user's text came next, which a CI log can read as a workflow command.
    return console(stderr=stderr, width=width, highlight=False, markup=False, emoji=False, soft_wrap=True)


def _stdout_width() -> int:
    """The columns a table may use: COLUMNS when set, else the terminal's, else 200. COLUMNS wins over
    the terminal's size, as in shutil, click and rich (the rich consoles here agree with the text tables)."""
    columns = _terminal_size_env("COLUMNS")
    if columns is None and sys.stdout.isatty():
        return shutil.get_terminal_size((200, 24)).columns
    return columns or 200


def _fix_rich_widths(table: Any, width: int) -> int:
    """Give each column of a rich Table a width that keeps every word whole (so every number), and
    return the width to print it at: `width`, or more where the words need it.

    rich narrows a table too wide by shaving its widest columns, below their longest word if need
    be, and then crops: a count would print as `62,36…`. Here the columns are narrowed first, the
    widest first, none below its longest word (a right-justified column, a count, not at all).
    """
    from rich.cells import cell_len

    natural, least = [], []
    for column in table.columns:
        lines = [line for text in (column.header, column.footer, *column.cells) for line in str(text).split("\n")]
        natural.append(max(map(cell_len, lines), default=0))
        whole = column.no_wrap or column.justify == "right"
        least.append(natural[-1] if whole else max((cell_len(w) for line in lines for w in line.split(" ")), default=0))
    frame = 3 * len(table.columns) + 1  # the default box: a border and a space either side of each column
    widths = narrowed(natural, least, sum(natural) + frame - width)
    for column, fixed, full in zip(table.columns, widths, natural):
        if fixed < full:
            column.width = fixed
    return max(width, sum(widths) + frame)


def _color() -> bool | None:
    """Styles as rich decides them: NO_COLOR or TERM=dumb turn them off, FORCE_COLOR on even off a
    terminal; otherwise None: click styles a terminal and strips the codes elsewhere."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return True if os.environ.get("FORCE_COLOR") else None


def _styled(text: str, style: str) -> str:
    """`text` in a row's style: bold, dim or italic, else a colour (diff's added, removed, changed rows)."""
    return click.style(text, **{style: True}) if style in ("bold", "dim", "italic") else click.style(text, fg=style)


def _unicode_stdout() -> bool:
    return (getattr(sys.stdout, "encoding", None) or "utf-8").lower().startswith("utf")


class Output:
    """Where a command writes: plain lines and text tables through click (styles on a terminal
    only), JSON as plain text, and rich consoles (made on first use) for rich renderables.

    The static commands never touch the rich consoles, so they never import rich.
    """

    def __init__(self, width: int | None = None, columns: tuple[str, ...] = (), wide: bool = False) -> None:
        self._out: Any = None
        self._err: Any = None
        self._width = width  # --width; None: COLUMNS, the terminal's or 200
        self.columns = columns  # --columns: the names of the columns to show
        self.wide = wide  # --wide: every column, however wide

    @property
    def width(self) -> int:
        """The columns a table or a line may use."""
        return self._width or _stdout_width()

    @property
    def out(self) -> Any:
        if self._out is None:
            self._out = _console(width=self._width)
        return self._out

    @property
    def err(self) -> Any:
        if self._err is None:
            self._err = _console(stderr=True, width=self._width)
        return self._err

    def json(self, data: Any) -> None:
        click.echo(json_text(data))

    def line(self, text: str = "", style: str | None = None) -> None:
        """One line of text, literal (no markup); `style` (bold, dim, italic, a colour) on a terminal only.
        Any control character in it (user text) is shown escaped; a line wider than the width wraps
        at spaces, each continuation indented two spaces more (fit.wrap_line), never inside a word."""
        color = _color()
        for part in wrap_line(term_text(text), self.width):
            click.echo(_styled(part, style) if style and color is not False else part, color=color)

    def table(self, table: TextTable, *, huge: int | None = None, choose: bool = False) -> None:
        """A text table fitted to the width (fit.py: columns left out, text wrapped or cut short;
        never a number) and laid out directly, with one line under it saying what was given up.

        `choose`: `--columns` applies to this table (a command's main table). Text the direct layout
        cannot measure (wide or combining characters) goes to rich, which never cuts a number here
        either. `huge`: from this many rows on, the direct layout is used regardless: rich's layout
        of a 100,000-row table takes minutes.
        """
        if choose and self.columns:
            try:
                table = fit.choose(table, self.columns)
            except ValueError as err:
                raise click.BadParameter(str(err), param_hint="'--columns'") from None
        width = self.width
        fitted = fit.Fitted(table, width) if self.wide else fit.fit(table, width)
        if not (table.simple() or (huge is not None and len(table.rows) >= huge)):
            self.rich_table(fitted.table.to_rich())
        else:
            color = _color()
            text = "\n".join(
                _styled(line, style) if style and color is not False else line
                for line, style in fitted.table.lines(unicode=_unicode_stdout())
            )
            click.echo(text, color=color)
        note = fitted.note()
        if note:
            self.line(note, style="dim")

    def rich_table(self, table: Any) -> None:
        """A rich Table fitted to the width: text wraps at spaces, no word is cut, so no number is;
        a table whose words do not fit is printed wider than the width, whole."""
        console = self.out
        saved = console.width
        printed = console.width = _fix_rich_widths(table, self.width)
        try:
            console.print(table, crop=False)
        finally:
            console.width = saved
        if printed > self.width:  # said as a fitted text table says it (fit.Fitted.note)
            self.line(fit.too_wide_note(printed, self.width), style="dim")

    def error(self, message: str) -> None:
        color = _color()
        click.secho(message, fg="red" if color is not False else None, err=True, color=color)


def errors_as_json(kwargs: dict[str, Any]) -> bool:
    """An error is JSON where standard output carries the JSON: under --json, unless -o sends it to a file."""
    return bool(kwargs.get("as_json")) and not kwargs.get("output")


def handles_errors(command: Callable[..., None]) -> Callable[..., None]:
    """Turn every failure into one message and an exit code; never a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        # --width, --columns and --wide (table_options, width_option) are the Output's, not the command's
        out = Output(width=kwargs.pop("width", None), columns=kwargs.pop("columns", ()), wide=kwargs.pop("wide", False))
        as_json = errors_as_json(kwargs)
        try:
            command(out, *args, **kwargs)
        except SpecError as err:
            if as_json:
                out.json({"error": err.to_dict()})
            else:
                out.error(str(err))
            sys.exit(ExitCode.BAD_SPEC)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except BrokenPipeError:  # the reader of standard output went away: not an error (pipes.py)
            sys.exit(closed_pipe())
        except Exception as err:
            if out_of_memory(err):  # a real run (verify, bench) of a design too large for this machine
                reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                too_large = SpecError(
                    "too_large_to_run",
                    f"the run needs more memory than this machine has: {reason}",
                    hint="use a smaller --batch or --input; the static commands count any size",
                )
                if as_json:
                    out.json({"error": too_large.to_dict()})
                else:
                    out.error(str(too_large))
                sys.exit(ExitCode.BAD_SPEC)
            # a bug in archcalc: say so in one line
            if os.environ.get("ARCHCALC_DEBUG"):
                raise
            out.error(
                f"internal error: {type(err).__name__}: {term_text(str(err))}\n  this is a bug in archcalc; "
                "ARCHCALC_DEBUG=1 shows the traceback"
            )
            sys.exit(ExitCode.INTERNAL)

    return wrapper


def _parse_input(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    """`3x224x224` (channels first, as in specs) or `224` (every spatial size)."""
    if value is None:
        return None
    try:
        parts = tuple(flag_int(p) for p in value.lower().replace(",", "x").split("x"))
    except ValueError:
        raise click.BadParameter(f"expected sizes like 3x224x224 or 224, got {shown(value)}") from None
    if not parts or any(p < 1 for p in parts) or len(parts) > 4:
        raise click.BadParameter(f"expected 1 to 4 positive sizes like 3x224x224, got {shown(value)}")
    if any(p > MAX_SIZE for p in parts):
        raise click.BadParameter(f"sizes are at most {MAX_SIZE:,} (2^40), as in a spec; got {shown(value)}")
    return parts


def with_input(spec: Spec, shape: tuple[int, ...] | None) -> Spec:
    if shape is None:
        return spec
    if len(shape) == 1 and len(spec.input) > 1:
        shape = (spec.input[0],) + shape * (len(spec.input) - 1)
    return spec.with_input(shape)


spec_argument = click.argument("spec", metavar="SPEC", shell_complete=complete_spec)
input_option = click.option(
    "--input",
    "input_shape",
    callback=_parse_input,
    metavar="CxHxW",
    help="Analyse at another input size: 3x224x224 (channels first) or 224 (every spatial size).",
)
dtype_option = click.option(
    "--dtype",
    type=click.Choice(list(DTYPE_BYTES)),
    default="fp32",
    show_default=True,
    help="Element type for memory figures.",
)
# The largest batch the static estimates take (roofline, memory, bench): far past any real batch,
# and small enough that every figure stays a sane integer.
MAX_BATCH = 2**24


class BoundedInt(click.ParamType):
    """An integer flag from `low` to `high`: read with the digit limit (before int() sees it), and
    quoted cut short when refused. Every integer flag states its maximum."""

    name = "integer"

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = flag_int(str(value))
            except ValueError:
                self.fail(f"expected an integer from {self.low:,} to {self.high:,}, got {shown(value)}", param, ctx)
        if not self.low <= number <= self.high:
            self.fail(f"must be from {self.low:,} to {self.high:,}, got {shown(value)}", param, ctx)
        return number


batch_type = BoundedInt(1, MAX_BATCH)
json_option = click.option("--json", "as_json", is_flag=True, help="Print a machine-readable JSON result.")


def convention_option(default: str = "archcalc"):
    return click.option(
        "--convention",
        default=default,
        show_default=True,
        metavar="NAME",
        shell_complete=complete_convention,
        help="Count params, connections and ops as a paper or tool does: archcalc, torch, ..., "
        "or `paper` for the convention the spec declares for its source.",
    )


def _parse_columns(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...]:
    """`--columns layer,macs`: names, checked against the table when it is made (Output.table).
    Given but naming nothing (`--columns ''`, `--columns ,`) is a usage error, not every column."""
    if value is None:
        return ()
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    if not names:
        raise click.BadParameter("name at least one column, e.g. --columns layer,macs")
    return names


_WIDTH_HELP = "Lay tables and lines out for N columns (default: COLUMNS when set, else the terminal's, else 200)."


def _width_option(help: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option("--width", type=BoundedInt(1, MAX_TERMINAL_SIZE), metavar="N", help=help)


# --width for a command whose tables are rich's: they wrap text columns, never a number.
width_option = _width_option(_WIDTH_HELP + " Text wraps; numbers are never cut.")


def table_options(drops: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """--width, --columns and --wide; `drops` says, for --help, which columns give way first."""

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        command = click.option(
            "--wide", is_flag=True, help="Print every column, however wide the table (no column left out)."
        )(command)
        command = click.option(
            "--columns",
            callback=_parse_columns,
            metavar="A,B,...",
            help="Show these columns only (layer,macs): a column's name is its header's words before any "
            "parenthesis, lower case, hyphens for spaces (`output (HxWxC)` is output); a unique prefix will do "
            "(hyper); an unknown name lists them all.",
        )(command)
        help = f"{_WIDTH_HELP} A table too wide leaves columns out, in this order: {drops}; a line under it says which. Numbers are never cut."
        return _width_option(help)(command)

    return decorate
