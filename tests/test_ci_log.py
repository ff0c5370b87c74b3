"""No user text reads as a GitHub workflow command in a CI log.

GitHub's runner takes a command from any log line that starts with `::` once leading white space
is trimmed, and from `##[` anywhere in a line (the legacy form). User text reaches the log through
archcalc's messages, tables, click's usage errors, JSON and JUnit printed to stdout; wherever it
lands, and however the line is wrapped, it must not form either. Only `check --format github`
writes commands, on purpose.
"""

from __future__ import annotations

import json

import pytest

from archcalc.cli import main
from archcalc.encode import term_text

FORGED = "::error file=README.md,line=1::FORGED"
LEGACY = "x ##[error]LEGACY"


def assert_log_safe(text: str) -> None:
    for line in text.splitlines():
        assert not line.lstrip().startswith("::"), f"a workflow command in the log: {line!r}"
        assert "##[" not in line, f"a legacy workflow command in the log: {line!r}"


def _spec(tmp_path, title: str, extra: str = ""):
    path = tmp_path / "s.yaml"
    path.write_text(
        json.dumps({"name": "t", "title": title, "input": [1, 8, 8], "layers": [{"conv": {"out": 2, "kernel": 3}}]})
        + extra,
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["list", "q\n" + FORGED + "\u202e"],
        ["kinds", FORGED],
        ["schema", "x", FORGED],
        ["conv", "--input", "9", "--kernel", "3", FORGED],
        ["export", "lenet5", FORGED],
        ["diff", "lenet5", "lenet5", FORGED],
        ["shapes", "--input", "3x\n" + FORGED, "lenet5"],
        ["no-such\n" + FORGED],
        ["shapes", "lenet5", "--no-such\n" + FORGED],
    ],
)
def test_click_usage_errors_quote_user_text_as_terminal_text(runner, args):
    result = runner.invoke(main, args)
    assert result.exit_code == 2, result.output
    assert_log_safe(result.output)
    assert "\u202e" not in result.output and "\x1b" not in result.output


@pytest.mark.parametrize("columns", ["40", "50", "80", "120"])
@pytest.mark.parametrize("padding", [0, 7, 33, 70])
def test_a_wrapped_title_starts_no_line_with_user_text(runner, tmp_path, columns, padding):
    spec = _spec(tmp_path, "a" * padding + " " + FORGED + " " + "b" * padding + FORGED)
    for args in (["shapes", str(spec)], ["shapes", str(spec), "--explain"], ["params", str(spec)]):
        result = runner.invoke(main, args, env={"COLUMNS": columns})
        assert result.exit_code == 0, result.output
        assert_log_safe(result.output)


def test_a_file_name_at_the_start_of_an_error_line_is_no_command(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["shapes", FORGED + ".yaml"])
    assert result.exit_code == 2
    assert_log_safe(result.output)
    folder = tmp_path / "::warning::d"
    folder.mkdir()
    (folder / "a.yaml").write_text("name: a\ninput: [1, 8, 8]\nlayers: [relu]\n")
    for fmt in ("text", "junit", "json"):
        result = runner.invoke(main, ["check", "::warning::d", "--format", fmt])
        assert result.exit_code == 0, result.output
        assert_log_safe(result.output)


@pytest.mark.parametrize(
    "args",
    [
        ["shapes"],
        ["shapes", "--json"],
        ["params"],
        ["check"],
        ["check", "--format", "junit"],
        ["check", "--format", "json"],
        ["report", "--format", "json"],
        ["report", "--format", "html"],
    ],
)
def test_legacy_commands_are_escaped_in_every_printed_artifact(runner, tmp_path, args):
    spec = _spec(tmp_path, LEGACY, "\n")
    out = tmp_path / "out"
    extra = ["-o", str(out)] if args[0] == "report" else []
    result = runner.invoke(main, [args[0], str(spec), *args[1:], *extra])
    assert result.exit_code == 0, result.output
    assert_log_safe(result.output)
    for written in out.glob("*") if out.exists() else ():
        if written.suffix in (".json", ".html"):
            assert "##[" not in written.read_text(encoding="utf-8"), written
    if "--json" in args:  # escaped in the log, the same text to a JSON reader
        assert json.loads(result.output)["spec"]["title"] == LEGACY


def test_an_unknown_key_with_a_legacy_command_is_escaped(runner, tmp_path):
    path = tmp_path / "k.yaml"
    path.write_text(
        'name: t\ninput: [1, 8, 8]\nlayers:\n  - conv: {out: 2, kernel: 3, "z ##[error file=R,line=1]L": 1}\n'
    )
    for fmt in ("text", "junit", "json"):
        result = runner.invoke(main, ["check", str(path), "--format", fmt])
        assert result.exit_code == 2, result.output
        assert_log_safe(result.output)


@pytest.mark.parametrize("text", ["::error::x", " ::x", "\t::x", "a ::b", "##[error]", "a##[b", ":", "a\n::b"])
def test_terminal_text_never_forms_a_command(text):
    assert_log_safe("line: " + term_text(text))
    assert_log_safe(term_text(text))
