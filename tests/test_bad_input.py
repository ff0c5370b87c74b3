"""Every kind of bad input: one clear message naming file, line and layer, and exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archcalc import SpecError, load_spec, parse_spec
from archcalc.cli import main

from .helpers import assert_one_error

GOOD_HEAD = "name: t\ninput: [3, 32, 32]\nlayers:\n"

# (id, file contents, error code, line, text the message must contain)
CASES = [
    ("malformed-yaml", "name: t\ninput: [3, 32, 32\nlayers:\n  - relu\n", "yaml_syntax", 3, "did not find expected"),
    ("empty-file", "", "empty_spec", None, "the spec is empty"),
    ("not-a-mapping", "- relu\n", "not_a_mapping", 1, "a spec is a mapping"),
    ("unknown-kind", GOOD_HEAD + "  - cnov: {out: 8, kernel: 3}\n", "unknown_kind", 4, "did you mean 'conv'"),
    (
        "unknown-kind-canonical",
        GOOD_HEAD + "  - kind: maxpol\n    kernel: 2\n",
        "unknown_kind",
        4,
        "did you mean 'maxpool'",
    ),
    ("missing-kind", GOOD_HEAD + "  - {out: 8, kernel: 3}\n", "missing_kind", 4, "a layer needs a 'kind'"),
    ("missing-field", GOOD_HEAD + "  - conv: {out: 8}\n", "missing_field", 4, "missing required field 'kernel_size'"),
    ("missing-input", "name: t\nlayers:\n  - relu\n", "missing_field", 1, "missing required field 'input'"),
    (
        "extra-field",
        GOOD_HEAD + "  - kind: maxpool\n    kernel: 2\n    strides: 2\n",
        "unknown_field",
        6,
        "did you mean 'stride'",
    ),
    ("extra-top-level", GOOD_HEAD + "  - relu\nbudgett: 3\n", "unknown_field", 5, "unknown field 'budgett'"),
    (
        "mistyped-field",
        GOOD_HEAD + "  - conv: {out: 8, kernel: 3, stride: two}\n",
        "wrong_type",
        4,
        "'stride' must be an integer",
    ),
    ("float-size", GOOD_HEAD + "  - conv: {out: 8, kernel: 2.5}\n", "wrong_type", 4, "must be an integer, got 2.5"),
    ("bool-size", GOOD_HEAD + "  - linear: {out: true}\n", "wrong_type", 4, "'out'"),
    (
        "zero-channels",
        GOOD_HEAD + "  - conv: {out: 0, kernel: 3}\n",
        "bad_value",
        4,
        "'out' should be greater than or equal to 1",
    ),
    ("negative-stride", GOOD_HEAD + "  - conv: {out: 4, kernel: 3, stride: -2}\n", "bad_value", 4, "got -2"),
    ("negative-padding", GOOD_HEAD + "  - conv: {out: 4, kernel: 3, padding: -1}\n", "bad_value", 4, "got -1"),
    ("zero-input", "name: t\ninput: [3, 0, 32]\nlayers:\n  - relu\n", "bad_value", 2, "'input[1]'"),
    (
        "bad-padding-word",
        GOOD_HEAD + "  - conv: {out: 4, kernel: 3, padding: full}\n",
        "bad_value",
        4,
        "'valid', 'same'",
    ),
    (
        "kernel-too-large",
        GOOD_HEAD + "  - maxpool: {kernel: 2}\n  - conv: {name: c2, out: 8, kernel: 17}\n",
        "kernel_too_large",
        5,
        "padded input has only 16",
    ),
    (
        "kernel-rank",
        GOOD_HEAD + "  - conv: {out: 8, kernel: [3, 3, 3]}\n",
        "wrong_rank",
        4,
        "3 values but the input has 2",
    ),
    (
        "groups-mismatch",
        GOOD_HEAD + "  - conv: {out: 8, kernel: 3, groups: 2}\n",
        "groups_mismatch",
        4,
        "groups=2 does not divide in_channels=3",
    ),
    (
        "concat-mismatch",
        GOOD_HEAD + "  - parallel:\n      merge: concat\n      branches:\n"
        "        - [conv: {out: 8, kernel: 3}]\n        - [conv: {out: 8, kernel: 3, padding: 1}]\n",
        "branch_mismatch",
        4,
        "[8, 30, 30], [8, 32, 32]",
    ),
    (
        "add-mismatch",
        GOOD_HEAD + "  - residual: {body: [conv: {out: 8, kernel: 3, padding: 1}]}\n",
        "branch_mismatch",
        4,
        "cannot be added",
    ),
    ("linear-on-volume", GOOD_HEAD + "  - linear: {out: 10}\n", "wrong_input_rank", 4, "add a flatten"),
    (
        "conv-after-flatten",
        GOOD_HEAD + "  - flatten\n  - conv: {out: 4, kernel: 3}\n",
        "wrong_input_rank",
        5,
        "flat vector of 3072",
    ),
    (
        "pool-padding-too-large",
        GOOD_HEAD + "  - maxpool: {kernel: 2, padding: 2}\n",
        "padding_too_large",
        4,
        "at most 1",
    ),
    (
        "output-padding",
        GOOD_HEAD + "  - conv_transpose: {out: 4, kernel: 3, stride: 2, output_padding: 2}\n",
        "bad_output_padding",
        4,
        "smaller than the stride",
    ),
    ("duplicate-key", GOOD_HEAD + "  - conv: {out: 8, out: 4, kernel: 3}\n", "duplicate_key", 4, "appears twice"),
    (
        "recursive-alias",
        "name: t\ninput: [3, 8, 8]\nlayers: &a\n  - block: {layers: *a}\n",
        "recursive_alias",
        None,
        "refers to a node",
    ),
    (
        "not-utf8",
        (GOOD_HEAD + "  - conv: {out: 8, kernel: 3, bias: ").encode() + b"\xff}\n",
        "not_utf8",
        4,
        "not valid UTF-8",
    ),
    ("bad-name", "name: 'my net!'\ninput: [3, 8, 8]\nlayers:\n  - relu\n", "bad_value", 1, "'name'"),
    ("empty-layers", "name: t\ninput: [3, 8, 8]\nlayers: []\n", "bad_value", 3, "'layers'"),
]


@pytest.mark.parametrize(("text", "code", "line", "snippet"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_spec_message(tmp_path, runner, text, code, line, snippet):
    path = tmp_path / "bad.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    assert_one_error(runner, path, code, line, snippet)


@pytest.mark.parametrize(("text", "code", "line", "snippet"), [c[1:] for c in CASES[:6]], ids=[c[0] for c in CASES[:6]])
def test_bad_spec_json(tmp_path, runner, text, code, line, snippet):
    path = tmp_path / "bad.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = runner.invoke(main, ["shapes", str(path), "--json"], catch_exceptions=False)
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == code and error["line"] == line and error["file"] == str(path)


def test_layer_errors_name_the_layer(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD_HEAD + "  - maxpool: {kernel: 2}\n  - conv: {name: c2, out: 8, kernel: 17}\n")
    with pytest.raises(SpecError) as info:
        from archcalc import analyze

        analyze(load_spec(path))
    assert info.value.layer == "layers[1] 'c2' (conv)"
    assert info.value.loc == ("layers", 1, "kernel_size")


@pytest.mark.parametrize(
    ("ref", "snippet"), [("does/not/exist.yaml", "no spec file"), ("alexnt", "did you mean 'alexnet'")]
)
def test_missing_spec(runner, ref, snippet):
    result = runner.invoke(main, ["shapes", ref], catch_exceptions=False)
    assert result.exit_code == 2
    assert "error[spec_not_found]" in result.output and snippet in result.output


def test_directory_is_not_a_spec(runner, tmp_path):
    result = runner.invoke(main, ["shapes", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 2 and "error[not_a_file]" in result.output


def test_alias_bomb_is_stopped():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
        for i in range(1, 9)
    ]
    with pytest.raises(SpecError) as info:
        parse_spec("\n".join(lines) + "\n", "bomb.yaml")
    assert info.value.code == "spec_too_large"


def test_usage_errors_exit_2(runner):
    result = runner.invoke(main, ["shapes", "alexnet", "--input", "3xax2"])
    assert result.exit_code == 2 and "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["shapes", "lenet5", "--input", "1" + "0" * 200],  # was an OverflowError, exit 4
        ["shapes", "lenet5", "--input", "99999999999999"],  # was absurd cells, exit 0
        ["roofline", "lenet5", "--batch", "9" * 300],
        ["memory", "lenet5", "--batch", "9" * 30],
        ["conv", "--input", "5", "--kernel", "3", "--output", "9" * 26],  # the solver's range overflowed len()
    ],
)
def test_sizes_past_the_limits_are_usage_errors(runner, args):
    result = runner.invoke(main, args)
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "internal error" not in result.output and "Traceback" not in result.output


def test_with_input_keeps_the_spec_limits():
    with pytest.raises(SpecError) as info:
        load_spec("lenet5").with_input((1, 2**41, 32))
    assert info.value.code == "bad_value"


def test_two_specs_of_one_name_do_not_overwrite_each_others_report(runner, tmp_path):
    copy = tmp_path / "lenet5-copy.yaml"
    copy.write_text((Path(__file__).parent.parent / "specs" / "lenet5.yaml").read_text())
    result = runner.invoke(main, ["report", "lenet5", str(copy), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and "error[duplicate_report]" in result.output
    assert not (tmp_path / "out" / "lenet5.md").exists()


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (MemoryError(), 2),
        (RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 14249670696074160 bytes"), 2),
        (RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB"), 2),
        (RuntimeError("some other failure"), 4),  # a bug stays a bug
    ],
)
def test_a_run_too_large_for_the_machine_is_not_an_internal_error(runner, monkeypatch, error, code):
    import archcalc.commands.static as static

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(static, "_analyse", fail)
    result = runner.invoke(main, ["shapes", "lenet5"])
    assert result.exit_code == code, result.output
    assert ("too_large_to_run" in result.output) is (code == 2)


@pytest.mark.parametrize(
    ("layer", "unknown", "nearest", "missing"),
    [
        ("conv: {out: 4, kernal: 3}", "kernal", "kernel", []),  # `kernel` is kernel_size's short name
        ("conv: {ot: 4, kernal: 3}", "ot", "out", ["kernel_size"]),  # `out` supplies out_channels only
        ("linear: {outt: 10}", "outt", "out", []),
        ("{kind: conv, out_channels: 4, kernal_size: 3}", "kernal_size", "kernel_size", []),
    ],
    ids=["kernal", "two-typos", "linear", "canonical-name"],
)
def test_a_misspelt_field_is_reported_before_the_field_it_leaves_missing(layer, unknown, nearest, missing):
    """pydantic lists the missing field first; the misspelling is the mistake to report, with its
    nearest valid name, and the hint says what would still be missing once that name is used."""
    with pytest.raises(SpecError) as info:
        parse_spec(f"name: t\ninput: [3, 8, 8]\nlayers:\n  - {layer}\n", "typo.yaml")
    err = info.value
    assert (err.code, err.position.line) == ("unknown_field", 4), str(err)
    assert f"'{unknown}'" in err.message and f"did you mean '{nearest}'?" in (err.hint or ""), str(err)
    assert all(f"'{name}'" in (err.hint or "") for name in missing), str(err)
    if not missing:  # the suggestion itself supplies the missing field: no "lacks" clause contradicting it
        assert "lacks" not in (err.hint or ""), str(err)
