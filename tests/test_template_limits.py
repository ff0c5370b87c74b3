"""Template expansion does work in proportion to what it writes: every node it creates (a shared
parameter value as much as a copy), every character of text and every expression evaluated is
charged against a stated limit, and expressions are bounded in depth, length and value.

The issue's reproductions are too large to commit, so they are written here and run through the
real CLI in a subprocess (timeout and memory limit as for tests/bad_specs/); the limits themselves
are checked at their edge in-process, with small limits where the real ones would be slow.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from archcalc import SpecError, parse_spec, templates

from .test_bad_specs import Expected, run_cli

HEAD = "name: t\ninput: [3, 8, 8]\nblocks:\n"


def _shared_layers(layers: int, uses: int) -> str:
    """A parameter holding `layers` layers, passed on and used `uses` times (the value is shared)."""
    sites = "".join(f"      - {{use: b, name: u{i}, with: {{ls: $ls}}}}\n" for i in range(uses))
    return (
        HEAD
        + "  b:\n    params: [ls]\n    layers: [{block: {layers: $ls}}]\n  c:\n    params: [ls]\n    layers:\n"
        + sites
        + "layers:\n  - use: c\n    with:\n      ls: ["
        + ", ".join(["relu"] * layers)
        + "]\n"
    )


def _long_name(expressions: int, uses: int) -> str:
    sites = "".join(f"  - {{use: b, name: u{i}, with: {{w: 1}}}}\n" for i in range(uses))
    return (
        HEAD + "  b:\n    params: [w]\n    layers: [{relu: {name: '" + "${w}" * expressions + "'}}]\nlayers:\n" + sites
    )


def _expression(text: str, w: int = 4) -> str:
    return (
        HEAD
        + f"  b:\n    params: [w]\n    layers: [conv: {{out: '${{{text}}}', kernel: 1}}]\nlayers:\n  - {{use: b, with: {{w: {w}}}}}\n"
    )


# name -> (spec text, what the CLI must say); each once hung, crashed or said something misleading
CASES = {
    # 100,000 layers used 1,000 times: a 626 KB file, 10^8 layers to validate
    "shared-100k-layers-1000-uses": (
        _shared_layers(100_000, 1_000),
        Expected("spec_too_large", 6, "the blocks expand to more than 500,000 nodes"),
    ),
    # a name of a million `${w}` used 20 times: charged before any is evaluated
    "name-of-a-million-expressions": (
        _long_name(1_000_000, 20),
        Expected("spec_too_large", 6, "this text holds 1,000,000"),
    ),
    # a hundred thousand per use: the second use passes the limit on evaluations
    "name-of-100k-expressions": (
        _long_name(100_000, 20),
        Expected("spec_too_large", 6, "the blocks evaluate more than 100,000"),
    ),
    # 10^5 signs: Python's parser runs out of stack ("needs more memory"); the nesting is measured first
    "signs-100k-deep": (
        _expression("-" * 100_000 + "w"),
        Expected("too_deep", 6, "nests parentheses and signs 100,000 deep, more than the limit of 50"),
    ),
    "parentheses-100k-deep": (
        _expression("(" * 100_000 + "w" + ")" * 100_000),
        Expected("too_deep", 6, "100,000 deep"),
    ),
    # 5,000 factors of 1: the value is fine, the text is past what is parsed
    "5000-factors": (
        _expression("*".join(["w"] * 5_000), w=1),
        Expected("bad_expression", 6, "is 9,999 characters long, more than the limit of 2,000"),
    ),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    directory = tmp_path_factory.mktemp("templates")
    paths = {}
    for name, (text, _) in CASES.items():
        paths[name] = directory / f"{name}.yaml"
        paths[name].write_text(text)
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(paths, pool.map(run_cli, paths.values()))), paths


@pytest.mark.parametrize("name", CASES)
def test_template_work_is_bounded(outcomes, name):
    results, paths = outcomes
    result, expected = results[name], CASES[name][1]
    err = result.stderr
    assert result.returncode == expected.exit, f"exit {result.returncode}, expected {expected.exit}:\n{err[:2000]}"
    assert "Traceback" not in err and "internal error" not in err and "memory" not in err, err[:2000]
    assert err.count("error[") == 1 and f"error[{expected.code}]" in err, err[:2000]
    assert f"{paths[name]}:{expected.line}:" in err, err[:2000]
    assert expected.message in err, f"expected {expected.message!r} in:\n{err[:2000]}"


def _error(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        parse_spec(text, "t.yaml")
    return info.value


@pytest.mark.parametrize(
    ("expression", "w", "ok"),
    [
        ("w", templates.MAX_VALUE, True),  # the limit itself
        ("w + 1", templates.MAX_VALUE, False),
        ("-w", templates.MAX_VALUE, True),
        ("-w - 1", templates.MAX_VALUE, False),  # -2^63: int64's own minimum, yet past the stated +-limit
        ("w * w // w", 2**32, False),  # the result fits, the intermediate w*w does not
        ("(w * 2**40) // 2", 2**40, False),  # ** is not arithmetic we evaluate
    ],
    ids=["max", "max+1", "-max", "-max-1", "intermediate", "power"],
)
def test_expression_values_are_capped(expression, w, ok):
    """Every value within +-MAX_VALUE, operands and results, checked on the expression itself."""
    text = _expression(expression, w)
    if ok:
        with pytest.raises(SpecError) as info:  # the value reaches the conv, whose own limit is 2^40
            parse_spec(text, "t.yaml")
        assert info.value.code == "bad_value" and "limit of +-" not in info.value.message, info.value
        return
    err = _error(text)
    if "**" in expression:
        assert err.code == "bad_expression" and "cannot evaluate" in err.message, err
        return
    assert err.code == "bad_value" and f"`${{{expression}}}` in block 'b'" in err.message, err
    assert "2^63 - 1" in err.message and err.note and "used at line 8" in err.note, (err, err.note)


@pytest.mark.parametrize("depth", [templates.MAX_EXPRESSION_DEPTH, templates.MAX_EXPRESSION_DEPTH + 1])
def test_expression_depth_at_its_edge(depth):
    for expression in ("-" * depth + "w", "(" * depth + "w" + ")" * depth):
        assert templates._nesting(expression) == depth
        if depth <= templates.MAX_EXPRESSION_DEPTH:
            parse_spec(_expression(expression), "t.yaml")
            continue
        err = _error(_expression(expression))
        assert err.code == "too_deep" and f"nests parentheses and signs {depth} deep" in err.message, err


def test_shared_value_costs_as_much_as_a_copy(monkeypatch):
    """A parameter's list used k times is charged like k written copies: one limit refuses both."""
    inline = (
        HEAD
        + "  b:\n    layers: [{block: {layers: [relu, relu, relu, relu, relu]}}]\nlayers:\n"
        + "".join(f"  - {{use: b, name: u{i}}}\n" for i in range(40))
    )
    shared = (
        HEAD
        + "  b:\n    params: [ls]\n    layers: [{block: {layers: $ls}}]\nlayers:\n"
        + "".join(f"  - {{use: b, name: u{i}, with: {{ls: [relu, relu, relu, relu, relu]}}}}\n" for i in range(40))
    )
    for limit in (300, 400, 500, 600):
        monkeypatch.setattr(templates, "MAX_NODES", limit)
        outcomes = []
        for text in (inline, shared):
            try:
                parse_spec(text, "t.yaml")
                outcomes.append("ok")
            except SpecError as err:
                outcomes.append(err.code)
        assert outcomes[0] == outcomes[1], f"limit {limit}: inline {outcomes[0]}, shared {outcomes[1]}"
    monkeypatch.setattr(templates, "MAX_NODES", 300)
    assert _error(shared).code == "spec_too_large"


