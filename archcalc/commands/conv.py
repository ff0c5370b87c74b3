"""The conv-arithmetic commands: `conv` (one layer, and the solvers) and `rf` (receptive fields)."""

from __future__ import annotations

import sys

import click

from .. import receptive_text
from ..calculator import Op, Unknown, conv_arithmetic, solve_conv
from ..calculator import text as calculator_text
from ..calculator.text import OP_NAMES
from ..errors import ExitCode
from ..fields import MAX_SIZE
from ..layers import SPATIAL_NAMES
from ..limits import flag_int, shown
from ..loader import load_spec
from ..receptive import receptive_fields
from .common import (
    BoundedInt,
    Output,
    handles_errors,
    input_option,
    json_option,
    spec_argument,
    table_options,
    with_input,
)


def _sizes(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    """`227`, `227x227` or `3x5x5`: one positive integer per spatial dimension."""
    if value is None:
        return None
    minimum = 0 if param.name == "output_padding" else 1
    try:
        parts = tuple(flag_int(p) for p in value.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"expected sizes like 227 or 227x227, got {shown(value)}") from None
    if not 1 <= len(parts) <= 3 or any(p < minimum for p in parts):
        low = "non-negative" if minimum == 0 else "positive"
        raise click.BadParameter(f"expected 1 to 3 {low} integers like 227 or 227x227, got {shown(value)}")
    _within_limit(parts, value)
    return parts


def _within_limit(numbers: tuple[int, ...], value: str) -> None:
    """Every size, padding and channel count at most MAX_SIZE, as in a spec."""
    if any(n > MAX_SIZE for n in numbers):
        raise click.BadParameter(f"sizes are at most {MAX_SIZE:,} (2^40), as in a spec; got {shown(value)}")


def _padding(ctx: click.Context, param: click.Parameter, value: str | None) -> object:
    """`same`, `valid`, `N`, `L,R`, or per dimension joined by x: `1x2`, `0,1x1,2`."""
    if value is None or value.lower() in ("same", "valid"):
        return value.lower() if value else None
    dims = []
    for part in value.split("x"):
        try:
            numbers = tuple(flag_int(p) for p in part.split(","))
        except ValueError:
            numbers = ()
        if len(numbers) not in (1, 2) or any(n < 0 for n in numbers):
            raise click.BadParameter(
                f"expected same, valid, N, L,R or one per dimension like 1x2 or 0,1x1,2; got {shown(value)}"
            )
        _within_limit(numbers, value)
        dims.append(numbers[0] if len(numbers) == 1 else numbers)
    return tuple(dims)


def _channels(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        c_in, c_out = (flag_int(p) for p in value.split(","))
    except ValueError:
        raise click.BadParameter(f"expected IN,OUT like 3,96, got {shown(value)}") from None
    if c_in < 1 or c_out < 1:
        raise click.BadParameter(f"channel counts must be positive, got {shown(value)}")
    _within_limit((c_in, c_out), value)
    return c_in, c_out


def _spatial_note(size: tuple[int, ...], op: Op) -> str | None:
    """Three sizes are a 3-D layer here, where every other command reads `3x224x224` as channels x
    height x width: say so, and how the 2-D layer with channels is written."""
    if len(size) < 3:
        return None
    given, rest = "x".join(map(str, size)), "x".join(map(str, size[1:]))
    what = "pooling" if op == "pool" else OP_NAMES[op]
    text = (
        f"--input {given} is read as {len(size)} spatial sizes, a {len(size)}-D {what}: conv takes spatial sizes "
        "only (no channels, unlike the spec commands' CxHxW); "
    )
    if op == "pool":
        return text + f"for a 2-D pooling write --input {rest} (pooling keeps the channels)"
    return text + f"for a 2-D layer on {size[0]} channels write --input {rest} --channels {size[0]},OUT"


def _check_usage(
    pool: bool,
    transposed: bool,
    ceil: bool,
    output_padding: tuple[int, ...] | None,
    channels: tuple[int, int] | None,
    groups: int,
) -> Op:
    if pool and transposed:
        raise click.UsageError("--pool and --transposed exclude each other")
    if ceil and not pool:
        raise click.UsageError("--ceil applies to pooling only; add --pool")
    if output_padding is not None and not transposed:
        raise click.UsageError("--output-padding applies to a transposed convolution; add --transposed")
    if channels is not None and pool:
        raise click.UsageError("pooling has no weights: leave out --channels")
    if groups != 1 and channels is None:
        raise click.UsageError("--groups needs --channels IN,OUT (the weights depend on both)")
    return "pool" if pool else "conv_transpose" if transposed else "conv"


@click.command()
@click.option(
    "--input",
    "size",
    callback=_sizes,
    required=True,
    metavar="W[xW...]",
    help="Spatial input size: 227, or per dimension 227x227 (no channels).",
)
@click.option("--kernel", callback=_sizes, metavar="K[xK...]", help="Kernel size: 3 or 3x5.")
@click.option("--stride", callback=_sizes, metavar="S[xS...]", help="Stride (default 1; pooling too).")
@click.option(
    "--padding",
    callback=_padding,
    metavar="P",
    help="same | valid | N | L,R, or per dimension: 1x2, 0,1x1,2 (default 0).",
)
@click.option("--dilation", callback=_sizes, metavar="D[xD...]", help="Dilation (default 1).")
@click.option("--transposed", is_flag=True, help="A transposed convolution (PyTorch's ConvTranspose).")
@click.option("--output-padding", callback=_sizes, metavar="A[xA...]", help="Transposed: extra output size.")
@click.option("--pool", is_flag=True, help="A pooling window (max and average: the same arithmetic).")
@click.option("--ceil", is_flag=True, help="Pooling in ceil mode (PyTorch's ceil_mode=True).")
@click.option("--channels", callback=_channels, metavar="IN,OUT", help="Channels, for weights, biases and MACs.")
@click.option("--groups", type=BoundedInt(1, MAX_SIZE), default=1, show_default=True, help="Grouped convolution.")
@click.option("--no-bias", is_flag=True, help="A layer without bias.")
@click.option(
    "--output",
    callback=_sizes,
    metavar="N[xN...]",
    help="Solve: the output size wanted; leave out the one unknown (--padding, --stride or --kernel; "
    "with neither --padding nor --stride, the padding at stride 1).",
)
@json_option
@handles_errors
def conv(
    out: Output,
    size,
    kernel,
    stride,
    padding,
    dilation,
    transposed,
    output_padding,
    pool,
    ceil,
    channels,
    groups,
    no_bias,
    output,
    as_json: bool,
) -> None:
    """One layer's output size with the formula, notes and PyTorch call; or solve for an unknown.

    \b
    archcalc conv --input 227 --kernel 11 --stride 4 --padding 0
    archcalc conv --input 13 --kernel 6 --stride 5 --padding same
    archcalc conv --input 224 --kernel 11 --stride 4 --output 55     (which padding?)
    """
    op = _check_usage(pool, transposed, ceil, output_padding, channels, groups)
    note = _spatial_note(size, op)
    if note and not as_json:  # first: it explains an error about the sizes' count too (`--kernel 3x3`)
        out.out.print(f"note: {note}", soft_wrap=True)
    dilation = dilation or (1,)
    if output is not None:
        flags: tuple[tuple[Unknown, object], ...] = (("padding", padding), ("stride", stride), ("kernel", kernel))
        missing: list[Unknown] = [name for name, value in flags if value is None]
        if missing == ["padding", "stride"]:  # the stride has a default (1): solve for the padding
            missing, stride = ["padding"], (1,)
        if len(missing) != 1:
            given = "all of them are given" if not missing else f"{' and '.join('--' + m for m in missing)} are missing"
            raise click.UsageError(
                f"--output solves for one unknown: leave out exactly one of --padding, --stride, --kernel ({given})"
            )
        solves = solve_conv(
            missing[0],
            size,
            output,
            kernel,
            stride,
            padding,
            dilation,
            op=op,
            output_padding=output_padding,
            ceil_mode=ceil,
        )
        if as_json:
            out.json({"unknown": missing[0], **calculator_text.solve_dict(solves), "notes": [note] if note else []})
        else:
            for line in calculator_text.solve_lines(solves):
                out.out.print(line, soft_wrap=True)
        if any(not dim.solutions and dim.open_from is None for dim in solves):
            sys.exit(ExitCode.FINDING)  # a question with no answer is a finding, as a budget exceeded is
        return
    if kernel is None:
        raise click.UsageError("--kernel is required (or give --output to solve for it)")
    result = conv_arithmetic(
        size,
        kernel,
        stride or 1,
        0 if padding is None else padding,
        dilation,
        op=op,
        output_padding=output_padding or 0,
        ceil_mode=ceil,
        channels=channels,
        groups=groups,
        bias=not no_bias,
    )
    if as_json:
        data = calculator_text.conv_dict(result)
        data["notes"] = [note, *data["notes"]] if note else data["notes"]
        out.json(data)
        return
    for line in calculator_text.conv_lines(result):
        out.out.print(line, soft_wrap=True)


@click.command()
@spec_argument
@input_option
@json_option
@table_options(", ".join(receptive_text.RF_DROPS))
@handles_errors
def rf(out: Output, spec: str, input_shape: tuple[int, ...] | None, as_json: bool) -> None:
    """Receptive field of every layer: size, jump (effective stride), start and centre, per dimension."""
    loaded = with_input(load_spec(spec), input_shape)
    rows = receptive_fields(loaded)
    shape = tuple(loaded.input)
    if as_json:
        names = SPATIAL_NAMES.get(len(shape) - 1, ())
        out.json(
            {"spec": {"name": loaded.name, "input_shape": list(shape)}, "layers": receptive_text.rf_dict(rows, names)}
        )
        return
    title = f"{loaded.name}: receptive fields"
    out.table(receptive_text.rf_table(title, shape, rows), choose=True)
    for line in receptive_text.rf_notes(rows):
        out.line(line)
    out.line(receptive_text.RF_LEGEND, style="dim")
