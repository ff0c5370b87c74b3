"""Performance commands: `bench` (measured, torch), `roofline` and `memory` (static, no torch).

`roofline` and `memory` import nothing of torch: they only read the analyzer's rows through the
pure models in archcalc/roofline.py and archcalc/training.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from ..analysis import Analysis, analyze
from ..analysis_view import opaque_note
from ..devices import DEVICES, device_peak
from ..dtypes import TORCH_DTYPES
from ..encode import json_text
from ..fusion import KernelBound, bench_bounds, fused_roofline
from ..limits import flag_int, shown
from ..loader import load_spec
from ..numfmt import fmt_bytes, fmt_int
from ..peaks import FAMILY_NAMES, Peaks, assumed_fp32_math, macs_by_family, peaks_json, table_peaks
from ..roofline import Bound, ridge_point, roofline
from ..table import TextTable
from ..training import OPTIMIZER_STATES, backward_macs, training_memory
from ..training_step import training_step_memory
from ..workspaces import env_config, workspace_bytes
from .common import (
    MAX_BATCH,
    BoundedInt,
    Output,
    batch_type,
    handles_errors,
    input_option,
    json_option,
    spec_argument,
    table_options,
    width_option,
    with_input,
)
from .files import check_output, is_stdout, write_file
from .progress import progress_bar
from .verify import needs_extra

BENCH_DTYPES = list(TORCH_DTYPES)  # the dtypes a module runs at (dtypes.py)
MAX_ITERS = 1_000_000  # timed (or warm-up) runs of one configuration: far past any useful median


def _batches(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        sizes = tuple(flag_int(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(f"expected batch sizes like 1,32,128, got {shown(value)}") from None
    if not sizes or any(not 1 <= s <= MAX_BATCH for s in sizes):
        raise click.BadParameter(f"batch sizes must be from 1 to {MAX_BATCH:,}, got {shown(value)}")
    return sizes


# From this magnitude on a time is written in 4 significant figures: a double holds about 16 digits,
# so `18,192,771,376,664,648.00` would print digits that are rounding noise.
FIXED_BELOW = 1e9


def timing(value: float, decimals: int) -> str:
    """An estimated time (or rate) as text: fixed decimals with separators while every digit is
    meaningful, 4 significant figures past FIXED_BELOW, and 3 for a value too small for the
    decimals (a bound of 0.00004 ms is not 0.000 ms: only zero prints as zero).

    >>> timing(1234.5678, 2), timing(1.8192771376664648e16, 2), timing(0.000123, 0), timing(0.0000471, 3)
    ('1,234.57', '1.819e+16', '0.000123', '4.71e-05')
    """
    if abs(value) >= FIXED_BELOW:
        return f"{value:.4g}"
    if 0 < abs(value) < 10**-decimals:
        return f"{value:.3g}"
    return f"{value:,.{decimals}f}"


def _share(fraction: float) -> str:
    """A fraction as a percentage, one decimal, or 3 significant figures where one decimal would
    show a non-zero share as 0.0% (only those: a line as long as before wraps as before).

    >>> _share(0.2), _share(0.000973), _share(1.11e-5), _share(0.0)
    ('20.0%', '0.1%', '0.00111%', '0.0%')
    """
    return f"{fraction * 100:.3g}%" if fraction > 0 and round(fraction * 100, 1) == 0 else f"{fraction:.1%}"


def _us(seconds: float) -> str:
    return timing(seconds * 1e6, 2)


# Roofline's columns: (header, name for --columns, justify); and the order they give way on a narrow
# screen, the first named first (layer and the bound stay).
BOUNDS_COLUMNS = (
    ("layer", "layer", "left"),
    ("kind", "kind", "left"),
    ("FLOPs (2/MAC)", "flops", "right"),
    ("bytes", "bytes", "right"),
    ("FLOP/byte", "intensity", "right"),
    ("compute µs", "compute", "right"),
    ("memory µs", "memory", "right"),
    ("bound µs", "bound", "right"),
    ("bound by", "bound-by", "left"),
)
MEASURED_COLUMNS = (("measured µs", "measured", "right"), ("efficiency", "efficiency", "right"))
BOUNDS_DROPS = ("kind", "intensity", "compute", "memory", "bytes", "flops", "efficiency", "bound-by")
# --fused: a kernel is named by its first row, with how many rows it holds (never left out)
ROWS_COLUMN = ("rows", "rows", "right")


def _bounds_table(
    title: str, bounds: list[Bound], measured: dict[str, float] | None = None, rows: list[int] | None = None
) -> TextTable:
    table = TextTable(title=title)
    columns = BOUNDS_COLUMNS[:1] + ((ROWS_COLUMN,) if rows is not None else ()) + BOUNDS_COLUMNS[1:]
    for header, name, justify in columns + (MEASURED_COLUMNS if measured is not None else ()):
        drop = BOUNDS_DROPS.index(name) + 1 if name in BOUNDS_DROPS else None
        table.add_column(header, justify=justify, name=name, drop=drop, shorten=name == "layer")  # type: ignore[arg-type]
    for index, b in enumerate(bounds):
        t = b.traffic
        cells = [
            t.path,
            *([fmt_int(rows[index])] if rows is not None else []),
            t.kind,
            fmt_int(t.flops),
            fmt_int(t.bytes),
            f"{t.intensity:.1f}",
            _us(b.compute_s),
            _us(b.memory_s),
            _us(b.bound_s),
            b.limit,
        ]
        if measured is not None:
            took = measured.get(t.path)
            cells += [_us(took) if took else "", f"{b.bound_s / took:.0%}" if took else ""]
        table.add_row(*cells)
    return table


def _bound_dict(b: Bound, measured: float | None = None) -> dict[str, Any]:
    t = b.traffic
    entry = {
        "path": t.path,
        "kind": t.kind,
        "flops": t.flops,
        "input_bytes": t.input_bytes,
        "weight_bytes": t.weight_bytes,
        "output_bytes": t.output_bytes,
        "bytes": t.bytes,
        "intensity": t.intensity,
        "compute_s": b.compute_s,
        "memory_s": b.memory_s,
        "bound_s": b.bound_s,
        "bound_by": b.limit,
    }
    if measured is not None:
        entry |= {"measured_s": measured, "efficiency": b.bound_s / measured if measured else None}
    return entry


def _tf32_option(name: str, library: str, default: str) -> Any:
    return click.option(
        f"--tf32-{name}/--no-tf32-{name}",
        default=None,
        help=f"At fp32: whether {library} may run in TF32 (default: {default}, torch's default). "
        "Refused at bf16 and fp16, where every op family runs at the dtype.",
    )


@click.command("roofline")
@spec_argument
@click.option("--device", "device_key", type=click.Choice(list(DEVICES)), default="h100", show_default=True)
@click.option("--dtype", type=click.Choice(BENCH_DTYPES), default="bf16", show_default=True)
@click.option("--batch", default=1, show_default=True, type=batch_type)
@_tf32_option("convs", "convolutions (cuDNN)", "on")
@_tf32_option("matmuls", "matmuls (cuBLAS)", "off")
@click.option(
    "--fused",
    is_flag=True,
    help="Bound a fused inference run instead: batch norm folded into the convolution or linear before it, "
    "element-wise ops in the kernel producing their input, concat and views free; one row per kernel.",
)
@input_option
@json_option
@table_options(", ".join(BOUNDS_DROPS[:-2]) + ", bound-by (layer, rows and bound stay)")
@handles_errors
def roofline_(
    out: Output,
    spec: str,
    device_key: str,
    dtype: str,
    batch: int,
    tf32_convs: bool | None,
    tf32_matmuls: bool | None,
    fused: bool,
    input_shape,
    as_json: bool,
) -> None:
    """Static roofline: per layer bytes moved, FLOP/byte and the bound on a device (runs nothing).
    Each layer meets its op family's peak: at fp32 convolutions and matmuls in TF32 where allowed.
    With --fused, per kernel of a fused inference run."""
    given = [
        f"--{'' if on else 'no-'}tf32-{name}"
        for name, on in (("convs", tf32_convs), ("matmuls", tf32_matmuls))
        if on is not None
    ]
    if dtype != "fp32" and given:
        raise click.UsageError(
            f"{given[0]} applies at fp32 only: at {dtype} every op family runs at {dtype} on the tensor cores"
        )
    analysis = analyze(with_input(load_spec(spec), input_shape))
    peak = device_peak(device_key)
    try:
        peaks = table_peaks(peak, dtype, assumed_fp32_math(tf32_convs, tf32_matmuls))
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--dtype") from None
    bounds = roofline(analysis.rows, dtype, batch, peaks)
    total = sum(b.bound_s for b in bounds)
    work = macs_by_family(analysis.rows)
    summary = peaks_json(peaks, work)
    head = {
        "spec": analysis.spec.name,
        "device": peak.key,
        "device_name": peak.name,
        "source": peak.source,
        "dtype": dtype,
        "batch": batch,
        # the single figures of earlier versions: the peak of the family with the most FLOPs
        "peak_flops_per_s": summary["flops_per_s"],
        "peak_flops_per_s_family": summary["flops_per_s_family"],
        "bytes_per_s": peak.bytes_per_s,
        "ridge_flops_per_byte": ridge_point(summary["flops_per_s"], peak.bytes_per_s),
        "peaks": [
            f | {"ridge_flops_per_byte": ridge_point(f["flops_per_s"], peak.bytes_per_s)} for f in summary["families"]
        ],
    }

    def peak_lines() -> None:
        out.line(f"peaks ({peak.source}), {peak.bytes_per_s / 1e9:,.0f} GB/s, per op family:")
        for f in summary["families"]:
            if f["family"] in _used(work):
                out.line(f"{_family_line(f)}; ridge {ridge_point(f['flops_per_s'], peak.bytes_per_s):,.0f} FLOP/byte")

    if fused:
        _fused_roofline(out, analysis, head, peak_lines, fused_roofline(analysis, dtype, batch, peaks), total, as_json)
        return
    if as_json:
        out.json({**head, "bound_s": total, "layers": [_bound_dict(b) for b in bounds], **_opaque_key(analysis)})
        return
    title = f"{analysis.spec.name} on {peak.name}, {dtype}, batch {batch}: roofline"
    out.table(_bounds_table(title, bounds), choose=True)
    peak_lines()
    memory_bound = sum(b.limit == "memory" for b in bounds)
    out.line(
        f"{memory_bound} of {len(bounds)} layers memory-bound; sum of bounds {timing(total * 1e3, 3)} ms "
        f"({timing(batch / total, 0)} images/s at best)"
        if total
        else "no work"
    )
    _opaque_line(out, analysis, "their bounds count the data they move, not their compute")


def _fused_roofline(
    out: Output,
    analysis: Analysis,
    head: dict[str, Any],
    peak_lines: Callable[[], None],
    kernels: list[KernelBound],
    unfused_s: float,
    as_json: bool,
) -> None:
    """`roofline --fused`: one row per kernel (archcalc/fusion.py), and the fused bound beside the
    unfused sum of bounds."""
    total = sum(k.bound.bound_s for k in kernels)
    if as_json:
        out.json(
            {
                **head,
                "fused": True,
                "bound_s": total,
                "unfused_bound_s": unfused_s,
                "kernels": [_kernel_dict(k) for k in kernels],
                **_opaque_key(analysis),
            }
        )
        return
    batch = head["batch"]
    title = f"{analysis.spec.name} on {head['device_name']}, {head['dtype']}, batch {batch}: fused roofline"
    table = _bounds_table(title, [k.bound for k in kernels], rows=[len(k.kernel.paths) for k in kernels])
    out.table(table, choose=True)
    peak_lines()
    memory_bound = sum(k.bound.limit == "memory" for k in kernels)
    folded = sum(len(k.kernel.folded) for k in kernels)
    out.line(
        f"{memory_bound} of {len(kernels)} kernels memory-bound; "
        f"fused bound {timing(total * 1e3, 3)} ms ({timing(batch / total, 0)} images/s at best); "
        f"unfused sum of bounds {timing(unfused_s * 1e3, 3)} ms ({timing(batch / unfused_s, 0)} images/s at best)"
        if total
        else "no work"
    )
    out.line(
        f"{len(kernels)} kernels from {len(analysis.rows)} rows; {folded} batch norms folded into the layer before"
        " them; rules: archcalc/fusion.py"
    )
    _opaque_line(out, analysis, "their bounds count the data they move, not their compute")


def _kernel_dict(k: KernelBound) -> dict[str, Any]:
    kernel, b = k.kernel, k.bound
    return {
        "paths": list(kernel.paths),
        "kinds": list(kernel.kinds),
        "folded": list(kernel.folded),
        "flops": kernel.flops,
        "flops_by_family": dict(kernel.flops_by_family),
        "bytes_read": kernel.bytes_read,
        "bytes_written": kernel.bytes_written,
        "compute_s": b.compute_s,
        "memory_s": b.memory_s,
        "bound_s": b.bound_s,
        "bound_by": b.limit,
    }


# One option for `memory` and `bench --train`, so both describe the same step (throughput/optimizer.py)
optimizer_option = click.option(
    "--optimizer",
    type=click.Choice(list(OPTIMIZER_STATES)),
    default="adam",
    show_default=True,
    help="The training step's optimizer: none, sgd (momentum 0), sgd-momentum (0.9), adam (torch's defaults).",
)

# The order in which memory's columns give way on a narrow screen (layer and the weight gradient stay).
MEMORY_DROPS = ("forward", "input-grad")


@click.command("memory")
@spec_argument
@click.option("--dtype", type=click.Choice(BENCH_DTYPES), default="fp32", show_default=True)
@click.option("--batch", default=1, show_default=True, type=batch_type)
@optimizer_option
@click.option(
    "--device",
    "device_key",
    type=click.Choice(list(DEVICES)),
    default="h100",
    show_default=True,
    help="The GPU of the training step's peak: its cuBLAS workspace size (torch's default for it).",
)
@input_option
@json_option
@table_options(", ".join(MEMORY_DROPS) + " (layer and weight-grad stay)")
@handles_errors
def memory(
    out: Output, spec: str, dtype: str, batch: int, optimizer: str, device_key: str, input_shape, as_json: bool
) -> None:
    """Training cost and memory, computed: backward MACs per layer, parameters, gradients, optimizer
    state, activations saved for backward, the inference peak of live activations, and the peak of
    one training step on a GPU with each term named."""
    analysis = analyze(with_input(load_spec(spec), input_shape))
    grads = backward_macs(analysis)
    mem = training_memory(analysis, dtype, batch, optimizer)
    gpu = device_peak(device_key)
    step_mem = training_step_memory(
        analysis,
        dtype,
        batch,
        optimizer,
        cublas_workspace=workspace_bytes(gpu.compute_major, gpu.rocm_arch, env_config(rocm=gpu.rocm_arch is not None)),
    )
    forward = analysis.totals.macs
    backward = {"input_grad": sum(g.input_grad for g in grads), "weight_grad": sum(g.weight_grad for g in grads)}
    parts = {
        "params": mem.params,
        "buffers": mem.buffers,
        "gradients": mem.gradients,
        "optimizer_state": mem.optimizer_state,
        "saved_activations": mem.saved_activations,
    }
    if as_json:
        out.json(
            {
                "spec": analysis.spec.name,
                "dtype": dtype,
                "batch": batch,
                "optimizer": optimizer,
                "macs_per_example": {"forward": forward, **backward},
                "layers": [
                    {
                        "path": g.path,
                        "forward_macs": g.forward,
                        "input_grad_macs": g.input_grad,
                        "weight_grad_macs": g.weight_grad,
                    }
                    for g in grads
                    if g.forward
                ],
                "memory_bytes": {
                    **parts,
                    "training_total": mem.training_total,
                    "inference_peak_activations": mem.inference_peak,
                    "training_step": {
                        "device": gpu.key,
                        "peak": step_mem.peak,
                        "at": step_mem.at,
                        "terms": step_mem.terms,
                    },
                },
                **_opaque_key(analysis),
            }
        )
        return
    table = TextTable(title=f"{analysis.spec.name}: backward MACs per example")
    for header, name in (
        ("layer", "layer"),
        ("forward MACs", "forward"),
        ("input grad MACs", "input-grad"),
        ("weight grad MACs", "weight-grad"),
    ):
        drop = MEMORY_DROPS.index(name) + 1 if name in MEMORY_DROPS else None
        table.add_column(
            header, justify="left" if name == "layer" else "right", name=name, drop=drop, shorten=name == "layer"
        )
    for g in grads:
        if g.forward:
            table.add_row(g.path, fmt_int(g.forward), fmt_int(g.input_grad), fmt_int(g.weight_grad))
    table.add_row("total", fmt_int(forward), fmt_int(backward["input_grad"]), fmt_int(backward["weight_grad"]))
    out.table(table, choose=True)
    step = forward + sum(backward.values())
    out.line(
        f"training step: {fmt_int(step)} MACs per example = FLOPs (2 per MAC): {fmt_int(2 * step)} "
        f"({step / forward:.2f}x the forward)"
        if forward
        else "no MACs"
    )
    out.line(
        f"memory at {dtype}, batch {batch}, {optimizer}: "
        + "; ".join(f"{k.replace('_', ' ')} {fmt_bytes(v)}" for k, v in parts.items())
        + f"; training total {fmt_bytes(mem.training_total)}; inference peak of live activations "
        f"{fmt_bytes(mem.inference_peak)}"
    )
    out.line(
        f"training step peak on the {gpu.name}, {optimizer}: {fmt_bytes(step_mem.peak)} at {step_mem.at}: "
        + "; ".join(f"{k.replace('_', ' ')} {fmt_bytes(v)}" for k, v in step_mem.terms.items() if v)
    )
    _opaque_line(out, analysis, "what they save for backward is unknown, counted as nothing")


def _opaque_key(analysis: Analysis) -> dict[str, list[str]]:
    """The JSON key a spec holding opaque layers gets (no key otherwise): their paths."""
    return {"opaque_layers": [row.path for row in analysis.opaque_rows]} if analysis.opaque_rows else {}


def _opaque_line(out: Output, analysis: Analysis, consequence: str) -> None:
    """The opaque layers' note (analysis_view.opaque_note), with what they leave unknown here."""
    note = opaque_note(analysis)
    if note:
        out.line(f"{note}; {consequence}")