def test_text_is_charged_per_use(monkeypatch):
    monkeypatch.setattr(templates, "MAX_TEXT", 2_000)
    one = HEAD + "  b:\n    layers: [{relu: {name: " + "n" * 90 + "}}]\nlayers:\n"
    parse_spec(one + "".join(f"  - {{use: b, name: u{i}}}\n" for i in range(10)), "t.yaml")
    err = _error(one + "".join(f"  - {{use: b, name: u{i}}}\n" for i in range(30)))
    assert err.code == "spec_too_large" and "more than 2,000 characters of text" in err.message, err


def test_expression_count_at_its_edge(monkeypatch):
    monkeypatch.setattr(templates, "MAX_EXPRESSIONS", 30)
    parse_spec(_long_name(10, 3), "t.yaml")
    err = _error(_long_name(10, 4))
    assert err.code == "spec_too_large" and "evaluate more than 30" in err.message, err


@pytest.mark.parametrize("value", ["{a: '{}'}", "'{0}'", "[1, 2]", "'x'"])
def test_a_parameter_that_is_no_integer_is_named(value):
    """The value is quoted into the message as it is (braces included), with the expression and use site."""
    err = _error(_expression("w + 1", value))  # type: ignore[arg-type]
    assert err.code == "bad_expression" and err.message.startswith("parameter 'w' is "), err
    assert err.message.endswith("not an integer, in `${w + 1}` in block 'b'") and "used at line 8" in err.note, err


