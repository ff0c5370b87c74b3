"""Convolution kinds: conv (1/2/3-D, groups, dilation, any padding) and transposed conv."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AliasChoices, Field, ValidationInfo, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from .. import arith
from ..errors import LayerError
from ..fields import SIZE_SCHEMA, Bias, ConnectionTable, Groups, NonNegativeTuple, Padding, Size, SizeTuple
from ..formulas import Derivation, transposed_formula
from ..formulas.conv import (
    KernelCounts,
    bias_count,
    conv_counts,
    conv_derivations,
    group_count,
    transposed_counts,
    transposed_covered,
    transposed_derivations,
    transposed_sizes,
)
from ..numfmt import fmt_int
from .base import (
    DILATION,
    GROUPS,
    KERNEL,
    OUT_CHANNELS,
    PADDING,
    SPATIAL_NAMES,
    STRIDE,
    Counts,
    Layer,
    RFStep,
    Shape,
    TorchCall,
    Window,
    _compact,
    _dims_text,
    _expand,
    _spatial,
    padded_call,
    resolve_window,
)
from .ops import Op, Saves


def _kernel_layer_counts(
    out_shape: Shape, cost: KernelCounts, op: str, has_bias: bool, unshared_bias: bool = False
) -> Counts:
    """A conv's or transposed conv's Counts: a dense implementation also multiplies the taps that
    land on padding, so padded_connections = MACs; one bias add per output unit."""
    return Counts(
        out_shape=out_shape,
        units=cost.units,
        weights=cost.weights,
        biases=cost.biases,
        connections=cost.connections,
        macs=cost.macs,
        padded_connections=cost.macs,
        op=op,
        bias_adds=cost.units if has_bias else 0,
        macs_on_output=cost.macs_on_output,
        unshared_bias=unshared_bias,
    )


CONV = Op("conv", Saves(input=True), math="conv", fusion="kernel", folds_norm=True)
CONV_TRANSPOSE = Op("conv_transpose", Saves(input=True), math="conv", fusion="kernel", folds_norm=True)


def out_maps(out_channels: int | None, groups: int | str, in_channels: int) -> int:
    """A conv's output maps: out_channels, or a depthwise conv's default, one per input map."""
    if out_channels is not None:
        return out_channels
    if groups != "depthwise":  # `out: null` written out: only a depthwise conv is given None
        raise LayerError(
            "bad_value",
            "out_channels is null: only a depthwise conv (groups: depthwise) may leave it out "
            "(its output maps are then its input maps)",
            field="out_channels",
            hint="give `out: N`",
        )
    return in_channels


class Conv(Layer):
    """N-d convolution (1-, 2- or 3-D); groups, dilation, padding, connection table, unshared biases.

    The rank comes from the input's. A connection table says which input maps each output map
    sees; `bias` is shared per map, absent, or one per unit or per position.
    """

    kind: Literal["conv"]
    ops = (CONV,)
    pad_value: ClassVar[float] = 0.0  # what its padding holds (a zero pad folds into it: importing/fx_pads.py)
    # required, except by a depthwise conv: its output maps default to its input maps (None here,
    # `out_maps` resolves it), as a spec never repeats what can be computed
    out_channels: Annotated[Size | None, WithJsonSchema(SIZE_SCHEMA)] = Field(
        validation_alias=AliasChoices("out_channels", "out"),
        description=OUT_CHANNELS + "; a depthwise conv's defaults to its input channels",
    )
    kernel_size: SizeTuple = Field(validation_alias=AliasChoices("kernel_size", "kernel"), description=KERNEL)
    stride: SizeTuple = Field((1,), description=STRIDE)
    padding: Padding = Field(((0, 0),), description=PADDING)
    dilation: SizeTuple = Field((1,), description=DILATION)
    groups: Groups = Field(1, description=GROUPS)
    # Which input maps each output map sees (row o lists the input maps of output map o): the
    # partial connectivity of LeNet-5's C3 (its Table I) and LeNet-1989's H2. None: all of them.
    connection_table: ConnectionTable | None = Field(
        None,
        validation_alias=AliasChoices("connection_table", "table"),
        description="row o lists the input maps output map o sees (LeNet-5's Table I); none: every map",
    )
    bias: Bias = Field(
        True,
        description="one bias per output map (true), none (false), or unshared: per_unit (one per output element) "
        "or per_position (one per spatial position)",
    )

    # out may be left out where groups is depthwise (layers/base.py `leave_out`; the schema says so)
    REQUIRED_UNLESS = {"out_channels": ("groups", "depthwise")}

    def out_maps(self, in_channels: int) -> int:
        return out_maps(self.out_channels, self.groups, in_channels)

    @field_validator("connection_table")
    @classmethod
    def _one_row_per_output_map(cls, table: tuple[tuple[int, ...], ...] | None, info: ValidationInfo):
        if table is None:
            return table
        out = info.data.get("out_channels")
        if out is not None and len(table) != out:
            raise PydanticCustomError(
                "bad_value",
                "has {rows} rows but the layer has {out} output maps (out_channels); "
                "give one row per output map, listing the input maps it sees",
                {"rows": len(table), "out": out},
            )
        if info.data.get("groups", 1) != 1:
            raise PydanticCustomError(
                "bad_value",
                "and groups cannot be combined: a connection table already says which input "
                "maps each output map sees (a grouped conv is the block-diagonal table)",
            )
        return table

    def table_fan_ins(self, table: tuple[tuple[int, ...], ...], in_channels: int) -> tuple[int, ...]:
        """Input maps seen by each output map, from the connection table (one entry per row).

        Without a table every map sees c_in / groups: `links` multiplies instead of listing them,
        as out_channels may be 2^40."""
        for number, row in enumerate(table):
            bad = [i for i in row if i >= in_channels]
            if bad:
                raise LayerError(
                    "bad_connection_table",
                    f"row {number} of the connection table names input map {bad[0]}, but the input has "
                    f"{in_channels} maps (0 to {in_channels - 1})",
                    field="connection_table",
                    hint=f"use input map indices from 0 to {in_channels - 1}",
                )
        return tuple(len(row) for row in table)

    def links(self, in_channels: int) -> int:
        """(input map, output map) pairs, each carrying one kernel: out x c_in/groups, or the table's sum."""
        if self.connection_table is None:
            return self.out_maps(in_channels) * (in_channels // self.group_count(in_channels))
        return sum(self.table_fan_ins(self.connection_table, in_channels))

    def group_count(self, in_channels: int) -> int:
        return group_count(self.groups, in_channels, self.out_maps(in_channels))

    def window(self, shape: Shape) -> Window:
        _, sizes = _spatial(shape, self.kind)
        return resolve_window(sizes, self.kernel_size, self.stride, self.dilation, self.padding)

    def counts(self, shape: Shape) -> Counts:
        c_in, _ = _spatial(shape, self.kind)
        win = self.window(shape)
        # links: (input map, output map) pairs; each carries one kernel and covered() edges
        out_shape = (self.out_maps(c_in), *win.out)
        cost = conv_counts(
            self.links(c_in), out_shape[0], win.kernel, win.out, win.covered(), bias_count(self.bias, out_shape)
        )
        return _kernel_layer_counts(
            out_shape, cost, CONV.name, bool(self.bias), unshared_bias=not isinstance(self.bias, bool)
        )

    def torch_call(self, shape: Shape) -> TorchCall:
        win = self.window(shape)
        geometry = {"kernel_size": win.kernel, "stride": win.stride, "dilation": win.dilation}
        if self.connection_table is None:
            conv = TorchCall(
                f"Conv{len(win.out)}d",
                {
                    "in_channels": shape[0],
                    "out_channels": self.out_maps(shape[0]),
                    **geometry,
                    "groups": self.group_count(shape[0]),
                    "bias": self.bias is True,
                },
            )
        else:  # one conv per output map over the maps its row names (verify/modules.py)
            conv = TorchCall("TableConv", {"table": self.connection_table, **geometry, "bias": self.bias is True})
        call = padded_call(conv, win.padding)
        if isinstance(self.bias, bool):
            return call
        # an unshared bias: the conv without one, then a bias tensor of its own, broadcast over the maps
        # when it is per position
        bias_shape = (self.out_maps(shape[0]) if self.bias == "per_unit" else 1, *win.out)
        return TorchCall("Sequential", parts=(*(call.parts or (call,)), TorchCall("Bias", {"shape": bias_shape})))

    def describe(self, shape: Shape) -> str:
        out = self.out_maps(shape[0])
        text = f"{out}, {self.window(shape).summary()}"
        if self.connection_table is not None:
            text += f" table {fmt_int(self.links(shape[0]))} links"
        else:
            groups = self.group_count(shape[0])
            if groups != 1:
                text += " dw" if groups == shape[0] == out else f" g{groups}"
        return text + _BIAS_TEXT[self.bias]

    def explain(self, shape: Shape) -> tuple[Derivation, ...]:
        """Output size per dimension, then parameters OUT x (IN/G x K...) + biases, and MACs.

        With a connection table the fan-in differs per output map: weights are links x K."""
        win = self.window(shape)
        counts = self.counts(shape)
        if self.connection_table is not None:
            links = fmt_int(self.links(shape[0]))
            kernel = " x ".join(map(str, win.kernel))
            params = Derivation(
                "parameters",
                f"{links} links x ({kernel})"
                + (f" + {fmt_int(counts.biases)}" if counts.biases else "")
                + f" = {counts.weights + counts.biases:,} parameters",
                counts.weights + counts.biases,
            )
            positions = " x ".join(map(str, win.out))
            macs = Derivation(
                "MACs", f"{positions} positions x {links} links x ({kernel}) = {counts.macs:,} MACs", counts.macs
            )
            return (*win.derivations(), params, macs)
        fan_in = (shape[0] // self.group_count(shape[0]), *win.kernel)
        return (*win.derivations(), *conv_derivations(self.out_maps(shape[0]), fan_in, win.out, counts.biases))

    def rf_step(self, shape: Shape) -> RFStep:
        return self.window(shape).rf_step()


_BIAS_TEXT = {True: "", False: ", no bias", "per_unit": ", bias per unit", "per_position": ", bias per position"}


# a transposed conv's per-dimension hyper-parameters, in `transposed_sizes`'s order
_TRANSPOSED_KEYS = ("kernel_size", "stride", "padding", "output_padding", "dilation")


class ConvTranspose(Layer):
    """Transposed ("fractionally strided") convolution; MACs counted on input positions."""

    kind: Literal["conv_transpose"]
    ops = (CONV_TRANSPOSE,)
    out_channels: Annotated[Size | None, WithJsonSchema(SIZE_SCHEMA)] = Field(
        validation_alias=AliasChoices("out_channels", "out"),
        description=OUT_CHANNELS + "; a depthwise conv's defaults to its input channels",
    )
    kernel_size: SizeTuple = Field(validation_alias=AliasChoices("kernel_size", "kernel"), description=KERNEL)
    stride: SizeTuple = Field((1,), description="input positions between neighbouring windows of the output")
    padding: NonNegativeTuple = Field(
        (0,), description="torch's padding: dilation*(kernel-1) - padding zeros are added around the stuffed input"
    )
    output_padding: NonNegativeTuple = Field(
        (0,), description="extra size added to one side of the output (less than the stride or the dilation)"
    )
    dilation: SizeTuple = Field((1,), description=DILATION)
    groups: Groups = Field(1, description=GROUPS)
    bias: bool = Field(True, description="one bias per output map")

    REQUIRED_UNLESS = Conv.REQUIRED_UNLESS  # as a conv: a depthwise one's output maps are its input maps

    def out_maps(self, in_channels: int) -> int:
        return out_maps(self.out_channels, self.groups, in_channels)

    def group_count(self, in_channels: int) -> int:
        return group_count(self.groups, in_channels, self.out_maps(in_channels))

    def geometry(self, shape: Shape) -> dict[str, tuple[int, ...]]:
        _, sizes = _spatial(shape, self.kind)
        dims = len(sizes)
        geo = {
            "kernel_size": _expand(self.kernel_size, dims, "kernel_size"),
            "stride": _expand(self.stride, dims, "stride"),
            "padding": _expand(self.padding, dims, "padding"),
            "output_padding": _expand(self.output_padding, dims, "output_padding"),
            "dilation": _expand(self.dilation, dims, "dilation"),
        }
        geo["out"] = transposed_sizes(sizes, *(geo[key] for key in _TRANSPOSED_KEYS))
        return geo

    def counts(self, shape: Shape) -> Counts:
        c_in, sizes = _spatial(shape, self.kind)
        geo = self.geometry(shape)
        kernel, stride, padding, _, dilation = (geo[key] for key in _TRANSPOSED_KEYS)
        covered = transposed_covered(sizes, geo["out"], kernel, stride, padding, dilation)
        out = self.out_maps(c_in)
        cost = transposed_counts(c_in, out, self.group_count(c_in), sizes, kernel, geo["out"], covered, self.bias)
        return _kernel_layer_counts((out, *geo["out"]), cost, CONV_TRANSPOSE.name, self.bias)

    def torch_call(self, shape: Shape) -> TorchCall:
        geo = self.geometry(shape)
        return TorchCall(
            f"ConvTranspose{len(geo['out'])}d",
            {
                "in_channels": shape[0],
                "out_channels": self.out_maps(shape[0]),
                "kernel_size": geo["kernel_size"],
                "stride": geo["stride"],
                "padding": geo["padding"],
                "output_padding": geo["output_padding"],
                "groups": self.group_count(shape[0]),
                "bias": self.bias,
                "dilation": geo["dilation"],
            },
        )

    def describe(self, shape: Shape) -> str:
        geo = self.geometry(shape)
        text = f"{self.out_maps(shape[0])}, {_dims_text(geo['kernel_size'])}/{_compact(geo['stride'])}"
        if any(geo["padding"]):
            text += f" p{_compact(geo['padding'])}"
        if any(geo["output_padding"]):
            text += f" op{_compact(geo['output_padding'])}"
        return text

    def explain(self, shape: Shape) -> tuple[Derivation, ...]:
        """Output size per dimension (relationship 14), parameters IN x (OUT/G x K...) + OUT, and
        MACs counted on input positions."""
        geo = self.geometry(shape)
        c_in, sizes = shape[0], shape[1:]
        keys = ("kernel_size", "stride", "padding", "output_padding", "dilation", "out")
        lines = [transposed_formula(n, *values) for n, *values in zip(sizes, *(geo[key] for key in keys))]
        if len(set(lines)) == 1:
            outputs: tuple[Derivation, ...] = (Derivation("output", lines[0], geo["out"][0]),)
        else:
            names = SPATIAL_NAMES[len(lines)]
            outputs = tuple(Derivation(f"output {n}", line, o) for n, line, o in zip(names, lines, geo["out"]))
        out = self.out_maps(c_in)
        fan = (out // self.group_count(c_in), *geo["kernel_size"])
        return (*outputs, *transposed_derivations(c_in, fan, sizes, out if self.bias else 0))

    def rf_step(self, shape: Shape) -> RFStep:
        geo = self.geometry(shape)
        spans = tuple(arith.effective_kernel(k, d) for k, d in zip(geo["kernel_size"], geo["dilation"]))
        return RFStep(span=spans, stride=geo["stride"], pad_before=geo["padding"], transposed=True)
