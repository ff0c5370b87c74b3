"""Receptive fields (`archcalc rf`) -> a text table and JSON dicts, numbers written exactly; computes nothing."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from .formulas import volume
from .receptive import AxisField, FieldRow
from .table import Justify, TextTable

# The columns left out, first to last, when the table is wider than the width (`rf --help` says so).
RF_DROPS = ("kind", "output (HxWxC)")


def number(value: int | Fraction | None) -> int | float | str | None:
    """JSON-ready and exact: an integer stays an int; a fraction a float represents exactly (a half
    pixel, 15.5) becomes that float; any other (a centre past 2^52, a jump of 1/3 after a transposed
    conv) becomes the exact text `exact_text` writes ("999999999999999.5", "1/3"), never a rounded float.

    >>> number(Fraction(31, 2)), number(Fraction(2**53 + 1, 2)), number(Fraction(1, 3)), number(7)
    (15.5, '4503599627370496.5', '1/3', 7)
    """
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return int(value)
        as_float = float(value)
        return as_float if Fraction(as_float) == value else exact_text(value)
    return value


def exact_text(value: Fraction) -> str:
    """A fraction written exactly: decimal when it terminates (halves, quarters: "999999968.5"),
    else numerator/denominator ("1/3"); never %g's rounding.

    >>> exact_text(Fraction(1999999937, 2)), exact_text(Fraction(-5, 4)), exact_text(Fraction(2, 3))
    ('999999968.5', '-1.25', '2/3')
    """
    den = value.denominator
    twos, fives, rest = 0, 0, den
    while rest % 2 == 0:  # as many steps as the denominator has bits (at most MAX_FIELD's 64)
        rest, twos = rest // 2, twos + 1
    while rest % 5 == 0:
        rest, fives = rest // 5, fives + 1
    if rest != 1:
        return f"{value.numerator}/{den}"
    places = max(twos, fives)
    digits = str(abs(value.numerator) * 10**places // den).rjust(places + 1, "0")
    return f"{'-' if value < 0 else ''}{digits[:-places]}.{digits[-places:]}"


def _text(value: int | Fraction | None) -> str:
    if value is None:
        return "-"
    return exact_text(value) if isinstance(value, Fraction) and value.denominator != 1 else str(int(value))


def _dims(values: tuple) -> str:
    return "x".join(str(v) for v in values)


def _per_axis(axes: tuple[AxisField, ...], attr: str) -> str:
    values = [_text(getattr(a, attr)) for a in axes]
    return values[0] if len(set(values)) == 1 else "x".join(values)


def rf_table(title: str, input_shape: tuple[int, ...], rows: tuple[FieldRow, ...]) -> TextTable:
    """Layer, output volume, field size, jump, start and centre of unit 0 (HxW when they differ).
    Fitted to the width like every table (fit.py): kind, then output, give way; a long layer name is cut short."""
    table = TextTable(title=title)
    columns: tuple[tuple[str, Justify], ...] = (
        ("layer", "left"),
        ("kind", "left"),
        ("output (HxWxC)", "right"),
        ("RF size", "right"),
        ("jump", "right"),
        ("start", "right"),
        ("centre", "right"),
    )
    for name, justify in columns:
        drop = RF_DROPS.index(name) + 1 if name in RF_DROPS else None
        table.add_column(name, justify=justify, drop=drop, shorten=name == "layer")
    table.add_row("input", "", volume(input_shape), "1", "1", "0", "0", style="dim")
    for row in rows:
        cells: tuple[str, ...]
        if row.axes and row.axes[0].whole:
            cells = (f"whole input ({_dims(input_shape[1:])})", "-", "-", "-")
        else:
            cells = tuple(_per_axis(row.axes, attr) for attr in ("size", "jump", "start", "center"))
        table.add_row(row.path, row.kind, volume(row.out_shape), *cells)
    return table


def rf_notes(rows: tuple[FieldRow, ...]) -> list[str]:
    """The rows' notes, one line each (`path: note`): what `--json` gives as each layer's `note`, in the
    text output too (a merge whose paths move with different jumps, uneven adaptive windows)."""
    return [f"note: {row.path}: {row.note}" for row in rows if row.note]


RF_LEGEND = (
    "RF size: input pixels one output unit sees (borders ignored: it may exceed the input); jump: input pixels "
    "between neighbouring units; start / centre: first pixel and centre of unit 0's field (0-based, negative = "
    "padding). Unit u sees [start + u*jump, start + u*jump + size - 1]. Branches: the union over paths."
)


def rf_dict(rows: tuple[FieldRow, ...], axis_names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {
            "path": row.path,
            "kind": row.kind,
            "output_shape": list(row.out_shape),
            "axes": [
                {
                    "axis": name,
                    "size": number(a.size),
                    "jump": number(a.jump),
                    "start": number(a.start),
                    "center": number(a.center),
                    "whole_input": a.whole,
                }
                for name, a in zip(axis_names, row.axes)
            ],
            "note": row.note,
        }
        for row in rows
    ]
