"""bench's JSON (`bench --json`, `bench --per-layer --json`) read as it is, as a measured run: known
by its shape, every value the report uses checked, its FLOPs held to archcalc's static count.

bench's JSON grows (other keys are added as bench learns more): keys this module does not use are
ignored; a key it uses is required and strictly typed, so a hand-edited or hostile file is one
bad_measured message naming the JSON path, never a wrong figure in a report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from . import training
from .analysis import Analysis
from .dtypes import DTYPE_BYTES
from .limits import shown
from .measured import json_path, json_type, refused
from .peaks import FAMILIES, FamilyPeak, Peaks, compute_seconds
from .roofline import traffic

# What marks bench's JSON: no other measured file archcalc reads carries both at its top level.
BENCH_MARKS = ("device_name", "peak")
MODES = ("inference", "train")
# A name or a sentence (a device, a peak's source): longer text is not something bench wrote.
MAX_RUN_TEXT = 1_000
# How far a figure bench worked out may sit from the one worked out here again: bench divides by
# the median in seconds and writes it in milliseconds, so the two differ by float rounding alone.
RELATIVE_TOLERANCE = 1e-9
# What each op family's peak may run in (archcalc/peaks.py FamilyPeak.math).
PEAK_MATHS = ("fp32", "tf32", "bf16", "fp16")
# Settings a run may record, each shown when present: (key, type). The first two bench always writes.
SETTINGS: tuple[tuple[str, type], ...] = (
    ("channels_last", bool),
    ("compile", bool),
    ("cudnn_benchmark", bool),
    ("optimizer", str),
)
REQUIRED_SETTINGS = ("channels_last", "compile")


def is_bench(data: dict[str, Any]) -> bool:
    """Whether a measured JSON is bench's: its top level names both `device_name` and `peak`.

    >>> is_bench({"device_name": "CPU", "peak": {}, "batches": []}), is_bench({"totals": {}})
    (True, False)
    """
    return all(key in data for key in BENCH_MARKS)


@dataclass(frozen=True, slots=True)
class RunPeak:
    """The ceilings bench held the run against (None: bench had no figure for the device);
    `families` is empty for files written before bench chose a peak per op family."""

    flops_per_s: float | None
    bytes_per_s: float | None
    source: str
    families: tuple[FamilyPeak, ...] = ()


@dataclass(frozen=True, slots=True)
class RunBatch:
    """One batch size of a run, with the static FLOPs per step beside bench's (None: unknown)."""

    batch: int
    iters: int
    median_ms: float
    p95_ms: float
    images_per_s: float
    achieved_tflops: float
    achieved_over_peak: float | None  # the compute bound / the median (bench's "of compute bound")
    peak_memory_bytes: int
    flops: int
    static_flops: int | None
    compute_bound_s: float | None = None  # None: a file from before bench wrote it

    @property
    def flops_match(self) -> bool | None:
        return None if self.static_flops is None else self.flops == self.static_flops


@dataclass(frozen=True, slots=True)
class RunLayer:
    """One layer timed alone (`bench --per-layer`), with its roofline bound and static FLOPs."""

    path: str
    measured_s: float
    bound_s: float
    flops: int
    static_flops: int | None

    @property
    def flops_match(self) -> bool | None:
        return None if self.static_flops is None else self.flops == self.static_flops

    @property
    def efficiency(self) -> float:
        """bound / measured, as bench defines it."""
        return self.bound_s / self.measured_s


@dataclass(frozen=True, slots=True)
class MeasuredRun:
    """A bench run: the device, the settings, and per batch (or per layer) what was measured."""

    command: str  # which bench output it is: "bench --json" or "bench --per-layer --json"
    device: str
    device_name: str
    dtype: str
    mode: str
    settings: tuple[tuple[str, bool | str], ...]
    peak: RunPeak
    memory_measure: str | None = None
    batches: tuple[RunBatch, ...] = ()
    layer_batch: int | None = None  # the batch size each layer was timed at (per-layer only)
    layers: tuple[RunLayer, ...] = ()


