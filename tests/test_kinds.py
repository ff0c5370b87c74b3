"""`archcalc kinds`: every kind's whole sentence at any width, and `kinds KIND`'s fields from the models."""

from __future__ import annotations

import json

import pytest

from archcalc.cli import main
from archcalc.kind_reference import kind_fields
from archcalc.layers import KIND_ALIASES, KIND_TO_CLASS, KINDS, Layer

WIDTHS = (60, 80, 120, 200)


def _table_cells(text: str) -> list[list[str]]:
    """The body rows of a text table (`│ a │ b │`), each as its stripped cells."""
    return [[c.strip() for c in line.split("│")[1:-1]] for line in text.splitlines() if line.startswith("│")]


def _joined(rows: list[list[str]], key: int, value: int) -> dict[str, str]:
    """Cells wrapped over continuation rows (an empty key cell) joined back into one text per key."""
    out: dict[str, str] = {}
    current = ""
    for cells in rows:
        if cells[key]:
            current = cells[key]
            out[current] = cells[value]
        else:
            out[current] += " " + cells[value]
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_said_in_one_whole_sentence(kind):
    """The sentence `kinds` lists: one line, ended; where it is a docstring's first line, the
    docstring does not carry on the same sentence on the next line (it was cut: "... running")."""
    cls = KIND_TO_CLASS[kind]
    summary = cls.summary(kind)
    assert summary.endswith(".") and "\n" not in summary and len(summary) <= 100, summary
    if kind not in cls.summaries:
        lines = (cls.__doc__ or "").strip().splitlines()
        assert len(lines) == 1 or not lines[1].strip(), f"{cls.__name__}'s first docstring line runs on: {lines[:2]}"


