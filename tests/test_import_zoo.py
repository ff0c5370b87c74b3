"""Acceptance of `archcalc import` (issue 16) with the module itself as the oracle: every model of
tests/import_cases.py is imported through the CLI, and the spec's params, buffers, conv and linear
MACs, its totals under `--convention fvcore` and `--convention torch`, and its output shapes must
equal what the module measures; `verify --against` must pass; `export --to torch` of the spec
must build a module with the same parameters under the same state_dict keys, into which the
original weights load.

The default run imports a handful (one per family the importer maps differently, the models of
tests/import_models.py, a refused transformer); the whole torchvision list runs under `slow`,
with the counts checked for every model and the checks that run the model and its export for one
representative of each family (`import_cases.REPRESENTATIVE`); the others are built without
initialising their weights, which no count reads.
Each model is built, measured and imported once (module-scoped fixtures, which pytest runs case
by case), and freed before the next."""

from __future__ import annotations

import runpy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from archcalc import analyze, load_spec
from archcalc.cli import main
from tests.import_oracle import Counts, differences, measure, output_tensors, predict

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from tests.import_cases import BUILT, SUPPORTED, UNSUPPORTED, Case  # noqa: E402  (its models import torch)


def _params(cases: list[Case]) -> list[Any]:
    return [pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.slow else []) for c in cases]


def cli(args: list[str]) -> tuple[int, str]:
    """`archcalc ARGS` in this process: the exit code and what it wrote (stdout and stderr)."""
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, result.output


@dataclass
class Imported:
    """One case, built, measured and imported once: the module, `archcalc import`'s exit code and
    output, and the spec file it wrote."""

    case: Case
    module: Any = field(repr=False)  # a failing assert shows the record: not a whole model
    spec_path: Path
    command: str
    exit_code: int
    output: str = field(repr=False)

    def analysis(self) -> Any:
        assert self.exit_code == 0, f"{self.command} exited {self.exit_code}:\n{self.output}"
        return analyze(load_spec(str(self.spec_path)))


@contextmanager
def importing(case: Case, work_dir: Path, opaque: bool = False, module: Any = None) -> Iterator[Imported]:
    """Build the case's module (unless given), import it through the CLI, and free the module
    afterwards (the tests are grouped by case, so one model is held at a time: the whole list has
    4.5 G params)."""
    module = BUILT[case.id] = module if module is not None else case.build().eval()
    spec_path = work_dir / f"{case.id}{'-opaque' if opaque else ''}.yaml"
    args = ["import", *case.cli_args(), "--input", case.input_text, "-o", str(spec_path), *(["--opaque"] * opaque)]
    exit_code, output = cli(args)
    try:
        yield Imported(case, module, spec_path, "archcalc " + " ".join(args), exit_code, output)
    finally:
        BUILT.pop(case.id, None)


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("import_zoo")


@pytest.fixture(scope="module", params=_params(SUPPORTED))
def imported(request: pytest.FixtureRequest, work_dir: Path, torchvision: Any) -> Iterator[Imported]:
    with importing(request.param, work_dir) as result:
        yield result


@pytest.fixture(scope="module", params=_params(UNSUPPORTED))
def refused(request: pytest.FixtureRequest, work_dir: Path, torchvision: Any) -> Iterator[Imported]:
    with importing(request.param, work_dir) as result:
        yield result


@pytest.fixture(scope="module")
def measured(imported: Imported) -> Counts:
    return measure(imported.module, imported.case.input)


def test_import_counts_equal_the_module(imported, measured):
    diffs = differences(imported.case.id, predict(imported.analysis()), measured)
    assert not diffs, f"{imported.command}\n" + "\n".join(diffs)


def _counts_only(case: Case) -> None:
    """Skip a check that runs the model (or its export) for a slow-list model that is not its
    family's representative (`import_cases.REPRESENTATIVE`: the slow list's time is bounded)."""
    if not case.runs:
        pytest.skip(f"{case.id}: counts only; the running checks are made on its family's representative")


def test_verify_against_the_module_passes(imported):
    _counts_only(imported.case)
    imported.analysis()  # the import itself succeeded
    args = ["verify", str(imported.spec_path), "--against", *imported.case.cli_args(), "--batch", "1", "-q"]
    exit_code, output = cli(args)
    assert exit_code == 0, f"archcalc {' '.join(args)} exited {exit_code}:\n{output}"


def _squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(n for n in shape if n != 1)


