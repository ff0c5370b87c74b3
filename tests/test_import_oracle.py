"""The import tests' oracle checked on its own: the bundled hand-written specs of torchvision
designs (exact, issue 16 says, for 9 of 10) must agree with the torchvision modules on every
quantity the import tests compare, and a difference must be told with both numbers."""

from __future__ import annotations

import dataclasses

import pytest

from archcalc import analyze, load_spec
from tests.import_oracle import Counts, differences, measure, predict, weights_left_uninitialised

# (bundled spec, torchvision builder, its kwargs); the first runs by default
PAIRS = [
    pytest.param("resnet18", "resnet18", {}, id="resnet18"),
    pytest.param("densenet121", "densenet121", {}, id="densenet121", marks=pytest.mark.slow),
    pytest.param(
        "googlenet-torchvision",
        "googlenet",
        {"aux_logits": False, "init_weights": False},
        id="googlenet",
        marks=pytest.mark.slow,
    ),
    pytest.param("efficientnet-b0", "efficientnet_b0", {}, id="efficientnet_b0", marks=pytest.mark.slow),
    pytest.param("alexnet-torchvision", "alexnet", {}, id="alexnet", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("spec", "builder", "kwargs"), PAIRS)
def test_bundled_spec_agrees_with_the_torchvision_module(spec, builder, kwargs, torchvision):
    pytest.importorskip("fvcore")
    shape = (3, 64, 64)
    ours = predict(analyze(load_spec(spec).with_input(shape)))
    with weights_left_uninitialised():  # counts and shapes only
        module = getattr(torchvision.models, builder)(**kwargs)
    theirs = measure(module, shape)
    assert ours.params > 0 and ours.conv_linear_macs > 0 and ours.fvcore_total > ours.conv_linear_macs
    assert not differences(spec, ours, theirs), "\n".join(differences(spec, ours, theirs))


def test_a_difference_names_the_model_the_quantity_and_both_numbers():
    theirs = Counts(10, 2, 300, 320, 600, ((1000,),), {"conv": 300, "batch_norm": 20})
    ours = dataclasses.replace(theirs, fvcore_total=310, out_shapes=((10,),), by_op={"conv": 300, "batchnorm": 10})
    assert differences("net", theirs, theirs) == []
    assert differences("net", ours, theirs) == [
        "net: fvcore_total: archcalc 310 vs fvcore FlopCountAnalysis 320 (archcalc - theirs = -10)",
        "net: out_shapes: archcalc ((10,),) vs ((1000,),)",
        "net: fvcore by op {'conv': 300, 'batch_norm': 20}; archcalc fvcore-preset ops by kind {'conv': 300, 'batchnorm': 10}",
    ]


def test_the_oracle_does_not_read_weight_values(torchvision):
    """The zoo's count-only models are built with `weights_left_uninitialised`: what the oracle
    measures must be the same for a model with its weights initialised and one without, and the
    helper must leave torch.nn.init as it found it."""
    pytest.importorskip("fvcore")
    init = torchvision.models.mobilenet_v3_small.__globals__["nn"].init
    before = init.kaiming_normal_
    shape = (3, 32, 32)
    with weights_left_uninitialised():
        assert init.kaiming_normal_ is not before, "torch.nn.init.kaiming_normal_ is not replaced inside the helper"
        bare = measure(torchvision.models.mobilenet_v3_small(), shape)
    assert init.kaiming_normal_ is before, "torch.nn.init.kaiming_normal_ is not restored after the helper"
    usual = measure(torchvision.models.mobilenet_v3_small(), shape)
    assert bare == usual, f"uninitialised {bare} vs initialised {usual}"
