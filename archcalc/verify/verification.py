"""Hold a spec's analysis against the real thing: build it in torch, run a small batch, and
compare per layer output shapes, parameters and buffers (by tensor identity), MACs with fvcore
and FLOPs with torch.utils.flop_counter. A difference a counter's named convention explains is
reported with both numbers, not as a failure; any other difference is a failure.

The run happens where a `Placement` says (placement.py: CPU or CUDA, fp32, bf16 or fp16); every
count is of shapes and tensor sizes, so none depends on it (tests/test_verify_device.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from ..analysis import Analysis, Row
from ..conventions import PRESETS, Convention
from ..errors import SpecError, out_of_memory
from . import MissingExtra, require
from .placement import CPU_FP32, Placement

OK, CONVENTION, FAIL = "ok", "convention", "fail"
COLUMNS = ("shape", "params", "buffers", "macs", "flops")
# which counter checks which column, and the convention it follows
COUNTER_OF = {"macs": ("fvcore", PRESETS["fvcore"]), "flops": ("torch", PRESETS["torch"])}


@dataclass(frozen=True, slots=True)
class Cell:
    """One comparison: archcalc's number, the other side's, and why they may differ."""

    status: str
    ours: Any
    theirs: Any
    note: str = ""


def compare(ours: Any, theirs: Any, expected: Any = None, note: str = "") -> Cell:
    """ok when equal; `convention` when they differ exactly as the named convention predicts."""
    if ours == theirs:
        return Cell(status=OK, ours=ours, theirs=theirs)
    if expected is not None and expected == theirs:
        return Cell(status=CONVENTION, ours=ours, theirs=theirs, note=note)
    return Cell(status=FAIL, ours=ours, theirs=theirs, note=f"expected {expected}" if expected is not None else "")


@dataclass(frozen=True, slots=True)
class LayerVerdict:
    path: str
    kind: str
    cells: dict[str, Cell]


@dataclass(frozen=True, slots=True)
class Verification:
    """The verdict on one spec."""

    spec: str
    input_shape: tuple[int, ...]
    batch: int
    layers: list[LayerVerdict]
    totals: dict[str, Cell]
    skipped_ops: dict[str, int] = field(default_factory=dict)  # fvcore: ops it counted as 0
    error: str | None = None
    placement: Placement = CPU_FP32

    @property
    def failures(self) -> int:
        return self.marks()[FAIL] + (1 if self.error else 0)

    @property
    def conventions(self) -> int:
        return sum(c.status == CONVENTION for layer in self.layers for c in layer.cells.values())

    def marks(self) -> Counter[str]:
        """How many cells, the layers' and the totals', have each status (ok, convention, fail)."""
        cells = [c for layer in self.layers for c in layer.cells.values()] + list(self.totals.values())
        return Counter(c.status for c in cells)

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "input_shape": list(self.input_shape),
            "batch": self.batch,
            "device": self.placement.device,
            "device_name": self.placement.device_name,
            "dtype": self.placement.dtype,
            "error": self.error,
            "ok": self.failures == 0,
            "failures": self.failures,
            "convention_differences": self.conventions,
            "layers": [
                {"path": lc.path, "kind": lc.kind, **{k: asdict(c) for k, c in lc.cells.items()}} for lc in self.layers
            ],
            "totals": {k: asdict(c) for k, c in self.totals.items()},
            "skipped_ops": {"fvcore": self.skipped_ops},
        }


def _explain(convention: Convention, row: Row) -> str:
    terms = {k: v for k, v in convention.terms(row).items() if not k.startswith("MACs")}
    return f"{convention.name}: " + ", ".join(f"+{v:,} {k}" for k, v in terms.items()) if terms else ""


def _unique_numel(tensors: Any) -> int:
    return sum(t.numel() for t in {id(t): t for t in tensors}.values())


def _row_holding(path: str, rows: set[str]) -> str | None:
    """The row path that is `path` or holds it (`c3.maps.0` is inside row `c3`), if any."""
    while path not in rows and "." in path:
        path = path.rsplit(".", 1)[0]
    return path if path in rows else None


def module_mismatches(analysis: Analysis, model: Any) -> list[str]:
    """How the built module differs from the analysed spec; empty when it equals it.

    Equal means: every row path is unique and names its own module of `model` (no two rows share
    one, no row's module holds another row's); every other module is a container on the way to
    rows, a part inside one row's module or an empty path (an identity shortcut); each row's
    module holds exactly the row's parameters and buffers, and every tensor of the model lies in
    one row's module. A name collision that made one module replace another (a merge named like
    a layer) breaks the first rule.
    """
    problems = []
    paths = [row.path for row in analysis.rows]
    rows = set(paths)
    if len(rows) != len(paths):
        shared = [path for path, n in Counter(paths).items() if n > 1]
        problems.append(f"rows share a path: {', '.join(shared[:5])}")
    containers = {path[:i] for path in rows for i, c in enumerate(path) if c == "."}
    modules = dict(model.named_modules(remove_duplicate=False))
    owners: dict[int, Row] = {}
    for row in analysis.rows:
        module = modules.get(row.path)
        if module is None:
            problems.append(f"row '{row.path}' ({row.kind}) has no module")
            continue
        owner = owners.setdefault(id(module), row)
        if owner is not row:
            problems.append(f"rows '{owner.path}' ({owner.kind}) and '{row.path}' ({row.kind}) are one module")
        if row.path in containers:
            problems.append(f"row '{row.path}' ({row.kind}) holds other rows' modules")
        params = _unique_numel(module.parameters())
        buffers = _unique_numel(module.buffers())
        if (params, buffers) != (row.params, row.buffers + row.counters):
            problems.append(
                f"row '{row.path}' ({row.kind}): the analysis has {row.params:,} parameters and "
                f"{row.buffers + row.counters:,} buffer elements, its module {params:,} and {buffers:,}"
            )
    for name, module in modules.items():
        identity = type(module).__name__ == "Sequential" and not module._modules  # an empty path: shortcut, branch
        if name and not identity and name not in containers and _row_holding(name, rows) is None:
            problems.append(f"module '{name}' ({type(module).__name__}) is no row's")
    for name, _ in [*model.named_parameters(remove_duplicate=False), *model.named_buffers(remove_duplicate=False)]:
        if _row_holding(name.rpartition(".")[0], rows) is None:
            problems.append(f"tensor '{name}' lies outside every row's module")
    return problems


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0]}" if text else type(err).__name__


def _cannot_run(analysis: Analysis, row: Row | None, placement: Placement, err: BaseException) -> SpecError:
    """torch has no kernel for an op of `row` on the placement's device at its dtype: one error
    naming the layer (with its spec line) and torch's own words, which name the op."""
    where, position = None, None
    source = analysis.spec._source
    if source is not None and row is not None:
        where, position = str(source.file), source.locate(row.loc)
    if placement.dtype != "fp32":
        hint = "--dtype fp32 runs every layer kind" + (
            "; CUDA has half-precision kernels the CPU lacks (--device cuda)" if placement.device == "cpu" else ""
        )
    else:
        hint = "--device cpu --dtype fp32 runs every layer kind"
    return SpecError(
        "unsupported_on_device",
        f"torch cannot run it on {placement.device_name} at {placement.dtype}: {_first_line(err)}",
        loc=row.loc if row is not None else (),
        layer=f"{row.path} ({row.kind})" if row is not None else analysis.spec.name,
        hint=hint,
        file=where,
        position=position,
    )


