"""Run a spec's torch module and measure it: latency per batch, throughput, memory, per-layer times.

The same code serves CPU and CUDA: only the device string, the clock (timing.clock_for) and the
memory probe differ. The ceilings a run is held to are per op family (archcalc/peaks.py): a GPU of
the device table at the TF32 settings torch holds (precision.py), any other GPU measured on the
device (probe.py), the CPU probed. Inputs and targets are made on the device before the timed
loop, and nothing in the loop reads a value back to the host.
"""

from __future__ import annotations

import resource
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..analysis import Analysis
from ..devices import match_device
from ..dtypes import TORCH_DTYPES
from ..peaks import Peaks, compute_seconds, peaks_json, table_peaks, uniform_peaks
from ..training import step_macs, step_macs_by_family
from ..training_step import training_step_memory
from ..workspaces import env_config, workspace_bytes
from .optimizer import make_optimizer
from .oracle import scalar_loss
from .precision import cudnn_benchmark_as, fp32_math_of
from .probe import ProbeSizes, best_seconds, copy_bytes_per_s, probe_peaks
from .timing import Summary, clock_for, measure, summarize, synchronize


class BenchError(Exception):
    """The run cannot happen as asked (no CUDA device, a dtype the device lacks): exit code 2."""


def resolve_device(wanted: str, cuda_available: bool) -> str:
    """`auto` -> cuda when available, else cpu; `cuda` without a GPU is an error.

    >>> resolve_device("auto", False), resolve_device("auto", True), resolve_device("cpu", True)
    ('cpu', 'cuda', 'cpu')
    """
    if wanted == "auto":
        return "cuda" if cuda_available else "cpu"
    if wanted == "cuda" and not cuda_available:
        raise BenchError("--device cuda, but torch sees no CUDA device (torch.cuda.is_available() is False)")
    return wanted


def cpu_probe(torch: Any, dtype: str, seconds: float = 0.2, n: int = 512) -> Peaks:
    """The CPU's achievable FLOP/s (best n x n matmul) and bandwidth (best 32 MiB copy), measured
    for about `seconds` each with the device probe's loop (probe.best_seconds): the CPU has no
    datasheet row, and its convolutions and matmuls share the same cores, so one figure holds for
    every family. At bf16/fp16 the faster of the dtype's matmul and fp32's: a CPU without half-
    precision arithmetic emulates the matmul slowly while its convolutions run faster, and a
    ceiling its layers beat would read "of peak" above 100%."""

    def matmul_flops_per_s(name: str) -> float:
        a, b = (torch.randn(n, n, dtype=getattr(torch, TORCH_DTYPES[name])) for _ in range(2))
        return 2 * n**3 / best_seconds(lambda: torch.mm(a, b), "cpu", seconds)

    best = max(matmul_flops_per_s(name) for name in dict.fromkeys([dtype, "fp32"]))
    source = f"measured: best {n}x{n} matmul and 32 MiB copy over {seconds:g} s each"
    faster = "" if dtype == "fp32" else f" (the faster of {dtype} and fp32)"
    return uniform_peaks(
        name=f"CPU ({torch.get_num_threads()} threads)",
        source=source,
        flops_per_s=best,
        bytes_per_s=copy_bytes_per_s(torch, "cpu", seconds, ProbeSizes(copy_bytes=32 * 2**20)),
        math=dtype,
        why=f"measured: best {n}x{n} matmul{faster}; the CPU's cores run every family",
    )


def device_peaks(torch: Any, device: str, dtype: str, probe: Callable[..., Peaks] = probe_peaks) -> Peaks:
    """Each op family's ceiling for this run: the datasheet row of the GPU torch reports, with
    the TF32 settings torch holds now; a GPU the table lacks measured on the device; the CPU
    probed. A dtype a table GPU has no hardware for (bf16 on a V100) is refused: a probe would
    time its emulation and call that the peak."""
    if not device.startswith("cuda"):
        return cpu_probe(torch, dtype)
    name = torch.cuda.get_device_name(device)
    row = match_device(name)
    fp32_math = fp32_math_of(torch)
    if row is not None:
        try:
            return table_peaks(row, dtype, fp32_math)
        except ValueError as err:
            raise BenchError(f"{err} (its hardware has none: torch would emulate it)") from None
    try:
        return probe(torch, device, dtype, fp32_math, name)
    except RuntimeError as err:  # torch's errors, out of memory among them: the probe needs about 3 GiB
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise BenchError(
            f"{name} has no row in archcalc/devices.py, and measuring its peaks on the device failed: {reason}"
        ) from None


def cublas_workspace_of(torch: Any, device: str) -> int:
    """One cuBLAS handle's workspace on the GPU at hand, by torch's rule (archcalc/workspaces.py),
    with the environment variable torch reads."""
    if getattr(torch.version, "hip", None):
        arch = str(getattr(torch.cuda.get_device_properties(device), "gcnArchName", ""))
        return workspace_bytes(None, arch, env_config(rocm=True))
    return workspace_bytes(torch.cuda.get_device_capability(device)[0], None, env_config(rocm=False))