class _Fields:
    """Typed reads of one JSON object's keys; each failure is one bad_measured naming the path."""

    def __init__(self, data: Any, where: str, file: str) -> None:
        if not isinstance(data, dict):
            raise refused(where or "the top level", f"must be an object, got {json_type(data)}", file)
        self.data, self.where, self.file = data, where, file

    def _get(self, key: str) -> Any:
        if key not in self.data:
            what = f"is missing: bench's JSON has `{key}` in {self.where or 'its top level'}"
            raise refused(json_path(self.where, key), what, self.file)
        return self.data[key]

    def _bad(self, key: str, want: str) -> Exception:
        value = self.data[key]
        return refused(json_path(self.where, key), f"must be {want}, got {json_type(value)}", self.file)

    def text(self, key: str, choices: tuple[str, ...] = ()) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise self._bad(key, "a string")
        if len(value) > MAX_RUN_TEXT:
            what = f"is {len(value):,} characters long; bench writes a name or a sentence (at most {MAX_RUN_TEXT:,})"
            raise refused(json_path(self.where, key), what, self.file)
        if choices and value not in choices:
            what = f"is {shown(value)}, but bench writes one of {', '.join(choices)}"
            raise refused(json_path(self.where, key), what, self.file)
        return value

    def flag(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            raise self._bad(key, "true or false")
        return value

    def count(self, key: str, least: int = 0) -> int:
        """An integer of at least `least` (a float, even 2.0, is refused: bench writes counts exactly)."""
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(key, f"an integer of at least {least}")
        if value < least:
            what = f"is {shown(value)}, but " + (
                "a count is never negative" if least == 0 else f"bench writes at least {least}"
            )
            raise refused(json_path(self.where, key), what, self.file)
        return value

    def number(self, key: str, positive: bool = False, want: str = "a number") -> float:
        """A number (finite and bounded: measured.py read it), never negative; positive if asked."""
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._bad(key, want)
        if value < 0 or (positive and value == 0):
            least = "positive" if positive else "never negative"
            raise refused(
                json_path(self.where, key), f"is {shown(value)}, but this measured figure is {least}", self.file
            )
        return float(value)

    def number_or_null(self, key: str, positive: bool = False) -> float | None:
        """As number, or null: what bench writes where it has no figure (a device without a peak)."""
        return None if self._get(key) is None else self.number(key, positive, "a number or null")

    def items(self, key: str) -> list[tuple[str, Any]]:
        """A non-empty list's entries, each with its JSON path."""
        value = self._get(key)
        if not isinstance(value, list):
            raise self._bad(key, "a list")
        if not value:
            raise refused(json_path(self.where, key), "is empty: bench writes one entry per measurement", self.file)
        return [(json_path(json_path(self.where, key), i), entry) for i, entry in enumerate(value)]


def step_macs(analysis: Analysis, train: bool) -> int | None:
    """MACs of one example's step, as bench counts them (training.step_macs), or None when an
    opaque layer leaves them unknown."""
    return None if analysis.opaque_rows else training.step_macs(analysis, train)


def _family(entry: _Fields) -> FamilyPeak:
    return FamilyPeak(
        family=entry.text("family", FAMILIES),
        math=entry.text("math", PEAK_MATHS),
        flops_per_s=entry.number("flops_per_s", positive=True),
        why=entry.text("why"),
    )


def _families(peak: _Fields) -> tuple[FamilyPeak, ...]:
    """Each op family's peak (`peak.families`), each family once; none in a file from before them."""
    if "families" not in peak.data:
        return ()
    out: list[FamilyPeak] = []
    for where, raw in peak.items("families"):
        family = _family(_Fields(raw, where, peak.file))
        if any(f.family == family.family for f in out):
            what = f"names {family.family!r} again: bench writes each op family's peak once"
            raise refused(json_path(where, "family"), what, peak.file)
        out.append(family)
    return tuple(out)


def _peak(top: _Fields) -> RunPeak:
    peak = _Fields(top._get("peak"), json_path(top.where, "peak"), top.file)
    return RunPeak(
        flops_per_s=peak.number_or_null("flops_per_s", positive=True),
        bytes_per_s=peak.number_or_null("bytes_per_s", positive=True),
        source=peak.text("source"),
        families=_families(peak),
    )


def _settings(top: _Fields, required: tuple[str, ...]) -> tuple[tuple[str, bool | str], ...]:
    """The settings the file records: `required` always, the other SETTINGS where present."""
    out: list[tuple[str, bool | str]] = []
    for key, kind in SETTINGS:
        if key in top.data or key in required:
            out.append((key, top.flag(key) if kind is bool else top.text(key)))
    return tuple(out)


def _held(entry: _Fields, key: str, worked_out: float, how: str, positive: bool = False) -> float:
    """A figure bench worked out from the base values, held to the same figure worked out here:
    the file's value within RELATIVE_TOLERANCE of it, or one bad_measured naming both."""
    where, written = json_path(entry.where, key), entry.number(key, positive)
    if not math.isfinite(worked_out):
        raise refused(where, f"is {how}, past any float: not a figure to show", entry.file)
    if abs(written - worked_out) > RELATIVE_TOLERANCE * abs(worked_out):
        what = f"is {written!r}, but {how} is {worked_out!r}: bench writes the figure its base values give"
        raise refused(where, what, entry.file)
    return worked_out


def _share(entry: _Fields, flops: int, seconds: float, bound: float | None, peak: RunPeak) -> float | None:
    """`achieved_over_peak` as bench works it out: the compute bound over the median, or in a file
    from before compute_bound_s the achieved FLOP/s over its one peak; null where neither is known."""
    key = "achieved_over_peak"
    if bound is not None:
        return _held(entry, key, bound / seconds, "compute_bound_s / (median_ms / 1e3)")
    if peak.flops_per_s is not None:
        return _held(entry, key, flops / seconds / peak.flops_per_s, "flops / (median_ms / 1e3) / peak.flops_per_s")
    written = entry.number_or_null(key)
    if written is not None:
        what = f"is {written!r}, but there is neither compute_bound_s nor peak.flops_per_s: bench writes null"
        raise refused(json_path(entry.where, key), what, entry.file)
    return None


def _each_with_a_peak(split: dict[str, int], peak: RunPeak, where: str, file: str) -> None:
    """Every family with FLOPs has a peak in `peak.families` (a file without them: nothing to hold)."""
    peaks = {f.family for f in peak.families}
    for family, work in split.items():
        if work and peaks and family not in peaks:
            raise refused(json_path(where, family), f"names {shown(family)}, which has no peak in peak.families", file)


def _compute_bound(entry: _Fields, flops: int, peak: RunPeak, static: dict[str, int] | None) -> float | None:
    """`compute_bound_s` (None in a file from before it), held to bench's formula
    (peaks.compute_seconds: each op family's FLOPs at its own peak). The split by family is the
    file's `flops_by_family` (each family with a peak, summing to `flops`; where `flops` is the
    spec's, the spec's own split exactly) or, where the file has none, the spec's (`static`: None
    when an opaque layer leaves it unknown) if `flops` is the spec's. A file without per-family
    peaks (older than them), or whose FLOPs are not the spec's (shown as a mismatch), has its
    figure range-checked only."""
    if "compute_bound_s" not in entry.data:
        return None
    where = json_path(entry.where, "flops_by_family")
    split: dict[str, int] | None = None
    if "flops_by_family" in entry.data:
        fields = _Fields(entry.data["flops_by_family"], where, entry.file)
        split = {family: fields.count(family) for family in fields.data}
        _each_with_a_peak(split, peak, where, entry.file)
        if sum(split.values()) != flops:
            what = f"sums to {sum(split.values()):,}, but flops is {flops:,}: bench splits the same FLOPs"
            raise refused(where, what, entry.file)
        known = {f: n for f, n in (static or {}).items() if n}
        if static is not None and sum(known.values()) == flops and {f: n for f, n in split.items() if n} != known:
            raise refused(where, f"is {split}, but the spec's step splits its FLOPs {known}", entry.file)
    elif static is not None and sum(static.values()) == flops:
        split = static
    if split is None or not peak.families:
        return entry.number("compute_bound_s")
    _each_with_a_peak(split, peak, where, entry.file)
    bound = compute_seconds(split, Peaks(name="", source=peak.source, bytes_per_s=0.0, families=peak.families))
    return _held(entry, "compute_bound_s", bound, "the FLOPs by op family, each at its family's peak")


def _batch(entry: _Fields, macs: int | None, family_macs: dict[str, int] | None, peak: RunPeak) -> RunBatch:
    batch = entry.count("batch", least=1)
    median, p95 = entry.number("median_ms", True), entry.number("p95_ms", True)
    if p95 < median:
        what = f"is {p95:g}, under the median {median:g}: a 95th percentile is at least the median"
        raise refused(json_path(entry.where, "p95_ms"), what, entry.file)
    flops = entry.count("flops")
    seconds = median / 1e3
    static = None if family_macs is None else {f: 2 * m * batch for f, m in family_macs.items()}
    bound = _compute_bound(entry, flops, peak, static)
    # bench's definitions (throughput/run.py BatchResult), worked out again from the base values
    images_per_s = _held(entry, "images_per_s", batch / seconds, "batch / (median_ms / 1e3)", positive=True)
    tflops = _held(entry, "achieved_tflops", flops / seconds / 1e12, "flops / (median_ms / 1e3) / 1e12")
    share = _share(entry, flops, seconds, bound, peak)
    return RunBatch(
        batch=batch,
        iters=entry.count("iters", least=1),
        median_ms=median,
        p95_ms=p95,
        images_per_s=images_per_s,
        achieved_tflops=tflops,
        achieved_over_peak=share,
        peak_memory_bytes=entry.count("peak_memory_bytes"),
        flops=flops,
        static_flops=None if macs is None else 2 * macs * batch,  # bench's convention: 2 FLOPs per MAC
        compute_bound_s=bound,
    )


def _run(top: _Fields, analysis: Analysis) -> MeasuredRun:
    mode = top.text("mode", MODES)
    macs = step_macs(analysis, mode == "train")
    family_macs = None if macs is None else training.step_macs_by_family(analysis, mode == "train")
    peak = _peak(top)
    return MeasuredRun(
        command="bench --json",
        device=top.text("device"),
        device_name=top.text("device_name"),
        dtype=top.text("dtype", tuple(DTYPE_BYTES)),
        mode=mode,
        settings=_settings(top, REQUIRED_SETTINGS),
        peak=peak,
        memory_measure=top.text("memory_measure"),
        batches=tuple(
            _batch(_Fields(entry, where, top.file), macs, family_macs, peak) for where, entry in top.items("batches")
        ),
    )


def _per_layer(top: _Fields, analysis: Analysis) -> tuple[MeasuredRun, tuple[str, ...]]:
    dtype, batch = top.text("dtype", tuple(DTYPE_BYTES)), top.count("batch", least=1)
    rows = {row.path: row for row in analysis.rows}
    seen: set[str] = set()
    layers, unmatched = [], []
    for where, raw in top.items("layers"):
        entry = _Fields(raw, where, top.file)
        path = entry.text("path")
        if path in seen:
            what = f"names {shown(path)} again: bench times each layer once"
            raise refused(json_path(entry.where, "path"), what, top.file)
        seen.add(path)
        row = rows.get(path)
        layer = RunLayer(
            path=path,
            measured_s=entry.number("measured_s", True),
            bound_s=entry.number("bound_s"),
            flops=entry.count("flops"),
            # the roofline's FLOPs, as bench --per-layer writes them: 2 x MACs x batch
            static_flops=None if row is None or row.opaque else traffic(row, dtype, batch).flops,
        )
        if not math.isfinite(layer.efficiency):  # each is finite, their ratio need not be (1e39 / 1e-300)
            what = f"is {layer.measured_s:g}: bound_s / measured_s is past any float, not a figure to show"
            raise refused(json_path(entry.where, "measured_s"), what, top.file)
        if row is None:
            unmatched.append(path)
        else:
            layers.append(layer)
    run = MeasuredRun(
        command="bench --per-layer --json",
        device=top.text("device"),
        device_name=top.text("device_name"),
        dtype=dtype,
        mode="inference",  # --per-layer times inference only (bench refuses it with --train)
        settings=_settings(top, ()),  # bench --per-layer writes none today
        peak=_peak(top),
        layer_batch=batch,
        layers=tuple(layers),
    )
    return run, tuple(unmatched)


def run_from_dict(data: dict[str, Any], analysis: Analysis, file: str) -> tuple[MeasuredRun, tuple[str, ...]]:
    """bench's JSON (is_bench) as a run, and the timed layers not in the spec: `batches` makes it
    `bench --json`'s, `layers` without `batches` `bench --per-layer --json`'s; its `spec` must be
    the report's (as the report command matches files to specs by that name)."""
    top = _Fields(data, "", file)
    spec = top.text("spec")
    if spec != analysis.spec.name:
        what = f"is {shown(spec)}, but this report is of {analysis.spec.name!r}"
        raise refused("spec", what, file, hint="report the spec that was benchmarked, or bench this one")
    if "batches" in data:
        return _run(top, analysis), ()
    if "layers" in data:
        return _per_layer(top, analysis)
    raise refused(
        "the top level",
        "has device_name and peak, as bench's JSON, but neither `batches` (bench --json) nor `layers` "
        "(bench --per-layer --json)",
        file,
    )
