"""verify --device and --dtype: every count is the CPU fp32 run's, wherever and at whatever dtype
the built module runs.

The CUDA path runs on CPU through a stand-in for torch.cuda (available, named, logging its
synchronisations) whose tensors land on the CPU: `resolve_placement` takes the cuda module as an
argument, so `verify_analysis` goes through the same placement, naming and synchronisation as on a
GPU. A real GPU runs the same comparison in tests/gpu/test_verify_gpu.py. Specs run at `tests/test_verify.py`'s
small inputs, on one torch thread (tiny tensors), at batch 1.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest

from archcalc import analyze, bundled_names, load_spec
from archcalc.cli import main
from archcalc.errors import SpecError

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from archcalc.throughput.run import BenchError  # noqa: E402
from archcalc.verify import counters, placement  # noqa: E402
from archcalc.verify.build import build_model  # noqa: E402
from archcalc.verify.placement import Placement, resolve_placement  # noqa: E402
from archcalc.verify.verification import Verification, verify_analysis  # noqa: E402

# _one_thread: test_verify's autouse fixture (torch on one thread for tiny tensors), in force here too
from .test_verify import KIND_SPECS, _one_thread, _spec, small  # noqa: E402, F401

PLACEMENT_KEYS = ("device", "device_name", "dtype")


class FakeCuda:
    """Stands in for torch.cuda on a machine without a GPU."""

    def __init__(self, available: bool = True, name: str = "Fake GPU") -> None:
        self.available, self.name = available, name
        self.log: list[str] = []

    def is_available(self) -> bool:
        self.log.append("is_available")
        return self.available

    def get_device_name(self, device: Any = None) -> str:
        return self.name

    def synchronize(self, device: Any = None) -> None:
        self.log.append("synchronize")


class NoCudaAsked:
    """A torch.cuda that fails the test when asked anything: `--device cpu` must not ask."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"torch.cuda.{name} was asked for a CPU run")


def fake_gpu(dtype: str = "fp32", cuda: FakeCuda | None = None) -> Placement:
    """The CUDA placement, resolved as `--device cuda` is, with its tensors on the CPU."""
    return resolve_placement("cuda", dtype, cuda or FakeCuda(), tensors_on="cpu")


@functools.cache
def cpu_run(name: str) -> Verification:
    return verify_analysis(analyze(small(name)), 1)


def counts(result: Verification) -> dict[str, Any]:
    """Every cell, total, skipped op and error of a run: its JSON less where it ran."""
    return {k: v for k, v in result.to_dict().items() if k not in PLACEMENT_KEYS}


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """The cells that differ between two runs' counts, both values shown."""
    out = [f"{k}: {a[k]!r} vs {b[k]!r}" for k in a if k != "layers" and a[k] != b.get(k)]
    for la, lb in zip(a["layers"], b["layers"], strict=True):
        out += [f"{la['path']}.{c}: {la[c]!r} vs {lb.get(c)!r}" for c in la if la[c] != lb.get(c)]
    return out


def assert_same_counts(result: Verification, name: str) -> None:
    reference = cpu_run(name)
    assert reference.failures == 0, f"{name} fails on CPU at fp32: {reference.error} {reference.totals}"
    diff = differences(counts(reference), counts(result))
    assert not diff, f"{name} on {result.placement.describe()} differs from CPU fp32: {diff[:10]}"


# ---- resolving --device and --dtype -------------------------------------------------------------

RESOLVE_CASES = [
    pytest.param("auto", True, ("cuda", "Fake GPU"), id="auto-with-gpu"),
    pytest.param("auto", False, ("cpu", "CPU"), id="auto-without-gpu"),
    pytest.param("cuda", True, ("cuda", "Fake GPU"), id="cuda-with-gpu"),
    pytest.param("cpu", True, ("cpu", "CPU"), id="cpu-with-gpu"),
]


