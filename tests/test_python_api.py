"""The Python API (issue 15): every kind built by name without `kind=`, specs built from layer values
and kind strings, rows as dicts and as a pandas DataFrame (pandas optional)."""

from __future__ import annotations

import sys

import pytest
from pydantic import ValidationError

import archcalc
from archcalc import SpecError, analyze, parse_spec
from archcalc.layers import KIND_TO_CLASS, KINDS
from archcalc.layers.by_kind import PER_KIND

# kind -> the fields it needs beyond its kind (the fewest that make a valid layer)
NEEDS: dict[str, dict] = {
    "conv": {"out": 4, "kernel": 3},
    "conv_transpose": {"out": 4, "kernel": 2},
    "maxpool": {"kernel": 2},
    "avgpool": {"kernel": 2},
    "adaptive_avgpool": {"output_size": 1},
    "adaptive_maxpool": {"output_size": 1},
    "linear": {"out": 10},
    "lrn": {"size": 5},
    "subsample": {"kernel": 2},
    "rbf": {"out": 10},
    "block": {"layers": ["relu"]},
    "parallel": {"merge": "concat", "branches": [[], ["relu"]]},
    "residual": {"body": ["relu"]},
    "repeat": {"times": 2, "layers": ["relu"]},
    "add": {"from_": ["a", "b"]},
    "concat": {"from_": ["a", "b"]},
    "mul": {"from_": ["a", "b"]},
    # issue 16's kinds (kinds-a)
    "split": {"chunks": 2, "index": 0},
    "channel_shuffle": {"groups": 2},
    "mean": {"dims": [2, 3]},
    "upsample": {"scale_factor": 2},
    "groupnorm": {"num_groups": 2},
    "channel_linear": {"out": 8},
    "stochastic_depth": {"p": 0.1},
    "opaque": {"params": 10, "out_shape": [4]},
}


def _class_of(kind: str) -> type:
    """The class Python builds a kind with: its own, or its per-kind class where several share one."""
    return PER_KIND.get(kind, KIND_TO_CLASS[kind])


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_built_by_name_without_kind(kind):
    cls = _class_of(kind)
    assert getattr(archcalc, cls.__name__) is cls, f"archcalc does not export {cls.__name__}"
    assert cls.__name__ in archcalc.__all__
    layer = cls(**NEEDS.get(kind, {}))
    assert layer.kind == kind


def test_every_kind_of_a_shared_class_has_a_class_of_its_own():
    """A new activation (or pool, or merge) without its class here fails this test."""
    shared = {kind for kind, cls in KIND_TO_CLASS.items() if list(KIND_TO_CLASS.values()).count(cls) > 1}
    assert shared == set(PER_KIND), shared ^ set(PER_KIND)
    for kind, cls in PER_KIND.items():
        assert issubclass(cls, KIND_TO_CLASS[kind]), kind


def test_a_class_of_several_kinds_takes_kind():
    with pytest.raises(ValidationError, match="kind"):
        archcalc.Activation()
    assert archcalc.Activation(kind="relu").kind == "relu"


YAML = """\
name: small
input: [3, 32, 32]
layers:
  - conv: {out: 16, kernel: 3, padding: 1}
  - relu
  - residual:
      body: [conv: {out: 16, kernel: 3, padding: 1, bias: false}, batchnorm, hardswish]
  - parallel: {merge: concat, branches: [[], [conv: {kernel: 3, padding: 1, groups: depthwise}]]}
  - repeat: {times: 2, layers: [conv: {out: 8, kernel: 1}, relu6]}
  - adaptive_avgpool: {output_size: 1}
  - flatten
  - dropout: {p: 0.2}
  - linear: {out: 10}
"""


def _python_spec() -> archcalc.Spec:
    a = archcalc
    return a.Spec(
        name="small",
        input=(3, 32, 32),
        layers=[
            a.Conv(out=16, kernel=3, padding=1),
            "relu",
            a.Residual(body=[a.Conv(out=16, kernel=3, padding=1, bias=False), a.BatchNorm(), a.Hardswish()]),
            a.Parallel(merge="concat", branches=[[], [a.Conv(kernel=3, padding=1, groups="depthwise")]]),
            a.Repeat(times=2, layers=[a.Conv(out=8, kernel=1), a.ReLU6()]),
            a.AdaptiveAvgPool(output_size=1),
            {"kind": "flatten"},
            a.Dropout(p=0.2),
            a.Linear(out=10),
        ],
    )


def test_a_spec_built_in_python_is_the_same_as_its_yaml():
    """Layer values, kind strings and mappings mix; the analysis is the YAML spec's, row for row."""
    built, loaded = analyze(_python_spec()), analyze(parse_spec(YAML, "small.yaml"))
    assert built.to_dicts() == loaded.to_dicts()
    assert built.totals == loaded.totals