def verify_analysis(analysis: Analysis, batch: int = 2, placement: Placement = CPU_FP32) -> Verification:
    """Build the analysed spec in torch, run it where `placement` says, and compare every row and
    the totals. A layer torch cannot run there at that dtype raises SpecError naming it."""
    torch = require("torch", "archcalc verify")
    from torch.utils.flop_counter import FlopCounterMode

    from .build import build_model
    from .counters import fvcore_analysis

    spec = analysis.spec.with_input(analysis.input_shape)
    model = placement.place(torch, build_model(spec).eval())
    modules = dict(model.named_modules())
    shapes: dict[str, tuple[int, ...]] = {}
    running: list[str] = []  # rows whose forward began and has not ended: the last one is where a run fails
    rows_by_path = {row.path: row for row in analysis.rows}

    def ended(path: str, output: Any) -> None:
        shapes[path] = tuple(output.shape[1:])
        running.pop()

    handles = [
        hook
        for path in rows_by_path
        if path in modules
        for hook in (
            modules[path].register_forward_pre_hook(lambda m, i, path=path: running.append(path)),
            modules[path].register_forward_hook(lambda m, i, o, path=path: ended(path, o)),
        )
    ]
    x = placement.example(torch, batch, analysis.input_shape)
    try:
        with FlopCounterMode(display=False) as flop_counter, torch.no_grad():
            model(x)
        placement.synchronize()
    except (NotImplementedError, RuntimeError) as err:
        # no kernel for an op on this device at this dtype: CPU's NotImplementedError, cuDNN's and CUDA's
        # RuntimeErrors (no engine, no kernel image; some only at the synchronisation). A full device is
        # not that: it goes on to the command's out-of-memory message.
        if out_of_memory(err):
            raise
        raise _cannot_run(analysis, rows_by_path[running[-1]] if running else None, placement, err) from None
    finally:
        for handle in handles:
            handle.remove()
    root = type(model).__name__
    torch_flops = {k: sum(v.values()) for k, v in flop_counter.get_flop_counts().items()}
    try:
        fv = fvcore_analysis(model, x)
        fv_by_module, fv_total, fv_error = fv.by_module(), int(fv.total()), ""
        skipped = dict(fv.unsupported_ops())
    except MissingExtra:
        raise
    except Exception as err:  # fvcore failing (its trace, an op at this dtype) fails the MACs checks, never 0
        fv_by_module, fv_total, fv_error, skipped = {}, 0, f"fvcore failed: {_first_line(err)}", {}

    layers = []
    for row in analysis.rows:
        module = modules.get(row.path)
        if module is None:
            layers.append(
                LayerVerdict(
                    row.path, row.kind, {"shape": Cell(status=FAIL, ours=row.out_shape, theirs=None, note="no module")}
                )
            )
            continue
        cells = {
            "shape": compare(row.out_shape, shapes.get(row.path)),
            "params": compare(row.params, _unique_numel(module.parameters())),
            "buffers": compare(row.buffers + row.counters, _unique_numel(module.buffers())),
        }
        for column, (name, convention) in COUNTER_OF.items():
            ours = row.macs * convention.ops_per_mac
            if name == "fvcore" and fv_error:
                cells[column] = Cell(status=FAIL, ours=ours, theirs=None, note=fv_error)
                continue
            measured = fv_by_module.get(row.path, 0) if name == "fvcore" else torch_flops.get(f"{root}.{row.path}", 0)
            cells[column] = compare(ours, measured // batch, convention.ops(row), _explain(convention, row))
        layers.append(LayerVerdict(row.path, row.kind, cells))

    t = analysis.totals
    totals = {
        "params": compare(t.params, _unique_numel(model.parameters())),
        "trainable": compare(t.trainable_params, _unique_numel(p for p in model.parameters() if p.requires_grad)),
        "buffers": compare(t.buffers + t.counters, _unique_numel(model.buffers())),
        "macs": Cell(status=FAIL, ours=t.macs, theirs=None, note=fv_error)
        if fv_error
        else compare(
            t.macs,
            fv_total // batch,
            sum(PRESETS["fvcore"].ops(r) for r in analysis.rows),
            "fvcore counts batch and group norm, 2-D adaptive average pooling and 2-D upsampling",
        ),
        "flops": compare(t.flops, flop_counter.get_total_flops() // batch),
    }
    problems = module_mismatches(analysis, model)
    error = None
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        error = "the built module is not the analysed spec: " + "; ".join(problems[:5]) + more
    return Verification(
        spec=analysis.spec.name,
        input_shape=analysis.input_shape,
        batch=batch,
        layers=layers,
        totals=totals,
        skipped_ops=skipped,
        error=error,
        placement=placement,
    )


def reconcile(analysis: Analysis) -> list[dict[str, Any]]:
    """Each tool's total on the built module (batch 1, on CPU at fp32: the tools' own defaults,
    whatever verify's placement), archcalc's prediction under the tool's preset, and the named
    terms that separate it from archcalc's MACs."""
    from .build import build_model
    from .counters import COUNTERS

    model = build_model(analysis.spec.with_input(analysis.input_shape)).eval()
    out = []
    for name, counter in COUNTERS.items():
        convention = PRESETS[name]
        terms: dict[str, int] = {}
        for row in analysis.rows:
            for term, value in convention.terms(row).items():
                terms[term] = terms.get(term, 0) + value
        predicted = sum(terms.values())
        try:
            measured: int | None = counter(model, analysis.input_shape)
            error = None
        except Exception as err:  # a tool that cannot run is reported, not hidden
            measured, error = None, f"{type(err).__name__}: {err}"
        out.append(
            {
                "tool": name,
                "device": "cpu",
                "dtype": "fp32",
                "label": convention.ops_label,
                "measured": measured,
                "predicted": predicted,
                "ok": measured == predicted,
                "terms": terms,
                "error": error,
                "vs_archcalc": (measured - analysis.totals.macs) if measured is not None else None,
            }
        )
    return out