# Extra arguments are let through to be refused in the body, with the new form of the old
# `--json FILE` (a path after --json is now an extra argument).
@click.command("bench", context_settings={"allow_extra_args": True})
@spec_argument
@click.option("--device", type=click.Choice(["auto", "cuda", "cpu"]), default="auto", show_default=True)
@click.option("--batch", "batches", default="1,32,128", show_default=True, callback=_batches, help="Comma-separated.")
@click.option("--dtype", type=click.Choice(BENCH_DTYPES), default="fp32", show_default=True)
@click.option("--channels-last", is_flag=True, help="Run 2-D inputs and weights in channels-last memory format.")
@click.option("--compile", "compile_", is_flag=True, help="torch.compile the module first.")
@click.option("--train", is_flag=True, help="Time a training step: forward, backward, an optimizer step.")
@optimizer_option
@click.option("--per-layer", is_flag=True, help="Time each layer alone against its roofline bound (first batch size).")
@click.option(
    "--cudnn-benchmark",
    is_flag=True,
    help="Set torch.backends.cudnn.benchmark for the run (off by default, as in torch): cuDNN tries its "
    "algorithms for each new shape and keeps the fastest.",
)
@click.option("--iters", default=20, show_default=True, type=BoundedInt(1, MAX_ITERS))
@click.option("--warmup", default=5, show_default=True, type=BoundedInt(0, MAX_ITERS))
@json_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --json: write the JSON to this file (and print the table) instead of standard output.",
)
@input_option
@width_option
@handles_errors
@needs_extra
def bench(
    out: Output,
    spec: str,
    device: str,
    batches: tuple[int, ...],
    dtype: str,
    channels_last: bool,
    compile_: bool,
    train: bool,
    optimizer: str,
    per_layer: bool,
    cudnn_benchmark: bool,
    iters: int,
    warmup: int,
    as_json: bool,
    output: Path | None,
    input_shape,
) -> None:
    """Measure the spec built in torch: median and p95 latency, images/s, achieved TFLOP/s
    (2 x the analyzer's MACs) against the compute bound (each op family's FLOPs at the peak its math
    meets on the device), and peak memory."""
    from ..throughput.run import BenchError
    from ..throughput.run import bench as run_bench
    from ..throughput.run import per_layer as run_per_layer
    from ..verify import require

    extra = click.get_current_context().args
    if extra:
        old_form = " (`--json FILE` is now `--json -o FILE`)" if as_json else ""
        raise click.UsageError(f"unexpected extra argument {shown(extra[0])}{old_form}")
    if output is not None and not as_json:
        raise click.UsageError("-o FILE writes the results as JSON: add --json (bench SPEC --json -o FILE)")
    if per_layer and (train or compile_):
        raise click.UsageError("--per-layer times inference of each layer alone; leave out --train and --compile")
    if is_stdout(output):  # `--json -o -`: the JSON on standard output, as plain --json
        output = None
    if output is not None:  # before the run, not after it
        check_output(output)
    require("torch", "archcalc bench")
    analysis = analyze(with_input(load_spec(spec), input_shape))
    show = not as_json or output is not None  # the table, unless the JSON takes standard output
    bar, progress = progress_bar(out, show, "timing")
    try:
        if bar is not None:
            bar.start()
        if per_layer:
            used, peaks, times = run_per_layer(
                analysis, device, batches[0], dtype, channels_last, iters, warmup, progress, cudnn_benchmark
            )
            result = _per_layer_report(out, analysis, used, peaks, times, batches[0], dtype, show, cudnn_benchmark)
        else:
            measured = run_bench(
                analysis,
                device,
                batches,
                dtype,
                channels_last,
                compile_,
                train,
                iters,
                warmup,
                progress,
                cudnn_benchmark,
                optimizer,
            )
            result = measured.to_dict()
            _add_bounds(result, analysis, measured.peaks, [b.summary.median_s for b in measured.batches])
            if show:
                _bench_report(out, result)
                _bounds_lines(out, result)
        result |= _opaque_key(analysis)
        if show and "bounds_note" not in result:
            _opaque_line(out, analysis, "their bounds count the data they move, not their compute")
    except BenchError as err:
        raise click.UsageError(str(err)) from None
    finally:
        if bar is not None:
            bar.stop()
    if output is not None:
        write_file(output, json_text(result) + "\n")
    elif as_json:
        out.json(result)


