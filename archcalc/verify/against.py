"""Hold a spec against a model someone wrote (`verify --against`): the spec built in torch and the
target run on the same seeded input, then compared row by row with the target's modules.

A row is paired with the target's module of the same path, `.` and `_` alike (the importer joins
path steps with `_` where it splices a module: row `lateral_3` is module `lateral.3`); then a module
called more than once: row `relu_1` is its second call. The rows left that hold tensors pair, in execution order, with the
target's tensor-holding modules left. A row of a kind that works on channels-last data in the
target (`layernorm`, `channel_linear` between permutes) matches an output with its channels moved
last (`layout: channels-last`). Each pair compares the output shape, each parameter's
shape, the parameter and buffer counts and fvcore's MACs (fvcore on both sides, same convention).
Runs the target's code (SECURITY.md). torch and fvcore are imported inside functions.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from ..analysis import Analysis, Row
from .verification import FAIL, OK, Cell, compare

CHECKS = ("shape", "param_shapes", "params", "buffers", "macs")
# what each check is called in messages
CHECK_NAMES = {
    "shape": "output shape",
    "param_shapes": "parameter shapes",
    "params": "parameters",
    "buffers": "buffer elements",
    "macs": "MACs (fvcore)",
    "layer": "layer",
}
SEED = 0  # the one input both models see: torch.manual_seed(SEED), then randn
_CALL = re.compile(r"^(.*)_([0-9]+)$")
# kinds a spec writes channels-first that a target may run on channels-last data (between permutes)
CHANNELS_LAST_KINDS = frozenset({"layernorm", "channel_linear"})
CHANNELS_LAST = "channels-last"
ParamShapes = tuple[tuple[str, tuple[int, ...]], ...]  # each parameter's last name and shape


@dataclass(frozen=True, slots=True)
class Pair:
    """A spec row and the target's module it was held against (`module` None: none found)."""

    row: str
    kind: str
    module: str | None
    module_type: str
    call: int  # which call of the module (0: the first)
    matched_by: str  # "name", "order" or "" (unpaired)
    where: str  # the row's spec file:line:column, or ""
    cells: dict[str, Cell]
    layout: str = ""  # "channels-last": the target's output is the row's with channels moved last


@dataclass(frozen=True, slots=True)
class Divergence:
    """One difference: the row (or "" for a module of the target no row names), the target's
    module (or "" for a row the target lacks; both "" for the whole network's totals), which check
    (`layer`: the layer itself is missing on one side), and both sides."""

    row: str
    kind: str
    module: str
    module_type: str
    check: str
    spec: Any
    target: Any
    where: str

    def text(self) -> str:
        """One line: where, which layer on each side, what differs, both values."""
        if not self.row and not self.module:
            subject = "the whole network"
        elif not self.module:
            subject = f"layer '{self.row}' ({self.kind}) has no counterpart in the target"
        elif not self.row:
            subject = f"the target's module '{self.module}' ({self.module_type}) has no row in the spec"
        else:
            subject = f"layer '{self.row}' ({self.kind}) vs the target's '{self.module}' ({self.module_type})"
        detail = ""
        if self.check == "param_shapes":  # a layer without parameters on one side: `none`
            detail = (
                f": {CHECK_NAMES[self.check]}: spec {_shown(self.spec or None)} vs target {_shown(self.target or None)}"
            )
        elif self.check != "layer":
            detail = f": {CHECK_NAMES[self.check]}: spec {_shown(self.spec)} vs target {_shown(self.target)}"
        return (f"{self.where}: " if self.where else "") + subject + detail


