"""archcalc's nesting limit holds whatever the YAML parser's own limits are.

PyYAML 6.0.4's C parser stops at about 1,000 flow levels with an error of its own, and it reads
ahead through flow brackets before the loader's event-by-event depth check sees them. The loader
therefore measures the nesting itself when the parser fails; these tests hold that rule without
depending on any one parser's limit or wording.
"""

from __future__ import annotations

import pytest
import yaml

from archcalc import loader, yaml_builder
from archcalc.errors import SpecError

HEAD = "name: t\ninput: [3, 8, 8]\nlayers: "


@pytest.mark.parametrize("depth", [yaml_builder.MAX_DEPTH + 1, 500, 999, 1_001, 5_000, 100_000])
def test_deep_flow_nesting_is_too_deep_at_any_depth(depth):
    with pytest.raises(SpecError) as caught:
        loader.parse_spec(HEAD + "[" * depth + "]" * depth + "\n", "deep.yaml")
    assert caught.value.code == "too_deep", str(caught.value)
    assert caught.value.position is not None and caught.value.position.line == 3


def test_a_parser_error_of_any_wording_past_the_limit_is_too_deep(monkeypatch):
    """A parser that gives up past archcalc's limit with words archcalc has never seen."""
    depth = yaml_builder.MAX_DEPTH + 50
    text = HEAD + "[" * depth + "]" * depth + "\n"

    def refusing_parser(stream, Loader=None):  # noqa: N803 - yaml.parse's own argument name
        yield yaml.StreamStartEvent()
        mark = yaml.Mark("deep.yaml", len(HEAD) + depth - 1, 2, len("layers: ") + depth - 1, text, 0)
        raise yaml.parser.ParserError(None, None, "a limit this parser version invented", mark)

    monkeypatch.setattr(yaml_builder.yaml, "parse", refusing_parser)
    with pytest.raises(SpecError) as caught:
        loader.parse_spec(text, "deep.yaml")
    assert caught.value.code == "too_deep", str(caught.value)


def test_a_parser_error_within_the_limit_stays_a_syntax_error(monkeypatch):
    text = HEAD + "[[relu]]\n"

    def failing_parser(stream, Loader=None):  # noqa: N803
        yield yaml.StreamStartEvent()
        raise yaml.parser.ParserError(None, None, "exceeded maximum nesting depth", yaml.Mark("x", 28, 2, 10, text, 0))

    monkeypatch.setattr(yaml_builder.yaml, "parse", failing_parser)
    with pytest.raises(SpecError) as caught:
        loader.parse_spec(text, "shallow.yaml")
    assert caught.value.code == "yaml_syntax"


@pytest.mark.parametrize(
    ("text", "end", "depth"),
    [
        ("a: [1, [2, {b: 3}]]", 19, 3),
        ("a: '[[[['", 9, 0),
        ('a: "[\\"[["', 10, 0),
        ("a: 'it''s [['", 13, 0),
        ("a: [1]  # [[[[[", 15, 1),
        ("a: b#[[", 7, 2),  # a '#' inside a word starts no comment
    ],
)
def test_flow_depth_ignores_brackets_in_text(text, end, depth):
    assert yaml_builder.flow_depth(text, end) == depth
