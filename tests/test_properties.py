"""Property tests: for random valid specs the analyzer's numbers equal PyTorch's and fvcore's; for
near-valid specs it rejects exactly what PyTorch rejects, each with one SpecError.

Profiles (HYPOTHESIS_PROFILE): `ci` (default) runs a fixed, derandomized set of examples in well
under a minute; `deep` runs thousands with fresh randomness:

    HYPOTHESIS_PROFILE=deep pytest tests/test_properties.py --hypothesis-show-statistics

Bugs the properties found are pinned below as named regression tests.
"""

from __future__ import annotations

import os

import pytest
import yaml
from hypothesis import HealthCheck, event, given, note, settings

from archcalc import SpecError, analyze, parse_spec
from archcalc.conventions import PRESETS
from archcalc.counted import convention_totals

from .strategies import Probe, near_valid_specs, valid_specs

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from archcalc.verify.build import build_model  # noqa: E402
from archcalc.verify.check import module_mismatches  # noqa: E402
from archcalc.verify.counters import count_torch, fvcore_analysis  # noqa: E402

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large]
PROFILES = {
    "ci": settings(max_examples=60, derandomize=True, database=None, deadline=None, suppress_health_check=_QUIET),
    "deep": settings(max_examples=2000, deadline=None, suppress_health_check=_QUIET),
}
PROFILE = PROFILES.get(os.environ.get("HYPOTHESIS_PROFILE", "ci"), PROFILES["ci"])
FVCORE, TORCH = PRESETS["fvcore"], PRESETS["torch"]


def _load(data: dict, file: str = "prop.yaml"):
    """Spec data -> YAML text -> the real loader (short forms, aliases and all)."""
    text = yaml.safe_dump(data, sort_keys=False)
    note(text)
    return parse_spec(text, file)


def _is_float(t) -> bool:
    return t.is_floating_point()


def check_against_torch(spec):
    """Every row's output shape (a real forward pass), parameters and buffers (numel), the totals,
    MACs under fvcore's convention per module and in total, and FLOPs under torch's flop counter."""
    analysis = analyze(spec)
    model = build_model(spec).eval()
    seen: dict[str, tuple[int, ...]] = {}
    handles = []
    for row in analysis.rows:
        module = model.get_submodule(row.path)
        handles.append(
            module.register_forward_hook(
                lambda _m, _i, out, path=row.path: seen.__setitem__(path, tuple(out.shape[1:]))
            )
        )
    x = torch.randn(1, *spec.input)
    with torch.no_grad():
        y = model(x)
    for handle in handles:
        handle.remove()
    assert tuple(y.shape[1:]) == analysis.output_shape, (
        f"output: torch {tuple(y.shape[1:])}, archcalc {analysis.output_shape}"
    )
    for row in analysis.rows:
        module = model.get_submodule(row.path)
        assert seen[row.path] == row.out_shape, f"{row.path}: torch {seen[row.path]}, archcalc {row.out_shape}"
        params = sum(p.numel() for p in module.parameters())
        assert params == row.params, f"{row.path}: torch params {params}, archcalc {row.params}"
        buffers = sum(b.numel() for b in module.buffers() if _is_float(b))
        counters = sum(b.numel() for b in module.buffers() if not _is_float(b))
        assert (buffers, counters) == (row.buffers, row.counters), (
            f"{row.path}: torch {(buffers, counters)}, archcalc {(row.buffers, row.counters)}"
        )
    total = sum(p.numel() for p in model.parameters())
    assert total == analysis.totals.params, f"params: torch {total}, archcalc {analysis.totals.params}"
    assert module_mismatches(analysis, model) == []
    fv = fvcore_analysis(model, x)
    by_module = fv.by_module()
    for row in analysis.rows:
        if row.path in by_module:
            assert by_module[row.path] == FVCORE.ops(row), (
                f"{row.path}: fvcore {by_module[row.path]}, archcalc {FVCORE.ops(row)}"
            )
    expected = convention_totals(analysis, FVCORE)["ops"]
    assert fv.total() == expected, f"fvcore total {fv.total()}, archcalc under fvcore's convention {expected}"
    flops = count_torch(model, tuple(spec.input))
    assert flops == convention_totals(analysis, TORCH)["ops"] == 2 * analysis.totals.macs, (
        f"FlopCounterMode {flops}, archcalc 2 x MACs {2 * analysis.totals.macs}"
    )
    return analysis