@dataclass(frozen=True, slots=True)
class AgainstResult:
    """The verdict on one spec against one target."""

    spec: str
    target: str
    input_shape: tuple[int, ...]
    batch: int
    pairs: list[Pair]
    divergences: list[Divergence]  # in execution order: the first is the first place they differ
    totals: dict[str, Cell]

    @property
    def ok(self) -> bool:
        return not self.divergences

    def counts(self) -> dict[str, int]:
        """Rows paired by name and in order, rows left unpaired, and the checks done and failed."""
        cells = [c for pair in self.pairs for c in pair.cells.values()] + list(self.totals.values())
        return {
            "rows": len(self.pairs),
            "by_name": sum(p.matched_by == "name" for p in self.pairs),
            "in_order": sum(p.matched_by == "order" for p in self.pairs),
            "unpaired": sum(not p.matched_by for p in self.pairs),
            "checks": len(cells),
            "failed": sum(c.status == FAIL for c in cells),
            "divergences": len(self.divergences),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "target": self.target,
            "input_shape": list(self.input_shape),
            "batch": self.batch,
            "ok": self.ok,
            "summary": self.counts(),
            "divergences": [{**asdict(d), "message": d.text()} for d in self.divergences],
            "pairs": [
                {
                    "row": p.row,
                    "kind": p.kind,
                    "module": p.module,
                    "module_type": p.module_type,
                    "call": p.call,
                    "matched_by": p.matched_by or None,
                    "where": p.where,
                    "layout": p.layout or None,
                    **{k: asdict(c) for k, c in p.cells.items()},
                }
                for p in self.pairs
            ],
            "totals": {k: asdict(c) for k, c in self.totals.items()},
        }


def _shown(value: Any) -> str:
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):  # parameter shapes
        return ", ".join(f"{name} {_shown(shape)}" for name, shape in value)
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "none" if value is None else str(value)


def _out_shape(output: Any) -> tuple[int, ...] | None:
    """The shape without the batch dimension of a module's (first) output tensor."""
    if hasattr(output, "shape"):
        return tuple(output.shape[1:])
    values = output.values() if isinstance(output, dict) else output if isinstance(output, (list, tuple)) else ()
    for value in values:
        shape = _out_shape(value)
        if shape is not None:
            return shape
    return None


def _output_shapes(output: Any) -> list[tuple[int, ...]]:
    """The shape without the batch of every tensor a model returns (in a tuple, list or dict)."""
    if hasattr(output, "shape"):
        return [tuple(output.shape[1:])]
    values = output.values() if isinstance(output, dict) else output if isinstance(output, (list, tuple)) else ()
    return [shape for value in values for shape in _output_shapes(value)]


def _outputs_compared(analysis: Analysis, output: Any) -> Cell:
    """The network's output shape held to the target's; a spec and a target that return different
    numbers of tensors (`outputs:` of two, a model returning one) compare as the lists of them, so
    the extra ones are not left unchecked behind an agreeing first."""
    ours = [list(shape) for shape in analysis.output_shapes]
    theirs = [list(shape) for shape in _output_shapes(output)]
    if len(ours) == 1 and len(theirs) <= 1:
        return compare(analysis.output_shape, _out_shape(output))
    return compare(ours, theirs)


def _run(model: Any, x: Any) -> tuple[dict[str, list[tuple[int, ...] | None]], dict[str, int], Any]:
    """Run `model` on `x`: each module's output shape per call, the order of each module's first
    call (its forward's end), and the model's output."""
    import torch

    shapes: dict[str, list[tuple[int, ...] | None]] = {}
    order: dict[str, int] = {}

    def hook(name: str) -> Any:
        def record(module: Any, inputs: Any, output: Any) -> None:
            shapes.setdefault(name, []).append(_out_shape(output))
            order.setdefault(name, len(order))

        return record

    handles = [m.register_forward_hook(hook(name)) for name, m in model.named_modules() if name]
    try:
        with torch.no_grad():
            output = model(x)
    finally:
        for handle in handles:
            handle.remove()
    return shapes, order, output


def _holds_tensors(module: Any) -> bool:
    return any(True for _ in module.parameters(recurse=False)) or any(True for _ in module.buffers(recurse=False))


def _holds(row: Row) -> bool:
    """Whether a row holds parameters or buffers: the rows paired in order."""
    return row.params + row.buffers + row.counters > 0


def _numel(tensors: Any) -> int:
    return sum(t.numel() for t in {id(t): t for t in tensors}.values())