def test_a_per_kind_class_is_validated_as_its_kinds_class():
    spec = _python_spec()
    assert type(spec.layers[5]) is archcalc.AdaptivePool and spec.layers[5].output_size == (1,)
    assert type(spec.layers[2].body[2]) is archcalc.Activation


# (id, the constructor, the first error's field and message): unknown fields first, with the nearest name
MISSPELT = [
    ("out", lambda: archcalc.Conv(outt=16, kernel=3), "outt", "unknown field 'outt'; did you mean 'out'?"),
    ("kernel", lambda: archcalc.Conv(out=16, kernal=3), "kernal", "unknown field 'kernal'; did you mean 'kernel'?"),
    ("after-a-bad-value", lambda: archcalc.Conv(out=0, kernel=3, strid=2), "strid", "did you mean 'stride'?"),
    ("nothing-close", lambda: archcalc.ReLU(zzzz=1), "zzzz", "unknown field 'zzzz'; valid fields: from, from_, kind"),
]


@pytest.mark.parametrize(("build", "field", "says"), [c[1:] for c in MISSPELT], ids=[c[0] for c in MISSPELT])
def test_a_wrong_field_in_python_is_a_validation_error_with_the_nearest_name(build, field, says):
    """Still pydantic's ValidationError (a ValueError), its unknown fields first, as a spec file says it."""
    with pytest.raises(ValidationError) as info:
        build()
    first = info.value.errors()[0]
    assert isinstance(info.value, ValueError)
    assert first["loc"] == (field,) and says in first["msg"], info.value.errors()


def test_a_constructor_keeps_its_other_errors_as_written():
    """Rebuilt with the suggestion, the other errors keep their type and text (braces too)."""
    with pytest.raises(ValidationError) as info:
        archcalc.Conv(out=0, kernel=3, outt=1, padding="x{y}")
    errors = {e["loc"][0]: (e["type"], e["msg"]) for e in info.value.errors()}
    assert errors["out"][0] == "greater_than_equal", errors
    assert errors["padding"] == ("bad_value", "must be 'valid', 'same', an integer or a list, got 'x{y}'"), errors


def test_a_layer_error_in_a_python_spec_names_the_layer():
    spec = archcalc.Spec(name="t", input=(3, 8, 8), layers=[archcalc.Conv(out=4, kernel=9)])
    with pytest.raises(SpecError) as info:
        analyze(spec)
    assert info.value.code == "kernel_too_large" and "'conv1'" in str(info.value.layer), str(info.value)


def test_to_dicts_are_the_rows():
    analysis = analyze(parse_spec(YAML, "small.yaml"))
    rows = analysis.to_dicts()
    assert [row["path"] for row in rows] == [row.path for row in analysis.rows]
    assert sum(row["params"] for row in rows) == analysis.totals.params
    assert sum(row["macs"] for row in rows) == analysis.totals.macs


def test_to_pandas_is_a_frame_of_the_rows():
    pytest.importorskip("pandas")
    from archcalc.graph import ROW_FIELDS

    analysis = analyze(parse_spec(YAML, "small.yaml"))
    frame = analysis.to_pandas()
    assert list(frame.columns) == list(ROW_FIELDS) and len(frame) == len(analysis.rows)
    assert frame["path"].tolist() == [row.path for row in analysis.rows]
    assert int(frame["params"].sum()) == analysis.totals.params
    assert int(frame["macs"].sum()) == analysis.totals.macs


def test_to_pandas_keeps_python_integers_where_int64_would_overflow(monkeypatch):
    pytest.importorskip("pandas")
    from archcalc import analysis as module

    monkeypatch.setattr(module, "INT64_MAX", 1000)  # the same rule, met by a small spec's MACs
    analysis = analyze(parse_spec(YAML, "small.yaml"))
    frame = analysis.to_pandas()
    assert frame["macs"].dtype == object and frame["macs"].sum() == analysis.totals.macs
    assert frame["depth"].dtype != object  # a column whose sum fits stays numeric