def resident_peak_bytes() -> int:
    """Peak resident set size of this process (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


@dataclass(frozen=True, slots=True)
class BatchResult:
    """One batch size's measurement."""

    batch: int
    summary: Summary
    flops: int  # per iteration: 2 x MACs (forward, or forward + backward with --train)
    peak_memory_bytes: int
    flops_by_family: dict[str, int]  # the same FLOPs split by op family (archcalc/peaks.py)
    compute_bound_s: float  # each family's FLOPs at its own peak, summed
    predicted_peak_memory_bytes: int | None = None  # --train: the step model's (training_step.py)

    @property
    def of_compute_bound(self) -> float:
        """The share of the compute ceiling the run reached: compute bound / measured median."""
        return self.compute_bound_s / self.summary.median_s

    @property
    def images_per_s(self) -> float:
        return self.batch / self.summary.median_s

    @property
    def achieved_flops_per_s(self) -> float:
        return self.flops / self.summary.median_s


@dataclass(frozen=True, slots=True)
class BenchResult:
    """One spec's measurement: the device, the settings, and each batch size's result."""

    spec: str
    device: str
    peaks: Peaks
    dtype: str
    train: bool
    channels_last: bool
    compiled: bool
    memory_measure: str
    macs_by_family: dict[str, int]  # per example, the step timed (forward, + backward with --train)
    cudnn_benchmark: bool = False
    batches: tuple[BatchResult, ...] = ()
    optimizer: str | None = None  # --train: the optimizer step's name (throughput/optimizer.py)

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "device": self.device,
            "device_name": self.peaks.name,
            "peak": peaks_json(self.peaks, self.macs_by_family),
            "dtype": self.dtype,
            "mode": "train" if self.train else "inference",
            "channels_last": self.channels_last,
            "compile": self.compiled,
            "cudnn_benchmark": self.cudnn_benchmark,
            "flops_convention": "FLOPs = 2 x MACs (analyzer's MACs; training adds the "
            "backward MACs of archcalc.training)",
            "memory_measure": self.memory_measure,
            **({"optimizer": self.optimizer} if self.optimizer else {}),
            "batches": [
                {
                    "batch": b.batch,
                    "iters": b.summary.iters,
                    "median_ms": b.summary.median_s * 1e3,
                    "p95_ms": b.summary.p95_s * 1e3,
                    "images_per_s": b.images_per_s,
                    "flops": b.flops,
                    "achieved_tflops": b.achieved_flops_per_s / 1e12,
                    "achieved_over_peak": b.of_compute_bound,
                    "compute_bound_s": b.compute_bound_s,
                    "flops_by_family": b.flops_by_family,
                    "peak_memory_bytes": b.peak_memory_bytes,
                    **(
                        {"predicted_peak_memory_bytes": b.predicted_peak_memory_bytes}
                        if b.predicted_peak_memory_bytes is not None
                        else {}
                    ),
                }
                for b in self.batches
            ],
        }


def prepare(analysis: Analysis, device: str, dtype: str, channels_last: bool, train: bool):
    """The built module on the device at the dtype, in train or eval mode."""
    import torch

    from ..verify.build import build_model

    model = build_model(analysis.spec).to(device=device, dtype=getattr(torch, TORCH_DTYPES[dtype]))
    if channels_last and len(analysis.input_shape) == 3:
        model = model.to(memory_format=torch.channels_last)
    return model.train(train)


def _example(torch: Any, analysis: Analysis, batch: int, device: str, dtype: str, channels_last: bool):
    x = torch.randn(batch, *analysis.input_shape, device=device, dtype=getattr(torch, TORCH_DTYPES[dtype]))
    if channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def step_fn(
    torch: Any, model: Any, x: Any, train: bool, optimizer: str = "adam", foreach: bool | None = None
) -> Callable[[], Any]:
    """One iteration: inference under inference_mode, or a training step with the named optimizer
    (throughput/optimizer.py)."""
    if not train:

        def infer() -> Any:
            with torch.inference_mode():
                return model(x)

        return infer
    params = [p for p in model.parameters() if p.requires_grad]
    return training_step(model, x, make_optimizer(torch, params, optimizer, foreach))


def training_step(model: Any, x: Any, optimizer: Any | None) -> Callable[[], None]:
    """Forward, the loss, backward, the optimizer's step (none: no step), and the gradients set to
    None, so each step starts without them."""

    def train_step() -> None:
        loss = scalar_loss(model(x))  # stays on the device: no .item() in the loop
        if loss.requires_grad:
            loss.backward()
        if optimizer is not None:
            optimizer.step()
        model.zero_grad(set_to_none=True)

    return train_step