def _tflops(flops_per_s: float) -> str:
    """A peak in TFLOP/s: one decimal (a datasheet's 494.7), 3 significant figures below 1."""
    tflops = flops_per_s / 1e12
    return f"{tflops:,.1f}" if tflops >= 1 else f"{tflops:.3g}"


def _family_line(f: dict[str, Any]) -> str:
    """An op family's peak as a line: its math, its FLOP/s, and why that peak."""
    return f"  {FAMILY_NAMES[f['family']]}: {f['math'].upper()} {_tflops(f['flops_per_s'])} TFLOP/s ({f['why']})"


def _used(work_by_family: dict[str, int]) -> set[str]:
    """The op families that do any work in the spec: the ones whose peak lines are printed."""
    return {family for family, work in work_by_family.items() if work}


def _bench_report(out: Output, r: dict[str, Any]) -> None:
    table = Table(
        title=f"{r['spec']} on {r['device_name']}, {r['dtype']}, {r['mode']}"
        + (", channels-last" if r["channels_last"] else "")
        + (", compiled" if r["compile"] else "")
        + (", cuDNN benchmark" if r["cudnn_benchmark"] else ""),
        header_style="bold",
    )
    for name in ("batch", "median ms", "p95 ms", "images/s", "achieved TFLOP/s", "of compute bound", "peak memory"):
        table.add_column(name, justify="right")
    for b in r["batches"]:
        table.add_row(
            str(b["batch"]),
            f"{b['median_ms']:.3f}",
            f"{b['p95_ms']:.3f}",
            f"{b['images_per_s']:,.1f}",
            timing(b["achieved_tflops"], 4),
            _share(b["achieved_over_peak"]),
            fmt_bytes(b["peak_memory_bytes"]),
        )
    out.rich_table(table)
    peak = r["peak"]
    out.line(f"FLOPs: {r['flops_convention']}. Peaks ({peak['source']}), per op family:")
    for f in peak["families"]:
        if f["family"] in _used(r["batches"][0]["flops_by_family"]):
            out.line(_family_line(f))
    out.line(
        "Of compute bound: the compute bound (each family's FLOPs at its own peak) / the measured median. "
        f"Memory: {r['memory_measure']}."
    )
    predicted = [b for b in r["batches"] if "predicted_peak_memory_bytes" in b]
    if predicted:
        out.line(
            f"Training step with {r['optimizer']}: the step model's peak (memory_bytes.training_step of `memory`) "
            + ", ".join(f"batch {b['batch']} {fmt_bytes(b['predicted_peak_memory_bytes'])}" for b in predicted)
            + " (comparable with peak memory on CUDA only: on CPU that is the process's RSS)"
        )


