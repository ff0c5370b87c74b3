"""Field types shared by the layer models: strict sizes, per-dimension tuples, padding, groups.

Each type normalises what people write by hand (`3`, `[3, 5]`, `same`, `[[1, 2], [0, 1]]`) into one
canonical value and rejects everything else with a message that says what would be right.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, Strict
from pydantic_core import PydanticCustomError

# The largest size any dimension, channel count or feature count may take. Generous (2^40) yet
# it keeps a typo such as 10**30 from turning into a silent, absurd count or a hang.
MAX_SIZE = 2**40

# The most rows (leaf layers and merges) one analysis may produce: 10x the 100,000-layer design the
# tests analyse (about 1 GB of rows), yet a `repeat` of 10**12 stops at once instead of looping for days.
MAX_ROWS = 1_000_000

Size = Annotated[int, Strict(), Field(ge=1, le=MAX_SIZE)]
# what a spec writes for a Size (a field that holds None for "computed", too, shows this schema)
SIZE_SCHEMA: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_SIZE}
# How many times something happens, none included (a `repeat` of 0 copies is the identity, so a
# template's `times: "${n - 1}"` holds for n = 1).
Count = Annotated[int, Strict(), Field(ge=0, le=MAX_SIZE)]
# a repeat's first copy index (torchvision's layer1.0 is a stage's first block, a repeat then starts at 1)
Start = Annotated[int, Strict(), Field(ge=0, le=MAX_SIZE)]

# The attributes and methods of the torch containers a layer becomes a child of (nn.Module,
# nn.Sequential, verify/modules.py's Fork). torch stores a child as an attribute, so a layer
# named `forward` or `training` cannot be added (KeyError). Fork keeps its own attributes under
# names starting with `_`, so the spec's words for merges (`add`, `merge`) stay free.
# Kept as data so the static path never imports torch; tests/test_untrusted_text.py holds it
# against dir() of those containers in the installed torch. Names starting with `_` are refused
# as a rule (torch's private attributes: _modules, __call__, ... and any a later version adds).
MODULE_ATTRIBUTES = frozenset(
    """
    T_destination add_module append apply bfloat16 buffers call_super_init children compile cpu cuda double
    dump_patches eval extend extra_repr float forward get_buffer get_extra_state get_parameter get_submodule
    half insert ipu load_state_dict modules mtia named_buffers named_children named_modules
    named_parameters parameters pop register_backward_hook register_buffer register_forward_hook
    register_forward_pre_hook register_full_backward_hook register_full_backward_pre_hook
    register_load_state_dict_post_hook register_load_state_dict_pre_hook register_module register_parameter
    register_state_dict_post_hook register_state_dict_pre_hook requires_grad_ set_extra_state set_submodule
    share_memory state_dict to to_empty train training type xpu zero_grad
""".split()
)


def _check_layer_name(value: str) -> str:
    """A layer's name is one step of its dotted path in every table, report and built torch module."""
    if not value or len(value) > 100 or value[0] in "+-" or not all(c.isalnum() or c in "_+-" for c in value):
        raise PydanticCustomError(
            "bad_value",
            "must be 1 to 100 letters, digits, _, + or - (not starting with + or -), got {got}: "
            "a name is one step of the layer's dotted path, so it holds no dots, spaces or markup",
            {"got": repr(value)},
        )
    if value.startswith("_") or value in MODULE_ATTRIBUTES:
        raise PydanticCustomError(
            "bad_value",
            "must not be {got}: the built torch module holds each layer as an attribute of its name, "
            "and {why}; choose another name, e.g. {other}",
            {
                "got": repr(value),
                "other": repr(value.strip("_") + "_layer" if value.strip("_") else "layer"),
                "why": "names starting with _ are torch's private attributes"
                if value.startswith("_")
                else "nn.Module already has an attribute of that name",
            },
        )
    return value


LayerName = Annotated[str, Strict(), AfterValidator(_check_layer_name)]