def bench(
    analysis: Analysis,
    device: str = "auto",
    batches: tuple[int, ...] = (1, 32, 128),
    dtype: str = "fp32",
    channels_last: bool = False,
    compile: bool = False,
    train: bool = False,
    iters: int = 20,
    warmup: int = 5,
    progress: Callable[[int], Callable[[], None]] | None = None,
    cudnn_benchmark: bool = False,
    optimizer: str = "adam",
) -> BenchResult:
    """Measure the spec at each batch size; `progress(total)` returns a per-iteration callback.
    `cudnn_benchmark` sets torch.backends.cudnn.benchmark for the run (torch's default: off)."""
    import torch

    device = resolve_device(device, torch.cuda.is_available())
    with cudnn_benchmark_as(torch, cudnn_benchmark):
        model = prepare(analysis, device, dtype, channels_last, train)
        if compile:
            model = torch.compile(model)
        macs = step_macs(analysis, train)
        family_macs = step_macs_by_family(analysis, train)
        cuda = device.startswith("cuda")
        peaks = device_peaks(torch, device, dtype)  # probed before the batches run, as a CPU's ceilings are measured
        workspace = cublas_workspace_of(torch, device) if cuda else 0
        measured: list[BatchResult] = []
        advance = progress(len(batches) * iters) if progress else (lambda: None)
        for batch in batches:
            x = _example(torch, analysis, batch, device, dtype, channels_last)
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            times = measure(
                step_fn(torch, model, x, train, optimizer),
                clock_for(device),
                warmup,
                iters,
                sync=lambda: synchronize(device),
                advance=advance,
            )
            memory = torch.cuda.max_memory_allocated() if cuda else resident_peak_bytes()
            flops_by_family = {f: 2 * m * batch for f, m in family_macs.items()}
            predicted = (
                training_step_memory(
                    analysis, dtype, batch, optimizer, device.split(":")[0], cublas_workspace=workspace
                ).peak
                if train and not compile  # the model is eager's step: a compiled one saves and fuses otherwise
                else None
            )
            measured.append(
                BatchResult(
                    batch=batch,
                    summary=summarize(times),
                    flops=2 * macs * batch,
                    peak_memory_bytes=memory,
                    flops_by_family=flops_by_family,
                    compute_bound_s=compute_seconds(flops_by_family, peaks),
                    predicted_peak_memory_bytes=predicted,
                )
            )
    return BenchResult(
        spec=analysis.spec.name,
        device=device,
        peaks=peaks,
        dtype=dtype,
        train=train,
        channels_last=channels_last,
        compiled=compile,
        memory_measure="torch.cuda.max_memory_allocated (bytes held by tensors, this batch)"
        if cuda
        else "peak resident set size of the process (ru_maxrss: interpreter, torch and all batches so far)",
        macs_by_family=family_macs,
        cudnn_benchmark=cudnn_benchmark,
        batches=tuple(measured),
        optimizer=optimizer if train else None,
    )


@dataclass(frozen=True, slots=True)
class LayerTime:
    path: str
    summary: Summary


def per_layer(
    analysis: Analysis,
    device: str = "auto",
    batch: int = 1,
    dtype: str = "fp32",
    channels_last: bool = False,
    iters: int = 10,
    warmup: int = 2,
    progress: Callable[[int], Callable[[], None]] | None = None,
    cudnn_benchmark: bool = False,
) -> tuple[str, Peaks, list[LayerTime]]:
    """Time each row's module alone on the inputs it receives in a full forward pass (captured by
    forward pre-hooks on the device, so no copy enters the timed loop)."""
    import torch

    device = resolve_device(device, torch.cuda.is_available())
    with cudnn_benchmark_as(torch, cudnn_benchmark):
        return (
            device,
            device_peaks(torch, device, dtype),
            _layer_times(torch, analysis, device, batch, dtype, channels_last, iters, warmup, progress),
        )


def _layer_times(
    torch: Any,
    analysis: Analysis,
    device: str,
    batch: int,
    dtype: str,
    channels_last: bool,
    iters: int,
    warmup: int,
    progress: Callable[[int], Callable[[], None]] | None,
) -> list[LayerTime]:
    model = prepare(analysis, device, dtype, channels_last, train=False)
    modules = dict(model.named_modules())
    inputs: dict[str, tuple] = {}
    hooks = [
        modules[r.path].register_forward_pre_hook(lambda m, args, path=r.path: inputs.setdefault(path, args))
        for r in analysis.rows
        if r.path in modules
    ]
    with torch.inference_mode():
        model(_example(torch, analysis, batch, device, dtype, channels_last))
    for hook in hooks:
        hook.remove()
    advance = progress(len(inputs) * iters) if progress else (lambda: None)
    times = []
    for row in analysis.rows:
        if row.path not in inputs:
            continue
        module, args = modules[row.path], inputs[row.path]

        def call(module: Any = module, args: tuple = args) -> Any:
            with torch.inference_mode():
                return module(*args)

        seconds = measure(call, clock_for(device), warmup, iters, sync=lambda: synchronize(device), advance=advance)
        times.append(LayerTime(row.path, summarize(seconds)))
    return times
