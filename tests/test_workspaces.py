"""cuBLAS workspaces in the training step's memory: torch's size rule per device, the handles a
step holds, and the step model held to the training-step peaks measured on an H100 (issue 17)."""

from __future__ import annotations

import json

import pytest

from archcalc import analyze, load_spec
from archcalc.cli import main
from archcalc.training_step import training_step_memory
from archcalc.workspaces import configured_bytes, training_handles, workspace_bytes

MIB = 2**20


@pytest.mark.parametrize(
    ("major", "arch", "config", "expected"),
    [
        (9, None, None, 32 * MIB),  # Hopper
        (10, None, None, 32 * MIB),  # Blackwell
        (12, None, None, 32 * MIB),
        (8, None, None, 4096 * 1024 * 2 + 16 * 1024 * 8),  # Ampere, Ada
        (7, None, None, 4096 * 1024 * 2 + 16 * 1024 * 8),
        (None, "gfx942", None, 128 * MIB),  # MI300X
        (None, "gfx950", None, 128 * MIB),
        (None, "gfx90a", None, 32 * MIB),  # MI250X
        (9, None, ":4096:2:16:8", 4096 * 1024 * 2 + 16 * 1024 * 8),
        (8, None, ":16:8", 16 * 1024 * 8),
        (8, None, "not a config", 4096 * 1024 * 2 + 16 * 1024 * 8),  # torch warns and keeps its default
        (None, "gfx942", ":1024:2", 2 * MIB),
    ],
    ids=lambda v: str(v),
)
def test_workspace_size_follows_torchs_rule(major, arch, config, expected):
    got = workspace_bytes(major, arch, config)
    assert got == expected, f"{got:,} vs {expected:,}"


def test_a_config_of_absurd_digits_is_read_as_torch_reads_its_pairs():
    assert configured_bytes(":" + "9" * 40 + ":1") is None  # no pair of at most 12 digits: the default
    assert configured_bytes(":1:1:x:2") == 1024


@pytest.mark.parametrize(
    ("spec", "handles"),
    [("lenet5", 2), ("resnet50", 2), ("alphago-policy", 0), ("simple-cnn", 0)],
    ids=lambda v: str(v),
)
def test_handles_come_from_matrix_multiplies(spec, handles):
    assert training_handles(analyze(load_spec(spec))) == handles


def test_a_frozen_first_linear_still_runs_a_backward_matmul_when_a_later_one_trains():
    from archcalc.loader import parse_spec

    frozen = analyze(
        parse_spec("name: f\ninput: [8]\nlayers:\n- linear: {out: 4, trainable: false}\n- linear: {out: 2}\n", "f.yaml")
    )
    all_frozen = analyze(parse_spec("name: g\ninput: [8]\nlayers:\n- linear: {out: 4, trainable: false}\n", "g.yaml"))
    assert training_handles(frozen) == 2 and training_handles(all_frozen) == 1


# The training step's torch.cuda.max_memory_allocated, measured by the reporter on an NVIDIA
# H100 80GB HBM3 (torch 2.11, CUDA 13): bf16, channels-last, batch 64, SGD with momentum 0.9.
H100_MEASURED = {
    "resnet152": 6_104_919_552,
    "densenet121": 4_375_182_848,
    "efficientnet-b0": 2_958_978_560,
    "vgg16": 3_698_136_576,
    "mobilenet-v1": 778_059_776,
    "alexnet": 712_099_840,
    "resnet50": 3_021_156_864,
}


@pytest.mark.parametrize("spec", list(H100_MEASURED))
def test_step_model_meets_the_h100_measurements_within_5_percent(spec):
    analysis = analyze(load_spec(spec))
    model = training_step_memory(analysis, "bf16", 64, "sgd-momentum", cublas_workspace=workspace_bytes(9))
    measured = H100_MEASURED[spec]
    assert abs(model.peak / measured - 1) <= 0.05, f"{spec}: predicted {model.peak:,} B vs measured {measured:,} B"
    assert model.terms["cublas_workspaces"] == 2 * 32 * MIB


def test_memory_json_names_the_device_and_its_workspaces(runner):
    def step(device: str) -> dict:
        args = ["memory", "lenet5", "--batch", "4", "--device", device, "--json"]
        return json.loads(runner.invoke(main, args, catch_exceptions=False).output)["memory_bytes"]["training_step"]

    h100, a100 = step("h100"), step("a100")
    assert h100["device"] == "h100" and h100["terms"]["cublas_workspaces"] == 2 * 32 * MIB
    assert a100["terms"]["cublas_workspaces"] == 2 * (4096 * 1024 * 2 + 16 * 1024 * 8)
    assert h100["peak"] - a100["peak"] == 2 * (32 * MIB - (4096 * 1024 * 2 + 16 * 1024 * 8))
