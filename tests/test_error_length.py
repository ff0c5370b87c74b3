"""No error line is longer than MAX_ERROR_LINE whatever the input: every part of an error that may
quote user text is cut where errors are rendered (errors.py), so a template name of 20,000 `$w` or
a key of 100,000 characters gives a short message saying how long the whole was."""

from __future__ import annotations

import json

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archcalc.cli import main
from archcalc.errors import FIELD_LIMITS, MAX_ERROR_LINE, Position, SpecError

BIG = 100_000


def _lines_bounded(text: str) -> None:
    longest = max((len(line) for line in text.splitlines()), default=0)
    assert longest <= MAX_ERROR_LINE, f"a line of {longest:,} characters"


def test_a_template_name_of_20000_dollar_w(runner, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(f'name: s\ninput: [1, 8, 8]\nlayers:\n  - use: "{"$w" * 20_000}"\n')
    result = runner.invoke(main, ["shapes", str(spec)], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert len(result.output) < 2 * MAX_ERROR_LINE and "characters in all" in result.output, result.output


def test_every_field_of_an_error_is_cut():
    big = "\x1b" * BIG  # each character encodes as 4: cut before and after encoding
    err = SpecError("bad_value", big, hint=big, note=big, layer=big, file=big, position=Position(1, 2))
    text = str(err)
    _lines_bounded(text)
    assert len(text) <= sum(FIELD_LIMITS.values()) + 200
    fields = err.to_dict()
    assert all(len(v) <= max(FIELD_LIMITS.values()) for v in fields.values() if isinstance(v, str))


def _text(alphabet: str) -> st.SearchStrategy[str]:
    return st.builds(
        lambda unit, n: (unit * (BIG // max(len(unit), 1) + 1))[:BIG] if n else unit,
        st.text(alphabet, min_size=1, max_size=8),
        st.just(1),
    )


SHAPES = {
    "key": lambda t: {"layers": [{"conv": {"out": 4, "kernel": 3, t: 1}}]},
    "kind": lambda t: {"layers": [{t: {"out": 4}}]},
    "layer-name": lambda t: {"layers": [{"conv": {"out": 4, "kernel": 3, "name": t}}, {"conv": {"out": 4}}]},
    "block-name": lambda t: {"layers": [{"use": t}]},
    "template": lambda t: {"layers": [{"use": "$" + t}]},
    "budget-key": lambda t: {"budget": {t: 1}, "layers": ["relu"]},
    "block-parameter": lambda t: {"blocks": {"b": {"params": [t], "layers": ["relu"]}}, "layers": [{"use": "b"}]},
    "block-definition": lambda t: {"blocks": {t: {"layers": [{"conv": {"out": 4}}]}}, "layers": [{"use": t}]},
}


@settings(max_examples=16, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=_text("ab$w_.-:é\x1b\n{}[]#'\" "), where=st.sampled_from(sorted(SHAPES)))
def test_huge_user_text_gives_short_error_lines(runner, tmp_path_factory, text, where):
    spec = {"name": "t", "input": [1, 8, 8], **SHAPES[where](text)}
    path = tmp_path_factory.mktemp("e") / "s.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    for args in (["shapes", str(path)], ["shapes", str(path), "--json"]):
        result = runner.invoke(main, args, catch_exceptions=False)
        assert result.exit_code in (0, 1, 2), result.output
        _lines_bounded(result.stderr)
        if "--json" in args and result.stdout.strip():
            data = json.loads(result.stdout)
            assert all(len(str(v)) <= max(FIELD_LIMITS.values()) for v in data.get("error", {}).values())
