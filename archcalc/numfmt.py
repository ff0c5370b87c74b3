"""How a number reads in text: exact with separators (1,234), SI (62.4M), binary bytes (237.9 MiB), volumes (55x55x96).

Every table, summary and report writes its numbers through these, so each rule is written once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .formulas import volume

if TYPE_CHECKING:  # the layer kinds print their counts through this module: no import back at run time
    from .layers import Shape


def fmt_int(value: int) -> str:
    """Exact integer with thousands separators (never rounded)."""
    return f"{value:,}"


SI_SUFFIXES = (
    (10**24, "Y"),
    (10**21, "Z"),
    (10**18, "E"),
    (10**15, "P"),
    (10**12, "T"),
    (10**9, "G"),
    (10**6, "M"),
    (10**3, "K"),
)


def _scientific(value: int) -> str:
    """3 significant digits of any integer: `.3g` where a float holds it, else exact integer
    arithmetic (a float overflows past 1.8e308, str() past 4,300 digits), rounded half to even as `.3g`.

    >>> _scientific(123_456 * 10**400), _scientific(10**1000), _scientific(-(10**309))
    ('1.23e+405', '1e+1000', '-1e+309')
    """
    if abs(value) < 2**1000:
        return f"{value:.3g}"
    n = abs(value)
    exponent = int((n.bit_length() - 1) * 0.30102999566398120)  # floor(log10(n)), or one less
    if n >= 10 ** (exponent + 1):
        exponent += 1
    divisor = 10 ** (exponent - 2)
    head, rest = divmod(n, divisor)  # head: the first 3 digits
    if 2 * rest > divisor or (2 * rest == divisor and head % 2):
        head += 1
    if head == 1000:
        head, exponent = 100, exponent + 1
    return f"{'-' if value < 0 else ''}{head / 100:g}e+{exponent}"


def fmt_si(value: int) -> str:
    """Short SI form for summaries: 1.13G, 62.4M, 34.9K (1000-based), up to Y (10^24), then 1.23e+27.
    Total: any integer, however large, has one.

    >>> fmt_si(1_135_256_096), fmt_si(10**19 + 4 * 10**17), fmt_si(10**400)
    ('1.14G', '10.4E', '1e+400')
    """
    if abs(value) >= 1000 * SI_SUFFIXES[0][0]:
        return _scientific(value)
    for factor, suffix in SI_SUFFIXES:
        if abs(value) >= factor:
            return f"{value / factor:.3g}{suffix}"
    return str(value)


def fmt_count(value: int) -> str:
    """A count in a table cell: exact with separators at any size. A table never rounds a count;
    it leaves columns out to fit (fit.py), and only the summary lines add an SI figure beside the exact one.

    >>> fmt_count(62_378_344), fmt_count(9 * 10**24)
    ('62,378,344', '9,000,000,000,000,000,000,000,000')
    """
    return fmt_int(value)


def fmt_bytes(value: int) -> str:
    """Bytes in binary units: 237.9 MiB; from 1024 PiB on, 3 significant digits.

    >>> fmt_bytes(249_483_264), fmt_bytes(10**400)
    ('237.9 MiB', '1e+400 B')
    """
    if abs(value) >= 1024**6:  # past PiB: no wall of digits
        return f"{_scientific(value)} B"
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if amount < 1024 or unit == "PiB":
            return f"{amount:.1f} {unit}" if unit != "B" else f"{value} B"
        amount /= 1024
    return f"{value} B"  # pragma: no cover


def fmt_shape(shape: Shape) -> str:
    """Channels-first shape shown as the seeds write volumes: H x W x C (55x55x96); flat: 4096."""
    return volume(shape)


def fmt_shapes(shapes: tuple[Shape, ...]) -> str:
    """A network's outputs, every one (a feature pyramid returns several), in `outputs:` order.

    >>> fmt_shapes(((128, 32, 32), (128, 16, 16)))
    '32x32x128, 16x16x128'
    """
    return ", ".join(fmt_shape(shape) for shape in shapes)


def fmt_cell(value: int) -> str:
    """A count in a table cell: fmt_count, and a dot for zero (every table, terminal or report)."""
    return fmt_count(value) if value else "·"
