"""Calculator, derivation and receptive-field results -> text lines, rich tables and JSON dicts.

Computes nothing: every number and formula comes from `calculator`, `explain` and `receptive`.
"""

from __future__ import annotations

from dataclasses import asdict
from fractions import Fraction
from typing import Any

from rich.table import Table

from .calculator import ConvResult, DimSolve
from .explanation import Explained
from .formulas import volume
from .receptive import AxisField, FieldRow

OP_NAMES = {"conv": "convolution", "pool": "pooling", "conv_transpose": "transposed convolution"}


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


# ---------------------------------------------------------------------------------------------
# archcalc conv


def conv_lines(result: ConvResult) -> list[str]:
    """The answer first, then the working, the notes, the PyTorch call and the layer's cost."""
    lines = [f"{OP_NAMES[result.op]} output: {_dims(result.output)}"]
    formulas = [d.formula for d in result.dims]
    if len(set(formulas)) == 1:
        lines.append(f"  {formulas[0]}" + (" (every dimension)" if len(formulas) > 1 else ""))
    else:
        lines.extend(f"  {d.axis}: {d.formula}" for d in result.dims)
    lines.extend(f"note: {note}" for note in result.notes)
    lines.append(f"PyTorch: {result.torch}")
    cost = result.cost
    if cost is not None:
        lines.append(
            f"weights {cost.weights:,} + biases {cost.biases:,} = parameters {cost.params:,}"
            + (f" (groups {cost.groups})" if cost.groups != 1 else "")
        )
        lines.extend(f"  {d.formula}" for d in cost.derivations if d.what == "parameters")
        lines.append(f"MACs: {cost.macs:,} multiply-accumulates = FLOPs (2 per MAC): {2 * cost.macs:,}")
        lines.extend(f"  {d.formula}" for d in cost.derivations if d.what == "MACs")
        lines.append(f"units (outputs): {cost.units:,}; connections (padding excluded): {cost.connections:,}")
    return lines


def conv_dict(result: ConvResult) -> dict[str, Any]:
    data = asdict(result)
    data["output"] = list(result.output)
    if result.cost is not None:
        data["cost"]["params"] = result.cost.params
        data["cost"]["flops"] = 2 * result.cost.macs
    return data


def _solution_text(unknown: str, sol: Any) -> str:
    if unknown == "padding":
        before, after = sol.padding
        value = (
            f"padding {before}"
            if before == after
            else f"padding {before},{after} (any split summing to {before + after})"
        )
    elif unknown == "stride":
        value = f"stride {sol.stride}"
    else:
        value = f"kernel {sol.kernel}"
    if sol.output_padding:
        value += f", output_padding {sol.output_padding}"
    tail = "" if sol.exact else "  (floor: the division leaves positions over)"
    return f"  {value}: {sol.formula}{tail}"


def _value(unknown: str, sol: Any) -> int:
    """The unknown's value in a solution (padding: before the input, all that differs between listed ones)."""
    return sol.padding[0] if unknown == "padding" else sol.stride if unknown == "stride" else sol.kernel


def solve_lines(solves: tuple[DimSolve, ...]) -> list[str]:
    """Per dimension (once when every dimension agrees): each solution with its formula, or why none."""
    same = len({(s.size, s.target, s.solutions, s.count, s.open_from, s.reason) for s in solves}) == 1
    lines = []
    for solve in solves[:1] if same else solves:
        where = "" if same else f"{solve.axis}: "
        head = f"{where}{solve.unknown} giving output {solve.target} from input {solve.size}"
        if not solve.solutions:
            lines.append(f"{head}: none; {solve.reason}")
            continue
        count = solve.count
        listed = solve.solutions
        lines.append(
            f"{head}: {count:,} solution{'s' if count > 1 else ''}" + (" (and more)" if solve.open_from else "")
        )
        if count > len(listed):  # the first ones and the last are listed; every value between them solves
            lines.extend(_solution_text(solve.unknown, sol) for sol in listed[:-1])
            how = "with its own output_padding" if listed[-1].output_padding != listed[-2].output_padding else "alike"
            lines.append(
                f"  ... {count - len(listed):,} more: every {solve.unknown} from {_value(solve.unknown, listed[-2]) + 1:,}"
                f" to {_value(solve.unknown, listed[-1]) - 1:,}, {how}"
            )
            listed = listed[-1:]
        lines.extend(_solution_text(solve.unknown, sol) for sol in listed)
        if solve.open_from is not None:
            lines.append(f"  and every {solve.unknown} from {solve.open_from} upward (one window, the rest unread)")
    return lines


def solve_dict(solves: tuple[DimSolve, ...]) -> dict[str, Any]:
    return {"dimensions": [asdict(s) for s in solves]}


# ---------------------------------------------------------------------------------------------
# archcalc shapes --explain


def explain_lines(rows: tuple[Explained, ...]) -> list[tuple[str, bool]]:
    """`conv1: (227 - 11 + 2*0)/4 + 1 = 55` per derivation; the flag marks element-wise filler."""
    lines = []
    for row in rows:
        for d in row.derivations:
            parts = d.what.split()
            label = f"{row.path} {parts[1]}" if parts[0] == "output" and len(parts) == 2 else row.path
            lines.append((f"{label}: {d.formula}", d.formula.startswith("element-wise")))
    return lines


def explain_dicts(rows: tuple[Explained, ...]) -> dict[str, list[dict[str, Any]]]:
    return {row.path: [asdict(d) for d in row.derivations] for row in rows}


# ---------------------------------------------------------------------------------------------
# archcalc rf


def _per_axis(axes: tuple[AxisField, ...], attr: str) -> str:
    values = [_text(getattr(a, attr)) for a in axes]
    return values[0] if len(set(values)) == 1 else "x".join(values)


def rf_table(title: str, input_shape: tuple[int, ...], rows: tuple[FieldRow, ...]) -> Table:
    """Layer, output volume, field size, jump, start and centre of unit 0 (HxW when they differ)."""
    table = Table(title=title, header_style="bold")
    for name, justify in (
        ("layer", "left"),
        ("kind", "left"),
        ("output (HxWxC)", "right"),
        ("RF size", "right"),
        ("jump", "right"),
        ("start", "right"),
        ("centre", "right"),
    ):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    table.add_row("input", "", volume(input_shape), "1", "1", "0", "0", style="dim")
    for row in rows:
        if row.axes and row.axes[0].whole:
            cells = (f"whole input ({_dims(input_shape[1:])})", "-", "-", "-")
        else:
            cells = tuple(_per_axis(row.axes, attr) for attr in ("size", "jump", "start", "center"))
        table.add_row(row.path, row.kind, volume(row.out_shape), *cells)
    return table


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
