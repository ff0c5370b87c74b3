"""Counting conventions as data: what a published table, or another tool, counts.

archcalc's own columns never change; a convention is a view over them. A paper that counts a bias
as a connection, a table that counts weights only, a tool that counts two FLOPs per
multiply-accumulate: each is a `Convention`, named, so the tool reproduces that column itself and
says how it differs from archcalc's.
"""

from __future__ import annotations

from collections.abc import Mapping
from math import prod
from typing import TYPE_CHECKING, Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator
from pydantic_core import PydanticCustomError

from .layers import OPS
from .layers.ops import Op, tool_costs
from .limits import MAX_COST

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from .layers import Shape


class Row(Protocol):
    """What a convention reads of one analysed row (analysis.Row). Stated here, not imported: the
    spec holds a convention, and the analyzer imports the spec, so conventions stay below both."""

    @property
    def trainable(self) -> bool: ...
    @property
    def in_shape(self) -> Shape: ...
    @property
    def out_shape(self) -> Shape: ...
    @property
    def units(self) -> int: ...
    @property
    def weights(self) -> int: ...
    @property
    def biases(self) -> int: ...
    @property
    def buffers(self) -> int: ...
    @property
    def counters(self) -> int: ...
    @property
    def params(self) -> int: ...
    @property
    def connections(self) -> int: ...
    @property
    def padded_connections(self) -> int: ...
    @property
    def macs(self) -> int: ...
    @property
    def macs_on_output(self) -> int: ...
    @property
    def op(self) -> str: ...
    @property
    def op_in_elements(self) -> int: ...
    @property
    def bias_adds(self) -> int: ...
    @property
    def elementwise_adds(self) -> int: ...
    @property
    def unshared_bias(self) -> bool: ...


# One op count charged per element, parameter or vector: a whole number, never negative, bounded.
Cost = Annotated[int, Strict(), Field(ge=0, le=MAX_COST)]


