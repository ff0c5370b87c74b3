"""Helpers for tests: specs from inline YAML."""

from __future__ import annotations

import textwrap

from archcalc import analyze, parse_spec


def spec_text(layers_yaml: str, input_shape: str = "[3, 32, 32]", name: str = "t") -> str:
    """A minimal spec around an indented list of layers."""
    body = textwrap.indent(textwrap.dedent(layers_yaml).strip("\n"), "  ")
    return f"name: {name}\ninput: {input_shape}\nlayers:\n{body}\n"


def analyse_text(layers_yaml: str, input_shape: str = "[3, 32, 32]"):
    return analyze(parse_spec(spec_text(layers_yaml, input_shape), "inline.yaml"))
