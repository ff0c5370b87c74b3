"""The YAML builder resolves each distinct scalar once per file and reuses the value: the reuse must
keep quoting, tags and YAML 1.1's implicit types apart exactly as resolving every scalar would."""

from __future__ import annotations

import yaml

from archcalc.yaml_builder import parse_yaml

TEXT = """\
a: 1
b: '1'
c: 1
d: !!str 1
e: true
f: 'true'
g: 1.5
h: null
i: ~
j: "null"
k: [1, '1', 1, 0x10, 1_000]
"""


def test_each_scalar_keeps_its_own_type():
    data, _ = parse_yaml(TEXT, "x.yaml")
    assert data == yaml.safe_load(TEXT)
    assert data == {
        "a": 1,
        "b": "1",
        "c": 1,
        "d": "1",
        "e": True,
        "f": "true",
        "g": 1.5,
        "h": None,
        "i": None,
        "j": "null",
        "k": [1, "1", 1, 16, 1000],
    }
    assert [type(v) for v in data["k"]] == [int, str, int, int, int]


def test_positions_are_recorded_for_every_repeated_scalar():
    _, source = parse_yaml("l: [1, 1, 1]\n", "x.yaml")
    assert [source.positions[("l", i)].column for i in range(3)] == [5, 8, 11]