class OpCost(BaseModel):
    """What a counter charges for one elementary op (a row's `op`), per example.

    per_input / per_output: per input / output element; per_op_input: per element the op reads
    after padding applied before it (SAME padding, LRN's channel padding); per_param: per
    parameter; per_vector: per vector the op reduces over (softmax over channels: one per
    position). Layers with weights (affine batch norm) multiply the sum by `affine_factor`, then
    add `affine_per_input` per input element (fvcore's group norm: 4 per element, 5 with affine).
    `ranks`: only inputs with these numbers of spatial dimensions are counted. `replaces_macs`:
    the tool charges this cost instead of the row's MACs and bias adds (a module it does not
    know, such as the channels-last linear, whose product it never sees).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    per_input: Cost = 0
    per_op_input: Cost = 0
    per_output: Cost = 0
    per_param: Cost = 0
    per_vector: Annotated[int, Strict(), Field(ge=-MAX_COST, le=MAX_COST)] = 0  # thop's softmax: 3n - 1
    affine_factor: Cost = 1
    affine_per_input: Cost = 0
    ranks: tuple[Annotated[int, Strict(), Field(ge=0, le=3)], ...] | None = None
    replaces_macs: Annotated[bool, Strict()] = False

    @model_validator(mode="after")
    def _never_negative(self) -> OpCost:
        """A cost is never negative: every term is, but for per_vector, which may take back at most
        per_input (a vector holds at least one input element), so their sum stays at or above zero."""
        if self.per_input + self.per_vector < 0:
            raise PydanticCustomError(
                "bad_value",
                "has per_vector {v} and per_input {i}: per_vector may take back at most per_input "
                "(a vector holds at least one input element), so that a cost is never negative",
                {"v": self.per_vector, "i": self.per_input},
            )
        return self

    def cost(self, row: Row) -> int:
        spatial = len(row.in_shape) - 1
        if self.ranks is not None and spatial not in self.ranks:
            return 0
        inputs = prod(row.in_shape)
        total = (
            self.per_input * inputs
            + self.per_op_input * row.op_in_elements
            + self.per_output * prod(row.out_shape)
            + self.per_param * row.params
            + self.per_vector * (inputs // row.in_shape[0])
        )
        return total * self.affine_factor + self.affine_per_input * inputs if row.weights else total


class Convention(BaseModel):
    """Which terms the params, connections and ops columns count. Defaults are archcalc's own."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    name: str = "archcalc"
    description: str = "archcalc's conventions (see README: counting conventions)"
    bias_is_connection: bool = Field(False, description="each unit of a layer with biases has one more input line")
    padding_is_connection: bool = Field(False, description="taps that fall on zero padding count as connections")
    params_include_biases: bool = Field(True, description="params = weights + biases (else weights only)")
    ops_per_mac: Literal[1, 2] = Field(1, description="1: one op per multiply-accumulate (MACs); 2: two FLOPs")
    ops_label: str = Field("MACs", description="what the ops column is called under this convention")
    bias_adds: bool = Field(False, description="one add per output element of a conv or linear layer with a bias")
    unshared_bias_per_param: bool = Field(
        False,
        description="an unshared bias (per unit or per position, a tensor added after the conv) costs one"
        " op per bias parameter instead of one add per output element",
    )
    elementwise_adds: bool = Field(False, description="the adds of a merge (residual, parallel add)")
    transposed_on_output: bool = Field(
        False, description="transposed conv MACs on output positions (else on input positions, as fvcore)"
    )
    buffers_as_params: bool = Field(False, description="buffers (batch-norm running stats) count as parameters")
    op_costs: dict[str, OpCost] = Field(
        default_factory=dict, description="ops charged per elementary op (batch norm, pooling, activations, ...)"
    )
    params_unit: Literal[1, 1000, 1024] = Field(
        1, description="the unit a published params column is printed in (GoogLeNet's K is 1024)"
    )
    rows: Literal["layers", "blocks"] = Field(
        "layers", description="blocks: one row per top-level layer, its leaves summed, as a paper's table lists modules"
    )
    params_trainable_only: bool = Field(
        False, description="params count trainable layers only (LeNet-5's fixed RBF output vectors are not counted)"
    )
    input_units_counted: bool = Field(False, description="the input's units count in the units total (LeNet-1989)")
    output_units_counted: bool = Field(True, description="the output layer's units count in the units total")
    units_weighted_layers_only: bool = Field(
        False, description="only layers with weights count units (AlexNet's neurons: pooling and LRN outputs are not)"
    )

    def params(self, row: Row) -> int:
        if self.params_trainable_only and not row.trainable:
            return 0
        params = row.weights + (row.biases if self.params_include_biases else 0)
        return params + (row.buffers + row.counters if self.buffers_as_params else 0)

    def units(self, row: Row, *, output: bool = False) -> int:
        """The row's units as this convention counts them; `output`: the row is the network's output layer."""
        if output and not self.output_units_counted:
            return 0
        if self.units_weighted_layers_only and not (row.weights or row.biases):
            return 0
        return row.units

    def connections(self, row: Row) -> int:
        edges = row.padded_connections if self.padding_is_connection else row.connections
        return edges + (row.units if self.bias_is_connection and row.biases else 0)

    def ops(self, row: Row) -> int:
        return sum(self.terms(row).values())

    def terms(self, row: Row) -> dict[str, int]:
        """The row's ops under this convention, by named term (zero terms left out)."""
        cost = self.op_costs.get(row.op)
        if cost is not None and cost.replaces_macs:
            return {row.op: value} if (value := cost.cost(row)) else {}
        terms = {f"MACs x {self.ops_per_mac}" if self.ops_per_mac != 1 else "MACs": row.macs * self.ops_per_mac}
        if self.transposed_on_output and row.macs_on_output != row.macs:
            terms["transposed conv on output positions"] = (row.macs_on_output - row.macs) * self.ops_per_mac
        if self.bias_adds:
            unshared = self.unshared_bias_per_param and row.unshared_bias
            terms["bias adds"] = row.biases if unshared else row.bias_adds
        if self.elementwise_adds:
            terms["element-wise adds"] = row.elementwise_adds
        if row.op in self.op_costs:
            terms[row.op] = self.op_costs[row.op].cost(row)
        return {name: value for name, value in terms.items() if value}

    def differences(self) -> list[str]:
        """How this convention departs from archcalc's, one phrase per term."""
        base = ARCHCALC
        notes = []
        if self.bias_is_connection != base.bias_is_connection:
            notes.append("a bias counts as one connection per unit")
        if self.padding_is_connection != base.padding_is_connection:
            notes.append("taps on zero padding count as connections")
        if self.params_include_biases != base.params_include_biases:
            notes.append("params count weights only")
        if self.ops_per_mac != base.ops_per_mac:
            notes.append(f"{self.ops_per_mac} ops per multiply-accumulate")
        if self.bias_adds:
            notes.append("bias adds counted")
        if self.unshared_bias_per_param:
            notes.append("an unshared bias counted once per parameter")
        if self.elementwise_adds:
            notes.append("merge adds counted")
        if self.transposed_on_output:
            notes.append("transposed conv on output positions")
        if self.buffers_as_params:
            notes.append("buffers count as params")
        notes += [f"{op} counted" for op, cost in self.op_costs.items()]
        if self.params_unit != base.params_unit:
            notes.append(f"params printed in units of {self.params_unit}")
        if self.rows != base.rows:
            notes.append("one row per top-level layer")
        notes += [phrase for term, phrase in _UNIT_TERMS.items() if getattr(self, term) != getattr(base, term)]
        return notes


