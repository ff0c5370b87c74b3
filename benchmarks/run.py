"""The performance suite: archcalc against torchinfo, fvcore and ptflops, measured side by side.

Run from the repository root: `python -m benchmarks` (needs the `speed` extra). It prints every
figure, writes reports/performance.md, and exits 1 when a target is missed:

- resnet152 analysed in-process at least 100x faster than torchinfo.summary, each given the network
  in memory: archcalc's analyzer a loaded spec, torchinfo the torch module archcalc's builder makes
  from the same spec. Loading (YAML -> validated spec) and building (spec -> module) are timed
  beside them, and the end-to-end ratio from the spec file is reported too;
- `archcalc shapes resnet152` under 0.25 s as a whole process: the best of the runs, timeit's
  estimator of a command's own cost (the median beside it shows what the host's noise adds);
- the generated 10,000-layer net analysed (load + analyze) in under 1 s;
- analysis time linear in the number of layers (log-log exponent at most 1.15);
- `archcalc import` of resnet152, torch already imported, under 2 s (benchmarks/importing.py).

Times are wall clock (time.perf_counter) with CPU time (time.process_time, or the children's
rusage for processes) beside them, so a loaded machine shows as wall >> CPU. Each figure is the
minimum and the median of several runs; the torch tools, which take seconds, run fewer times.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from .nets import chain_yaml

ROOT = Path(__file__).resolve().parent.parent
SPECS = ("alexnet", "vgg16", "googlenet", "resnet50", "resnet152")
BIG = 10_000
SCALING = (10, 30, 100, 300, 1_000, 3_000, 10_000)
TOOLS = ("torchinfo", "fvcore", "ptflops")

TARGET_NET = "resnet152"
TARGET_RATIO = 100  # resnet152: torchinfo.summary time / archcalc time
TARGET_PROCESS_S = 0.25  # `archcalc shapes resnet152`, whole process
TARGET_BIG_S = 1.0  # the 10,000-layer net, load + analyze
TARGET_EXPONENT = 1.15  # log-log slope of analysis time against layers


@dataclass
class Timing:
    """Several runs of one thing: wall and CPU seconds, minimum and median."""

    wall: list[float]
    cpu: list[float]

    @property
    def best(self) -> float:
        return min(self.wall)

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


def timed(
    fn: Callable[[], Any], runs: int, warmup: int = 1, setup: Callable[[], Any] | None = None
) -> tuple[Timing, Any]:
    """Run `fn` `warmup` times untimed, then `runs` times; the last result comes back too.
    `setup` runs, untimed, before every run (archcalc's: empty its caches)."""
    result = None
    for _ in range(warmup):
        if setup is not None:
            setup()
        result = fn()
    walls, cpus = [], []
    for _ in range(runs):
        if setup is not None:
            setup()
        c0, w0 = time.process_time(), time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return Timing(walls, cpus), result


def timed_process(cmd: list[str], runs: int, env: dict[str, str]) -> Timing:
    """Whole-process wall time and the child's CPU time (user + system, from rusage)."""
    walls, cpus = [], []
    for _ in range(runs):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        w0 = time.perf_counter()
        subprocess.run(cmd, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        walls.append(time.perf_counter() - w0)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
    return Timing(walls, cpus)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def quiet():
    """The tools' prints and warnings silenced, as the verifier silences them."""
    from archcalc.verify.counters import _quiet

    return _quiet()


# ---------------------------------------------------------------------------------------------
# the machine


def machine() -> dict[str, str]:
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    # Versions from package metadata, not imports: importing torch here would fill the heap before
    # archcalc is timed, and every garbage-collection pass during its timing would scan it.
    return {
        "cpu": f"{cpu}, {os.cpu_count()} logical cores",
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": ", ".join(
            f"{name} {_version(name)}"
            for name in ("torch", "pydantic", "torchinfo", "fvcore", "ptflops", "rich", "click")
        ),
        "load": "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
    }


def _version(package: str) -> str:
    from importlib.metadata import version

    try:
        return version(package)
    except Exception:  # noqa: BLE001 - a version string is informative only
        return "?"


# ---------------------------------------------------------------------------------------------
# (a) in-process: archcalc vs torchinfo, fvcore, ptflops on the same modules


def _load(name: str):
    from archcalc import load_spec, parse_spec

    if name == f"generated-{BIG}":
        text = chain_yaml(BIG)
        return lambda: parse_spec(text, f"{name}.yaml")
    return lambda: load_spec(name)


def run_torchinfo(model: Any, shape: tuple[int, ...]) -> dict[str, int]:
    import torchinfo

    with quiet():
        stats = torchinfo.summary(model, input_size=(1, *shape), verbose=0, device="cpu")
    return {"params": int(stats.total_params), "ops": int(stats.total_mult_adds)}


def run_fvcore(model: Any, shape: tuple[int, ...]) -> dict[str, int]:
    import torch
    from fvcore.nn import FlopCountAnalysis

    with quiet():
        analysis = FlopCountAnalysis(model, torch.randn(1, *shape))
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
        analysis.by_module()  # the per-layer figures, as a user asks for them
        total = int(analysis.total())
    return {"params": sum(p.numel() for p in model.parameters()), "ops": total}


def run_ptflops(model: Any, shape: tuple[int, ...]) -> dict[str, int]:
    from ptflops import get_model_complexity_info

    with quiet():  # print_per_layer_stat: the per-layer table is what is asked for
        macs, params = get_model_complexity_info(
            model, tuple(shape), as_strings=False, print_per_layer_stat=True, backend="pytorch", ost=io.StringIO()
        )
    return {"params": int(params), "ops": int(macs)}


RUNNERS: dict[str, Callable[[Any, tuple[int, ...]], dict[str, int]]] = {
    "torchinfo": run_torchinfo,
    "fvcore": run_fvcore,
    "ptflops": run_ptflops,
}


TORCH: dict[str, int] = {}  # what the torch tools ran with (set once torch is imported)


@dataclass
class Comparison:
    name: str
    layers: int
    archcalc: Timing  # load + analyze: from the spec file's text to per-layer rows
    analyze: Timing  # analyze alone, the spec already loaded (as the tools get a built module)
    build: Timing  # archcalc's torch builder: spec -> module, the tools' starting point
    params: int
    macs: int
    tools: dict[str, tuple[Timing, dict[str, int], dict[str, int]]]  # tool -> (timing, its totals, ours under it)
    paired: list[float] | None = None  # torchinfo.summary / analyze, per back-to-back round (the target's net)


PAIRED_ROUNDS, PAIRED_RUNS = 9, 5  # rounds of (archcalc's best of PAIRED_RUNS, then one torchinfo.summary)


def paired_ratios(analyse: Callable[[], Any], summary: Callable[[], Any], setup: Callable[[], Any]) -> list[float]:
    """torchinfo's time over archcalc's in back-to-back rounds: the host's speed drifts (by up to
    1.7x within minutes on the development machine), and two timings taken minutes apart would
    carry that drift into their ratio. The heap the harness itself holds (torch modules) is frozen
    first, so that archcalc's garbage collections do not scan it."""
    import gc

    gc.collect()
    gc.freeze()
    try:
        ratios = []
        for _ in range(PAIRED_ROUNDS):
            ours, _ = timed(analyse, PAIRED_RUNS, warmup=0, setup=setup)
            theirs, _ = timed(summary, 1, warmup=0)
            ratios.append(theirs.best / ours.best)
        return ratios
    finally:
        gc.unfreeze()


def compare_in_process(names: list[str], runs: int, tool_runs: int, log: Callable[[str], None]) -> list[Comparison]:
    from archcalc import analyze
    from archcalc.analysis import clear_caches
    from archcalc.conventions import PRESETS
    from archcalc.counted import convention_totals
    from archcalc.verify.build import build_model

    # archcalc first, for every net, with no torch model alive: a heap full of modules makes
    # every cyclic-GC pass slower, which would charge the torch tools' memory to archcalc.
    # Its caches are emptied before every run: each run analyses from nothing.
    def analyze_loaded(load: Callable[[], Any]) -> Any:
        return analyze(load())

    def built(spec: Any) -> Any:
        return build_model(spec).eval()

    ours = {}
    for name in names:
        load = _load(name)
        spec = load()
        full = timed(partial(analyze_loaded, load), runs, setup=clear_caches)
        alone, _ = timed(partial(analyze, spec), runs, setup=clear_caches)
        ours[name] = (*full, alone)
    import torch

    TORCH["threads"] = torch.get_num_threads()
    out = []
    with torch.no_grad():  # the tools count, they do not train; the caller's grad mode is kept
        for name in names:
            timing, analysis, alone = ours[name]
            spec, shape = analysis.spec, tuple(analysis.spec.input)
            build, model = timed(partial(built, spec), 1, warmup=0)
            model(torch.randn(1, *shape))  # warm torch's kernels once, for every tool alike
            tools = {}
            for tool in TOOLS:
                t, totals = timed(partial(RUNNERS[tool], model, shape), tool_runs, warmup=0)
                under = convention_totals(analysis, PRESETS[tool])
                tools[tool] = (t, totals, {"params": under["params"], "ops": under["ops"]})
                log(
                    f"  {name:>16} {tool:>9}: {ms(t.best):>10}  ops {totals['ops']:,} (archcalc as {tool}: {under['ops']:,})"
                )
            paired = None
            if name == TARGET_NET:
                paired = paired_ratios(
                    partial(analyze, spec),
                    partial(RUNNERS["torchinfo"], model, shape),
                    clear_caches,
                )
                log(
                    f"  {name:>16}  paired rounds, torchinfo / archcalc: "
                    + ", ".join(f"{r:,.0f}x" for r in paired)
                    + f" (median {statistics.median(paired):,.0f}x)"
                )
            row = Comparison(
                name,
                len(analysis.rows),
                timing,
                alone,
                build,
                analysis.totals.params,
                analysis.totals.macs,
                tools,
                paired,
            )
            log(
                f"  {name:>16}  archcalc: analyze {ms(alone.best)}, load + analyze {ms(timing.best)}; torch build "
                f"{ms(build.best)}; params {row.params:,}  MACs {row.macs:,}  ({row.layers:,} rows)"
            )
            out.append(row)
    return out


# ---------------------------------------------------------------------------------------------
# (b) whole process and import time


def process_env() -> dict[str, str]:
    """The environment of an installed archcalc: this checkout first on the path, bytecode cached
    (pip compiles it at install; PYTHONDONTWRITEBYTECODE would make every run compile the sources)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["COLUMNS"] = "200"
    return env


def compile_bytecode() -> None:
    import compileall

    compileall.compile_dir(str(ROOT / "archcalc"), quiet=1)


TORCHINFO_SCRIPT = """
import torchinfo
{source}
torchinfo.summary(model, input_size=(1, {shape}))
"""


def whole_process(runs: int, env: dict[str, str], log: Callable[[str], None]) -> dict[str, Any]:
    shapes_cmd = [*console_script(), "shapes", "resnet152"]
    ours = timed_process(shapes_cmd, runs, env)
    log(f"  archcalc shapes resnet152: best {ms(ours.best)}, median {ms(ours.median)} (CPU {ms(ours.cpu_median)})")
    from archcalc import load_spec
    from archcalc.verify.build import render

    spec = load_spec("resnet152")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "torchinfo_resnet152.py"
        script.write_text(TORCHINFO_SCRIPT.format(source=render(spec), shape=", ".join(map(str, spec.input))))
        theirs = timed_process([sys.executable, str(script)], max(2, runs // 5), env)
    log(
        f"  torchinfo script:          best {ms(theirs.best)}, median {ms(theirs.median)} (CPU {ms(theirs.cpu_median)})"
    )

    probe = (
        "import sys; from click.testing import CliRunner; from archcalc.cli import main\n"
        "r = CliRunner().invoke(main, ['shapes', 'resnet152']); assert r.exit_code == 0, r.output\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'fvcore', 'archcalc', 'rich', 'click', 'pydantic', 'yaml'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    imports = []
    for _ in range(5):
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", IMPORTS],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stderr
        imports.append(_importtime(err))
    cumulative = statistics.median(total for total, _ in imports)
    top = imports[0][1]
    log(f"  {IMPORTS}: {ms(cumulative)} (python -X importtime, median)")
    return {
        "ours": ours,
        "theirs": theirs,
        "loaded": loaded,
        "import_s": cumulative,
        "top": top,
        "command": " ".join(Path(part).name if i == 0 else part for i, part in enumerate(shapes_cmd)),
    }


# What `archcalc shapes` imports: the command line (lazy) and the static commands' module.
IMPORTS = "import archcalc.cli, archcalc.commands.static"


def console_script() -> list[str]:
    """The `archcalc` console script a user runs (`archcalc.cli:run`), this interpreter's own;
    `python -m archcalc.cli` (the same entry point) where none is installed beside it."""
    script = Path(sys.executable).with_name("archcalc")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "archcalc.cli"]


def _importtime(stderr: str) -> tuple[float, list[tuple[str, float]]]:
    """Total of `python -X importtime` output for IMPORTS (microseconds -> s), and where it goes:
    self time summed per top-level package (pydantic, click, archcalc, the standard library's
    modules each under its own name), heaviest first."""
    total, by_package = 0.0, dict[str, float]()
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "cumulative" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|")
        package = name.strip().split(".")[0]
        if not name.startswith("  ") and package == "archcalc":  # a top-level row of IMPORTS
            total += int(cumulative) / 1e6
        by_package[package] = by_package.get(package, 0.0) + int(own) / 1e6
    heavy = sorted(by_package.items(), key=lambda r: -r[1])[:10]
    return total, heavy


# ---------------------------------------------------------------------------------------------
# (c) scaling


def scaling(runs: int, log: Callable[[str], None]) -> dict[str, Any]:
    from archcalc import analyze, parse_spec

    def load_and_analyze(text: str) -> Any:
        return analyze(parse_spec(text))

    points = []
    for n in SCALING:
        text = chain_yaml(n)
        t_total, analysis = timed(partial(load_and_analyze, text), runs)
        spec = parse_spec(text)
        t_analyze, _ = timed(partial(analyze, spec), runs)
        assert len(analysis.rows) == n, (n, len(analysis.rows))
        points.append((n, t_total.best, t_analyze.best))
        log(f"  {n:>6,} layers: load + analyze {ms(t_total.best):>10}, analyze {ms(t_analyze.best):>10}")
    xs = [n for n, _, _ in points]
    fit = {}
    for key, index in (("total", 1), ("analyze", 2)):
        ys = [p[index] for p in points]
        slope, intercept = _linear_fit(xs, ys)
        logs = [(math.log(p[0]), math.log(p[index])) for p in points if p[0] >= 100]
        exponent, _ = _linear_fit([a for a, _ in logs], [b for _, b in logs])
        fit[key] = {"slope_us": slope * 1e6, "intercept_ms": intercept * 1e3, "exponent": exponent}
        log(f"  {key}: {slope * 1e6:.2f} µs per layer + {intercept * 1e3:.2f} ms; log-log exponent {exponent:.3f}")
    return {"points": points, "fit": fit}


def _linear_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Least squares y = slope * x + intercept."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return slope, my - slope * mx


# ---------------------------------------------------------------------------------------------
# (d) the bench harness against a hand-written loop


HARNESS_SPEC, HARNESS_INPUT, HARNESS_BATCH = "resnet18", (3, 112, 112), 8
HARNESS_ROUNDS, HARNESS_ITERS, HARNESS_WARMUP = 41, 4, 1  # many short rounds: host drift falls on both
TARGET_HARNESS = 0.02  # archcalc bench's throughput within 2% of the hand-written loop's


def _hand_loop(torch: Any, model: Any, x: Any, iters: int, warmup: int) -> float:
    """The minimal loop a person would write: warm up, then time each forward; median seconds."""
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        times = []
        for _ in range(iters):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_harness(log: Callable[[str], None]) -> dict[str, Any]:
    """archcalc bench's timing harness (archcalc.throughput: prepare, step_fn, measure, summarize) against a
    hand-written torch loop on the same module, input batch, dtype and device (CPU), in alternating
    rounds so that load on the machine falls on both alike; images/s compared."""
    import torch

    from archcalc import analyze, load_spec
    from archcalc.throughput.run import _example, prepare, step_fn
    from archcalc.throughput.timing import clock_for, measure, summarize

    # One torch thread: with two, any other process on a 2-core machine stalls torch's thread
    # barriers and swings a timing tenfold, on whichever harness happens to be running.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    analysis = analyze(load_spec(HARNESS_SPEC).with_input(HARNESS_INPUT))
    model = prepare(analysis, "cpu", "fp32", channels_last=False, train=False)
    x = _example(torch, analysis, HARNESS_BATCH, "cpu", "fp32", channels_last=False)

    def ours_once() -> float:
        times = measure(step_fn(torch, model, x, train=False), clock_for("cpu"), HARNESS_WARMUP, HARNESS_ITERS)
        return summarize(times).median_s

    def hand_once() -> float:
        return _hand_loop(torch, model, x, HARNESS_ITERS, HARNESS_WARMUP)

    ours_once(), hand_once()  # an untimed round each: the first run of new shapes pays one-off costs
    ours: list[float] = []
    hand: list[float] = []
    for round_ in range(HARNESS_ROUNDS):  # alternate which goes first, so drift falls on both alike
        for which in ((ours_once, ours), (hand_once, hand))[:: 1 if round_ % 2 == 0 else -1]:
            which[1].append(which[0]())
    torch.set_num_threads(threads)
    ours_s, hand_s = statistics.median(ours), statistics.median(hand)
    ours_ips, hand_ips = HARNESS_BATCH / ours_s, HARNESS_BATCH / hand_s
    # paired: each round's two harnesses ran back to back, so their ratio cancels the host's drift
    # between rounds; the difference is the median of the rounds' throughput ratios
    difference = statistics.median(h / o for o, h in zip(ours, hand)) - 1
    log(
        f"  {HARNESS_SPEC} at {'x'.join(map(str, HARNESS_INPUT))}, batch {HARNESS_BATCH}, fp32, CPU: archcalc bench "
        f"{ours_ips:,.1f} images/s, hand-written loop {hand_ips:,.1f} images/s ({difference:+.2%})"
    )
    return {
        "spec": HARNESS_SPEC,
        "input": HARNESS_INPUT,
        "batch": HARNESS_BATCH,
        "rounds": HARNESS_ROUNDS,
        "iters": HARNESS_ITERS,
        "ours_s": ours_s,
        "hand_s": hand_s,
        "ours_ips": ours_ips,
        "hand_ips": hand_ips,
        "difference": difference,
        "threads": 1,
    }


# ---------------------------------------------------------------------------------------------
# report


def targets(
    comparisons: list[Comparison], process: dict[str, Any], scale: dict[str, Any], harness: dict[str, Any] | None = None
) -> list[tuple[str, str, bool]]:
    by_name = {c.name: c for c in comparisons}
    out = []
    if harness:
        out.append(
            (
                f"archcalc bench reports the hand-written loop's throughput within {TARGET_HARNESS:.0%}",
                f"{harness['difference']:+.2%} ({harness['ours_ips']:,.1f} vs {harness['hand_ips']:,.1f} images/s)",
                abs(harness["difference"]) <= TARGET_HARNESS,
            )
        )
    if TARGET_NET in by_name:
        c = by_name[TARGET_NET]
        summary = c.tools["torchinfo"][0].best
        ratio = statistics.median(c.paired) if c.paired else summary / c.analyze.best
        out.append(
            (
                f"{TARGET_NET} in-process: archcalc's analysis at least {TARGET_RATIO}x faster than torchinfo.summary"
                " (each given the network in memory: a loaded spec, a built module; median of "
                f"{len(c.paired or ())} back-to-back rounds)",
                f"{ratio:,.0f}x (best times {ms(c.analyze.best)} vs {ms(summary)}: {summary / c.analyze.best:,.0f}x; "
                f"with the spec's load timed too: {summary / c.archcalc.best:,.0f}x)",
                ratio >= TARGET_RATIO,
            )
        )
    if process:
        t = process["ours"]
        out.append(
            (
                f"`archcalc shapes resnet152` under {TARGET_PROCESS_S} s as a whole process (best of "
                f"{len(t.wall)} runs)",
                f"{ms(t.best)} (median {ms(t.median)}, CPU median {ms(t.cpu_median)})",
                t.best < TARGET_PROCESS_S,
            )
        )
        leaked = [m for m in process["loaded"] if m.split(".")[0] in ("torch", "fvcore")]
        out.append(("the static path imports no torch or fvcore", ", ".join(leaked) or "none imported", not leaked))
    big = by_name.get(f"generated-{BIG}")
    if big:
        out.append(
            (
                f"{BIG:,}-layer net analysed (load + analyze) in under {TARGET_BIG_S} s",
                f"{ms(big.archcalc.best)} (median {ms(big.archcalc.median)})",
                big.archcalc.median < TARGET_BIG_S,
            )
        )
    if scale:
        e = scale["fit"]["total"]["exponent"]
        out.append(
            (
                f"analysis time linear in layers (log-log exponent at most {TARGET_EXPONENT})",
                f"{e:.3f}",
                e <= TARGET_EXPONENT,
            )
        )
    return out


def _agree(ours: int, theirs: int) -> str:
    return "=" if ours == theirs else f"≠ {theirs - ours:+,}"


def markdown(
    info: dict[str, str],
    command: str,
    comparisons: list[Comparison],
    process: dict[str, Any],
    scale: dict[str, Any],
    harness: dict[str, Any] | None,
    checks: list[tuple[str, str, bool]],
    load_end: str,
    elapsed: float,
) -> str:
    lines = [
        "# archcalc performance",
        "",
        f"Produced by `{command}` (benchmarks/run.py) in {elapsed:,.0f} s. Times are wall clock, best of the",
        "runs (CPU time beside where it helps); a loaded machine shows as wall well above CPU.",
        "",
        f"- machine: {info['cpu']}; {info['os']}; Python {info['python']}",
        f"- versions: {info['versions']}",
        f"- load average (1, 5, 15 min): {info['load']} at the start, {load_end} at the end",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        *[f"| {what} | {value} | {'yes' if ok else '**no**'} |" for what, value, ok in checks],
        "",
    ]
    if comparisons:
        lines += [
            "## Per-layer shapes, parameters and MACs, in-process",
            "",
            "Like with like: each side starts from the network in memory. archcalc: `analyze(spec)` on a loaded",
            "spec. The tools: the torch module archcalc's builder makes from the same spec (its kernels warmed by",
            "one forward pass): `torchinfo.summary`, fvcore's `FlopCountAnalysis` (`by_module` and `total`),",
            "ptflops' `get_model_complexity_info` (per-layer table to a buffer), with torch's default"
            f" {TORCH.get('threads', '?')} threads. × is the tool's time over",
            "archcalc's analysis. archcalc's caches are emptied before every run, so each run analyses from",
            "nothing; a network's repeated blocks (a `repeat`'s copies) are copied within one analysis.",
            "",
            "| net | rows | archcalc analyze | torchinfo | × | fvcore | × | ptflops | × |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for c in comparisons:
            cells = []
            for tool in TOOLS:
                t, _, _ = c.tools[tool]
                cells += [ms(t.best), f"{t.best / c.analyze.best:,.0f}x"]
            lines.append(f"| {c.name} | {c.layers:,} | {ms(c.analyze.best)} | " + " | ".join(cells) + " |")
        paired = next((c.paired for c in comparisons if c.paired), None)
        if paired:
            lines += [
                "",
                f"The target's ratio ({TARGET_NET} against torchinfo) is the median of {len(paired)} back-to-back rounds,"
                f" each archcalc's best of {PAIRED_RUNS} analyses then one `torchinfo.summary`, the harness's own torch"
                " heap frozen so that archcalc's garbage collections do not scan it: "
                + ", ".join(f"{r:,.0f}x" for r in paired)
                + f" (median {statistics.median(paired):,.0f}x).",
            ]
        lines += [
            "",
            "From the spec file: archcalc's load (YAML parse, template expansion, pydantic validation) plus",
            "analysis, against archcalc's torch builder (spec -> module, one run: it initialises every weight)",
            "plus `torchinfo.summary`.",
            "",
            "| net | load + analyze | torch build | build + torchinfo | × | params | MACs |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for c in comparisons:
            theirs = c.build.best + c.tools["torchinfo"][0].best
            lines.append(
                f"| {c.name} | {ms(c.archcalc.best)} | {ms(c.build.best)} | {ms(theirs)} | "
                f"{theirs / c.archcalc.best:,.0f}x | {c.params:,} | {c.macs:,} |"
            )
        lines += [
            "",
            "Each tool's total sits beside archcalc's total under that tool's convention (presets in",
            "archcalc/conventions.py): `=` means the counts agree exactly. Conventions: torchinfo counts bias adds",
            'and batch norm; fvcore one "flop" per MAC of conv/linear (plus batch norm and pooling it knows);',
            "ptflops adds bias, activation, pooling and batch-norm terms. archcalc's own MACs are conv and linear",
            "multiply-accumulates only.",
        ]
        lines += [
            "",
            "| net | tool | tool params | archcalc params | tool ops | archcalc ops (as the tool) | agree |",
            "|---|---|---:|---:|---:|---:|---|",
        ]
        for c in comparisons:
            for tool in TOOLS:
                _, tool_totals, our_totals = c.tools[tool]
                agree = (
                    "params "
                    + _agree(our_totals["params"], tool_totals["params"])
                    + ", ops "
                    + _agree(our_totals["ops"], tool_totals["ops"])
                )
                lines.append(
                    f"| {c.name} | {tool} | {tool_totals['params']:,} | {our_totals['params']:,} | "
                    f"{tool_totals['ops']:,} | {our_totals['ops']:,} | {agree} |"
                )
        lines.append("")
    if process:
        ours, theirs = process["ours"], process["theirs"]
        ac = sorted(m for m in process["loaded"] if m.startswith("archcalc"))
        lines += [
            "## Whole process: `archcalc shapes resnet152`",
            "",
            f"`{process['command']} > /dev/null` (the console script, `archcalc.cli:run`) against a script that",
            "defines the same network in PyTorch (`archcalc export resnet152`'s source) and calls",
            "`torchinfo.summary` on it. Bytecode is compiled first, as `pip install` does.",
            "",
            "| command | runs | best | median | CPU (median) |",
            "|---|---:|---:|---:|---:|",
            f"| archcalc shapes resnet152 | {len(ours.wall)} | {ms(ours.best)} | {ms(ours.median)} | {ms(ours.cpu_median)} |",
            f"| torchinfo script | {len(theirs.wall)} | {ms(theirs.best)} | {ms(theirs.median)} | {ms(theirs.cpu_median)} |",
            "",
            f"`python -X importtime -c '{IMPORTS}'`: {ms(process['import_s'])} (median). Where it goes, self time"
            " summed per top-level package (importtime's own overhead included):",
            "",
            *[f"- {name}: {ms(seconds)}" for name, seconds in process["top"]],
            "",
            f"Modules `archcalc shapes` loads: {len(process['loaded'])} of torch, fvcore, archcalc, rich, click,"
            f" pydantic and yaml; torch or fvcore: {'none' if not any(m.split('.')[0] in ('torch', 'fvcore') for m in process['loaded']) else 'YES'};"
            f" rich: {'none (tables laid out directly)' if not any(m.split('.')[0] == 'rich' for m in process['loaded']) else 'imported'};"
            f" archcalc modules: {', '.join(ac)}.",
            "",
        ]
    if scale:
        fit = scale["fit"]
        lines += [
            "## Scaling with the number of layers",
            "",
            "Generated chains (benchmarks/nets.py) of conv, batchnorm and relu; best of the runs.",
            "",
            "| layers | load + analyze | analyze only |",
            "|---:|---:|---:|",
            *[f"| {n:,} | {ms(total)} | {ms(only)} |" for n, total, only in scale["points"]],
            "",
            f"Least-squares fit, load + analyze: {fit['total']['slope_us']:.2f} µs per layer + "
            f"{fit['total']['intercept_ms']:.2f} ms; analyze only: {fit['analyze']['slope_us']:.2f} µs per layer + "
            f"{fit['analyze']['intercept_ms']:.2f} ms. Log-log exponent (100 layers and up): "
            f"{fit['total']['exponent']:.3f} (load + analyze), {fit['analyze']['exponent']:.3f} (analyze): linear is 1.",
            "",
        ]
    lines += ["## archcalc bench against a hand-written torch loop", ""]
    if harness:
        lines += [
            f"`{harness['spec']}` at {'x'.join(map(str, harness['input']))}, batch {harness['batch']}, fp32, on the CPU "
            f"({harness['threads']} torch thread): one untimed round each, then {harness['rounds']} rounds of "
            f"{harness['iters']} timed iterations each, alternating which goes first. Images/s from the median of the"
            " rounds' medians; the difference is the median of the rounds' paired throughput ratios (the two"
            " harnesses of a round run back to back, so drift between rounds cancels).",
            "",
            "| harness | median per batch | images/s |",
            "|---|---:|---:|",
            f"| `archcalc bench`'s harness (prepare, step_fn, measure) | {ms(harness['ours_s'])} | {harness['ours_ips']:,.1f} |",
            f"| hand-written `torch.inference_mode()` loop | {ms(harness['hand_s'])} | {harness['hand_ips']:,.1f} |",
            "",
            f"Difference: {harness['difference']:+.2%} (target: within {TARGET_HARNESS:.0%}).",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of archcalc and of processes")
    parser.add_argument("--tool-runs", type=int, default=2, help="timed runs of each torch tool")
    parser.add_argument("--process-runs", type=int, default=15, help="timed runs of `archcalc shapes resnet152`")
    parser.add_argument("--specs", default=",".join([*SPECS, f"generated-{BIG}"]), help="comma-separated nets for (a)")
    parser.add_argument(
        "--skip", default="", help="comma-separated sections to skip: tools, process, scaling, harness, import"
    )
    parser.add_argument("--output", default=str(ROOT / "reports" / "performance.md"))
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    command = "python -m benchmarks" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    start = time.perf_counter()
    log = lambda text: print(text, flush=True)  # noqa: E731

    compile_bytecode()
    info = machine()
    log(f"machine: {info['cpu']}; load {info['load']}")
    comparisons: list[Comparison] = []
    if "tools" not in skip:
        log("(a) in-process: archcalc vs torchinfo, fvcore, ptflops")
        comparisons = compare_in_process(args.specs.split(","), args.runs, args.tool_runs, log)
    process: dict[str, Any] = {}
    if "process" not in skip:
        log("(b) whole process")
        process = whole_process(args.process_runs, process_env(), log)
    scale: dict[str, Any] = {}
    if "scaling" not in skip:
        log("(c) scaling")
        scale = scaling(args.runs, log)
    harness: dict[str, Any] = {}
    if "harness" not in skip:
        log("(d) archcalc bench vs a hand-written loop")
        harness = bench_harness(log)

    imported: dict[str, Any] = {}
    if "import" not in skip:
        from . import importing  # imports this module: loaded here, once it is whole

        log("(e) archcalc import")
        imported = importing.import_speed(args.runs, args.tool_runs, log)

    checks = targets(comparisons, process, scale, harness)
    if imported:
        checks.append(importing.target(imported))
    load_end = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    text = markdown(info, command, comparisons, process, scale, harness, checks, load_end, time.perf_counter() - start)
    if imported:
        text += "\n" + "\n".join(importing.markdown(imported))
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(text, encoding="utf-8")
    log(f"\nwrote {args.output}")
    for what, value, ok in checks:
        log(f"  {'met   ' if ok else 'MISSED'} {what}: {value}")
    return 0 if all(ok for _, _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
