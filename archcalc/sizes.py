"""Human sizes parsed exactly: counts (5M, 2.5G, 61_706) and byte sizes (100MB, 1.5GiB).

A budget is a limit a CI job enforces, so "5M" must mean exactly 5,000,000 and "1.5GiB" exactly
1,610,612,736 bytes: the arithmetic is done on decimal strings with `fractions.Fraction`, never
on floats, and a size that is not a whole number (1.0000001K) is refused rather than rounded.

Counts take the SI multipliers K, M, G, T (10^3 .. 10^12; `k` is accepted for kilo). Byte sizes
take B with a decimal prefix (KB, MB, GB, TB: 10^3 ..) or a binary one (KiB, MiB, GiB, TiB: 2^10 ..).
Spellings that could mean two things are refused with a message that says which to write:
`5m` (milli? mega?), `100Mb` (megabits?), `100M` as a byte size (MB or MiB?), `5MB` as a count.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

from .limits import MAX_BUDGET, MAX_BUDGET_POWER, shown, too_long

if TYPE_CHECKING:
    from fractions import Fraction

COUNT_SUFFIXES: dict[str, int] = {"": 1, "K": 10**3, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
BYTE_SUFFIXES: dict[str, int] = {
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "kB": 10**3,
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
}

_NUMBER = r"(?P<number>\d(?:[\d_,]*\d)?(?:\.\d+)?|\.\d+)"


@cache
def _pattern() -> re.Pattern[str]:  # compiled on first use: only a spec with a budget reads sizes
    # ASCII: without it \d matches every Unicode digit (`٣`, `３`), which Fraction would read as 3
    return re.compile(rf"^\s*{_NUMBER}\s*(?P<suffix>[A-Za-z]*)\s*$", re.ASCII)


class SizeError(ValueError):
    """A size that cannot be read; the message says what to write instead."""


def _split(text: str, what: str, examples: str) -> tuple[Fraction, str]:
    from fractions import Fraction  # exact decimals; imported here to keep it out of start-up

    match = _pattern().match(text)
    if match is None:
        raise SizeError(f"must be {what}: a number with an optional unit (e.g. {examples}), got {shown(text)}")
    number = match["number"].replace("_", "").replace(",", "")
    if reason := too_long(number):  # before Fraction's int(), which fails (or crawls) on thousands of digits
        raise SizeError(f"{shown(text)} is {reason}; the largest limit is 10^{MAX_BUDGET_POWER}")
    return Fraction(number), match["suffix"]


def _bounded(value: int, text: str) -> int:
    """A limit from 0 to MAX_BUDGET: past it no design is analysed in time, so it limits nothing."""
    if value > MAX_BUDGET:
        raise SizeError(f"{shown(text)} is more than the largest limit, 10^{MAX_BUDGET_POWER} ({MAX_BUDGET:,})")
    return value


def _whole(value: Fraction, text: str, unit: str) -> int:
    if value.denominator != 1:
        from decimal import Context, Decimal

        exact = Context(prec=80).divide(Decimal(value.numerator), Decimal(value.denominator))  # a decimal: it ends
        raise SizeError(
            f"{shown(text)} is {format(exact.normalize(), 'f')} {unit}, not a whole number; "
            f"give a whole number of {unit}"
        )
    return _bounded(value.numerator, text)


def _plain(value: int, what: str) -> int:
    """A size given as a YAML/JSON integer: not a boolean (true is an int in Python), from 0 to MAX_BUDGET."""
    if isinstance(value, bool):
        raise SizeError(f"must be {what}, got {value!r}")
    if value < 0:
        raise SizeError(f"must not be negative, got {value}")
    if value > MAX_BUDGET:  # compared, never printed: a Python caller's int may be past str()'s digit limit
        raise SizeError(f"must be at most 10^{MAX_BUDGET_POWER} ({MAX_BUDGET:,}), the largest limit")
    return value


def parse_count(value: int | str) -> int:
    """A count such as a number of parameters or MACs: 5M, 2.5G, 61706, 61_706.

    >>> parse_count("2.5G"), parse_count("5M"), parse_count("61_706"), parse_count(12)
    (2500000000, 5000000, 61706, 12)
    """
    if isinstance(value, int):
        return _plain(value, "a count such as 5M")
    text = value if isinstance(value, str) else str(value)
    number, suffix = _split(text, "a count", "5M, 2.5G, 61706")
    if suffix in COUNT_SUFFIXES:
        return _whole(number * COUNT_SUFFIXES[suffix], text, "units")
    if suffix in ("m", "g", "t"):
        raise SizeError(
            f"{shown(text)} is ambiguous ('{suffix}' could be milli); write {suffix.upper()} for 10^"
            f"{ {'m': 6, 'g': 9, 't': 12}[suffix] }"
        )
    if suffix in BYTE_SUFFIXES or suffix.lower().endswith("b"):
        raise SizeError(f"{shown(text)} is a byte size, but this limit is a count; write e.g. 5M (5,000,000)")
    raise SizeError(
        f"unknown multiplier {shown(suffix)} in {shown(text)}; use K (10^3), M (10^6), G (10^9) or T (10^12)"
    )


def parse_bytes(value: int | str) -> int:
    """A memory size: 100MB (10^8 bytes), 1.5GiB (1.5 x 2^30 bytes), 4096B, or a plain 4096 (bytes).

    >>> parse_bytes("100MB"), parse_bytes("1.5GiB"), parse_bytes("512KiB"), parse_bytes(4096)
    (100000000, 1610612736, 524288, 4096)
    """
    if isinstance(value, int):
        return _plain(value, "a byte size such as 100MB")
    text = value if isinstance(value, str) else str(value)
    number, suffix = _split(text, "a byte size", "100MB, 1.5GiB, 4096")
    if suffix == "":
        return _whole(number, text, "bytes")
    if suffix in BYTE_SUFFIXES:
        return _whole(number * BYTE_SUFFIXES[suffix], text, "bytes")
    upper = suffix.upper()
    if suffix.endswith("b") and upper in {s.upper() for s in BYTE_SUFFIXES} | {"B"}:
        raise SizeError(
            f"{shown(text)} is ambiguous: a lower-case 'b' means bits; write {suffix[:-1].upper()}B "
            f"(10^n bytes) or {suffix[:-1].upper()}iB (2^n bytes)"
        )
    if upper in ("K", "M", "G", "T"):
        raise SizeError(
            f"{shown(text)} is ambiguous for a byte size; write {number_text(text)}{upper}B (decimal, "
            f"10^n bytes) or {number_text(text)}{upper}iB (binary, 2^n bytes)"
        )
    raise SizeError(
        f"unknown unit {shown(suffix)} in {shown(text)}; use B, KB, MB, GB, TB (powers of 1000) "
        "or KiB, MiB, GiB, TiB (powers of 1024)"
    )


def number_text(text: str) -> str:
    """The number part of a size as written (`100` of `100M`)."""
    match = _pattern().match(text)
    return match["number"] if match else text