@pytest.mark.parametrize(("wanted", "available", "expected"), RESOLVE_CASES)
def test_device_resolves_as_bench_resolves_it(wanted: str, available: bool, expected: tuple[str, str]) -> None:
    chosen = resolve_placement(wanted, "bf16", FakeCuda(available), tensors_on="cpu")
    assert (chosen.device, chosen.device_name, chosen.dtype) == (*expected, "bf16"), chosen


def test_cuda_without_a_gpu_is_bench_error() -> None:
    with pytest.raises(BenchError, match="no CUDA device"):
        resolve_placement("cuda", "fp32", FakeCuda(available=False))


def test_cpu_asks_nothing_of_torch_cuda() -> None:
    assert resolve_placement("cpu", "fp16", NoCudaAsked()) == Placement(dtype="fp16")


def test_unknown_dtype_is_named() -> None:
    with pytest.raises(KeyError, match="fp64"):
        resolve_placement("cpu", "fp64")


def test_integer_buffers_stay_integer_at_another_dtype() -> None:
    """Module.to(dtype) casts floating tensors only: batch norm's num_batches_tracked stays int64."""
    model = build_model(small("resnet18"))
    before = {name: b.dtype for name, b in model.named_buffers()}
    placed = Placement(dtype="bf16").place(torch, model)
    after = {name: b.dtype for name, b in placed.named_buffers()}
    integer = {name for name, dtype in before.items() if not dtype.is_floating_point}
    assert integer, "resnet18 should hold batch norm's integer counters"
    assert {name: after[name] for name in integer} == {name: before[name] for name in integer}
    assert {after[name] for name in after if name not in integer} == {torch.bfloat16}
    assert {p.dtype for p in placed.parameters()} == {torch.bfloat16}


# ---- the counts do not depend on the device or the dtype ----------------------------------------

FAST_SPECS = ["lenet5", "resnet18", "mobilenet-v1", "googlenet-torchvision"]
PLACEMENTS = {
    "fake-cuda-fp32": lambda: fake_gpu("fp32"),
    "fake-cuda-bf16": lambda: fake_gpu("bf16"),
    "cpu-bf16": lambda: Placement(dtype="bf16"),
    "cpu-fp16": lambda: Placement(dtype="fp16"),
}
FAST_CASES = [
    pytest.param(name, key, id=f"{name}-{key}")
    for name in FAST_SPECS
    for key in (["fake-cuda-fp32", "cpu-bf16"] if name != "lenet5" else list(PLACEMENTS))
]


@pytest.mark.parametrize(("name", "key"), FAST_CASES)
def test_counts_do_not_depend_on_device_or_dtype(name: str, key: str) -> None:
    chosen = PLACEMENTS[key]()
    result = verify_analysis(analyze(small(name)), 1, chosen)
    assert result.placement == chosen
    assert_same_counts(result, name)


def test_the_cuda_path_names_the_gpu_and_synchronizes() -> None:
    cuda = FakeCuda()
    result = verify_analysis(analyze(small("lenet5")), 1, fake_gpu("bf16", cuda))
    data = result.to_dict()
    assert {k: data[k] for k in PLACEMENT_KEYS} == {"device": "cuda", "device_name": "Fake GPU", "dtype": "bf16"}
    assert cuda.log == ["is_available", "synchronize"], cuda.log


def _has_lrn(name: str) -> bool:
    return any(row.kind == "lrn" for row in analyze(small(name)).rows)


# Every bundled spec once, on the fake GPU at bf16 (the device and the dtype both moved); the other
# placements run on the fast specs by default (FAST_CASES): four placements of all 35 took 7 minutes.
@pytest.mark.slow
@pytest.mark.parametrize("key", ["fake-cuda-bf16"])
@pytest.mark.parametrize("name", bundled_names())
def test_every_bundled_spec_counts_the_same_anywhere(name: str, key: str) -> None:
    """Every bundled spec on the fake GPU at bf16: the CPU run's counts, or (LRN, which this CPU
    cannot run at half precision) the one error naming the LRN layer."""
    chosen = PLACEMENTS[key]()
    if chosen.dtype != "fp32" and _has_lrn(name):
        with pytest.raises(SpecError) as caught:
            verify_analysis(analyze(small(name)), 1, chosen)
        assert caught.value.code == "unsupported_on_device" and "(lrn)" in (caught.value.layer or "")
        return
    assert_same_counts(verify_analysis(analyze(small(name)), 1, chosen), name)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
