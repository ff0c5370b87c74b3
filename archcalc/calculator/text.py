"""Calculator results -> text lines and JSON dicts, for `archcalc conv`; computes nothing."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .forward import ConvResult
from .solve import DimSolve, Solution

OP_NAMES = {"conv": "convolution", "pool": "pooling", "conv_transpose": "transposed convolution"}


def _dims(values: tuple[int, ...]) -> str:
    return "x".join(str(v) for v in values)


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


def _solution_text(unknown: str, sol: Solution) -> str:
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


def _value(unknown: str, sol: Solution) -> int:
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