@pytest.mark.parametrize("width", WIDTHS)
def test_kinds_lists_every_whole_description_within_the_width(runner, width):
    result = runner.invoke(main, ["kinds"], env={"COLUMNS": str(width)}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    long = [line for line in result.output.splitlines() if len(line) > width]
    assert not long, f"lines longer than {width}: {long}"
    shown = _joined(_table_cells(result.output), 0, 1)
    expected = {kind: KIND_TO_CLASS[kind].summary(kind) for kind in KINDS}
    assert shown == expected


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("kind", ["conv", "parallel", "batchnorm"])
def test_kind_fields_show_every_whole_meaning_within_the_width(runner, kind, width):
    """A table where it fits (its meanings wrapped), else one field under another; every word shown."""
    result = runner.invoke(main, ["kinds", kind], env={"COLUMNS": str(width)}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    long = [line for line in result.output.splitlines() if len(line) > width]
    assert not long, f"lines longer than {width}: {long}"
    rows = _table_cells(result.output)
    if rows:
        assert _joined(rows, 0, 4) == {f.name: f.meaning for f in kind_fields(kind)}
        firsts = {cells[0]: cells[1:4] for cells in rows if cells[0]}
        for f in kind_fields(kind):
            assert firsts[f.name] == [f.type, f.default or "required", ", ".join(f.aliases) or "-"], f.name
    else:
        words = " ".join(result.output.split())
        for f in kind_fields(kind):
            assert f.name in words and f.type in words and f.meaning in words, (f, words)


def test_kind_fields_are_a_table_on_a_wide_terminal(runner):
    result = runner.invoke(main, ["kinds", "conv"], env={"COLUMNS": "200"}, catch_exceptions=False)
    assert [c for c in _table_cells(result.output) if c[0]][0] == [
        "out_channels",
        "int",
        "required",
        "out",
        "output channels (feature maps); a depthwise conv's defaults to its input channels",
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_every_field_of_every_kind_has_a_type_and_a_meaning(kind):
    docs = kind_fields(kind)
    names = {info.alias or name for name, info in KIND_TO_CLASS[kind].model_fields.items() if name != "kind"}
    assert {f.name for f in docs} == names
    for f in docs:
        assert f.meaning and f.type, f"{kind}.{f.name} has no meaning or type: {f}"


# (kind, field, type, default, aliases): read from the models; a required field has no default
FIELD_CASES = [
    ("conv", "out_channels", "int", None, ["out"]),
    ("conv", "kernel_size", "int or list of int", None, ["kernel"]),
    ("conv", "stride", "int or list of int", "1", []),
    ("conv", "padding", "valid | same | int | list", "0", []),
    ("conv", "groups", "int | depthwise", "1", []),
    ("conv", "connection_table", "list of lists of int", "none", ["table"]),
    ("conv", "bias", "bool | per_unit | per_position", "true", []),
    ("conv", "from", "text | list of text", "none", []),
    ("conv_transpose", "output_padding", "int or list of int", "0", []),
    ("maxpool", "stride", "int or list of int", "none", []),
    ("adaptive_avgpool", "output_size", "int or list of int", None, ["out", "size"]),
    ("linear", "out_features", "int", None, ["out"]),
    ("dropout", "p", "number in [0, 1)", "0.5", []),
    ("batchnorm", "eps", "number >= 1.17549e-38", "1e-05", []),  # float32's smallest normal
    ("batchnorm", "momentum", "number in [0, 1]", "0.1", []),
    ("leaky_relu", "negative_slope", "number", "0.01", []),
    ("parallel", "merge", "concat | add | mul", None, []),
    ("residual", "shortcut", "list of layers", "[]", []),
    ("repeat", "times", "int", None, []),
]


@pytest.mark.parametrize(
    ("kind", "field", "type_", "default", "aliases"), FIELD_CASES, ids=[f"{c[0]}.{c[1]}" for c in FIELD_CASES]
)
def test_kind_json_gives_each_field_type_default_and_aliases(runner, kind, field, type_, default, aliases):
    result = runner.invoke(main, ["kinds", kind, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["kind"] == kind and data["doc"] == KIND_TO_CLASS[kind].summary(kind)
    entry = next(f for f in data["fields"] if f["name"] == field)
    got = (entry["type"], entry["default"], entry["required"], entry["aliases"])
    assert got == (type_, default, default is None, aliases)
    assert entry["meaning"] == KIND_TO_CLASS[kind].model_fields[entry["name"].replace("from", "from_")].description


def test_kinds_json_lists_each_kind_with_its_sentence_and_fields(runner):
    data = json.loads(runner.invoke(main, ["kinds", "--json"], catch_exceptions=False).output)
    assert [row["kind"] for row in data] == list(KINDS)
    for row in data:
        assert row["doc"] == KIND_TO_CLASS[row["kind"]].summary(row["kind"])
        assert row["fields"] == [f.name for f in kind_fields(row["kind"])]
        assert set(Layer.model_fields) - {"from_"} | {"from"} <= set(row["fields"])


@pytest.mark.parametrize(("written", "kind"), [("conv2d", "conv"), ("BN", "batchnorm"), ("fc", "linear")])
def test_a_kind_alias_shows_its_kind(runner, written, kind):
    data = json.loads(runner.invoke(main, ["kinds", written, "--json"], catch_exceptions=False).output)
    assert data["kind"] == kind and written.lower() in data["aliases"]
    assert KIND_ALIASES[written.lower()] == kind


@pytest.mark.parametrize(("written", "suggestion"), [("cnv", "conv"), ("maxpol", "maxpool"), ("zzzz", None)])
def test_an_unknown_kind_is_a_usage_error_with_the_nearest_kind(runner, written, suggestion):
    result = runner.invoke(main, ["kinds", written])
    assert result.exit_code == 2, result.output
    assert f"unknown layer kind '{written}'" in result.output
    if suggestion:
        assert f"did you mean '{suggestion}'?" in result.output
    else:
        assert "did you mean" not in result.output and "archcalc kinds" in result.output
    as_json = runner.invoke(main, ["kinds", written, "--json"])
    assert as_json.exit_code == 2 and json.loads(as_json.output)["error"]["code"] == "unknown_kind"


# (id, the kind as written, its kind): canonical names and aliases alike, in any case
KIND_CASES = [
    ("upper-canonical", "CONV", "conv"),
    ("torch-case", "ReLU", "relu"),
    ("title-case", "Linear", "linear"),
    ("upper-alias", "CONV2D", "conv"),
    ("mixed-alias", "Conv2d", "conv"),
]


@pytest.mark.parametrize(("written", "kind"), [c[1:] for c in KIND_CASES], ids=[c[0] for c in KIND_CASES])
def test_a_kind_is_read_in_any_case_in_a_spec_and_on_the_command_line(runner, written, kind):
    from archcalc import parse_spec

    body = {"conv": "{out: 2, kernel: 1}", "linear": "{out: 2}", "relu": "{}"}[kind]
    spec = parse_spec(f"name: t\ninput: [3, 4, 4]\nlayers:\n  - {written}: {body}\n", "t.yaml")
    assert spec.layers[0].kind == kind, spec.layers[0]
    data = json.loads(runner.invoke(main, ["kinds", written, "--json"], catch_exceptions=False).output)
    assert data["kind"] == kind, data


def test_an_unknown_kind_in_a_spec_says_did_you_mean_once():
    from archcalc import SpecError, parse_spec

    with pytest.raises(SpecError) as info:
        parse_spec("name: t\ninput: [3, 4, 4]\nlayers:\n  - CONVV: {out: 2, kernel: 1}\n", "t.yaml")
    text = str(info.value)
    assert text.count("did you mean 'conv'?") == 1 and "unknown layer kind 'CONVV'" in text, text