# A training step is forward, backward and an update: neither bound models it
NO_TRAINING_BOUNDS = "the roofline and fused bounds model an inference run: not applicable to a training step"
BOUND_KEYS = ("roofline_bound_s", "fused_bound_s", "roofline_bound_over_median", "fused_bound_over_median")


def _add_bounds(result: dict[str, Any], analysis: Analysis, peaks: Peaks, medians: list[float]) -> None:
    """Each batch's measured median against both lower bounds of an inference run on the run's
    peaks (archcalc/fusion.py bench_bounds): the roofline's sum of per-layer bounds and the fused
    bound, each with its share of the median (bound / median: 1 is at the bound). A training
    step gets nulls and a `bounds_note` saying why."""
    if result["mode"] == "train":
        result["bounds_note"] = NO_TRAINING_BOUNDS
        for entry in result["batches"]:
            entry |= {key: None for key in BOUND_KEYS}
        return
    for entry, median in zip(result["batches"], medians):
        b = bench_bounds(analysis, result["dtype"], entry["batch"], peaks)
        entry |= {
            "roofline_bound_s": b.roofline_bound_s,
            "fused_bound_s": b.fused_bound_s,
            "roofline_bound_over_median": b.roofline_bound_s / median,
            "fused_bound_over_median": b.fused_bound_s / median,
        }


