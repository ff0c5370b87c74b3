"""archcalc on a real GPU: verify on the device, the zoo's bench at bf16 and fp32 against the peaks the
math meets, the training step's memory model against torch.cuda.max_memory_allocated, and the fused
roofline bound against a compiled run. Skipped without CUDA (tests/gpu/conftest.py); run it all, and
write reports/gpu.md, with `python -m tests.gpu`."""

from __future__ import annotations

import os

import pytest

from archcalc.devices import match_device

from .suite import MEMORY_TOLERANCE, RECORD, cli_json, settings

pytestmark = pytest.mark.gpu
S = settings()


def _sizes(batch: int, iters: int | None = None, warmup: int | None = None) -> list[str]:
    return [
        "--device",
        S.device,
        "--batch",
        str(batch),
        "--iters",
        str(iters or S.iters),
        "--warmup",
        str(S.warmup if warmup is None else warmup),
        *S.input,
    ]


# Every bundled spec at fp32 (`verify --all`); at bf16 the zoo, which is what the bench runs there
# (the whole set twice would spend the suite's four minutes on fvcore's tracing).
@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_verify_every_spec_on_the_device(dtype: str):
    specs = S.verify_specs or (("--all",) if dtype == "fp32" else S.zoo)
    data = cli_json("verify", *specs, "--device", S.device, "--dtype", dtype, *S.input)
    for spec in data["specs"]:
        RECORD.add(
            "verify",
            {
                "spec": spec["spec"],
                "device": spec["device_name"],
                "dtype": spec["dtype"],
                "mismatches": spec["failures"],
            },
        )
    failed = [spec["spec"] for spec in data["specs"] if not spec["ok"]]
    assert data["ok"], f"verify on {S.device} failed for {failed}"


@pytest.mark.parametrize("dtype", ["bf16", "fp32"])
@pytest.mark.parametrize("spec", S.zoo)
def test_zoo_bench_is_held_to_the_peak_its_math_meets(spec: str, dtype: str):
    data = cli_json("bench", spec, "--dtype", dtype, "--channels-last", *_sizes(S.bench_batch))
    run = data["batches"][0]
    families = {f["family"]: f for f in data["peak"]["families"]}
    median_s = run["median_ms"] / 1e3
    RECORD.add(
        "bench",
        {
            "spec": spec,
            "dtype": dtype,
            "batch": run["batch"],
            "median ms": run["median_ms"],
            "images/s": run["images_per_s"],
            "achieved TFLOP/s": run["achieved_tflops"],
            "of compute bound": run["achieved_over_peak"],
            "conv peak": f"{families['conv']['math']} {families['conv']['flops_per_s'] / 1e12:g} TFLOP/s",
            "unfused bound ms": run["roofline_bound_s"] * 1e3,
            "fused bound ms": run["fused_bound_s"] * 1e3,
        },
    )
    if S.dry:
        return  # a CPU's peaks are a short probe's best, not a ceiling: the rules below are the GPU's
    # No run beats the compute bound of the peaks it is held to: if one did, a peak would be wrong
    # (fp32 convolutions held to the CUDA-core peak while cuDNN runs them in TF32 read 73% of a
    # peak they never faced).
    assert run["compute_bound_s"] <= median_s, f"compute bound {run['compute_bound_s']} s > measured {median_s} s"
    # an eager run cannot beat either roofline bound: the fused one is lower still
    assert run["fused_bound_s"] <= run["roofline_bound_s"] <= median_s, (
        f"fused {run['fused_bound_s']} s, unfused {run['roofline_bound_s']} s, measured {median_s} s"
    )


@pytest.mark.parametrize("optimizer", ["sgd-momentum", "adam"])
@pytest.mark.parametrize("spec", S.memory_specs)
def test_training_step_memory_model_meets_max_memory_allocated(spec: str, optimizer: str):
    if optimizer == "adam" and spec not in ("resnet50", S.memory_specs[0]):
        pytest.skip("adam is checked on resnet50 (and the dry run's first spec): the table's runs are SGD")
    run = cli_json(
        "bench",
        spec,
        "--train",
        "--optimizer",
        optimizer,
        "--dtype",
        "bf16",
        "--channels-last",
        *_sizes(S.train_batch, iters=3, warmup=2),
    )
    measured = run["batches"][0]["peak_memory_bytes"]
    predicted = run["batches"][0]["predicted_peak_memory_bytes"]  # the step model, for the GPU at hand
    # where the peak falls and its terms, from `memory` on the table's row for this GPU (if it has one)
    row = match_device(run["device_name"]) if not S.dry else None
    model = (
        cli_json(
            "memory",
            spec,
            "--dtype",
            "bf16",
            "--batch",
            str(S.train_batch),
            "--optimizer",
            optimizer,
            "--device",
            row.key,
            *S.input,
        )["memory_bytes"]["training_step"]
        if row
        else {}
    )
    RECORD.add(
        "memory",
        {
            "spec": spec,
            "optimizer": optimizer,
            "batch": S.train_batch,
            "measured": measured,
            "predicted": predicted,
            "predicted / measured": predicted / measured,
            "peak at": model.get("at", ""),
            "cuBLAS workspaces": model.get("terms", {}).get("cublas_workspaces", ""),
        },
    )
    if row and not os.environ.get("CUBLAS_WORKSPACE_CONFIG"):  # memory assumes torch's default size
        assert model["peak"] == predicted, f"memory --device {row.key}: {model['peak']:,} vs bench's {predicted:,}"
    if S.dry:
        return  # on CPU the measure is the process's resident set, not the tensors'
    assert abs(predicted / measured - 1) <= MEMORY_TOLERANCE, f"predicted {predicted:,} B vs measured {measured:,} B"


def test_fused_bound_is_below_the_compiled_run():
    data = cli_json("bench", S.compile_spec, "--dtype", "bf16", "--channels-last", "--compile", *_sizes(S.bench_batch))
    run = data["batches"][0]
    median_s = run["median_ms"] / 1e3
    RECORD.add(
        "compiled",
        {
            "spec": S.compile_spec,
            "batch": run["batch"],
            "compiled median ms": run["median_ms"],
            "fused bound ms": run["fused_bound_s"] * 1e3,
            "unfused bound ms": run["roofline_bound_s"] * 1e3,
        },
    )
    if S.dry:
        return
    assert run["fused_bound_s"] <= median_s, f"fused bound {run['fused_bound_s']} s > compiled {median_s} s"


@pytest.mark.parametrize("cudnn_benchmark", [False, True], ids=["default", "cudnn-benchmark"])
def test_batch_one_with_and_without_cudnn_benchmark(cudnn_benchmark: bool):
    flag = ["--cudnn-benchmark"] if cudnn_benchmark else []
    data = cli_json("bench", S.compile_spec, "--dtype", "fp32", *flag, *_sizes(1))
    assert data["cudnn_benchmark"] is cudnn_benchmark
    RECORD.add(
        "cudnn.benchmark",
        {
            "spec": S.compile_spec,
            "cudnn.benchmark": cudnn_benchmark,
            "batch 1 median ms": data["batches"][0]["median_ms"],
        },
    )
