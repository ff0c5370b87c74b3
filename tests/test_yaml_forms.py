"""YAML 1.1 forms that YAML 1.2 reads otherwise, mapping keys that are not names, and the ranges of
the real-valued layer fields: each is read as one thing or refused at its line, never silently read
as another number (`017` as 15, `190:20:30` as 685,230) nor built into a model that outputs NaN."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archcalc import SpecError, parse_spec

OK = "ok"

# form -> (int field, float field, budget field, text field): the value read, or the error code.
# `out` is conv's output channels, `negative_slope` leaky_relu's real, `max_macs` a budget, and
# `title`/`notes` text.
FORMS = {
    "017": ("bad_value", "bad_value", "bad_value", "bad_value"),  # octal 15 in YAML 1.1, 17 in 1.2
    "-017": ("bad_value", "bad_value", "bad_value", "bad_value"),
    "0_17": ("bad_value", "bad_value", "bad_value", "bad_value"),
    "09": ("wrong_type", "wrong_type", 9, "09"),  # text in YAML 1.1 (as PyYAML writes '09'), 9 in 1.2
    "08": ("wrong_type", "wrong_type", 8, "08"),  # a budget is text with a unit anyway: "08" is 8 there
    "019": ("wrong_type", "wrong_type", 19, "019"),
    "00": ("bad_value", "bad_value", "bad_value", "bad_value"),
    "!!int 017": ("bad_value", "bad_value", "bad_value", "bad_value"),
    "190:20:30": ("wrong_type", "wrong_type", "bad_value", "190:20:30"),  # base 60 in YAML 1.1: text
    "12:30:00": ("wrong_type", "wrong_type", "bad_value", "12:30:00"),
    "-1:30": ("wrong_type", "wrong_type", "bad_value", "-1:30"),
    "1:30.5": ("wrong_type", "wrong_type", "bad_value", "1:30.5"),
    "!!int 1:30": ("bad_value", "bad_value", "bad_value", "bad_value"),
    "!!float 1:30.5": ("bad_value", "bad_value", "bad_value", "bad_value"),
    "0x1F": (31, 31.0, 31, "wrong_type"),  # kept: one number in every reader (or text, refused by a number field)
    "0b101": (5, 5.0, 5, "wrong_type"),
    "+5": (5, 5.0, 5, "wrong_type"),
    "1_000": (1000, 1000.0, 1000, "wrong_type"),
    "0": ("bad_value", 0.0, 0, "wrong_type"),  # a plain zero: 0 output channels is out of range, nothing more
    "17": (17, 17.0, 17, "wrong_type"),
}


def _spec(line: str, layer: str = "relu") -> str:
    return f"name: t\ninput: [3, 8, 8]\n{line}\nlayers:\n  - {layer}\n"


FIELDS = {
    "int": (lambda v: _spec("", f"conv: {{out: {v}, kernel: 1}}"), lambda s: s.layers[0].out_channels, 5),
    "float": (lambda v: _spec("", f"leaky_relu: {{negative_slope: {v}}}"), lambda s: s.layers[0].negative_slope, 5),
    "budget": (lambda v: _spec(f"budget: {{max_macs: {v}}}"), lambda s: s.budget.max_macs, 3),
    "title": (lambda v: _spec(f"title: {v}"), lambda s: s.title, 3),
    "notes": (lambda v: _spec(f"notes: {v}"), lambda s: s.notes, 3),
}
COLUMN = {"int": 0, "float": 1, "budget": 2, "title": 3, "notes": 3}


@pytest.mark.parametrize("field", list(FIELDS))
@pytest.mark.parametrize("form", list(FORMS))
def test_each_yaml_form_in_each_kind_of_field(form, field):
    write, read, line = FIELDS[field]
    expected = FORMS[form][COLUMN[field]]
    text = write(form)
    if expected in ("bad_value", "wrong_type"):
        with pytest.raises(SpecError) as caught:
            parse_spec(text, "f.yaml")
        assert caught.value.code == expected, str(caught.value)
        assert caught.value.position is not None and caught.value.position.line == line, str(caught.value)
    else:
        value = read(parse_spec(text, "f.yaml"))
        assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("form", "reading", "fix"),
    [
        ("017", "octal 15, YAML 1.2 as 17", "(17)"),
        ("-017", "octal -15, YAML 1.2 as -17", "(-17)"),
        ("0_17", "octal 15, YAML 1.2 as text", "(17)"),
    ],
)
def test_a_leading_zero_is_called_ambiguous_with_both_readings(form, reading, fix):
    with pytest.raises(SpecError) as caught:
        parse_spec(_spec("", f"conv: {{out: {form}, kernel: 1}}"), "f.yaml")
    assert f"is ambiguous: it has a leading zero, and YAML 1.1 reads it as {reading}" in caught.value.message
    assert f"write it without the leading zero {fix}" in caught.value.hint


def test_quoted_forms_are_text():
    spec = parse_spec(_spec("title: '017'\nnotes: \"12:30:00\""), "f.yaml")
    assert (spec.title, spec.notes) == ("017", "12:30:00")


def test_the_reported_reproductions():
    for text in (
        _spec("", "conv: {out: 017, kernel: 1}"),
        _spec("", "conv: {out: 190:20:30, kernel: 1}"),
        _spec("budget: {max_macs: 190:20:30}"),
    ):
        with pytest.raises(SpecError):
            parse_spec(text, "f.yaml")
    assert parse_spec(_spec("notes: 12:30:00"), "f.yaml").notes == "12:30:00"


# ---------------------------------------------------------------------------------------------
# Mapping keys: a name, wherever the mapping is

KEYS = {
    "1": "got '1', which YAML reads as an integer",
    "!!int 5": "got '5', which YAML reads as an integer",
    "true": "got 'true', which YAML reads as a boolean",
    "1.5": "got '1.5', which YAML reads as a number",
    "~": "got '~', which YAML reads as null",
    "null": "got 'null', which YAML reads as null",
    "017": "got '017', which YAML reads as an ambiguous number",
    "0x1F": "got '0x1F', which YAML reads as an integer",
    '""': "got '' (empty)",
    "' '": "got ' ' (empty)",
    "[a]": "got a list",
    "{a: 1}": "got a mapping",
    "? " + "9" * 80: "got '" + "9" * 56 + "...",  # shown truncated
}

# where -> a spec with `KEY: 1` written at line 4 of it
PLACES = {
    "layer": "name: t\ninput: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 1, KEY: 1}\n",
    "top level": "name: t\ninput: [3, 8, 8]\nlayers: [relu]\nKEY: 1\n",
    "budget": "name: t\ninput: [3, 8, 8]\nlayers: [relu]\nbudget: {max_params: 5, KEY: 1}\n",
    "convention": "name: t\ninput: [3, 8, 8]\nlayers: [relu]\nconvention: {name: c, KEY: 1}\n",
    "blocks": "name: t\ninput: [3, 8, 8]\nlayers: [use: b]\nblocks: {b: {layers: [relu]}, KEY: 1}\n",
    "with": "name: t\ninput: [3, 8, 8]\nblocks: {b: {params: [w], layers: [relu]}}\nlayers: [{use: b, with: {w: 1, KEY: 1}}]\n",
    "canonical layer": "name: t\ninput: [3, 8, 8]\nlayers:\n  - {kind: relu, KEY: 1}\n",
}


@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize("key", list(KEYS))
def test_a_key_that_is_not_a_name_is_bad_key_at_its_line(key, place):
    text = PLACES[place].replace("KEY", key if not key.startswith("? ") else key[2:])
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "f.yaml")
    err = caught.value
    assert err.code == "bad_key", str(err)
    assert err.position is not None and err.position.line == 4, str(err)
    assert KEYS[key] in err.message, str(err)


def test_the_reported_key_reproductions():
    for key in ("1", "!!int 5", '""'):
        with pytest.raises(SpecError) as caught:
            parse_spec(PLACES["layer"].replace("KEY", key), "f.yaml")
        assert caught.value.code == "bad_key" and "Keys should be strings" not in str(caught.value)


def test_names_that_look_odd_are_still_names():
    spec = parse_spec(
        "name: t\ninput: [3, 8, 8]\nblocks: {b1: {params: [w_2], layers: [relu]}}\n"
        "layers: [{use: b1, with: {w_2: 1}}]\n",
        "f.yaml",
    )
    assert spec.layers


# ---------------------------------------------------------------------------------------------
# Real-valued layer fields: the range torch needs for a finite result

# (layer, field, just inside, just outside) for each end of each range, as written in YAML
EDGES = [
    ("batchnorm", "eps", "1.2e-38", "1.1e-38"),  # float32's smallest normal, 2^-126, is about 1.18e-38
    ("batchnorm", "eps", "1.2e-38", "0"),
    ("batchnorm", "eps", "1.2e-38", "-1.0e-5"),
    ("batchnorm", "momentum", "0", "-1.0e-9"),
    ("batchnorm", "momentum", "1", "1.000001"),
    ("lrn", "alpha", "0", "-1.0e-9"),
    ("lrn", "beta", "0", "-1.0e-9"),
    ("lrn", "k", "1.2e-38", "1.1e-38"),
    ("lrn", "k", "1.2e-38", "0"),
    ("dropout", "p", "0", "-1.0e-9"),
    ("dropout", "p", "0.999999", "1"),
    ("leaky_relu", "negative_slope", "-1.0e+300", ".nan"),
    ("leaky_relu", "negative_slope", "1.0e+300", ".inf"),
    ("groupnorm", "eps", "1.2e-38", "1.1e-38"),  # issue 16's kinds
    ("groupnorm", "eps", "1.2e-38", "0"),
    # kinds-b
    ("layernorm", "eps", "1.2e-38", "1.1e-38"),
    ("layernorm", "eps", "1.2e-38", "0"),
    ("layer_scale", "init", "-1.0e+300", ".nan"),
    ("layer_scale", "init", "1.0e+300", ".inf"),
    ("stochastic_depth", "p", "0", "-1.0e-9"),
    ("stochastic_depth", "p", "1", "1.000001"),
]


# the fields a kind needs beside the one under test
NEEDS = {"groupnorm": "num_groups: 3, "}


def _layer_spec(kind: str, field: str, value: str) -> str:
    return f"name: t\ninput: [3, 8, 8]\nlayers:\n  - {kind}: {{{NEEDS.get(kind, '')}{field}: {value}}}\n"


@pytest.mark.parametrize(("kind", "field", "inside", "outside"), EDGES, ids=[f"{k}.{f}-{o}" for k, f, _, o in EDGES])
def test_each_real_field_passes_just_inside_and_fails_just_outside(kind, field, inside, outside):
    spec = parse_spec(_layer_spec(kind, field, inside), "f.yaml")
    assert getattr(spec.layers[0], field) == float(inside)
    with pytest.raises(SpecError) as caught:
        parse_spec(_layer_spec(kind, field, outside), "f.yaml")
    assert caught.value.code == "bad_value" and caught.value.position.line == 4, str(caught.value)


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        ("batchnorm: {eps: -1, momentum: -3}", "'eps' must be a number >= 1.17549e-38"),
        ("batchnorm: {momentum: 1.5}", "'momentum' must be a number in [0, 1]"),
        ("lrn: {size: 3, k: -1}", "'k' must be a number >= 1.17549e-38"),
        ("lrn: {size: 3, alpha: -1}", "'alpha' must be a number >= 0"),
        ("lrn: {size: 3, beta: -1}", "'beta' must be a number >= 0"),
        ("lrn: {size: 3, k: 0.5, beta: 300}", "'k' to the power beta must be at least 2^-126"),
        ("batchnorm: {eps: 1.0e-300}", "'eps' must be a number >= 1.17549e-38"),
    ],
)
def test_the_reported_float_reproductions_state_the_range(layer, message):
    with pytest.raises(SpecError) as caught:
        parse_spec(f"name: t\ninput: [3, 8, 8]\nlayers:\n  - {layer}\n", "f.yaml")
    assert caught.value.code == "bad_value" and message in caught.value.message, str(caught.value)


def test_every_real_field_of_every_layer_kind_has_a_stated_range():
    """A new float field must come with its range (or a row in EDGES saying it takes any finite number)."""
    from archcalc.layers import LAYER_CLASSES

    covered = {(kind, field) for kind, field, _, _ in EDGES}
    for cls in LAYER_CLASSES:
        for name, info in cls.model_fields.items():
            if info.annotation is float:
                kinds = cls.model_fields["kind"].annotation.__args__
                assert any((k, name) in covered for k in kinds), f"{cls.__name__}.{name} has no row in EDGES"


@pytest.mark.parametrize(
    ("k", "beta", "ok"),
    [
        ("0.5", "126", True),
        ("0.5", "126.01", False),
        ("1.0e-30", "1", True),
        ("1.0e-30", "2", False),
        ("2", "1.0e+300", True),
        ("1", "1.0e+300", True),
    ],
)
def test_lrn_k_to_the_power_beta_stays_a_normal_float32(k, beta, ok):
    text = f"name: t\ninput: [3, 8, 8]\nlayers:\n  - lrn: {{size: 3, k: {k}, beta: {beta}}}\n"
    if ok:
        assert parse_spec(text, "f.yaml").layers[0].k == float(k)
    else:
        with pytest.raises(SpecError) as caught:
            parse_spec(text, "f.yaml")
        assert caught.value.code == "bad_value" and "'k' to the power beta" in caught.value.message


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12) | st.from_regex(r"\A[-+]?[0-9_:.]{1,8}\Z"))
def test_any_string_pyyaml_writes_reads_back_as_that_string(text):
    """Specs are often generated with PyYAML: whatever string its dumper writes (quoting what its own
    resolver would read as another type), archcalc reads back the same string."""
    import yaml

    spec = parse_spec(yaml.safe_dump({"name": "t", "title": text, "input": [3, 8, 8], "layers": ["relu"]}), "d.yaml")
    assert spec.title == text