def _bounds_lines(out: Output, r: dict[str, Any]) -> None:
    """A line per batch: each bound, and the share of the measured median it is (the median as a
    multiple of the bound is in the JSON; the line stays short enough not to wrap)."""
    if "bounds_note" in r:
        out.line(f"Bounds: {r['bounds_note']}.")
        return
    for b in r["batches"]:
        median_s = b["median_ms"] / 1e3
        parts = [
            f"{name} {timing(b[key] * 1e3, 3)} ms ({_share(b[key] / median_s)}{of})"
            if b[key]
            else f"no {name} (no work)"
            for key, name, of in (
                ("roofline_bound_s", "roofline bound", " of the median"),
                ("fused_bound_s", "fused bound", ""),
            )
        ]
        out.line(f"batch {b['batch']}: median {b['median_ms']:.3f} ms; {parts[0]}, {parts[1]}")


def _per_layer_report(
    out: Output,
    analysis: Analysis,
    device: str,
    peaks: Peaks,
    times,
    batch: int,
    dtype: str,
    show: bool,
    cudnn_benchmark: bool,
) -> dict[str, Any]:
    measured = {t.path: t.summary.median_s for t in times}
    timed = tuple(row for row in analysis.rows if row.path in measured)
    bounds = roofline(timed, dtype, batch, peaks)
    work = macs_by_family(timed)
    if show:
        setting = ", cuDNN benchmark" if cudnn_benchmark else ""
        title = f"{analysis.spec.name} on {peaks.name}, {dtype}, batch {batch}{setting}: each layer alone"
        out.table(_bounds_table(title, bounds, measured))
        out.line(f"peaks ({peaks.source}), {peaks.bytes_per_s / 1e9:,.1f} GB/s; each layer at its op family's peak:")
        for f in peaks_json(peaks, work)["families"]:
            if f["family"] in _used(work):
                out.line(_family_line(f))
        out.line("efficiency = roofline bound / measured median")
    return {
        "spec": analysis.spec.name,
        "device": device,
        "device_name": peaks.name,
        "dtype": dtype,
        "batch": batch,
        "cudnn_benchmark": cudnn_benchmark,
        "peak": peaks_json(peaks, work),
        "layers": [_bound_dict(b, measured[b.traffic.path]) for b in bounds],
    }
