"""`archcalc check` results -> text for people and for CI systems (GitHub annotations, JUnit XML, JSON).

Every formatter takes the same list of SpecCheck and returns a string; none computes a number.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from ..arith import ratio
from ..encode import ci_log_safe, gh_data, gh_prop, json_text, term_text, xml_text
from ..numfmt import fmt_bytes, fmt_int, fmt_si
from .budgets import BudgetResult, SpecCheck, exit_code


def fmt_value(result: BudgetResult, value: int) -> str:
    """`62,378,344 (62.4M)` for counts; `290,400 B (283.6 KiB)` for bytes."""
    if result.unit == "bytes":
        return f"{fmt_int(value)} B ({fmt_bytes(value)})"
    return f"{fmt_int(value)} ({fmt_si(value)})"


def _origin(result: BudgetResult) -> str:
    flag = "--" + result.budget.replace("_", "-")
    return "spec budget" if result.origin == "spec" else flag


def describe(result: BudgetResult) -> str:
    """One sentence: the quantity, its value, the limit, and by how much it is over or under."""
    at = f" at {result.dtype}" if result.dtype else ""
    head = f"{result.budget} ({_origin(result)}): {result.quantity}{at} {fmt_value(result, result.value)}"
    if result.ok:
        share = f" ({ratio(100 * result.value, result.limit):.1f}% of it)" if result.limit else ""
        return f"{head} within the limit {fmt_value(result, result.limit)}{share}"
    over = f" (+{ratio(100 * result.excess, result.limit):.1f}%)" if result.limit else ""
    return f"{head} exceeds the limit {fmt_value(result, result.limit)} by {fmt_value(result, result.excess)}{over}"


# The marks that begin the text format's lines, and their colours on a terminal.
MARKS = {"✓": "green", "✗ invalid": "red", "✗ over budget": "red"}


def text(checks: list[SpecCheck]) -> str:
    """Plain terminal text (no markup: the command colours the marks), one line per spec and budget
    (an error adds its hint and note lines), and a summary line."""
    lines = []
    for check in checks:
        file = term_text(check.file)
        if check.error is not None:
            lines.append(f"✗ invalid {check.error}")  # str(SpecError) is terminal text
            continue
        if not check.results:
            lines.append(f"✓ {file}: valid (no budget set)")
        for result in check.results:
            mark = "✓" if result.ok else "✗ over budget"
            line, _ = check.where(result)
            lines.append(f"{mark} {file}:{line}: {term_text(describe(result))}")
    lines.append(summary(checks))
    return "\n".join(lines)


def summary(checks: list[SpecCheck]) -> str:
    invalid = sum(c.error is not None for c in checks)
    results = [r for c in checks for r in c.results]
    over = sum(not r.ok for r in results)
    return (
        f"{len(checks)} spec(s): {invalid} invalid; {len(results)} budget(s) checked, {over} exceeded"
        f" -> exit {int(exit_code(checks))}"
    )


def _annotation(level: str, file: str, line: int, col: int, title: str, message: str) -> str:
    props = f"file={gh_prop(file)},line={line},col={col},title={gh_prop(title)}"
    return f"::{level} {props}::{gh_data(message)}"


def github(checks: list[SpecCheck]) -> str:
    """GitHub Actions workflow commands: an ::error per invalid spec or exceeded budget, at its line."""
    lines = []
    for check in checks:
        if check.error is not None:
            line, col = check.where()
            err = check.error.to_dict()  # its user text cut to the limits every error shows
            message = (
                (f"{err['layer']}: " if err["layer"] else "")
                + err["message"]
                + (f" (hint: {err['hint']})" if err["hint"] else "")
            )
            lines.append(
                _annotation("error", check.file, line, col, f"archcalc: invalid spec [{err['code']}]", message)
            )
            continue
        for result in check.results:
            if not result.ok:
                line, col = check.where(result)
                lines.append(
                    _annotation("error", check.file, line, col, f"archcalc budget {result.budget}", describe(result))
                )
    lines.append(summary(checks))
    return "\n".join(lines)


def junit(checks: list[SpecCheck]) -> str:
    """JUnit XML: one test case per spec (is it valid?) and one per budget held against it."""
    suites = ET.Element("testsuites", name="archcalc check")
    suite = ET.SubElement(suites, "testsuite", name="archcalc check")
    tests = failures = errors = 0
    for check in checks:
        file = xml_text(check.file)  # every value below passes xml_text; ElementTree escapes the markup
        case = ET.SubElement(suite, "testcase", classname=file, name="valid spec", file=file)
        tests += 1
        if check.error is not None:
            errors += 1
            err = ET.SubElement(
                case, "error", message=xml_text(check.error.to_dict()["message"]), type=xml_text(check.error.code)
            )
            err.text = str(check.error)  # terminal text: its fields are encoded, its only line breaks are archcalc's
            continue
        for result in check.results:
            tests += 1
            line = str(check.where(result)[0])
            name = xml_text(f"{result.budget} ({_origin(result)})")
            case = ET.SubElement(suite, "testcase", classname=file, name=name, file=file, line=line)
            if not result.ok:
                failures += 1
                fail = ET.SubElement(case, "failure", message=xml_text(describe(result)), type="budget_exceeded")
                fail.text = f"{file}:{line}: {xml_text(describe(result))}"
    for element in (suites, suite):
        element.set("tests", str(tests))
        element.set("failures", str(failures))
        element.set("errors", str(errors))
    ET.indent(suites)
    return ci_log_safe('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode"), "&#35;")


def as_dict(checks: list[SpecCheck]) -> dict[str, Any]:
    """Stable keys, exact integers."""
    specs = []
    for check in checks:
        specs.append(
            {
                "file": check.file,
                "name": check.name,
                "valid": check.error is None,
                "ok": check.ok,
                "error": check.error.to_dict() if check.error is not None else None,
                "budgets": [
                    {
                        "budget": r.budget,
                        "origin": r.origin,
                        "quantity": r.quantity,
                        "unit": r.unit,
                        "dtype": r.dtype,
                        "limit": r.limit,
                        "value": r.value,
                        "excess": r.excess,
                        "ok": r.ok,
                        "line": check.where(r)[0],
                    }
                    for r in check.results
                ],
            }
        )
    return {"ok": all(c.ok for c in checks), "exit_code": int(exit_code(checks)), "specs": specs}


def as_json(checks: list[SpecCheck]) -> str:
    return json_text(as_dict(checks))


FORMATS: dict[str, Callable[[list[SpecCheck]], str]] = {
    "text": text,
    "github": github,
    "junit": junit,
    "json": as_json,
}
