"""Holding budgets against an analysed design: one result per limit, the outcome per spec file,
and the exit code. Pure arithmetic over an Analysis: no I/O, no formatting of output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..budget import Budget
from ..errors import ExitCode, SpecError

if TYPE_CHECKING:
    from ..analysis import Analysis


@dataclass(frozen=True, slots=True)
class Measure:
    """One budgeted quantity: its name, unit, and how to read it off an analysis."""

    budget: str
    quantity: str
    unit: str  # "count" or "bytes"
    read: Callable[[Analysis, str], int]


MEASURES: dict[str, Measure] = {
    "max_params": Measure(
        budget="max_params", quantity="parameters", unit="count", read=lambda a, dtype: a.totals.params
    ),
    "max_macs": Measure(budget="max_macs", quantity="MACs", unit="count", read=lambda a, dtype: a.totals.macs),
    "max_activations": Measure(
        budget="max_activations",
        quantity="activation memory",
        unit="bytes",
        read=lambda a, dtype: a.memory(dtype).activations,
    ),
}


@dataclass(frozen=True, slots=True)
class BudgetResult:
    """One limit held against one design. `origin` is `spec` (its budget: section) or `cli`."""

    budget: str
    quantity: str
    unit: str
    origin: str
    limit: int
    value: int
    dtype: str | None

    @property
    def ok(self) -> bool:
        return self.value <= self.limit

    @property
    def excess(self) -> int:
        """How far over the limit (0 when within it)."""
        return max(0, self.value - self.limit)


def evaluate(analysis: Analysis, budget: Budget, origin: str, default_dtype: str = "fp32") -> list[BudgetResult]:
    """Every limit set in `budget`, held against the analysed design, in MEASURES order."""
    dtype = budget.dtype or default_dtype
    results = []
    for name, measure in MEASURES.items():
        limit = getattr(budget, name)
        if limit is None:
            continue
        results.append(
            BudgetResult(
                budget=name,
                quantity=measure.quantity,
                unit=measure.unit,
                origin=origin,
                limit=limit,
                value=measure.read(analysis, dtype),
                dtype=dtype if measure.unit == "bytes" else None,
            )
        )
    return results


def opaque_refusal(analysis: Analysis, budgets: list[Budget]) -> SpecError | None:
    """A MACs limit cannot be held against a design whose opaque layers' MACs are unknown: the
    error (exit 2: it cannot be checked) naming them, or None when no MACs limit meets one."""
    rows = analysis.opaque_rows
    if not rows or all(b.max_macs is None for b in budgets):
        return None
    from ..analysis_view import MAX_LISTED

    named = ", ".join(row.path for row in rows[:MAX_LISTED])
    more = f" and {len(rows) - MAX_LISTED:,} more" if len(rows) > MAX_LISTED else ""
    return SpecError(
        "opaque_macs",
        f"a MACs budget cannot be checked: {len(rows):,} opaque layer{'s' if len(rows) != 1 else ''} ({named}{more})"
        f" {'has' if len(rows) == 1 else 'have'} unknown MACs",
        hint="drop the MACs limit (--max-macs, budget: max_macs), or import the model without --opaque once"
        " archcalc maps the module",
    )


@dataclass(frozen=True, slots=True)
class SpecCheck:
    """The outcome of checking one spec file: valid or not, and every budget held against it.

    `lines` maps a budget name (`max_params`) to the 1-based line and column of its entry in the
    spec's `budget:` section, so CI annotations point at the limit that failed; limits from the
    command line point at the top of the file.
    """

    file: str
    name: str | None
    error: Any = None  # a SpecError when the spec is invalid
    results: tuple[BudgetResult, ...] = ()
    lines: dict[str, tuple[int, int]] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(r.ok for r in self.results)

    def where(self, result: BudgetResult | None = None) -> tuple[int, int]:
        """Line and column to annotate: the budget's entry, the error's position, or the top."""
        if result is not None and result.origin == "spec" and self.lines and result.budget in self.lines:
            return self.lines[result.budget]
        if result is None and self.error is not None and self.error.position is not None:
            return self.error.position.line, self.error.position.column
        return 1, 1


def exit_code(checks: list[SpecCheck]) -> ExitCode:
    """BAD_SPEC (2) when a spec is invalid, else FINDING (1) when a budget is exceeded, else OK (0)."""
    if any(c.error is not None for c in checks):
        return ExitCode.BAD_SPEC
    return ExitCode.FINDING if any(not c.ok for c in checks) else ExitCode.OK