@PROFILE
@given(data=valid_specs())
def test_valid_specs_match_torch_and_fvcore(data):
    spec = _load(data)
    event(f"{len(spec.input) - 1}-D input")
    for kind in sorted({row.kind for row in check_against_torch(spec).rows}):
        event(f"kind {kind}")


def torch_accepts(probe: Probe) -> bool:
    """Build the probe's layer directly in torch (not through archcalc's builder) and run it."""
    from torch import nn

    rank = len(probe.input) - 1
    x = torch.randn(1, *probe.input)
    try:
        if probe.op in ("concat", "add"):
            outs = [getattr(nn, f"Conv{rank}d")(**branch)(x) for branch in probe.args["branches"]]
            if probe.op == "concat":
                torch.cat(outs, dim=1)
            elif outs[0].shape != outs[1].shape:
                return False  # archcalc's `add` merges equal shapes only (torch.add would broadcast a 1)
            else:
                torch.add(*outs)
        else:
            cls = {"conv": "Conv", "conv_transpose": "ConvTranspose", "maxpool": "MaxPool", "avgpool": "AvgPool"}
            getattr(nn, f"{cls[probe.op]}{rank}d")(**probe.args)(x)
    except (RuntimeError, ValueError):
        return False
    return True


@PROFILE
@given(drawn=near_valid_specs())
def test_near_valid_specs_rejected_exactly_when_torch_rejects(drawn):
    data, probe = drawn
    note(repr(probe))
    accepted = torch_accepts(probe)
    event(f"{probe.mutation}: torch {'accepts' if accepted else 'rejects'}")
    try:
        spec = _load(data, "near.yaml")
        analysis = analyze(spec)
    except SpecError as err:
        assert not accepted, f"archcalc rejects what torch accepts ({probe.mutation}): {err}"
        assert err.code in probe.codes, f"code {err.code}, expected one of {probe.codes}: {err}"
        text = str(err)
        assert text.startswith("near.yaml:") and f"error[{err.code}]" in text and err.message, text
        assert err.layer and "layers[0]" in err.layer, text
        return
    assert accepted, f"archcalc accepts what torch rejects ({probe.mutation}): {[r.out_shape for r in analysis.rows]}"
    check_against_torch(spec)


# ---------------------------------------------------------------------------------------------
# regression tests: bugs the properties found, each pinned by name


def test_regression_maxpool_padding_limit_is_half_the_kernel_not_the_dilated_span():
    """torch allows pooling padding up to kernel_size // 2, whatever the dilation (max_pool1d/2d/3d
    check `pad <= kernel / 2`). archcalc used the dilated span and accepted kernel 4, dilation 2,
    padding 3, which torch rejects."""
    text = "name: t\ninput: [1, 12, 12]\nlayers:\n  - maxpool: {kernel: 4, dilation: 2, padding: 3}\n"
    with pytest.raises(SpecError) as info:
        analyze(parse_spec(text, "t.yaml"))
    assert info.value.code == "padding_too_large" and "at most 2" in str(info.value)
    assert not torch_accepts(Probe((1, 12, 12), "maxpool", {"kernel_size": 4, "dilation": 2, "padding": 3}, "", ()))
    ok = "name: t\ninput: [1, 12, 12]\nlayers:\n  - maxpool: {kernel: 4, dilation: 2, padding: 2}\n"
    check_against_torch(parse_spec(ok, "t.yaml"))