def _paired_state(built: Any, original: Any) -> tuple[dict[str, str], list[str]]:
    """The export's state_dict keys paired with the module's, and the problems (a key left over,
    a shape that differs), each with both sides. Paired by name where names line up: the same key,
    else the same with `.` and `_` alike (the flat form writes `layer1.0.conv1` as `layer1_0_conv1`);
    the rest in order with the first key left of the same shape up to 1s (ConvNeXt's gamma,
    `[C]` on a channels-last tensor, is a layer_scale's `[C, 1, 1]`)."""
    ours = {k: tuple(v.shape) for k, v in built.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in original.state_dict().items()}
    alike = {k.replace(".", "_"): k for k in theirs}
    pairs: dict[str, str] = {}
    for k in ours:
        match = k if k in theirs else alike.get(k.replace(".", "_"))
        if match is not None and match not in pairs.values():
            pairs[k] = match
    left = [k for k in theirs if k not in pairs.values()]
    for k in (k for k in ours if k not in pairs):
        match = next((m for m in left if _squeezed(theirs[m]) == _squeezed(ours[k])), None)
        if match is not None:
            pairs[k] = match
            left.remove(match)
    problems = [
        f"{a}: export {ours[a]} vs module {b} {theirs[b]}"
        for a, b in pairs.items()
        if _squeezed(ours[a]) != _squeezed(theirs[b])
    ]
    unpaired = [k for k in ours if k not in pairs]
    if unpaired or left:
        problems.append(
            f"{len(unpaired)} keys only in the export {[(k, ours[k]) for k in unpaired[:8]]}; "
            f"{len(left)} only in the module {[(k, theirs[k]) for k in left[:8]]}"
        )
    return pairs, problems


def test_export_builds_the_same_module(imported, work_dir):
    """`export --to torch` of the imported spec: the same parameter count and state_dict shapes;
    the original weights load into it (`_paired_state`) and it then gives the original's output."""
    _counts_only(imported.case)
    imported.analysis()
    case, original = imported.case, imported.module
    source = work_dir / f"{case.id}_export.py"
    args = ["export", str(imported.spec_path), "--to", "torch", "-o", str(source)]
    exit_code, output = cli(args)
    assert exit_code == 0, f"archcalc {' '.join(args)} exited {exit_code}:\n{output}"
    built = runpy.run_path(str(source))["model"].eval()

    params = (sum(p.numel() for p in built.parameters()), sum(p.numel() for p in original.parameters()))
    assert params[0] == params[1], f"{case.id}: exported params {params[0]:,} vs the module's {params[1]:,}"
    pairs, problems = _paired_state(built, original)
    assert not problems, f"{case.id}: state_dict of the export vs the module:\n" + "\n".join(problems[:20])
    weights = original.state_dict()
    own = built.state_dict()
    built.load_state_dict({k: weights[m].reshape(own[k].shape) for k, m in pairs.items()}, strict=True)
    x = torch.randn(1, *case.input)
    with torch.no_grad():
        want, got = output_tensors(original(x)), output_tensors(built(x))
    assert len(got) == len(want), f"{case.id}: {len(got)} outputs from the export, {len(want)} from the module"
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape, f"{case.id}: output {i}: export {tuple(g.shape)} vs module {tuple(w.shape)}"
        scale = max(1.0, w.abs().max().item())
        assert torch.allclose(g, w, rtol=1e-4, atol=1e-5 * scale), (
            f"{case.id}: output {i} of the export with the module's weights: largest difference "
            f"{(g - w).abs().max().item():.3g} (module's largest value {scale:.3g})"
        )


def test_unsupported_module_is_named(refused):
    """A clean refusal (exit 2, `unsupported_op`) naming the first module it cannot map, no traceback."""
    case = refused.case
    assert refused.exit_code == 2, f"{refused.command} exited {refused.exit_code}:\n{refused.output}"
    for text in ("unsupported_op", *(case.unsupported or ())):
        assert text in refused.output, f"{case.id}: {text!r} not in the refusal:\n{refused.output}"
    assert "Traceback" not in refused.output, refused.output


def test_opaque_keeps_the_params(refused, work_dir):
    """With --opaque the unsupported modules become opaque nodes: the params and buffers stay exact."""
    with importing(refused.case, work_dir, opaque=True, module=refused.module) as opaque:
        t, module = opaque.analysis().totals, opaque.module
        ours = (t.params, t.buffers + t.counters)
        theirs = (sum(p.numel() for p in module.parameters()), sum(b.numel() for b in module.buffers()))
        assert ours == theirs, f"{refused.case.id} --opaque: archcalc params, buffers {ours} vs the module's {theirs}"
