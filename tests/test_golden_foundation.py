"""Golden tables from the seed notes, reproduced by columns archcalc always reports."""

from __future__ import annotations

import pytest

from archcalc import analyze, load_spec

# Seed 002, "Size of a Conv Net: LeNet": layer -> (units, connections, weights)
LENET_SEED_TABLE = {
    "C1": (4_704, 117_600, 150),
    "S2": (1_176, 4_704, 0),
    "C3": (1_600, 240_000, 2_400),
    "S4": (400, 1_600, 0),
    "F5": (120, 48_000, 48_000),
    "F6": (84, 10_080, 10_080),
    "output": (10, 840, 840),
}

# Seed 001, "Full (simplified) AlexNet architecture": layer -> volume as HxWxC (or features)
ALEXNET_SEED_VOLUMES = {
    "conv1": (55, 55, 96),
    "pool1": (27, 27, 96),
    "norm1": (27, 27, 96),
    "conv2": (27, 27, 256),
    "pool2": (13, 13, 256),
    "norm2": (13, 13, 256),
    "conv3": (13, 13, 384),
    "conv4": (13, 13, 384),
    "conv5": (13, 13, 256),
    "pool3": (6, 6, 256),
    "fc6": (4096,),
    "fc7": (4096,),
    "fc8": (1000,),
}

# published_numbers.md 3b, single tower at 227: params (weights + biases) per layer
ALEXNET_PARAMS = {
    "conv1": 34_944,
    "conv2": 614_656,
    "conv3": 885_120,
    "conv4": 1_327_488,
    "conv5": 884_992,
    "fc6": 37_752_832,
    "fc7": 16_781_312,
    "fc8": 4_097_000,
}


@pytest.fixture(scope="module")
def lenet():
    return {row.path: row for row in analyze(load_spec("lenet5")).rows}


@pytest.fixture(scope="module")
def alexnet():
    return analyze(load_spec("alexnet"))


@pytest.mark.parametrize("layer", list(LENET_SEED_TABLE))
def test_lenet_seed_table(lenet, layer):
    units, connections, weights = LENET_SEED_TABLE[layer]
    row = lenet[layer]
    got = (row.units, row.connections, row.weights)
    assert got == (units, connections, weights), f"{layer}: archcalc {got}, seed table {(units, connections, weights)}"


def test_lenet_seed_totals():
    t = analyze(load_spec("lenet5")).totals
    # the seed table's columns summed: 8,094 units, 422,824 connections, 61,470 weights
    assert (t.units, t.connections, t.weights) == (8_094, 422_824, 61_470)
    assert t.macs == 416_520  # connections of conv and linear layers only


@pytest.mark.parametrize("layer", list(ALEXNET_SEED_VOLUMES))
def test_alexnet_seed_volumes(alexnet, layer):
    row = next(r for r in alexnet.rows if r.path == layer)
    want = ALEXNET_SEED_VOLUMES[layer]
    got = row.out_shape if len(row.out_shape) == 1 else (*row.out_shape[1:], row.out_shape[0])
    assert got == want, f"{layer}: archcalc {got}, seed {want}"


@pytest.mark.parametrize("layer", list(ALEXNET_PARAMS))
def test_alexnet_layer_params(alexnet, layer):
    row = next(r for r in alexnet.rows if r.path == layer)
    assert row.params == ALEXNET_PARAMS[layer], f"{layer}: archcalc {row.params}, published {ALEXNET_PARAMS[layer]}"


def test_alexnet_totals(alexnet):
    assert alexnet.totals.params == 62_378_344
    assert alexnet.totals.macs == 1_135_256_096
    assert alexnet.totals.flops == 2 * 1_135_256_096


@pytest.mark.parametrize("name", ["lenet5", "alexnet"])
def test_rows_sum_to_totals(name):
    analysis = analyze(load_spec(name))
    for field in ("units", "weights", "biases", "buffers", "connections", "macs"):
        assert sum(getattr(r, field) for r in analysis.rows) == getattr(analysis.totals, field), field
