"""A kind's rules live with the kind: every op a row runs is declared by its kind, with its rules,
and a kind whose op lacks one is refused when it is registered (at import, for the real kinds)."""

from __future__ import annotations

from typing import Literal

import pytest

from archcalc import analyze, bundled_names, load_spec, parse_spec
from archcalc.conventions import PRESETS
from archcalc.layers import KIND_TO_CLASS, LAYER_CLASSES, OPS, Counts, Layer, Op, Saves, Shape
from archcalc.layers.ops import TOOLS, OpRuleError, register_ops

from .helpers import spec_text
from .test_layer_kinds import CASES

# ops of the merge kinds (add, concat, mul), the rows parallel and residual generate included
MERGE_OPS = {op.name for cls in LAYER_CLASSES if cls.merges for op in cls.ops or ()}


def _all_rows() -> list:
    analyses = [analyze(load_spec(name)) for name in bundled_names()]
    analyses += [analyze(parse_spec(spec_text(c[2], str(list(c[3]))), "case.yaml")) for c in CASES]
    return [row for a in analyses for row in a.rows]


def test_every_row_runs_an_op_its_kind_declares():
    """Each row's op (bundled specs and the per-kind table) is listed in its kind's `ops`, so its
    saved tensors, traffic and per-tool costs come from that kind's Op record."""
    wrong = set()
    for row in _all_rows():
        cls = KIND_TO_CLASS.get(row.kind)
        declared = {op.name for op in cls.ops or ()} if cls else MERGE_OPS
        if row.op not in declared:
            wrong.add((row.kind, row.op, tuple(sorted(declared))))
    assert not wrong, f"rows whose op their kind does not declare (kind, op, declared): {sorted(wrong)}"


def _kind(ops: tuple[Op, ...] | None) -> type[Layer]:
    """A kind defined here, as a contributor would, with the given `ops`."""

    class Shuffle(Layer):
        kind: Literal["pixel_shuffle"]

        def counts(self, shape: Shape) -> Counts:
            return Counts(out_shape=shape, op="pixel_shuffle")

    if ops is not None:
        Shuffle.ops = ops
    return Shuffle


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        (None, "kind Shuffle lists no ops"),
        ((Op("pixel_shuffle"),), "op 'pixel_shuffle' of kind Shuffle has no rule for what autograd saves"),
        ((Op("pixel_shuffle", Saves()),), "op 'pixel_shuffle' of kind Shuffle has no rule for how it fuses"),
        ((Op("pixel_shuffle", Saves(), alias="always", fusion="kernel"),), "is its input at inference"),
        ((Op("pixel_shuffle", Saves(), fusion="kernel", costs={"fvcor": {}}),), "costs for unknown tools ['fvcor']"),
        ((Op("relu", Saves(input=True), fusion="pointwise"),), "op 'relu' of kind Shuffle is declared twice"),
    ],
    ids=[
        "no-ops",
        "no-saved-tensor-rule",
        "no-fusion-rule",
        "view-fusing-as-a-kernel",
        "unknown-tool",
        "second-record-for-an-op",
    ],
)
def test_a_kind_whose_op_lacks_a_rule_is_refused(ops, message):
    with pytest.raises(OpRuleError) as error:
        register_ops((*LAYER_CLASSES, _kind(ops)))
    assert message in str(error.value), f"expected {message!r} in {str(error.value)!r}"


def test_a_kind_with_its_rules_registers():
    """The same kind, its op stated with a rule, registers beside the real ones."""
    shuffle = Op("pixel_shuffle", Saves(), alias="always", fusion="view")
    ops = register_ops((*LAYER_CLASSES, _kind((shuffle,))))
    assert ops["pixel_shuffle"] is shuffle and set(ops) == {*OPS, "pixel_shuffle"}


def test_every_tool_with_op_costs_is_a_preset():
    assert set(TOOLS) <= set(PRESETS), f"tools {TOOLS} vs presets {sorted(PRESETS)}"
