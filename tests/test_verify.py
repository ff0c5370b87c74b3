"""The verifier: every kind built in torch, every bundled spec verified, every preset reproducing
its tool's total exactly on the module the verifier builds, and the CLI's exit codes.

Speed (the suite runs on a 2-core CI machine): torch runs on one thread here (these tensors are
tiny; a second thread only adds synchronisation, and far more under load), and the per-spec
checks run each bundled spec at the smallest of a few input sizes at which it still analyses, and
so does the default run's `archcalc verify --all`; `test_verify_all_passes_at_full_size` (marked
slow: `pytest -m slow`, which .ci/run runs) runs it at every spec's own input size.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sys

import pytest

from archcalc import analyze, bundled_names, load_spec, parse_spec
from archcalc.cli import main
from archcalc.conventions import PRESETS
from archcalc.counted import convention_totals
from archcalc.errors import SpecError

from .helpers import spec_text
from .test_layer_kinds import CASES

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from archcalc.verify.build import build_model, render  # noqa: E402
from archcalc.verify.counters import COUNTERS  # noqa: E402
from archcalc.verify.verification import verify_analysis  # noqa: E402

# every kind, plus padding the builder must express with a separate pad op
EXTRA = [
    ("maxpool-same", "- maxpool: {kernel: 2, stride: 2, padding: same}", (3, 7, 7)),
    ("avgpool-per-side", "- avgpool: {kernel: 3, stride: 2, padding: [[0, 1], [1, 0]]}", (2, 8, 8)),
    ("conv-same-stride2", "- conv: {out: 4, kernel: 3, stride: 2, padding: same}\n- batchnorm\n- relu", (3, 9, 9)),
    (
        "residual-bn-gap",
        "- residual: {body: [conv: {out: 3, kernel: 3, padding: 1}, batchnorm]}\n- global_avgpool",
        (3, 6, 6),
    ),
    (
        "frozen",
        "- block: {trainable: false, layers: [conv: {out: 2, kernel: 3}]}\n- flatten\n- linear: {out: 2}",
        (1, 6, 6),
    ),
]
KIND_SPECS = [(c[0], c[2], c[3]) for c in CASES] + EXTRA
# the counters archcalc verify itself runs (their totals are checked on its result); the others
IN_VERIFY = ("fvcore", "torch")
OTHER_TOOLS = tuple(tool for tool in COUNTERS if tool not in IN_VERIFY)
SMALL_SIZES = (32, 64, 96, 128, 160, 224)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _spec(yaml: str, shape: tuple[int, ...]):
    return parse_spec(spec_text(yaml, str(list(shape))), "inline.yaml")


def _uneven_adaptive_pool(spec) -> bool:
    """An adaptive average pool whose windows differ in size: thop divides them in floating point."""
    return any(
        r.op == "adaptive_avg_pool" and any(n % o for n, o in zip(r.in_shape[1:], r.out_shape[1:]))
        for r in analyze(spec).rows
    )


def _fractional_upsample(spec) -> bool:
    """An upsampling by a scale that is not a whole number: ptflops estimates its patched
    F.interpolate as input elements x scale^dims (a float), not by the output's size."""
    return any(
        layer.kind == "upsample" and layer.scale_factor and any(s != int(s) for s in layer.scale_factor)
        for layer in spec.layers
    )


@functools.cache
def small(name: str):
    """Bundled spec `name` at the smallest square input of SMALL_SIZES, below its own, at which it
    still analyses (and no adaptive pool turns uneven, which would skip thop): the same layers and
    code paths as at full size, a fraction of the time. Specs already that small keep their input.
    """
    spec = load_spec(name)
    channels, *sizes = spec.input
    if len(set(sizes)) != 1:
        return spec
    for size in (s for s in SMALL_SIZES if s < sizes[0]):
        candidate = spec.with_input((channels, *[size] * len(sizes)))
        try:
            if not _uneven_adaptive_pool(candidate) or _uneven_adaptive_pool(spec):
                return candidate
        except SpecError:  # too small for this network
            continue
    return spec


@pytest.mark.parametrize(("yaml", "shape"), [c[1:] for c in KIND_SPECS], ids=[c[0] for c in KIND_SPECS])
def test_every_kind_builds_and_verifies(yaml, shape):
    result = verify_analysis(analyze(_spec(yaml, shape)))
    bad = [(lc.path, k, c) for lc in result.layers for k, c in lc.cells.items() if c.status == "fail"]
    assert result.failures == 0, f"{bad} totals={result.totals}"


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_builder_matches_the_hand_written_module(case):
    _, _, yaml, shape, factory, _ = case
    built, hand = build_model(_spec(yaml, shape)), factory()
    assert sum(p.numel() for p in built.parameters()) == sum(p.numel() for p in hand.parameters())
    x = torch.randn(2, *shape)
    assert built.eval()(x).shape == hand.eval()(x).shape


def test_small_inputs_are_smaller_and_analyse():
    for name in bundled_names():
        own, spec = load_spec(name).input, small(name)
        assert spec.input[0] == own[0] and spec.input[1:] <= own[1:], (name, own, spec.input)
        analyze(spec)
    assert (small("resnet50").input, small("lenet5").input) == ((3, 32, 32), (1, 32, 32))


