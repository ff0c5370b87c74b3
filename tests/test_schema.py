"""`archcalc schema`: the committed docs/spec.schema.json is current, and it accepts what archcalc accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from archcalc import parse_spec
from archcalc.bundled import specs_dir
from archcalc.cli import main
from archcalc.schema import spec_schema

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "docs" / "spec.schema.json"


def test_committed_schema_is_current(runner):
    result = runner.invoke(main, ["schema"], catch_exceptions=False)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == spec_schema()
    assert COMMITTED.read_text() == result.stdout, "run `archcalc schema -o docs/spec.schema.json` and commit it"


def test_schema_lists_every_kind_and_the_budget():
    schema = spec_schema()
    item = schema["$defs"]["LayerItem"]["anyOf"]
    from archcalc.layers import KINDS

    assert set(KINDS) <= set(item[0]["enum"]) and set(KINDS) <= set(item[1]["properties"])
    assert set(schema["$defs"]["Budget"]["properties"]) == {"max_params", "max_macs", "max_activations", "dtype"}


README_SPEC = """
name: my_net
input: [3, 64, 64]
layers:
  - conv: {out: 32, kernel: 3, stride: 2, padding: same}
  - batchnorm
  - relu
  - residual:
      body: [conv: {out: 64, kernel: 3, stride: 2, padding: 1, bias: false}, batchnorm]
      shortcut: [conv: {out: 64, kernel: 1, stride: 2, bias: false}]
  - parallel:
      merge: concat
      branches:
        - [conv: {out: 16, kernel: 1}]
        - [maxpool: {kernel: 3, stride: 1, padding: 1}, conv: {out: 16, kernel: [1, 3], padding: [[0, 0], [1, 1]]}]
  - repeat: {times: 2, layers: [conv: {out: 64, kernel: 3, padding: 1}, relu]}
  - global_avgpool
  - flatten
  - {kind: linear, out_features: 10}
budget: {max_params: 5M, max_macs: 2.5G, max_activations: 100MB, dtype: fp16}
"""

BAD = [
    ("  - conv: {out: 32, kernal: 3}", "misspelt field"),
    ("  - convv: {out: 3}", "unknown kind"),
    ("  - {kind: linear, outt: 3}", "misspelt canonical field"),
    ("  - reluu", "unknown short kind"),
    ("  - conv: {kernel: 3}", "missing out"),
    ("  - conv: {kernel: 3, groups: 2}", "missing out of a grouped conv"),
    ("  - repeat: {times: -1, layers: [relu]}", "negative repeat"),
]

# what the schema accepts since issue 15: a depthwise conv's out is its input channels, a repeat may be 0
GOOD = [
    ("  - conv: {kernel: 3, groups: depthwise}", "depthwise conv without out"),
    ("  - {kind: conv, kernel_size: 3, groups: depthwise}", "canonical depthwise conv without out"),
    ("  - repeat: {times: 0, layers: [relu]}", "repeat of zero copies"),
]


@pytest.fixture(scope="module")
def validator():
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is in the `test` extra; not installed here")
    return jsonschema.Draft202012Validator(spec_schema())


def test_schema_is_valid_and_accepts_bundled_and_readme_specs(validator):
    type(validator).check_schema(validator.schema)
    for path in sorted(specs_dir().glob("*.yaml")):
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
        assert errors == [], (path.name, errors[:3])
    assert [e.message for e in validator.iter_errors(yaml.safe_load(README_SPEC))] == []


@pytest.mark.parametrize(("layer", "why"), BAD, ids=[why for _, why in BAD])
def test_schema_rejects_mistakes(validator, layer, why):
    data = yaml.safe_load(f"name: x\ninput: [3, 8, 8]\nlayers:\n{layer}\n")
    assert list(validator.iter_errors(data)), why


@pytest.mark.parametrize(("layer", "why"), GOOD, ids=[why for _, why in GOOD])
def test_schema_accepts_what_archcalc_accepts(validator, layer, why):
    text = f"name: x\ninput: [3, 8, 8]\nlayers:\n{layer}\n"
    parse_spec(text, "x.yaml")  # archcalc accepts it
    assert [e.message for e in validator.iter_errors(yaml.safe_load(text))] == [], why
