"""Measured-figure JSON files (`report --measured`) read at the door: bounded in size, strict JSON,
every number finite and within range, every string text. What the figures mean is breakdown.py's.

Python's json module reads `NaN` and `Infinity` (not JSON), `1e999` as infinity, and fails with
ValueError past 4,300 digits: each is refused here with one message naming the file, so nothing
past the door can print a non-standard number or crash on one. Messages about a value name its
JSON path (`json_path`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .errors import SpecError
from .limits import MAX_DIGITS, shown, too_long
from .reading import read_bounded

# A verify or bench JSON of a 100,000-layer design is about 20 MB.
MAX_MEASURED_BYTES = 32 * 2**20
# Every number's magnitude stays below this: the integers' digit limit, for floats too.
MAX_MAGNITUDE = 10**MAX_DIGITS


class _Refused(ValueError):
    """A value the door refuses, raised from inside json's hooks."""


def _int(text: str) -> int:
    if reason := too_long(text):  # before int(), which fails (or crawls) on thousands of digits
        raise _Refused(f"the number {shown(text)} is {reason}")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or abs(value) >= MAX_MAGNITUDE:
        raise _Refused(f"the number {shown(text)} is not finite or not below 10^{MAX_DIGITS}")
    return value


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number (measured figures are finite numbers)")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


def _lone_surrogate(data: Any) -> str | None:
    """A string holding a lone UTF-16 surrogate (`"\\ud800"`): valid JSON, yet no UTF-8 file can hold it."""
    stack = [data]
    while stack:  # iterative: as deep as json itself nests
        node = stack.pop()
        if isinstance(node, str):
            if any("\ud800" <= c <= "\udfff" for c in node):
                return node
        elif isinstance(node, dict):
            stack.extend(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None


def parse_measured(data: bytes, file: str) -> Any:
    """Strict JSON from a measured-figures file; SpecError (bad_measured) for anything else.

    >>> parse_measured(b'{"params": 61706, "ms": 0.5}', "m.json")
    {'params': 61706, 'ms': 0.5}
    """
    if len(data) > MAX_MEASURED_BYTES:
        raise SpecError(
            "bad_measured",
            f"the file is larger than the limit of {MAX_MEASURED_BYTES:,} bytes",
            file=file,
            hint="a measured JSON holds totals and per-layer figures: a few megabytes at most",
        )
    try:
        text = data.decode("utf-8-sig")
        value = json.loads(
            text, parse_int=_int, parse_float=_float, parse_constant=_constant, object_pairs_hook=_object
        )
    except UnicodeDecodeError as err:
        raise SpecError(
            "bad_measured",
            f"byte 0x{data[err.start]:02x} at offset {err.start} is not valid UTF-8",
            file=file,
            hint="save the measured figures as UTF-8 JSON",
        ) from None
    except _Refused as err:
        raise SpecError("bad_measured", str(err), file=file) from None
    except json.JSONDecodeError as err:
        raise SpecError(
            "bad_measured", f"not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}", file=file
        ) from None
    except RecursionError:
        raise SpecError("bad_measured", "the JSON nests too deeply to read", file=file) from None
    bad = _lone_surrogate(value)
    if bad is not None:
        raise SpecError("bad_measured", f"the string {shown(bad)} holds a lone surrogate, which is not text", file=file)
    return value


def read_measured(path: Path) -> Any:
    """A measured-figures file, read with a size limit and parsed strictly."""
    return parse_measured(read_bounded(path, MAX_MEASURED_BYTES, "a measured-figures JSON file"), str(path))


def json_path(base: str, key: str | int) -> str:
    """A JSON path as a message shows it: `layers[0]`, `totals.params`, `layers["C 1"]` (keys cut short).

    >>> json_path("layers", "C1"), json_path("totals", "params"), json_path("layers", 2)
    ('layers["C1"]', 'totals.params', 'layers[2]')
    """
    if isinstance(key, int):
        return f"{base}[{key}]"
    if base != "layers" and key.isascii() and key.isidentifier():
        return f"{base}.{key}" if base else key
    quoted = json.dumps(key if len(key) <= 60 else key[:57] + "...", ensure_ascii=False)
    return f"{base}[{quoted}]"


def refused(where: str, what: str, file: str, hint: str | None = None) -> SpecError:
    """The one error for a bad value in a measured file: `where` is its JSON path."""
    return SpecError("bad_measured", f"{where}: {what}", file=file, hint=hint)


def json_type(value: Any) -> str:
    """What a JSON value is, in words, for a message.

    >>> json_type(2.0), json_type(None)
    ('a decimal number', 'null')
    """
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a decimal number",
        str: "a string",
        list: "a list",
        dict: "an object",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)