# A list of layer names (`from:`, `outputs:`) as the JSON schema states it: check_references
# refuses an empty one, so the schema does too (an editor flags `from: []` as the loader would).
LAYER_NAMES_SCHEMA: dict[str, Any] = {"type": "array", "items": {"type": "string"}, "minItems": 1}


def _check_finite(value: float) -> float:
    """A spec's reals (a slope, an epsilon) reach torch and exported source: NaN and the infinities
    are no values there (the loader refuses YAML's `.nan`; this catches them from Python callers)."""
    if not math.isfinite(value):
        raise PydanticCustomError("bad_value", "must be a finite number, got {got}", {"got": repr(value)})
    return value


# A real number: an integer or a float as written (strict: the text '0.5' or 'nan' is not one), finite.
Finite = Annotated[float, Strict(), AfterValidator(_check_finite)]


# The smallest normal float32, 2^-126 (about 1.18e-38): torch builds float32 modules, and a positive
# constant below it (an eps, an LRN k ** beta) rounds to a subnormal or to zero there, so a division
# by it on a zero input gives NaN (tried: BatchNorm2d eps=1e-300 and LocalResponseNorm k=1e-46 do).
FLOAT32_TINY = 2.0**-126


def real_in(
    minimum: float | None = None, maximum: float | None = None, *, exclusive: bool = False, why: str = ""
) -> Any:
    """A finite real from `minimum` (above it when `exclusive`) to `maximum`, either end open when None:
    the range torch needs to compute a finite result, stated in the message and the schema.

    >>> from pydantic import TypeAdapter
    >>> TypeAdapter(real_in(0, 1)).validate_python(1)
    1.0
    """
    if minimum is None:
        stated = "any finite number"
    elif maximum is None:
        stated = f"a number {'>' if exclusive else '>='} {minimum:g}"
    else:
        stated = f"a number in {'(' if exclusive else '['}{minimum:g}, {maximum:g}]"
    because = f" ({why})" if why else ""

    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return value  # not a number: the strict float below says so (wrong_type)
        if not math.isfinite(value):
            raise PydanticCustomError("bad_value", "must be a finite number, got {got}", {"got": repr(value)})
        low = minimum is not None and (value <= minimum if exclusive else value < minimum)
        if low or (maximum is not None and value > maximum):
            raise PydanticCustomError(
                "bad_value",
                "must be {stated}{because}, got {got}",
                {"stated": stated, "because": because, "got": repr(value)},
            )
        return value

    bounds: dict[str, Any] = {} if minimum is None else {"gt" if exclusive else "ge": minimum}
    if maximum is not None:
        bounds["le"] = maximum
    return Annotated[float, Strict(), BeforeValidator(check), Field(**bounds)]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_size(value: Any, minimum: int) -> int:
    """Messages have no subject: the loader prefixes the field's name ('stride' must be ...)."""
    if not _is_int(value):
        raise PydanticCustomError("wrong_type", "must be an integer, got {got}", {"got": repr(value)})
    if not minimum <= value <= MAX_SIZE:
        raise PydanticCustomError(
            "bad_value",
            "must be an integer from {lo} to {hi}, got {got}",
            {"lo": minimum, "hi": f"{MAX_SIZE:,}", "got": repr(value)},
        )
    return value


def _per_dimension(minimum: int):
    def parse(value: Any) -> tuple[int, ...]:
        if isinstance(value, (list, tuple)):
            if not 1 <= len(value) <= 3:
                raise PydanticCustomError(
                    "bad_value", "takes 1 to 3 values (one per spatial dimension), got {n}", {"n": len(value)}
                )
            return tuple(_check_size(v, minimum) for v in value)
        return (_check_size(value, minimum),)

    return parse


# One value for every spatial dimension, or one per dimension; stored as a tuple (length 1 = all).
SizeTuple = Annotated[tuple[int, ...], BeforeValidator(_per_dimension(1))]
NonNegativeTuple = Annotated[tuple[int, ...], BeforeValidator(_per_dimension(0))]

PadPair = tuple[int, int]
PaddingValue = Literal["valid", "same"] | tuple[PadPair, ...]


