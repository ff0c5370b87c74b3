"""Lowering copies the nodes of a layer it has already lowered on the same input (every copy of a
`repeat` after the first). These tests hold the copied analysis equal, row for row, to a lowering
that computes every layer, on the whole zoo and on random specs."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from archcalc import analyze, load_spec, parse_spec
from archcalc.analysis import _sum
from archcalc.bundled import bundled_names
from archcalc.graph import ROOT, Lowering, Scope

from .strategies import valid_specs


class _PlainLowering(Lowering):
    memoize = False


def _plain_rows(spec):
    lowering = _PlainLowering(tuple(spec.input))
    lowering.sequence(spec.layers, 0, ROOT, ("layers",))
    return tuple(lowering.nodes)


def _assert_same(spec):
    copied, plain = analyze(spec).rows, _plain_rows(spec)
    assert len(copied) == len(plain), f"{len(copied)} rows with copying, {len(plain)} without"
    for a, b in zip(copied, plain):
        assert a == b, f"copied row\n  {a}\ndiffers from the computed row\n  {b}"
    assert analyze(spec).totals == _sum(plain)


@pytest.mark.parametrize("name", bundled_names())
def test_zoo_rows_equal_a_walk_that_copies_nothing(name):
    _assert_same(load_spec(name))


def test_resnet152_copies_its_repeated_blocks_under_their_own_names():
    rows = {row.path: row for row in analyze(load_spec("resnet152")).rows}
    first, copy = (
        rows["conv4_x.1.conv2"],
        rows["conv4_x.35.conv2"],
    )
    assert copy.depth == first.depth
    assert copy.call is first.call  # the copy shares its first copy's call: same counts, shapes, depth
    assert "conv4_x.36.relu3" not in rows and "conv4_x.35.relu3" in rows


def test_a_repeat_that_changes_the_shape_is_computed_per_copy():
    spec = parse_spec(
        "name: shrink\ninput: [4, 32, 32]\nlayers:\n"
        "  - repeat: {times: 3, layers: [conv: {out: 4, kernel: 3, stride: 2, padding: 1}, relu]}\n",
        "shrink.yaml",
    )
    rows = analyze(spec).rows
    assert [row.out_shape for row in rows if row.kind == "conv"] == [(4, 16, 16), (4, 8, 8), (4, 4, 4)]
    _assert_same(spec)


def test_frozen_and_trainable_copies_keep_their_own_flag():
    spec = parse_spec(
        "name: mixed\ninput: [4, 8, 8]\nlayers:\n"
        "  - block: {trainable: false, layers: [repeat: {times: 2, layers: [conv: {out: 4, kernel: 1}]}]}\n"
        "  - repeat: {times: 2, layers: [conv: {out: 4, kernel: 1}]}\n",
        "mixed.yaml",
    )
    assert [row.trainable for row in analyze(spec).rows] == [False, False, True, True]
    _assert_same(spec)


def test_the_same_layer_frozen_and_trainable_is_not_copied_across():
    """The copy key holds whether the weights train: the same object walked in a frozen scope and
    then in a trainable one (no spec can reach this today: the key is defensive) keeps each flag."""
    spec = parse_spec("name: one\ninput: [4, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 1}\n", "one.yaml")
    lowering, layer = Lowering((4, 8, 8)), spec.layers[0]
    lowering.visit(layer, (0,), Scope(path=("frozen",), loc=(), trainable=False))
    lowering.visit(layer, (0,), Scope(path=("trains",), loc=(), trainable=True))
    assert [(node.path, node.trainable) for node in lowering.nodes] == [("frozen", False), ("trains", True)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=valid_specs())
def test_random_specs_rows_equal_a_walk_that_copies_nothing(data):
    import yaml

    _assert_same(parse_spec(yaml.safe_dump(data), "random.yaml"))
