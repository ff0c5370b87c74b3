"""The door every number passes before arithmetic: how long an integer may be written, which floats
are numbers at all, the largest budget or cost, and how a refused value is quoted. A leaf module.

Python refuses to read integers of more than 4,300 digits (a limit a user may raise or lift), and
arithmetic on a huge one is slow: so an integer is refused by its written length, before `int()`
sees it, and every field then has its own, far smaller, maximum.
"""

from __future__ import annotations

from typing import Any

# The most digits an integer may be written with, in a spec, a flag or a measured file: far past
# any field's maximum (sizes stop at 2^40, 13 digits; budgets at 10^30), far under Python's limit.
MAX_DIGITS = 40

# The largest budget (parameters, MACs, bytes): 10^30, past any design archcalc can analyse in
# time, and small enough that every comparison and SI formatting stay exact.
MAX_BUDGET_POWER = 30
MAX_BUDGET = 10**MAX_BUDGET_POWER

# The most ops a counting convention may charge per element, parameter or vector.
MAX_COST = 10**6


def digits_in(text: str) -> int:
    """How many digits an integer literal is written with: sign, base prefix, `_`, `,` and YAML 1.1's
    sexagesimal `:` left out.

    >>> digits_in("-1_000"), digits_in("0x_ff"), digits_in("190:20:30")
    (4, 2, 7)
    """
    body = text.strip().lstrip("+-")
    if body[:2].lower() in ("0x", "0b", "0o"):
        body = body[2:]
    return sum(1 for c in body if c not in "_,:")


def too_long(text: str) -> str | None:
    """Why an integer literal may not be read (too many digits), or None when it may.

    >>> too_long("1" * 41)
    'an integer of 41 digits; at most 40 digits are read'
    """
    count = digits_in(text)
    if count > MAX_DIGITS:
        return f"an integer of {count:,} digits; at most {MAX_DIGITS} digits are read"
    return None


def flag_int(text: str) -> int:
    """An integer from a command-line flag: ValueError past MAX_DIGITS digits, before int() reads it,
    and for any character outside ASCII: int() reads every Unicode digit (`٣`, `３`) and space as its
    ASCII one, so a flag that looks like one number to a reader could be read as another.

    >>> flag_int(" 224 ")
    224
    """
    if not text.isascii():
        raise ValueError("only the ASCII digits 0-9 are read in a number")
    if reason := too_long(text):
        raise ValueError(reason)
    return int(text)


def shown(value: Any) -> str:
    """A value as a message quotes it: its repr, cut to 60 characters (a value may be megabytes of
    text); an integer too long for repr() by its size.

    >>> shown("x" * 100), shown(10**5000)
    ("'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...", 'an integer of about 5,000 digits')
    """
    if isinstance(value, int) and value.bit_length() > 4 * MAX_DIGITS:
        return f"an integer of about {round(value.bit_length() * 0.30103):,} digits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# The largest ONNX file `archcalc import` reads: protobuf's own limit on one message (2 GiB - 1
# byte), so every single-file model fits, and a file past it is not one ONNX model but a device, a
# stream or something else; it is never read past this (reading.read_bounded). Parsing holds about
# twice the file in memory. Weights kept beside the model (external data) are never read at all.
MAX_ONNX_BYTES = 2**31 - 1
