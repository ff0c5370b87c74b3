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


def assert_one_error(runner, path, code: str, line: int | None, snippet: str) -> None:
    """`archcalc shapes PATH` fails with exit 2 and exactly one message: its code, file:line, text."""
    from archcalc.cli import main

    result = runner.invoke(main, ["shapes", str(path)], catch_exceptions=False)
    message = result.stderr if hasattr(result, "stderr") else result.output
    assert result.exit_code == 2, f"exit code {result.exit_code}, output:\n{result.output}"
    assert "Traceback" not in result.output
    assert f"error[{code}]" in message, message
    where = f"{path}:{line}:" if line else str(path)
    assert where in message, f"expected location {where!r} in:\n{message}"
    assert snippet in message, f"expected {snippet!r} in:\n{message}"
    assert message.count("error[") == 1