# The counting terms of the classic papers, and what each says when it departs from the default.
_UNIT_TERMS = {
    "params_trainable_only": "params count trainable layers only",
    "input_units_counted": "units include the input",
    "output_units_counted": "units exclude the output layer",
    "units_weighted_layers_only": "units of layers with weights only",
}


def _preset(name: str, fields: Mapping[str, object], ops: Iterable[Op] = OPS.values()) -> Convention:
    """A preset, validated as a spec's `convention:` section is (a misspelt field is an error).
    The tool's per-op costs come from the op records (`Op.costs`, declared with their kinds)."""
    return Convention.model_validate({"name": name, **fields, "op_costs": tool_costs(ops, name)})


ARCHCALC = Convention()

# Each preset's fields but its name (the key) and its per-op costs (declared with the op records).
_PRESET_FIELDS: dict[str, dict[str, object]] = {
    "archcalc": {},
    "torch": dict(
        description="torch.utils.flop_counter.FlopCounterMode: 2 FLOPs per multiply-accumulate, conv/linear only",
        ops_per_mac=2,
        ops_label="FLOPs",
    ),
    "fvcore": dict(
        description="fvcore FlopCountAnalysis: one 'flop' per multiply-add, no bias; also counts batch norm"
        " (eval: 1 per element, 2 with affine), 2-D adaptive average pooling (1 per input element), group norm"
        " (4 per element, 5 with affine) and 2-D upsampling (1 per output nearest, 4 bilinear);"
        " skips max/avg pooling, mean, activations and adds",
        ops_label="fvcore flops",
    ),
    "ptflops": dict(
        description="ptflops 0.7.5, pytorch backend, default config: MACs plus bias adds, batch norm, merge adds"
        " (torch.add) and products (torch.mul), pooling and some activations per element; ReLU, GELU and pooling modules count twice"
        " (module hook + patched functional), as does upsampling (2 per output; a fractional scale is estimated,"
        " not reproduced), LRN counts its internal mul/avg_pool/add, group norm as batch norm",
        ops_label="ptflops MACs",
        bias_adds=True,
        elementwise_adds=True,
    ),
    "torchinfo": dict(
        description="torchinfo 1.8 total_mult_adds: every parameter of a leaf layer times its output positions"
        " (conv) or once (others): MACs plus bias adds, batch norm's 2 per channel, transposed conv on output;"
        " an unshared bias (its own leaf module) once per parameter; group norm 1 per parameter",
        ops_label="torchinfo mult-adds",
        bias_adds=True,
        unshared_bias_per_param=True,
        transposed_on_output=True,
    ),
    "thop": dict(
        description="thop 0.1.1 profile: multiplies only (no bias), transposed conv on output positions, batch"
        " norm 2 per element (4 with affine), avg pool 1 per output, adaptive avg pool window + 1 per output,"
        " softmax 3n - 1 per vector, upsampling 1 per output (11 bilinear); ReLU, max pooling, adds and group"
        " norm count 0",
        ops_label="thop MACs",
        transposed_on_output=True,
    ),
}


class _Presets(Mapping[str, Convention]):
    """The presets by name, each validated when first looked up: validating all of them at import
    would build the OpCost validator and five conventions in the start-up of every command, most
    of which read none (`archcalc shapes` reads only ARCHCALC). Listing the names builds nothing."""

    def __init__(self) -> None:
        self._built: dict[str, Convention] = {"archcalc": ARCHCALC}

    def __getitem__(self, name: str) -> Convention:
        if name not in self._built:
            self._built[name] = _preset(name, _PRESET_FIELDS[name])  # KeyError for an unknown name
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_PRESET_FIELDS)

    def __len__(self) -> int:
        return len(_PRESET_FIELDS)


PRESETS: Mapping[str, Convention] = _Presets()