@pytest.mark.parametrize(("yaml", "shape"), [c[1:] for c in KIND_SPECS], ids=[c[0] for c in KIND_SPECS])
def test_every_kind_counts_the_same_at_half_precision_on_cpu(yaml: str, shape: tuple[int, ...], dtype: str) -> None:
    """What the README says: on CPU every layer kind runs at fp16 and bf16 with fp32's counts, but LRN."""
    analysis = analyze(_spec(yaml, shape))
    if any(row.kind == "lrn" for row in analysis.rows):
        with pytest.raises(SpecError, match="avg_pool3d"):
            verify_analysis(analysis, 1, Placement(dtype=dtype))
        return
    reference, result = verify_analysis(analysis, 1), verify_analysis(analysis, 1, Placement(dtype=dtype))
    diff = differences(counts(reference), counts(result))
    assert not diff and reference.failures == 0, diff


# ---- what cannot run is said once ---------------------------------------------------------------


def _c3_raises(monkeypatch: pytest.MonkeyPatch, err: BaseException) -> None:
    """lenet5's C3 raises `err` when it runs, as a kernel torch lacks (or cuDNN refuses) would."""
    from archcalc.verify import build

    real = build.build_model

    def failing(*args: Any) -> Any:
        raise err

    def built(spec: Any) -> Any:
        model = real(spec)
        model.C3.forward = failing
        return model

    monkeypatch.setattr(build, "build_model", built)


# torch's words when a device has no kernel for an op at a dtype: CPU's NotImplementedError, and
# cuDNN's and CUDA's RuntimeErrors (some of which surface only at the synchronisation after the run)
MISSING_KERNELS = [
    pytest.param(
        NotImplementedError("\"conv_kernel\" not implemented for 'Half'\nmore detail"),
        '"conv_kernel" not implemented',
        id="not-implemented",
    ),
    pytest.param(
        RuntimeError("cuDNN error: CUDNN_STATUS_NOT_SUPPORTED. This error may appear if you passed in\nmore detail"),
        "RuntimeError: cuDNN error: CUDNN_STATUS_NOT_SUPPORTED",
        id="cudnn-not-supported",
    ),
    pytest.param(
        RuntimeError("GET was unable to find an engine to execute this computation\nmore detail"),
        "unable to find an engine",
        id="cudnn-no-engine",
    ),
    pytest.param(
        RuntimeError("CUDA error: no kernel image is available for execution on the device\nmore detail"),
        "no kernel image",
        id="cuda-no-kernel-image",
    ),
]


@pytest.mark.parametrize(("raised", "said"), MISSING_KERNELS)
def test_a_missing_kernel_names_the_layer_and_its_line(
    monkeypatch: pytest.MonkeyPatch, raised: BaseException, said: str
) -> None:
    _c3_raises(monkeypatch, raised)
    with pytest.raises(SpecError) as caught:
        verify_analysis(analyze(load_spec("lenet5")), 1, Placement(dtype="fp16"))
    err = caught.value
    assert (err.code, err.layer) == ("unsupported_on_device", "C3 (conv)"), err
    assert err.file and err.file.endswith("lenet5.yaml") and err.position is not None, err
    assert said in err.message and "more detail" not in err.message, err.message
    assert "at fp16" in err.message and "--dtype fp32" in (err.hint or ""), err


OUT_OF_MEMORY = [
    pytest.param(lambda: torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), id="cuda"),
    pytest.param(lambda: RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate"), id="cpu"),
]