def _parse_padding(value: Any) -> PaddingValue:
    """`valid`, `same`, N, [N_h, N_w] or per side [[top, bottom], [left, right]]."""
    if isinstance(value, str):
        if value.lower() in ("valid", "same"):
            return value.lower()  # type: ignore[return-value]
        raise PydanticCustomError(
            "bad_value", "must be 'valid', 'same', an integer or a list, got {got}", {"got": repr(value)}
        )
    if isinstance(value, (list, tuple)):
        if not 1 <= len(value) <= 3:
            raise PydanticCustomError(
                "bad_value", "takes one entry per spatial dimension (1 to 3), got {n}", {"n": len(value)}
            )
        pairs = []
        for entry in value:
            if isinstance(entry, (list, tuple)):
                if len(entry) != 2:
                    raise PydanticCustomError(
                        "bad_value", "per-side entries are [before, after], got {got}", {"got": repr(entry)}
                    )
                pairs.append((_check_size(entry[0], 0), _check_size(entry[1], 0)))
            else:
                p = _check_size(entry, 0)
                pairs.append((p, p))
        return tuple(pairs)
    p = _check_size(value, 0)
    return ((p, p),)


Padding = Annotated[PaddingValue, BeforeValidator(_parse_padding)]


def _parse_groups(value: Any) -> int | Literal["depthwise"]:
    if value == "depthwise":
        return "depthwise"
    if isinstance(value, str):
        raise PydanticCustomError(
            "bad_value", "must be a positive integer or 'depthwise', got {got}", {"got": repr(value)}
        )
    return _check_size(value, 1)


Groups = Annotated[int | Literal["depthwise"], BeforeValidator(_parse_groups)]


def _parse_probability(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise PydanticCustomError("bad_value", "must be a number in [0, 1), got {got}", {"got": repr(value)})
    return float(value)


Probability = Annotated[float, BeforeValidator(_parse_probability)]


BIAS_MODES = ("per_unit", "per_position")
BiasValue = bool | Literal["per_unit", "per_position"]


def _parse_bias(value: Any) -> BiasValue:
    """`true` (one bias per output map, shared over positions), `false`, or an unshared mode:
    `per_unit` (one bias per output element, LeNet-1989) or `per_position` (one per spatial
    position, shared over the maps; AlphaGo's final 1x1 conv)."""
    if isinstance(value, bool) or value in BIAS_MODES:
        return value
    raise PydanticCustomError(
        "bad_value", "must be true, false, 'per_unit' or 'per_position', got {got}", {"got": repr(value)}
    )


Bias = Annotated[BiasValue, BeforeValidator(_parse_bias)]


def _parse_connection_table(value: Any) -> tuple[tuple[int, ...], ...]:
    """One row per output map: the indices of the input maps it sees (LeNet-5's Table I)."""
    if not isinstance(value, (list, tuple)) or not value:
        raise PydanticCustomError(
            "wrong_type",
            "must be a list with one row per output map, each a list of input map indices, got {got}",
            {"got": repr(value)},
        )
    rows = []
    for number, row in enumerate(value):
        if not isinstance(row, (list, tuple)) or not row:
            raise PydanticCustomError(
                "bad_value",
                "row {n} must be a non-empty list of input map indices, got {got}",
                {"n": number, "got": repr(row)},
            )
        bad = [index for index in row if not _is_int(index) or index < 0]
        if bad:
            raise PydanticCustomError(
                "bad_value",
                "row {n} has {got}; input map indices are integers from 0 (the first input map)",
                {"n": number, "got": repr(bad[0])},
            )
        indices = tuple(_check_size(index, 0) for index in row)
        twice = sorted({i for i in indices if indices.count(i) > 1})
        if twice:
            raise PydanticCustomError(
                "bad_value",
                "row {n} lists input map {i} more than once: {got}",
                {"n": number, "i": twice[0], "got": list(indices)},
            )
        rows.append(indices)
    return tuple(rows)


ConnectionTable = Annotated[tuple[tuple[int, ...], ...], BeforeValidator(_parse_connection_table)]