def _param_shapes(module: Any, recurse: bool = True) -> ParamShapes:
    """Each parameter's last name and shape, in registration order: a row the builder makes of
    several modules (a SAME-padded conv is a pad and a conv) names `1.weight` what the target's
    plain Conv2d names `weight`."""
    return tuple((name.rpartition(".")[2], tuple(p.shape)) for name, p in module.named_parameters(recurse=recurse))


def _unnamed(shapes: ParamShapes) -> ParamShapes:
    """Parameter shapes without their names: a row paired in order pairs with a module whose
    attribute names the spec cannot know (a block's own `gamma` for the spec's layer_scale `scale`)."""
    return tuple(("", shape) for _, shape in shapes)


def _broadcast_last(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A per-channel shape written channels-first (`[C, 1, 1]`) as the channels-last tensor it
    broadcasts against reads it (`[C]`): channels moved last, leading ones dropped."""
    moved = list(_channels_last(shape) or ())
    while moved and moved[0] == 1:
        moved.pop(0)
    return tuple(moved)


def _param_cell(ours: ParamShapes, theirs: ParamShapes, region: bool) -> tuple[Cell, str]:
    """The parameter shapes check and the layout it held in: in a channels-last `region` a
    per-channel `[C, 1, 1]` matches the target's `[C]` (ConvNeXt's reference `gamma`)."""
    cell = compare(ours, theirs)
    if cell.status != FAIL or not region:
        return cell, ""
    moved = tuple((name, shape if len(shape) < 3 else _broadcast_last(shape)) for name, shape in ours)
    if moved == theirs:
        return Cell(status=OK, ours=ours, theirs=theirs, note=CHANNELS_LAST), CHANNELS_LAST
    return cell, ""


def _own_macs(name: str, module: Any, macs: dict[str, int]) -> int:
    """fvcore's MACs of a module's own operations: its count less its children's (a block that
    holds a tensor itself, paired in order with the row of that tensor)."""
    children = sum(macs.get(f"{name}.{child}" if name else child, 0) for child, _ in module.named_children())
    return macs.get(name, 0) - children


def _flat(path: str) -> str:
    return path.replace(".", "_")


def _flat_names(modules: dict[str, Any]) -> dict[str, str]:
    """Each module path with `.` read as `_`, kept only where one module has it: two modules that
    read alike pair with no row by this rule (an ambiguous pair is worse than an order pair)."""
    seen: dict[str, list[str]] = {}
    for name in modules:
        seen.setdefault(_flat(name), []).append(name)
    return {flat: names[0] for flat, names in seen.items() if len(names) == 1}


def _module_named(path: str, modules: dict[str, Any], flat: dict[str, str]) -> str | None:
    """The module of exactly this path, else the one module whose path reads as it with `.` as `_`."""
    return path if path in modules else flat.get(_flat(path))


def _by_name(path: str, modules: dict[str, Any], flat: dict[str, str]) -> tuple[str, int] | None:
    """The target module a row path names and which call: the path itself (`.` and `_` alike:
    `lateral_3` is `lateral.3`) before the call suffix: `layer1.0.relu_2` is the third call of
    `layer1.0.relu` where the target has no module of that name."""
    module = _module_named(path, modules, flat)
    if module is not None:
        return module, 0
    match = _CALL.match(path)
    if match:
        module = _module_named(match.group(1), modules, flat)
        if module is not None:
            return module, int(match.group(2))
    return None


def _channels_last(shape: tuple[int, ...] | None) -> tuple[int, ...] | None:
    return None if not shape else (*shape[1:], shape[0])


def _may_be_channels_last(row: Row, previous: Row | None, layout: str) -> bool:
    """Whether the target may hold this row's data channels-last: the row's kind works on
    channels-last data, or it keeps the shape of the row before it, found channels-last (the GELU
    and the layer scale after a ConvNeXt block's Linears)."""
    return row.kind in CHANNELS_LAST_KINDS or (
        layout == CHANNELS_LAST and previous is not None and previous.out_shape == row.out_shape
    )


def _shape_cell(row: Row, theirs: tuple[int, ...] | None, region: bool) -> tuple[Cell, str]:
    """The output shape check and the layout it held in: the row's shape is written channels-first,
    and matches the target's output with the channels last in a channels-last `region`."""
    ours = row.out_shape
    if region and ours != theirs and theirs is not None and _channels_last(ours) == theirs:
        return Cell(status=OK, ours=ours, theirs=theirs, note=CHANNELS_LAST), CHANNELS_LAST
    return compare(ours, theirs), ""


def _inside(name: str, covered: set[str]) -> bool:
    """Whether module `name` is one of `covered` or lies inside one."""
    return any(name == c or name.startswith(c + ".") for c in covered)


def _fvcore(model: Any, x: Any) -> tuple[dict[str, int], int, str]:
    """fvcore's MACs per module and in all, or an empty count and why fvcore could not run."""
    from .counters import fvcore_analysis

    try:
        analysis = fvcore_analysis(model, x)
        return dict(analysis.by_module()), int(analysis.total()), ""
    except Exception as err:  # a model fvcore cannot trace is reported, not hidden
        return {}, 0, f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"


def _where(analysis: Analysis, row: Row) -> str:
    source = analysis.spec._source
    if source is None:
        return ""
    position = source.locate(row.loc)
    return f"{source.file}:{position.line}:{position.column}" if position else str(source.file)


def verify_against(analysis: Analysis, target: Any, target_text: str, batch: int = 2) -> AgainstResult:
    """Build the analysed spec, run it and `target` (an nn.Module) on one seeded input in eval
    mode, and compare them row by row (module docstring). Runs the target's code."""
    from ..importing.target import model_too_deep

    try:
        return _verify_against(analysis, target, target_text, batch)
    except RecursionError:  # torch's own walks of the module tree (.eval(), named_modules())
        raise model_too_deep() from None


def _verify_against(analysis: Analysis, target: Any, target_text: str, batch: int) -> AgainstResult:
    import torch

    from .build import build_model

    spec = analysis.spec.with_input(analysis.input_shape)
    ours = build_model(spec).eval()
    theirs = target.eval()
    torch.manual_seed(SEED)
    x = torch.randn(batch, *analysis.input_shape)
    try:
        their_shapes, their_order, their_output = _run(theirs, x)
    except Exception as err:
        raise _run_failed(err, target_text, analysis.input_shape) from None
    our_macs, our_total, our_error = _fvcore(ours, x)
    their_macs, their_total, fvcore_error = _fvcore(theirs, x)

    our_modules = dict(ours.named_modules())
    their_modules = dict(theirs.named_modules())
    # pair by name first
    named: dict[str, tuple[str, int]] = {}
    flat = _flat_names(their_modules)
    for row in analysis.rows:
        found = _by_name(row.path, their_modules, flat)
        if found is not None and found[0]:
            named[row.path] = found
    covered = {module for module, _ in named.values()}
    # then the rows holding tensors with the target's tensor-holding modules left, in call order
    left_rows = [r for r in analysis.rows if r.path not in named and _holds(r)]
    left_modules = sorted(
        (n for n, m in their_modules.items() if n and _holds_tensors(m) and not _inside(n, covered)),
        key=lambda n: their_order.get(n, len(their_order)),
    )
    ordered = dict(zip((r.path for r in left_rows), ((m, 0) for m in left_modules)))
    extra_modules = left_modules[len(left_rows) :]

    # the MACs of a module called several times are fvcore's sum over its calls: held against the rows' sum
    our_sum: dict[str, int] = {}
    for path, (module, _) in named.items():
        our_sum[module] = our_sum.get(module, 0) + our_macs.get(path, 0) // batch

    pairs: list[Pair] = []
    # (the target's call order, the row's index): the first divergence is the first in execution
    timeline: list[tuple[tuple[float, int], Divergence]] = []
    last = -1.0
    layout = ""  # the layout the row before was found in
    for index, row in enumerate(analysis.rows):
        previous = analysis.rows[index - 1] if index else None
        where = _where(analysis, row)
        found = named.get(row.path) or ordered.get(row.path)
        if found is None:
            layout = ""
            pairs.append(Pair(row.path, row.kind, None, "", 0, "", where, {}))
            if _holds(row):  # a weight layer the target lacks
                missing = Divergence(row.path, row.kind, "", "", "layer", None, None, where)
                timeline.append(((last, index), missing))
            continue
        module_name, call = found
        module = their_modules[module_name]
        calls = their_shapes.get(module_name, [])
        region = _may_be_channels_last(row, previous, layout)
        shape_cell, layout = _shape_cell(row, calls[call] if call < len(calls) else None, region)
        cells = {"shape": shape_cell}
        if call == 0:
            # a name pair holds the module's whole subtree; an order pair its own tensors (its
            # children holding tensors pair with rows of their own)
            whole = row.path in named
            built = our_modules.get(row.path)
            mine_shapes = _param_shapes(built) if built is not None else ()
            their_param_shapes = _param_shapes(module, recurse=whole)
            if not whole:
                mine_shapes, their_param_shapes = _unnamed(mine_shapes), _unnamed(their_param_shapes)
            if not row.opaque:  # an opaque stand-in holds one flat tensor and computes nothing: counts only
                cells["param_shapes"], param_layout = _param_cell(mine_shapes, their_param_shapes, region)
                layout = layout or param_layout
            cells["params"] = compare(row.params, _numel(module.parameters(recurse=whole)))
            cells["buffers"] = compare(row.buffers + row.counters, _numel(module.buffers(recurse=whole)))
            if not (fvcore_error or our_error or row.opaque):
                if whole:
                    mine, theirs_macs = our_sum[module_name], their_macs.get(module_name, 0)
                else:
                    mine, theirs_macs = our_macs.get(row.path, 0) // batch, _own_macs(module_name, module, their_macs)
                cells["macs"] = compare(mine, theirs_macs // batch)
        pairs.append(
            Pair(
                row.path,
                row.kind,
                module_name,
                type(module).__name__,
                call,
                _how(row.path, named),
                where,
                cells,
                layout,
            )
        )
        last = float(their_order.get(module_name, len(their_order)))
        for check in CHECKS:
            cell = cells.get(check)
            if cell is not None and cell.status == FAIL:
                diverged = Divergence(
                    row.path, row.kind, module_name, type(module).__name__, check, cell.ours, cell.theirs, where
                )
                timeline.append(((last, index), diverged))
    for name in extra_modules:  # tensors of the target no row holds
        extra = Divergence("", "", name, type(their_modules[name]).__name__, "layer", None, None, "")
        timeline.append(((float(their_order.get(name, len(their_order))), -1), extra))

    totals = {
        "shape": _outputs_compared(analysis, their_output),
        "params": compare(analysis.totals.params, _numel(theirs.parameters())),
        "buffers": compare(analysis.totals.buffers + analysis.totals.counters, _numel(theirs.buffers())),
    }
    # a target (or a built spec) fvcore cannot count is a failed check, not a skipped one: the MACs are
    # not known to agree; a spec with opaque layers has no MACs total to hold (unknown, not 0)
    if not analysis.opaque_rows:
        totals["macs"] = compare(
            f"fvcore failed on the spec: {our_error}" if our_error else our_total // batch,
            f"fvcore failed: {fvcore_error}" if fvcore_error else their_total // batch,
        )
    for check, cell in totals.items():
        if cell.status == FAIL:
            timeline.append(((float("inf"), 0), Divergence("", "", "", "", check, cell.ours, cell.theirs, "")))
    timeline.sort(key=lambda item: item[0])
    return AgainstResult(
        spec=analysis.spec.name,
        target=target_text,
        input_shape=analysis.input_shape,
        batch=batch,
        pairs=pairs,
        divergences=[d for _, d in timeline],
        totals=totals,
    )


def _how(path: str, named: dict[str, tuple[str, int]]) -> str:
    return "name" if path in named else "order"


def _run_failed(err: Exception, target_text: str, shape: tuple[int, ...]) -> Exception:
    """The target (or the built spec) could not run on the spec's input: one message, no traceback."""
    from ..errors import SpecError

    message = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return SpecError(
        "target_raised",
        f"running {target_text} on the spec's input {list(shape)} raised {type(err).__name__}"
        + (f": {message}" if message else ""),
        hint="the spec's input (or --input) must be a shape the target accepts",
    )