@pytest.mark.parametrize("name", bundled_names())
def test_bundled_spec_verifies(name):
    """Per layer against torch, and the fvcore and torch presets against the totals verify measured
    (batch 1: the same runs `count_fvcore` and `count_torch` make)."""
    spec = small(name)
    analysis = analyze(spec)
    result = verify_analysis(analysis, batch=1)
    assert result.failures == 0, result.to_dict()
    for tool, column in zip(IN_VERIFY, ("macs", "flops")):
        ours, theirs = convention_totals(analysis, PRESETS[tool])["ops"], result.totals[column].theirs
        assert ours == theirs, (
            f"{name} {list(spec.input)}: archcalc --convention {tool} gives {ours:,}, {tool} {theirs:,}"
        )


def _preset_cases():
    cases = [(f"{n}-{tool}", n, tool) for n in bundled_names() for tool in OTHER_TOOLS]
    cases += [(f"{c[0]}-{tool}", _spec(c[1], c[2]), tool) for c in KIND_SPECS for tool in COUNTERS]
    return cases


PRESET_CASES = _preset_cases()


@pytest.mark.parametrize(("spec", "tool"), [c[1:] for c in PRESET_CASES], ids=[c[0] for c in PRESET_CASES])
def test_preset_reproduces_its_tool_exactly(spec, tool):
    spec = small(spec) if isinstance(spec, str) else spec
    if tool == "thop" and _uneven_adaptive_pool(spec):
        pytest.skip("thop divides window sizes in floating point for uneven adaptive pooling")
    if tool == "ptflops" and _fractional_upsample(spec):
        pytest.skip("ptflops charges F.interpolate input x scale^dims, a float, for a fractional scale")
    ours = convention_totals(analyze(spec), PRESETS[tool])["ops"]
    theirs = COUNTERS[tool](build_model(spec).eval(), tuple(spec.input))
    assert ours == theirs, (
        f"{tool} {list(spec.input)}: archcalc --convention {tool} gives {ours:,}, {tool} gives {theirs:,}"
    )


def _verify_all(runner) -> None:
    result = runner.invoke(main, ["verify", "--all", "--json", "--batch", "1"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] and {s["spec"] for s in data["specs"]} == set(bundled_names())


def test_verify_all_passes(runner, monkeypatch):
    """`verify --all` with every bundled spec at its small input (one --input cannot fit them all)."""
    import archcalc.commands.verify

    monkeypatch.setattr(archcalc.commands.verify, "load_spec", small)
    _verify_all(runner)


@pytest.mark.slow
def test_verify_all_passes_at_full_size(runner):
    _verify_all(runner)


def test_verify_table_and_reconcile(runner):
    result = runner.invoke(main, ["verify", "lenet5", "--reconcile"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for text in ("MACs vs fvcore", "ptflops", "bias adds 6,518", "lenet5: verified", "aten::avg_pool2d"):
        assert text in result.output


def test_a_wrong_count_is_a_finding(runner, monkeypatch):
    from archcalc.layers import Linear

    original = Linear.counts

    def wrong(self, shape):
        counts = original(self, shape)
        return dataclasses.replace(counts, macs=counts.macs + 1)

    monkeypatch.setattr(Linear, "counts", wrong)
    result = runner.invoke(main, ["verify", "lenet5"], catch_exceptions=False)
    assert result.exit_code == 1
    assert "✗ 48001 vs 48000" in result.output and "FAILED" in result.output


def test_missing_extra_exits_3(runner, monkeypatch):
    monkeypatch.setitem(sys.modules, "fvcore", None)
    result = runner.invoke(main, ["verify", "lenet5"], catch_exceptions=False)
    assert result.exit_code == 3
    assert "verify extra" in result.output and "Traceback" not in result.output


def test_verify_needs_a_spec(runner):
    assert runner.invoke(main, ["verify"], catch_exceptions=False).exit_code == 2


def test_export_torch_source_runs(runner, tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(
        spec_text(
            "- conv: {out: 4, kernel: 3, stride: 2, padding: same}\n- maxpool: {kernel: 2, stride: 1, padding: same}\n"
            "- residual: {body: [conv: {out: 4, kernel: 3, padding: 1}, batchnorm]}\n"
            "- parallel: {merge: concat, branches: [[conv: {out: 2, kernel: 1}], []]}\n- global_avgpool",
            "[3, 9, 9]",
        )
    )
    for ref in (str(path), "alexnet"):
        result = runner.invoke(main, ["export", ref, "--to", "torch"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        namespace: dict = {}
        exec(compile(result.output, "<export>", "exec"), namespace)
        spec = load_spec(ref)
        assert sum(p.numel() for p in namespace["model"].parameters()) == analyze(spec).totals.params
        assert tuple(namespace["model"](torch.randn(1, *spec.input)).shape[1:]) == analyze(spec).output_shape


def test_export_onnx(runner, tmp_path):
    onnx = pytest.importorskip("onnx")
    out = tmp_path / "lenet5.onnx"
    result = runner.invoke(main, ["export", "lenet5", "--to", "onnx", "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    model = onnx.load(str(out))
    onnx.checker.check_model(model)
    assert sum(1 for node in model.graph.node if node.op_type == "Conv") == 2


def test_render_is_plain_torch():
    source = render(load_spec("lenet5"))
    assert (
        "nn.Conv2d(in_channels=1, out_channels=6, kernel_size=(5, 5)" in source
        and "archcalc" not in source.split('"""')[2]
    )
