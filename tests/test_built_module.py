"""The module the verifier builds is the analysed spec: every row path names its own module, each
holding exactly the row's parameters and buffers, and nothing else in the model (`module_mismatches`).

Run for every bundled spec (at the small inputs test_verify picks) and every spec the tests write
(each kind, the early networks' features, templates, the name near misses; tests/bad_specs
aside), and shown to fail when a module is replaced, dropped or added.
"""

from __future__ import annotations

import pytest

from archcalc import SpecError, analyze, bundled_names, parse_spec
from archcalc.cli import main

from .helpers import spec_text
from .test_classic_features import COUNTS
from .test_names import NEAR_MISSES, _text
from .test_templates import INCEPTION

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from archcalc.verify.build import build_model  # noqa: E402
from archcalc.verify.check import module_mismatches  # noqa: E402

from .test_verify import KIND_SPECS, small  # noqa: E402

# (id, spec) for every spec the tests write that analyses
TEST_SPECS = (
    [(f"kind-{c[0]}", spec_text(c[1], str(list(c[2])))) for c in KIND_SPECS]
    + [(f"classic-{c[0]}", spec_text(c[1], "[6, 14, 14]")) for c in COUNTS]
    + [(f"names-{c[0]}", _text(c[1])) for c in NEAR_MISSES]
    + [("template-inception", INCEPTION)]
)


@pytest.mark.parametrize("name", bundled_names())
def test_bundled_spec_builds_the_analysed_module(name):
    spec = small(name)
    assert module_mismatches(analyze(spec), build_model(spec)) == []


@pytest.mark.parametrize("text", [c[1] for c in TEST_SPECS], ids=[c[0] for c in TEST_SPECS])
def test_test_spec_builds_the_analysed_module(text):
    spec = parse_spec(text, "inline.yaml")
    assert module_mismatches(analyze(spec), build_model(spec)) == []


def _residual():
    spec = parse_spec(
        spec_text(
            "- residual: {name: r, body: [conv: {out: 4, kernel: 3, padding: 1}, relu]}\n"
            "- parallel: {name: p, merge: concat, branches: [[relu], []]}",
            "[4, 8, 8]",
        ),
        "r.yaml",
    )
    return analyze(spec), build_model(spec)


def _replace(model, path: str, module) -> None:
    parent, _, name = path.rpartition(".")
    model.get_submodule(parent)._modules[name] = module


# (id, how the built model is changed, text of the mismatch)
BROKEN = [
    ("merge-replaces-a-layer", lambda m: _replace(m, "r.conv1", m.get_submodule("r.add")), "are one module"),
    ("layer-dropped", lambda m: m.get_submodule("r")._modules.pop("relu1"), "row 'r.relu1' (relu) has no module"),
    (
        "stray-module",
        lambda m: m.get_submodule("p").add_module("stray", torch.nn.Conv2d(4, 4, 1)),
        "module 'p.stray' (Conv2d) is no row's",
    ),
    (
        "wrong-parameters",
        lambda m: _replace(m, "r.conv1", torch.nn.Conv2d(4, 4, 3, padding=1, bias=False)),
        "the analysis has 148 parameters and 0 buffer elements, its module 144 and 0",
    ),
    (
        "tensor-outside-rows",
        lambda m: m.get_submodule("p").register_parameter("w", torch.nn.Parameter(torch.zeros(2))),
        "tensor 'p.w' lies outside every row's module",
    ),
]


@pytest.mark.parametrize(("change", "snippet"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_a_module_unlike_the_analysis_is_found(change, snippet):
    analysis, model = _residual()
    assert module_mismatches(analysis, model) == []
    change(model)
    problems = module_mismatches(analysis, model)
    assert any(snippet in p for p in problems), problems


def test_rows_sharing_a_path_are_found(monkeypatch):
    """The check holds without the name rule and the builder's guard: with both switched off, issue
    13's reproduction builds the merge in the conv's place, and the check finds it."""
    from archcalc.layers import structure
    from archcalc.verify import build

    monkeypatch.setattr(structure, "check_claims", lambda claims, hint: None)
    monkeypatch.setattr(build, "_claim", lambda taken, name, prefix: None)
    spec = parse_spec(
        spec_text("- residual: {name: r, body: [conv: {out: 4, kernel: 3, padding: 1, name: add}]}", "[4, 8, 8]"),
        "r.yaml",
    )
    problems = module_mismatches(analyze(spec), build_model(spec))
    assert "rows share a path: r.add" in problems and any("are one module" in p for p in problems), problems


def test_verify_says_the_model_is_the_spec(runner):
    result = runner.invoke(main, ["verify", "lenet5"], catch_exceptions=False)
    assert result.exit_code == 0 and "(each its own module of the built model)" in result.output, result.output


def test_verify_fails_when_the_model_is_not_the_spec(runner, monkeypatch):
    from archcalc.verify import check

    monkeypatch.setattr(check, "module_mismatches", lambda analysis, model: ["row 'x' has no module"])
    result = runner.invoke(main, ["verify", "lenet5", "--json"], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "row 'x' has no module" in result.output


def test_the_builder_refuses_two_modules_of_one_name(runner, tmp_path, monkeypatch):
    """Without the name rule, issue 13's reproduction would export and build a model with the conv
    replaced by the merge; the builder itself refuses instead (exit 2, never a wrong model)."""
    from archcalc.layers import structure
    from archcalc.verify.build import plan

    monkeypatch.setattr(structure, "check_claims", lambda claims, hint: None)
    text = spec_text("- residual: {name: r, body: [conv: {out: 4, kernel: 3, padding: 1, name: add}]}", "[4, 8, 8]")
    with pytest.raises(SpecError, match="two modules would be named 'r.add'"):
        plan(parse_spec(text, "r.yaml"))
    path = tmp_path / "r.yaml"
    path.write_text(text)
    result = runner.invoke(main, ["export", str(path)], catch_exceptions=False)
    assert result.exit_code == 2 and "error[duplicate_name]" in result.output, result.output