def _doubling(levels: int, named: bool = False) -> str:
    """Block b_i uses b_{i+1} twice (and once more inside a parallel when `named`): 2^levels copies."""
    blocks = ""
    for i in range(levels):
        if named:
            blocks += (
                f"  b{i}:\n    layers: [{{use: b{i + 1}, name: l}}, {{use: b{i + 1}, name: r}}, "
                f"{{parallel: {{merge: add, branches: [[relu], [{{use: b{i + 1}, name: x}}]]}}}}]\n"
            )
        else:
            blocks += f"  b{i}:\n    layers: [{{use: b{i + 1}}}, {{use: b{i + 1}}}]\n"
    blocks += f"  b{levels}:\n    layers: [relu, {{conv: {{out: 3, kernel: 1}}}}]\n"
    return HEAD + blocks + "layers:\n  - use: b0\n  - {use: b0, name: z}\n"


def _no_expansion(monkeypatch) -> None:
    def expand(*args, **kwargs):
        raise AssertionError("the spec was expanded before its size was known")

    monkeypatch.setattr(templates._Expander, "expand", expand)


def test_doubling_chain_is_refused_before_expanding(monkeypatch):
    """40 blocks, each using the next twice (a 2 KB file, 2^40 nodes): refused from the templates'
    sizes, computed bottom-up, without expanding a node (it once took 4.5 s to reach the limit)."""
    text = _doubling(40)
    assert len(text) < 2_500
    _no_expansion(monkeypatch)
    err = _error(text)
    assert err.code == "spec_too_large" and "the blocks expand to more than 500,000 nodes" in err.message, err
    assert "block 'b0' used here expands to more than 500,000 nodes by itself" in err.message, err
    assert err.position is not None and err.position.line == text.splitlines().index("  - use: b0") + 1


def test_doubling_chain_is_refused_at_once_through_the_cli(tmp_path):
    import subprocess
    import sys

    from .test_bad_specs import ROOT

    path = tmp_path / "doubling.yaml"
    path.write_text(_doubling(40))
    result = subprocess.run(
        [sys.executable, "-m", "archcalc.cli", "shapes", str(path)], capture_output=True, text=True, timeout=3, cwd=ROOT
    )  # a generous bound: the check takes milliseconds
    assert result.returncode == 2 and "error[spec_too_large]" in result.stderr, result.stderr


@pytest.mark.parametrize("levels", [1, 3, 5])
def test_static_size_is_the_expanded_size(monkeypatch, levels):
    """Where every use names its block, the static size is exactly what expansion counts: a chain at
    the limit expands, one node over it is refused before expanding."""
    text = _doubling(levels, named=True)
    counted = []
    init = templates._Expander.__init__

    def record(self, *args):
        init(self, *args)
        counted.append(self)

    monkeypatch.setattr(templates._Expander, "__init__", record)
    parse_spec(text, "t.yaml")
    nodes = counted[-1].nodes
    monkeypatch.setattr(templates, "MAX_NODES", nodes)
    assert parse_spec(text, "t.yaml").name == "t"  # exactly at the limit: expands
    monkeypatch.setattr(templates, "MAX_NODES", nodes - 1)
    _no_expansion(monkeypatch)
    err = _error(text)
    assert err.code == "spec_too_large" and f"more than {nodes - 1:,} nodes" in err.message, err


def test_a_cycle_is_still_reported_as_recursion():
    text = HEAD + "  a:\n    layers: [{use: b}, {use: b}]\n  b:\n    layers: [{use: a}]\nlayers:\n  - use: a\n"
    assert _error(text).code == "recursive_block"