@pytest.mark.parametrize("make", OUT_OF_MEMORY)
def test_out_of_memory_is_not_a_missing_kernel(monkeypatch: pytest.MonkeyPatch, make: Any) -> None:
    """torch's out-of-memory errors are RuntimeErrors, but a full device is not a missing kernel: they go
    on as raised, to the command's "too large to run" message."""
    raised = make()
    _c3_raises(monkeypatch, raised)
    with pytest.raises(RuntimeError) as caught:
        verify_analysis(analyze(load_spec("lenet5")), 1, Placement(dtype="fp16"))
    assert caught.value is raised, caught.value


def test_cli_out_of_memory_is_too_large_to_run(monkeypatch: pytest.MonkeyPatch) -> None:
    _c3_raises(monkeypatch, torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    result = _run(["verify", "lenet5", "--batch", "1", "--json"])
    assert result.exit_code == 2, result.output
    assert json.loads(result.output)["error"]["code"] == "too_large_to_run", result.output


def test_cli_a_cudnn_refusal_is_one_error_naming_the_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    _c3_raises(monkeypatch, RuntimeError("cuDNN error: CUDNN_STATUS_NOT_SUPPORTED. This error may appear"))
    result = _run(["verify", "lenet5", "--device", "cpu", "--dtype", "fp16", "--batch", "1"])
    assert result.exit_code == 2, result.output
    first, *rest = result.output.strip().splitlines()
    assert "error[unsupported_on_device]: C3 (conv)" in first and "CUDNN_STATUS_NOT_SUPPORTED" in first, result.output
    assert "internal error" not in result.output and len(rest) == 1, result.output


def test_fvcore_failing_fails_the_macs_checks_not_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(model: Any, x: Any) -> Any:
        raise RuntimeError("cannot trace this at bf16")

    monkeypatch.setattr(counters, "fvcore_analysis", failing)
    result = verify_analysis(analyze(small("lenet5")), 1, Placement(dtype="bf16"))
    macs = [layer.cells["macs"] for layer in result.layers] + [result.totals["macs"]]
    assert {(c.status, c.theirs) for c in macs} == {("fail", None)}, macs
    assert all("fvcore failed: RuntimeError: cannot trace this at bf16" == c.note for c in macs), macs
    assert result.failures == len(macs) and result.skipped_ops == {}


# ---- the command --------------------------------------------------------------------------------


def _run(args: list[str]) -> Any:
    from click.testing import CliRunner

    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_cli_cuda_without_a_gpu_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    result = _run(["verify", "lenet5", "--device", "cuda"])
    assert result.exit_code == 2, result.output
    assert "--device cuda, but torch sees no CUDA device" in result.output and "Traceback" not in result.output


def test_cli_json_says_where_it_ran() -> None:
    result = _run(["verify", "lenet5", "--device", "cpu", "--dtype", "bf16", "--json", "--batch", "1"])
    assert result.exit_code == 0, result.output
    spec = json.loads(result.output)["specs"][0]
    assert {k: spec[k] for k in PLACEMENT_KEYS} == {"device": "cpu", "device_name": "CPU", "dtype": "bf16"}


def test_cli_on_the_fake_gpu_titles_its_name_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--device cuda` through the command, the GPU's name shown as the driver wrote it (not rich markup)."""
    name = "Fake [bold]GPU[/bold]"
    monkeypatch.setattr(placement, "resolve_placement", lambda wanted, dtype: fake_gpu(dtype, FakeCuda(name=name)))
    result = _run(["verify", "lenet5", "--device", "cuda", "--dtype", "bf16", "--batch", "1", "--width", "200"])
    assert result.exit_code == 0, result.output
    assert f"lenet5: archcalc vs torch (batch 1, {name}, bf16)" in result.output, result.output


def test_cli_a_layer_cpu_cannot_run_at_fp16_is_one_error() -> None:
    result = _run(["verify", "alexnet-2012", "--input", "3x67x67", "--dtype", "fp16", "--device", "cpu"])
    assert result.exit_code == 2, result.output
    first, *rest = result.output.strip().splitlines()
    assert "error[unsupported_on_device]: norm1 (lrn)" in first and "avg_pool3d" in first, result.output
    assert len(rest) == 1 and rest[0].strip().startswith("hint:"), result.output


def test_cli_reconcile_says_its_tools_ran_on_cpu_at_fp32() -> None:
    for package in ("ptflops", "torchinfo", "thop"):
        pytest.importorskip(package)
    result = _run(["verify", "lenet5", "--device", "cpu", "--dtype", "bf16", "--reconcile", "--json", "--batch", "1"])
    assert result.exit_code == 0, result.output
    spec = json.loads(result.output)["specs"][0]
    assert spec["dtype"] == "bf16"
    assert {(r["tool"], r["device"], r["dtype"], r["ok"]) for r in spec["reconcile"]} == {
        (tool, "cpu", "fp32", True) for tool in counters.COUNTERS
    }


def test_cli_json_the_layer_cpu_cannot_run_is_the_error() -> None:
    result = _run(["verify", "alexnet-2012", "--input", "3x67x67", "--dtype", "bf16", "--device", "cpu", "--json"])
    assert result.exit_code == 2, result.output
    error = json.loads(result.output)["error"]
    assert (error["code"], error["layer"]) == ("unsupported_on_device", "norm1 (lrn)"), error
    assert (
        error["file"].endswith("alexnet-2012.yaml")
        and error["line"]
        and error["loc"]
        and "BFloat16" in error["message"]
    ), error


# alexnet-2012's LRN has no bf16 kernel on CPU; lenet5 runs there
SEVERAL = ["verify", "alexnet-2012", "lenet5", "--dtype", "bf16", "--device", "cpu", "--batch", "1"]


def test_cli_several_specs_go_on_past_one_that_cannot_run() -> None:
    result = _run([*SEVERAL, "--width", "200"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    errors = [i for i, line in enumerate(lines) if "error[unsupported_on_device]: norm1 (lrn)" in line]
    assert len(errors) == 1 and lines[errors[0] + 1].strip().startswith("hint:"), result.output
    assert "alexnet-2012: not verified" in result.output, result.output
    assert "lenet5: verified" in result.output and "internal error" not in result.output, result.output
    assert lines[-1].startswith("summary: 2 spec(s)") and "✗ 1" in lines[-1], lines[-1]


def test_cli_json_several_specs_record_the_one_that_cannot_run() -> None:
    result = _run([*SEVERAL, "--json"])
    assert result.exit_code == 2, result.output
    data = json.loads(result.output)
    alexnet, lenet5 = data["specs"]
    assert {k: alexnet[k] for k in ("spec", "ok", "failures")} == {"spec": "alexnet-2012", "ok": False, "failures": 1}
    error = alexnet["error"]
    assert (error["code"], error["layer"]) == ("unsupported_on_device", "norm1 (lrn)"), error
    assert error["file"].endswith("alexnet-2012.yaml") and error["line"] and error["hint"], error
    assert (lenet5["spec"], lenet5["failures"]) == ("lenet5", 0), lenet5
    assert data["ok"] is False and (data["summary"]["specs"], data["summary"]["fail"]) == (2, 1), data["summary"]


def test_cli_several_specs_that_all_run_exit_clean() -> None:
    result = _run(["verify", "lenet5", "lenet5", "--dtype", "bf16", "--device", "cpu", "--batch", "1", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ok"] is True


@pytest.mark.parametrize("flags", [["--device", "cuda"], ["--dtype", "bf16"]], ids=["cuda", "bf16"])
def test_cli_against_refuses_another_device_or_dtype(flags: list[str]) -> None:
    result = _run(["verify", "lenet5", "--against", "docs/examples/my_net_model.py:MyNet", *flags])
    assert result.exit_code == 2, result.output
    assert "--against runs the spec and the target on CPU at fp32" in result.output