def test_to_pandas_without_pandas_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` raises ImportError
    analysis = analyze(parse_spec(YAML, "small.yaml"))
    with pytest.raises(SpecError) as info:
        analysis.to_pandas()
    assert info.value.code == "missing_extra" and "'pandas'" in info.value.message, str(info.value)
    assert info.value.hint is not None and "pip install 'archcalc[pandas]'" in info.value.hint


def test_validation_does_not_run_the_python_constructor():
    """Layer.__init__ (kind and left-out fields for Python callers) is marked as pydantic's own, so
    validating a spec's layers never calls it: an overriding __init__ would cost every layer of
    every YAML spec a Python call (a quarter more validation time per conv)."""
    from archcalc.layers import LAYER_CLASSES

    for cls in (*LAYER_CLASSES, *PER_KIND.values()):
        assert cls.__pydantic_custom_init__ is False, cls.__name__
    spec = parse_spec(YAML, "small.yaml")
    assert spec.layers[3].branches[1].layers[0].out_channels is None  # left out: resolved on use
    (depthwise,) = [row for row in analyze(spec).rows if row.summary.endswith(" dw")]
    assert depthwise.in_shape[0] == depthwise.out_shape[0] == 16


def test_kinds_reads_a_container_built_in_python_alike():
    """Building a container in Python resolves its `list[LayerSpec]` annotation; `archcalc kinds`
    still calls its layers `list of layers`."""
    from archcalc.kind_reference import kind_fields

    archcalc.Residual(body=[archcalc.Conv(out=2, kernel=1)], shortcut=[archcalc.ReLU()])
    types = {f.name: f.type for f in kind_fields("residual")}
    assert types["body"] == types["shortcut"] == "list of layers", types


def _lenet() -> archcalc.Spec:
    return archcalc.load_spec("lenet5")


# (id, the changes, what the ValidationError says): a variant is validated as a new spec is
BAD_VARIANTS = [
    ("kind-string-is-read", {"layers": ["relu", "nope"]}, "unknown layer kind 'nope'"),
    (
        "duplicate-names",
        {"layers": [archcalc.Conv(name="a", out=3, kernel=1), archcalc.Conv(name="a", out=3, kernel=1)]},
        "is named 'a', as is",
    ),
    ("bad-input", {"input": (0, 8)}, "input"),
    ("unknown-field", {"widht": 3}, "widht"),
]


@pytest.mark.parametrize("copy", ["replace", "model_copy"])
@pytest.mark.parametrize(("changes", "says"), [c[1:] for c in BAD_VARIANTS], ids=[c[0] for c in BAD_VARIANTS])
def test_a_variant_is_validated(copy, changes, says):
    spec = _lenet()
    with pytest.raises(ValidationError, match=says):
        spec.replace(**changes) if copy == "replace" else spec.model_copy(update=changes)


def test_a_variant_reads_kind_strings_and_analyses():
    """`layers=["relu"]` (what used to end in an AttributeError inside graph.py) is a relu layer."""
    spec = _lenet()
    for variant in (spec.replace(name="r", layers=["relu"]), spec.model_copy(update={"name": "r", "layers": ["relu"]})):
        assert [row.kind for row in analyze(variant).rows] == ["relu"], variant
    assert spec.model_copy() == spec and spec.name == "lenet5"


# (id, what is passed instead of a Spec, what the message says to do)
NOT_SPECS = [
    ("bundled-name", "lenet5", "load_spec('lenet5')"),
    ("mapping", {"name": "x"}, "Spec.model_validate(data)"),
    ("number", 3, "Spec(name=..., input=..., layers=[...])"),
]


@pytest.mark.parametrize("caller", ["analyze", "receptive_fields", "lower"])
@pytest.mark.parametrize(("value", "says"), [c[1:] for c in NOT_SPECS], ids=[c[0] for c in NOT_SPECS])
def test_a_value_that_is_not_a_spec_is_a_type_error_saying_how_to_get_one(caller, value, says):
    from archcalc.graph import lower

    function = {"analyze": analyze, "receptive_fields": archcalc.receptive_fields, "lower": lower}[caller]
    with pytest.raises(TypeError) as info:
        function(value)
    message = str(info.value)
    assert message.startswith(f"{caller} takes a Spec, got {type(value).__name__}") and says in message, message


# (id, a container built with one layer where a list is needed, the field)
ONE_LAYER_NOT_A_LIST = [
    ("spec", lambda: archcalc.Spec(name="x", input=(3, 8, 8), layers=archcalc.Conv(out=3, kernel=1)), "layers"),
    ("residual", lambda: archcalc.Residual(body=archcalc.Conv(out=3, kernel=1)), "body"),
    ("repeat", lambda: archcalc.Repeat(times=2, layers=archcalc.ReLU()), "layers"),
    ("block", lambda: archcalc.Block(layers=archcalc.ReLU()), "layers"),
]


@pytest.mark.parametrize(
    ("build", "field"), [c[1:] for c in ONE_LAYER_NOT_A_LIST], ids=[c[0] for c in ONE_LAYER_NOT_A_LIST]
)
def test_one_layer_where_a_list_is_needed_is_one_error(build, field):
    """A layer value iterates as its fields: without the check, one error per field ("got ('name', None)")."""
    with pytest.raises(ValidationError) as info:
        build()
    errors = info.value.errors()
    assert len(errors) == 1, errors
    assert f"`{field}` must be a list of layers, got one" in errors[0]["msg"], errors[0]["msg"]


def test_dir_lists_every_export_once():
    """A used export lands in the module's globals too: dir() must still name it once."""
    archcalc.analyze  # noqa: B018 -- load one lazy export
    names = dir(archcalc)
    twice = sorted({name for name in names if names.count(name) > 1})
    assert twice == [], twice
    assert set(archcalc.__all__) <= set(names), set(archcalc.__all__) - set(names)
