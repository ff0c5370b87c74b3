"""The GPU suite's runs: each drives archcalc's own commands in-process (JSON out) on the device
and returns the figures the report shows and the tests hold to their rules.

One process, one torch import, every command through the same click entry point a user types:
the suite checks the tool as shipped, not a re-implementation of it. `ARCHCALC_GPU_SUITE_DEVICE=cpu`
runs the same code on the CPU at toy sizes (a dry run: the suite itself is tested, not the figures).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from click.testing import CliRunner

from archcalc.cli import main

# the zoo the H100 run built at bf16, batch 128 (resnet50 beside it)
ZOO = (
    "alexnet",
    "vgg16",
    "googlenet-torchvision",
    "mobilenet-v1",
    "efficientnet-b0",
    "densenet121",
    "resnet152",
    "resnet50",
    "lenet5",
    "alphago-policy",
)
# the training-step memory table's specs, and resnet50
MEMORY_SPECS = ("resnet152", "densenet121", "efficientnet-b0", "vgg16", "mobilenet-v1", "alexnet", "resnet50")
MEMORY_TOLERANCE = 0.05  # predicted within 5% of torch.cuda.max_memory_allocated


@dataclass(frozen=True, slots=True)
class Settings:
    """Sizes of one suite run: the GPU's, or toy sizes for the CPU dry run."""

    device: str
    bench_batch: int
    train_batch: int
    iters: int
    warmup: int
    zoo: tuple[str, ...]
    memory_specs: tuple[str, ...]
    input: tuple[str, ...] = ()  # `--input` for every command (the dry run's small images)
    verify_specs: tuple[str, ...] = ()  # () = `verify --all`
    compile_spec: str = "resnet50"
    dry: bool = False


def settings() -> Settings:
    """The GPU's sizes, or the dry run's when ARCHCALC_GPU_SUITE_DEVICE=cpu."""
    if os.environ.get("ARCHCALC_GPU_SUITE_DEVICE", "cuda") == "cpu":
        return Settings(
            device="cpu",
            bench_batch=2,
            train_batch=2,
            iters=2,
            warmup=1,
            zoo=("lenet5", "resnet18"),
            memory_specs=("lenet5", "resnet18"),
            input=(),
            verify_specs=("lenet5", "resnet18"),
            compile_spec="lenet5",
            dry=True,
        )
    return Settings(
        device="cuda", bench_batch=128, train_batch=64, iters=20, warmup=5, zoo=ZOO, memory_specs=MEMORY_SPECS
    )


def cli_json(*args: str) -> Any:
    """Run `archcalc ARGS --json` in this process; its JSON, or an AssertionError with its output."""
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 0, f"archcalc {' '.join(args)} exited {result.exit_code}:\n{result.output}"
    return json.loads(result.stdout)


@dataclass
class Record:
    """What a run measured, kept for reports/gpu.md: one table per section, and its verdicts."""

    environment: dict[str, str] = field(default_factory=dict)
    sections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, section: str, row: dict[str, Any]) -> None:
        self.sections.setdefault(section, []).append(row)


RECORD = Record()


def environment(device: str) -> dict[str, str]:
    """The machine the figures belong to: device, torch, CUDA and cuDNN versions."""
    import platform

    import torch

    env = {"torch": torch.__version__, "python": platform.python_version()}
    if device == "cuda":
        env["device"] = torch.cuda.get_device_name()
        env["cuda"] = str(torch.version.cuda or f"ROCm {torch.version.hip}")
        env["cudnn"] = str(torch.backends.cudnn.version())
        env["memory"] = f"{torch.cuda.get_device_properties(0).total_memory:,} bytes"
    else:
        env["device"] = f"CPU ({torch.get_num_threads()} threads): a dry run of the suite, not GPU figures"
    return env
