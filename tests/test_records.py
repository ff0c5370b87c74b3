"""One idiom per role: records are frozen slotted dataclasses built by keyword, the spec is pydantic.

The code is read as text (ast), so a new record in any module, torch-side ones included, is held
to the rule without importing it.
"""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path

import pytest

from archcalc import analyze, load_spec
from archcalc.analysis import Totals
from archcalc.cli import main
from archcalc.conventions import _PRESET_FIELDS, PRESETS, Convention, _Presets
from archcalc.layers import TorchCall

PACKAGE = Path(__file__).resolve().parent.parent / "archcalc"
MODULES = sorted(PACKAGE.rglob("*.py"))

# Dataclasses that are not records, and why they may stay mutable and unslotted.
NOT_RECORDS = {
    "SpecError": "an exception: carries a traceback and gains a note or a dimension as it propagates",
}
# Records made once per layer of every analysis: slotted, never written after construction, but not
# `frozen` (a frozen dataclass sets each field through object.__setattr__; with these two frozen, an
# analysis of resnet152 ran about a quarter more instructions, measured with callgrind, and missed the
# benchmarks' 100x target against torchinfo). Their docstrings say so. The rows themselves are frozen.
HOT_RECORDS = {"Call", "Counts"}


def _classes(path: Path) -> list[ast.ClassDef]:
    return [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ClassDef)]


def _dataclass_keywords(cls: ast.ClassDef) -> dict[str, object] | None:
    """The keywords of a class's @dataclass decorator ({} when bare); None if it has none."""
    for decorator in cls.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        name = ast.unparse(call.func if call else decorator)
        if name in ("dataclass", "dataclasses.dataclass"):
            return {k.arg: ast.literal_eval(k.value) for k in call.keywords} if call else {}
    return None


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(PACKAGE)) for p in MODULES])
def test_no_named_tuples(path):
    tuples = [c.name for c in _classes(path) if any(ast.unparse(b).endswith("NamedTuple") for b in c.bases)]
    assert tuples == [], f"{path.name}: named tuples {tuples}: make them @dataclass(frozen=True, slots=True)"


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(PACKAGE)) for p in MODULES])
def test_every_dataclass_record_is_frozen_and_slotted(path):
    loose = []
    for cls in _classes(path):
        keywords = _dataclass_keywords(cls)
        if keywords is None or cls.name in NOT_RECORDS:
            continue
        if cls.name in HOT_RECORDS and keywords.get("slots") is True:
            continue
        if keywords.get("frozen") is not True or keywords.get("slots") is not True:
            loose.append(f"{cls.name} {keywords}")
    assert loose == [], f"{path.name}: {loose}: records are @dataclass(frozen=True, slots=True)"


def test_the_exceptions_to_the_record_rule_exist():
    """An allowance for a class that no longer exists would hide a new one of the same name."""
    names = {c.name for path in MODULES for c in _classes(path) if _dataclass_keywords(c) is not None}
    allowed = set(NOT_RECORDS) | HOT_RECORDS
    assert allowed <= names, f"allowed {sorted(allowed)} vs dataclasses found {sorted(names)}"


# The fields a row's dict holds, in order (README's Python API documents them).
ROW_KEYS = [
    "path",
    "kind",
    "summary",
    "depth",
    "trainable",
    "in_shape",
    "out_shape",
    "units",
    "weights",
    "biases",
    "params",
    "buffers",
    "counters",
    "connections",
    "padded_connections",
    "macs",
    "flops",
    "op",
    "bias_adds",
    "elementwise_adds",
    "macs_on_output",
    "op_in_elements",
    "unshared_bias",
]


def test_a_row_dict_holds_the_layers_counts():
    """LeNet-5's C1: 6 maps of 5x5 over 1 input map on a 32x32 input (the course notes' figures)."""
    c1 = analyze(load_spec("lenet5")).rows[0].to_dict()
    expected = {
        "path": "C1",
        "out_shape": (6, 28, 28),
        "units": 6 * 28 * 28,
        "weights": 6 * 1 * 5 * 5,
        "biases": 6,
        "params": 6 * 1 * 5 * 5 + 6,
        "macs": 6 * 28 * 28 * (1 * 5 * 5),
        "flops": 2 * 6 * 28 * 28 * (1 * 5 * 5),
    }
    assert {key: c1[key] for key in expected} == expected, c1


@pytest.mark.parametrize("spec", ["lenet5", "resnet18", "googlenet"])
def test_rows_and_totals_are_records_with_dicts(spec):
    analysis = analyze(load_spec(spec))
    row, totals = analysis.rows[-1], analysis.totals
    for record in (row, totals, analysis, analysis.memory()):
        assert not isinstance(record, tuple), f"{type(record).__name__} is a tuple"
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, dataclasses.fields(record)[0].name, None)
    as_dict = row.to_dict()
    assert list(as_dict) == ROW_KEYS, list(as_dict)
    summed = {name: sum(r.to_dict()[name] for r in analysis.rows) for name in ("units", "weights", "biases", "macs")}
    assert {name: totals.to_dict()[name] for name in summed} == summed, (totals.to_dict(), summed)


@pytest.mark.parametrize("spec", ["lenet5", "mobilenet-v1"])
def test_totals_to_dict_is_the_json_outputs_totals(runner, spec):
    result = runner.invoke(main, ["shapes", spec, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    expected = data["totals"]
    got = analyze(load_spec(spec)).totals.to_dict()
    assert list(got.items()) == list(expected.items()), (got, expected)
    # and the totals are what the JSON's own rows add up to, not only the same dict again
    for key in ("units", "weights", "biases", "params", "buffers", "counters", "connections", "macs", "flops"):
        layers = sum(layer[key] for layer in data["layers"])
        assert expected[key] == layers, f"{key}: totals {expected[key]}, the layers add up to {layers}"
    assert expected["params"] == expected["weights"] + expected["biases"] and expected["flops"] == 2 * expected["macs"]


def test_totals_to_dict_includes_the_derived_figures():
    totals = Totals(weights=6, biases=2, macs=5, trainable_params=6)
    got = totals.to_dict()
    assert (got["params"], got["frozen_params"], got["flops"]) == (8, 2, 10), got


def test_a_torch_call_owns_its_kwargs():
    """The NamedTuple's shared `{}` default is gone: each call gets a dict of its own."""
    a, b = TorchCall("ReLU"), TorchCall("Tanh")
    assert a.kwargs == {} and a.kwargs is not b.kwargs


def test_presets_are_looked_up_validated_and_listed_without_building():
    fresh = _Presets()
    assert list(fresh) == list(_PRESET_FIELDS) and len(fresh) == len(_PRESET_FIELDS)
    assert set(fresh._built) == {"archcalc"}, f"listing built {sorted(fresh._built)}"
    fresh["fvcore"]
    assert set(fresh._built) == {"archcalc", "fvcore"}, sorted(fresh._built)
    for name in PRESETS:
        preset = PRESETS[name]
        assert PRESETS[name] is preset, f"{name} built twice"
        assert Convention.model_validate(preset.model_dump()) == preset, name
    with pytest.raises(KeyError):
        PRESETS["nope"]