def test_regression_avgpool3d_needs_the_unpadded_input_to_hold_the_kernel():
    """torch's avg_pool3d refuses an input smaller than the kernel before padding (1-D, 2-D and
    max pooling do not). Found by the deep profile: kernel [1, 1, 3], padding [0, 0, 1] on 2x2x2."""
    bad = "name: t\ninput: [1, 2, 2, 2]\nlayers:\n  - avgpool: {kernel: [1, 1, 3], stride: 1, padding: [0, 0, 1]}\n"
    with pytest.raises(SpecError) as info:
        analyze(parse_spec(bad, "t.yaml"))
    assert info.value.code == "kernel_too_large" and "avg_pool3d" in str(info.value)
    assert not torch_accepts(
        Probe((1, 2, 2, 2), "avgpool", {"kernel_size": (1, 1, 3), "stride": 1, "padding": (0, 0, 1)}, "", ())
    )
    for ok in (
        "  - avgpool: {kernel: [1, 1, 3], stride: 1, padding: [0, 0, 1]}\n",  # now 3 wide: fine
        "  - maxpool: {kernel: [1, 1, 3], stride: 1, padding: [0, 0, 1]}\n",
    ):
        check_against_torch(
            parse_spec(
                f"name: t\ninput: [1, 2, 2, 3]\nlayers:\n{ok}"
                if "avg" in ok
                else f"name: t\ninput: [1, 2, 2, 2]\nlayers:\n{ok}",
                "t.yaml",
            )
        )
    check_against_torch(
        parse_spec(
            bad.replace("avgpool", "avgpool")
            .replace("[1, 2, 2, 2]", "[1, 2, 2]")
            .replace("[1, 1, 3]", "[1, 3]")
            .replace("[0, 0, 1]", "[0, 1]"),
            "t.yaml",
        )
    )


def test_regression_ceil_mode_pool_window_may_hang_past_the_input():
    """In ceil mode torch accepts a pooling kernel larger than the padded input when one window
    still starts inside it (kernel 4, stride 2 on 3 inputs: 1 output); archcalc refused it.
    Found by the deep profile (near-valid, pool_kernel). Stride 1 gives 0 outputs: both refuse."""
    for op in ("maxpool", "avgpool"):
        probe = Probe((1, 3), op, {"kernel_size": 4, "stride": 2, "ceil_mode": True}, "", ())
        assert torch_accepts(probe)
        text = f"name: t\ninput: [1, 3]\nlayers:\n  - {op}: {{kernel: 4, stride: 2, ceil_mode: true}}\n"
        assert check_against_torch(parse_spec(text, "t.yaml")).output_shape == (1, 1)
        assert not torch_accepts(Probe((1, 3), op, {"kernel_size": 4, "stride": 1, "ceil_mode": True}, "", ()))
        with pytest.raises(SpecError) as info:
            analyze(parse_spec(text.replace("stride: 2", "stride: 1"), "t.yaml"))
        assert info.value.code == "kernel_too_large"


def test_regression_same_padding_on_a_pool_obeys_torchs_limit():
    """SAME padding that splits evenly goes to torch's pooling op, which limits it to half the
    kernel: kernel 3, dilation 2 on 3 inputs pads 2 + 2, and torch refuses. archcalc checked only
    padding written as numbers. Found by the deep profile (valid specs, 3-D and 2-D maxpool)."""
    text = "name: t\ninput: [1, 3, 2, 2]\nlayers:\n  - maxpool: {kernel: [3, 1, 1], stride: 1, padding: same, dilation: [2, 1, 1]}\n"
    with pytest.raises(SpecError) as info:
        analyze(parse_spec(text, "t.yaml"))
    assert info.value.code == "padding_too_large"
    assert not torch_accepts(
        Probe((1, 3, 2, 2), "maxpool", {"kernel_size": (3, 1, 1), "padding": (2, 0, 0), "dilation": (2, 1, 1)}, "", ())
    )
    uneven = "name: t\ninput: [1, 4, 4]\nlayers:\n  - maxpool: {kernel: 4, stride: 1, padding: same}\n"  # pads 1 + 2: a pad layer
    check_against_torch(parse_spec(uneven, "t.yaml"))
