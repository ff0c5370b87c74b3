"""Untrusted text reaches every artifact encoded for its language (issue 13, rule 1: encode at the writer).

The reproductions of the issue come first, as written; then property tests that draw hostile text into
every free-text field and read each artifact back with its consumer's own parser (ast and torch for
exported source, a CommonMark renderer, html.parser, xml.etree, strict json, csv), and check that no
user string starts a line of terminal or CI output.
"""

from __future__ import annotations

import ast
import builtins
import csv
import io
import json
import os
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from archcalc import analyze, parse_spec
from archcalc.breakdown import build_breakdown, measured_from_dict
from archcalc.cli import main
from archcalc.encode import FORMULA_START, csv_cell, json_text
from archcalc.errors import SpecError
from archcalc.fields import MODULE_ATTRIBUTES
from archcalc.report import formats, svg

ROOT = Path(__file__).resolve().parent.parent
MARKER = "INJECTED-LINE"  # hostile text puts it right after a line break: no output line may begin with it
SENTINEL = "ARCHCALC_PWNED"


def _invoke(runner, args: list[str]):
    result = runner.invoke(main, args, catch_exceptions=False)
    assert result.exit_code != 4, f"internal error for {args}:\n{result.output}"
    return result


def _yaml(data: dict) -> str:
    """YAML that reads back exactly: every non-ASCII or control character as an escape (PyYAML folds
    a raw NEL or LINE SEPARATOR into a space)."""
    return yaml.safe_dump(data, sort_keys=False)


def _write(path: Path, data: dict) -> Path:
    path.write_text(_yaml(data), encoding="utf-8")
    return path


def _spec(**fields) -> dict:
    return {
        "name": "t",
        **fields,
        "input": [1, 8, 8],
        "layers": fields.pop("layers", None) or [{"conv": {"out": 4, "kernel": 3}}, "relu"],
    }


def _streams(result) -> str:
    return result.stdout + (result.stderr if hasattr(result, "stderr") else "")


def assert_no_forged_lines(text: str, *, github: bool = False) -> None:
    """No line begins with `::` (a workflow command) unless --format github wrote it, and no line
    begins with the marker the hostile text puts after every kind of line break."""
    for line in text.splitlines():
        if github and re.match(r"::(error|warning) file=", line):
            continue
        assert not line.startswith("::"), f"a forged workflow command: {line!r}\nin:\n{text}"
        assert not line.lstrip(" │┃|").startswith(MARKER), f"user text started a line: {line!r}\nin:\n{text}"


def markdown_tokens(text: str) -> list:
    tokens = []
    stack = MarkdownIt("commonmark").enable("table").parse(text)
    while stack:
        token = stack.pop()
        tokens.append(token)
        stack.extend(token.children or [])
    return tokens


def assert_markdown_writes_no_element(text: str, headings: int, images: int) -> None:
    """Rendered as CommonMark (with GitHub's tables): no raw HTML, no link, and only archcalc's own
    headings and images (their counts are what archcalc writes for any input)."""
    tokens = markdown_tokens(text)
    kinds = [t.type for t in tokens]
    assert "html_block" not in kinds and "html_inline" not in kinds, text
    assert "link_open" not in kinds, text
    assert kinds.count("heading_open") == headings, text
    assert kinds.count("image") == images, text
    assert "em_open" not in kinds and "code_inline" not in kinds, text


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs |= {name for name, _ in attrs}


HTML_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "main",
    "h1",
    "h2",
    "p",
    "strong",
    "div",
    "ul",
    "li",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "th",
    "td",
    "figure",
    "figcaption",
    "svg",
    "rect",
    "text",
    "g",
    "line",
    "a",
    "code",
}
HTML_ATTRS = {
    "lang",
    "charset",
    "name",
    "content",
    "class",
    "xmlns",
    "width",
    "height",
    "viewbox",
    "role",
    "aria-labelledby",
    "font-family",
    "font-size",
    "id",
    "x",
    "y",
    "fill",
    "font-weight",
    "x1",
    "y1",
    "x2",
    "y2",
    "stroke",
    "text-anchor",
    "href",
}
SVG_TAGS = {"svg", "title", "rect", "text", "g", "line"}


def assert_html_writes_no_element(text: str) -> None:
    parser = _Tags()
    parser.feed(text)
    parser.close()
    assert set(parser.tags) <= HTML_TAGS, set(parser.tags) - HTML_TAGS
    assert parser.attrs <= HTML_ATTRS, parser.attrs - HTML_ATTRS
    assert parser.tags.count("h1") == 1 and parser.tags.count("script") == 0


def assert_svg_writes_no_element(text: str) -> None:
    root = ET.fromstring(text)
    tags = {element.tag.split("}")[-1] for element in root.iter()}
    assert tags <= SVG_TAGS, tags - SVG_TAGS


def strict_json(text: str):
    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


# ---------------------------------------------------------------------------------------------
# The reproductions, as written


PWN_TITLE = 'x"""\nimport os; os.system(\'echo PWNED > pwned.txt\')\n"""'


@pytest.mark.parametrize("title", [PWN_TITLE, "C:\\xnets"], ids=["triple-quote-code", "backslash-x"])
def test_exported_source_holds_the_title_as_a_literal(runner, tmp_path, monkeypatch, title):
    torch = pytest.importorskip("torch")
    spec = _write(tmp_path / "s.yaml", _spec(title=title))
    result = _invoke(runner, ["export", str(spec), "--to", "torch"])
    assert result.exit_code == 0, result.output
    ast.parse(result.output)  # `C:\xnets` in a docstring was a SyntaxError
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(result.output, "m.py", "exec"), namespace)  # noqa: S102 - the point: running it runs nothing else
    assert not (tmp_path / "pwned.txt").exists()
    assert namespace["TITLE"] == title
    assert isinstance(namespace["model"], torch.nn.Module)


@pytest.mark.parametrize(
    "name",
    [
        "forward",
        "training",
        "train",
        "eval",
        "parameters",
        "to",
        "cuda",
        "state_dict",
        "add_module",
        "register_buffer",
        "apply",
        "half",
        "type",
        "pop",
        "append",
        "_modules",
        "__init__",
        "_x",
    ],
)
@pytest.mark.parametrize("where", ["layer", "residual", "branch"])
def test_a_name_torch_holds_as_an_attribute_is_refused(runner, tmp_path, name, where):
    conv = {"conv": {"out": 1, "kernel": 1, "name": name}}
    layers = {
        "layer": [conv],
        "residual": [{"residual": {"name": name, "body": [{"conv": {"out": 1, "kernel": 1}}]}}],
        "branch": [{"parallel": {"merge": "add", "branches": [{"name": name, "layers": []}, {"layers": ["relu"]}]}}],
    }[where]
    spec = _write(tmp_path / "s.yaml", _spec(layers=layers))
    result = _invoke(runner, ["shapes", str(spec)])
    assert result.exit_code == 2, result.output
    assert "error[bad_value]" in result.output and f"must not be '{name}'" in result.output, result.output
    assert "torch" in result.output


def test_the_reserved_names_cover_every_attribute_of_torch_containers():
    """The list is data (the static path imports no torch); here it is held against the installed
    torch: every attribute of the containers a layer becomes a child of, that a layer name could
    spell, is refused (names starting with _ are refused as a rule)."""
    from collections import OrderedDict

    from torch import nn

    from archcalc.fields import _check_layer_name
    from archcalc.verify.modules import Graph

    containers = [
        nn.Module(),
        nn.Sequential(),
        nn.Sequential(OrderedDict(a=nn.ReLU())),
        Graph(OrderedDict(a=nn.ReLU()), [("a", (0,), 1)], 0, (1,)),
    ]
    spellable = {
        n for c in containers for n in dir(c) if n and n[0] not in "+-" and all(ch.isalnum() or ch in "_+-" for ch in n)
    }
    missing = {n for n in spellable if not n.startswith("_") and n not in MODULE_ATTRIBUTES and n != "a"}
    assert not missing, f"add to fields.MODULE_ATTRIBUTES: {sorted(missing)}"
    for name in sorted(spellable - {"a"}):
        with pytest.raises(ValueError):
            _check_layer_name(name)


@pytest.mark.parametrize(
    "fields",
    [
        {"title": "<img src=x onerror=alert(2)>"},
        {"notes": "a\r<script>alert(1)</script>\r\r# Injected"},
    ],
    ids=["title-img", "notes-script-heading"],
)
def test_markdown_report_carries_no_raw_html(runner, tmp_path, fields):
    spec = _write(tmp_path / "s.yaml", _spec(**fields))
    result = _invoke(runner, ["report", str(spec), "-o", str(tmp_path), "--format", "md", "--format", "html"])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "t.md").read_text(encoding="utf-8")
    assert_markdown_writes_no_element(text, headings=5, images=1)
    assert "<script>" not in text and "<img" not in text
    assert_html_writes_no_element((tmp_path / "t.html").read_text(encoding="utf-8"))


def test_measured_strings_carry_no_raw_html(runner, tmp_path):
    measured = tmp_path / "m.json"
    measured.write_text(
        json.dumps(
            {
                "spec": "lenet5",
                "tool": "x\n\n<script>alert(1)</script>",
                "params": 61706,
                "layers": [{"path": "<b>x</b>\n# H", "params": 1}],
            }
        )
    )
    result = _invoke(
        runner,
        ["report", "lenet5", "--measured", str(measured), "-o", str(tmp_path), "--format", "md", "--format", "html"],
    )
    assert result.exit_code == 0, result.output
    assert_markdown_writes_no_element((tmp_path / "lenet5.md").read_text(encoding="utf-8"), headings=6, images=1)
    assert_html_writes_no_element((tmp_path / "lenet5.html").read_text(encoding="utf-8"))


FORGED_KEY = "k\n::error file=README.md,line=1::INJECTED"


@pytest.mark.parametrize(
    "args",
    [
        ["shapes"],
        ["check"],
        ["check", "--format", "junit"],
        ["check", "--format", "github"],
        ["check", "--format", "json"],
    ],
    ids=["shapes", "check-text", "check-junit", "check-github", "check-json"],
)
def test_an_unknown_key_with_a_newline_forges_no_annotation(runner, tmp_path, args):
    spec = _write(tmp_path / "s.yaml", _spec(layers=[{"conv": {"out": 4, "kernel": 3, FORGED_KEY: 1}}]))
    result = _invoke(runner, [*args, str(spec)])
    assert result.exit_code == 2, result.output
    assert "INJECTED" in _streams(result)
    assert_no_forged_lines(_streams(result), github="github" in args)


def test_a_file_name_with_a_newline_forges_no_annotation(runner, tmp_path):
    folder = tmp_path / "d"
    (folder / "x\n::error::forged").mkdir(parents=True)
    _write(folder / "x\n::error::forged" / "s.yaml", _spec())
    _write(folder / "a\n::error::f.yaml", _spec(layers=[{"conv": {"out": 4, "kernel": 3, "bad": 1}}]))
    for fmt in ("text", "junit", "github"):
        result = _invoke(runner, ["check", str(folder), "--max-params", "1", "--format", fmt])
        assert result.exit_code == 2, result.output
        assert_no_forged_lines(_streams(result), github=fmt == "github")


def test_a_convention_description_forges_no_annotation(runner, tmp_path):
    spec = _write(
        tmp_path / "s.yaml",
        _spec(
            convention={"name": "p\n::error::n", "description": "x\n::error::forged", "ops_label": "L\n::warning::w"}
        ),
    )
    for args in (
        ["shapes", str(spec), "--convention", "paper"],
        ["compare", str(spec), "lenet5", "--convention", "paper"],
    ):
        result = _invoke(runner, args)
        assert result.exit_code == 0, result.output
        assert "forged" in result.output or "compare" in args
        assert_no_forged_lines(result.output)


def test_junit_is_well_formed_with_a_control_character_in_a_key(runner, tmp_path):
    spec = _write(tmp_path / "s.yaml", _spec(layers=[{"conv": {"out": 4, "kernel": 3, "a\x01b": 1}}]))
    result = _invoke(runner, ["check", str(spec), "--format", "junit"])
    assert result.exit_code == 2
    root = ET.fromstring(result.stdout.encode())
    assert root.find(".//error") is not None


@pytest.mark.parametrize("where", ["block-parameter", "path"])
@pytest.mark.parametrize("text", ["a\\[", "\\[bold]x", "[/]", "a\\\\[red]b[/red]", "a\\[b x[y]"])
def test_rich_markup_in_user_text_is_text(runner, tmp_path, where, text):
    if where == "block-parameter":
        spec = _write(
            tmp_path / "s.yaml",
            {
                "name": "t",
                "input": [1, 8, 8],
                "blocks": {"b": {"params": [text], "layers": ["relu"]}},
                "layers": [{"use": "b"}],
            },
        )
    else:
        bad = _spec(layers=[{"conv": {"out": 4, "kernel": 3, "bad": 1}}])
        spec = _write(tmp_path / f"{text.replace('/', '_')}.yaml", bad)
    for args in (["check", str(spec)], ["shapes", str(spec)]):
        result = _invoke(runner, args)
        assert result.exit_code == 2, result.output
        shown = text if where == "block-parameter" else str(spec)
        assert (repr(shown)[1:-1] if where == "block-parameter" else shown) in _streams(result), _streams(result)


def test_a_nan_argument_is_refused_not_exported(runner, tmp_path):
    spec = _write(
        tmp_path / "s.yaml", {"name": "t", "input": [4], "layers": [{"leaky_relu": {"negative_slope": "NAN"}}]}
    )
    spec.write_text(spec.read_text().replace("NAN", ".nan"))
    result = _invoke(runner, ["export", str(spec), "--to", "torch"])
    assert result.exit_code == 2 and "nan" not in result.stdout.lower(), result.output


def test_json_is_strict():
    with pytest.raises(ValueError):
        json_text({"params": float("nan")})
    with pytest.raises(ValueError):
        json_text({"params": float("inf")})


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1", "'+1"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=1", "a=1"),
        (-5, -5),
        (0, 0),
    ],
    ids=["equals", "plus", "minus", "at", "tab", "cr", "inner", "negative-int", "zero"],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_inert(cell, written):
    assert csv_cell(cell) == written


# ---------------------------------------------------------------------------------------------
# No writer escapes by hand: each goes through archcalc/encode.py

WRITERS = [
    *sorted((ROOT / "archcalc" / "report").glob("*.py")),
    *sorted((ROOT / "archcalc" / "check").glob("*.py")),
    *sorted((ROOT / "archcalc" / "commands").glob("*.py")),
    ROOT / "archcalc" / "verify" / "build.py",
    ROOT / "archcalc" / "importing" / "spec_text.py",
    ROOT / "archcalc" / "analysis_view.py",
    ROOT / "archcalc" / "table.py",
    ROOT / "archcalc" / "errors.py",
]
ESCAPING_LITERALS = {"|", "\n", "\r", "%", "[", "<", ">", "&", '"', "'", "\\"}


@pytest.mark.parametrize("path", WRITERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_writers_encode_only_through_the_encode_module(path):
    """No html.escape / markup escape / json.dumps / repr / !r / hand-made `.replace` of markup
    characters in a writer: every encoding is archcalc.encode's, where each rule is written once."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("escape", "dumps", "repr", "quote", "quoteattr"):
                found.append(f"line {node.lineno}: {name}()")
            if (
                name == "replace"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value in ESCAPING_LITERALS
            ):
                found.append(f"line {node.lineno}: .replace({node.args[0].value!r}, ...)")
        if isinstance(node, ast.FormattedValue) and node.conversion == ord("r") and path.name == "build.py":
            found.append(f"line {node.lineno}: !r in generated source")
        if isinstance(node, ast.ImportFrom) and node.module in ("html", "rich.markup", "xml.sax.saxutils"):
            found.append(f"line {node.lineno}: from {node.module} import ...")
    assert not found, f"{path.name} escapes by hand (use archcalc.encode): {found}"


# ---------------------------------------------------------------------------------------------
# Property tests: hostile text in every free-text field, each artifact read back by its own parser

EXAMPLES = int(os.environ.get("ARCHCALC_HOSTILE_EXAMPLES", "0")) or None
BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
PAYLOADS = [
    '"""\nimport builtins; builtins.ARCHCALC_PWNED = True\n"""',
    "'''\nARCHCALC_PWNED = 1\n'''",
    "')\nARCHCALC_PWNED = 1\n#",
    "\\\nARCHCALC_PWNED = 1",
    '"\nARCHCALC_PWNED = 1\n"',
    '"',
    "'",
    '"""',
    "'''",
    "\\",
    "\\x",
    "C:\\xnets",
    "\\N{",
    "\\u12",
    "{",
    "}",
    "{{x}}",
    "%",
    "%0A",
    "%25",
    "::",
    "::error::",
    ",",
    ":",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "</td>",
    "<!--",
    "-->",
    "]]>",
    "<![CDATA[",
    "&amp;",
    "&lt;",
    "&#x41;",
    "[/]",
    "[red]",
    "[bold]x[/bold]",
    "\\[",
    "\\\\[",
    "[link=x]",
    ":smile:",
    "${",
    "${w}",
    "$x$",
    "\u202e",
    "\u202a",
    "\u2066",
    "\u2069",
    "\u200e",
    "\u200f",
    "\u061c",
    "=cmd|' /C calc'!A0",
    "+1",
    "-1",
    "@SUM(1)",
    "\t",
    "# H",
    "=====",
    "---",
    "| a |",
    "*e*",
    "**s**",
    "_e_",
    "`c`",
    "~~s~~",
    "[l](javascript:alert(1))",
    "![i](http://x/i.png)",
    "<http://x>",
    "\x00",
    "\x01",
    "\x07",
    "\x08",
    "\x1b[2J",
    "\x1b]8;;http://x\x07",
    "\x7f",
    "\x9b",
    "\ufeff",
    "\ufffe",
    "\U0001f600",
    "漢字",
    "e\u0301",
]
hostile = st.lists(
    st.one_of(
        st.sampled_from(PAYLOADS),
        st.sampled_from(BREAKS).map(lambda b: b + "::error::" + MARKER),
        st.sampled_from(BREAKS).map(lambda b: b + MARKER),
        st.text(max_size=4),
    ),
    min_size=1,
    max_size=6,
).map("".join)
GENERATED = re.compile(r"(conv|relu|residual|parallel|b)\d+|add|concat|mul|shortcut")
layer_name = st.text(
    st.characters(codec="utf-8").filter(lambda c: c.isalnum() or c in "_+-"), min_size=1, max_size=12
).filter(lambda n: n[0] not in "+-_" and n not in MODULE_ATTRIBUTES and not GENERATED.fullmatch(n))
file_name = hostile.map(lambda t: t.replace("/", "").replace("\x00", "")[:80]).filter(
    lambda t: t not in ("", ".", "..")
)

# CI (derandomized by conftest.py): 60 examples per test, about 40 s on two cores in all;
# ARCHCALC_HOSTILE_EXAMPLES=10000 runs that many per test by hand.
PROPERTY = settings(max_examples=EXAMPLES or 60, deadline=None, suppress_health_check=list(HealthCheck))


@st.composite
def hostile_specs(draw) -> dict:
    names = draw(st.lists(layer_name, min_size=4, max_size=4, unique=True))
    conv = {"conv": {"out": 4, "kernel": 3, "padding": 1, "name": names[0]}}
    residual = {"residual": {"name": names[1], "body": [{"conv": {"out": 4, "kernel": 3, "padding": 1}}]}}
    parallel = {
        "parallel": {
            "name": names[2],
            "merge": "concat",
            "branches": [{"name": names[3], "layers": []}, {"layers": ["relu"]}],
        }
    }
    return {
        "name": "t",
        "title": draw(hostile),
        "family": draw(hostile),
        "source": draw(hostile),
        "notes": draw(hostile),
        "convention": {
            "name": draw(hostile),
            "description": draw(hostile),
            "ops_label": draw(hostile),
            "ops_per_mac": 2,
        },
        "budget": {"max_params": 10},
        "input": [1, 8, 8],
        "layers": [conv, residual, parallel, "flatten", {"linear": {"out": 3}}],
    }


def _user_strings(spec: dict) -> list[str]:
    return [spec[k] for k in ("title", "family", "source", "notes")] + [
        spec["convention"][k] for k in ("name", "description", "ops_label")
    ]


@PROPERTY
@given(spec=hostile_specs())
def test_hostile_text_export_parses_builds_and_runs_nothing_else(spec):
    torch = pytest.importorskip("torch")
    from archcalc.verify.build import render

    loaded = parse_spec(_yaml(spec), "s.yaml")
    source = render(loaded)
    ast.parse(source)
    namespace: dict = {}
    exec(compile(source, "<export>", "exec"), namespace)  # noqa: S102 - a namespace of its own, no file written
    assert SENTINEL not in namespace and not hasattr(builtins, SENTINEL)
    assert (namespace["TITLE"], namespace["NAME"]) == (spec["title"], spec["name"])
    model = namespace["model"]
    assert sum(p.numel() for p in model.parameters()) == analyze(loaded).totals.params
    model(torch.zeros(1, *loaded.input))


@PROPERTY
@given(spec=hostile_specs(), tool=hostile, measured_path=hostile, source_file=file_name)
def test_hostile_text_reports_write_no_element_the_input_wrote(spec, tool, measured_path, source_file):
    loaded = parse_spec(_yaml(spec), source_file)
    analysis = analyze(loaded)
    measured = measured_from_dict(
        {"tool": tool, "params": 1, "layers": [{"path": measured_path, "params": 1}]},
        analysis,
        analysis.memory("fp32"),
        source_file,
    )
    report = build_breakdown(analysis, "fp32", measured)
    available = formats()
    assert_markdown_writes_no_element(available["md"].report(report, "t.svg"), headings=6, images=1)
    assert_html_writes_no_element(available["html"].report(report, None))
    assert_svg_writes_no_element(svg.chart(report))
    document = strict_json(available["json"].report(report, None))
    assert document["spec"]["title"] == spec["title"]
    written = available["csv"].index([report], {"t": source_file})
    cells = list(csv.reader(io.StringIO(written)))
    assert len(cells) == 2, written
    row = dict(zip(cells[0], cells[1]))
    for column, value in (("family", spec["family"]), ("file", source_file)):
        inert = row[column][1:] if value.startswith(FORMULA_START) else row[column]
        assert inert == value and (row[column] == value or row[column] == "'" + value), (column, row[column], value)
    md_index = available["md"].index([report], {"t": source_file})
    tokens = markdown_tokens(md_index)
    assert not {"html_block", "html_inline"} & {t.type for t in tokens}, md_index
    assert [t.type for t in tokens].count("link_open") == 1, md_index  # the spec's own row


@pytest.fixture(scope="module")
def cli_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hostile")


@PROPERTY
@given(spec=hostile_specs(), name=file_name)
def test_hostile_text_starts_no_line_of_terminal_or_ci_output(runner, cli_folder, spec, name):
    folder = cli_folder / str(abs(hash((name, spec["title"]))))
    folder.mkdir(exist_ok=True)
    path = _write(folder / f"{name}.yaml", spec)
    for args in (
        ["shapes", str(path), "--convention", "paper"],
        ["params", str(path)],
        ["compare", str(path), str(path), "--convention", "paper"],
    ):
        result = _invoke(runner, args)
        assert result.exit_code == 0, result.output
        assert_no_forged_lines(_streams(result))
    for fmt in ("text", "github", "junit", "json"):
        result = _invoke(runner, ["check", str(folder), "--format", fmt])
        assert result.exit_code == 1, result.output  # max_params 10 is exceeded: a finding, never a crash
        assert_no_forged_lines(_streams(result), github=fmt == "github")
        if fmt == "junit":
            ET.fromstring(result.stdout.encode())
        if fmt == "json":
            assert strict_json(result.stdout)["specs"][0]["file"] == str(path)


@PROPERTY
@given(text=hostile, where=st.sampled_from(["key", "budget-key", "block-parameter", "layer-name", "kind", "file"]))
def test_hostile_text_in_errors_starts_no_line(runner, cli_folder, text, where):
    folder = cli_folder / f"e{abs(hash((text, where)))}"
    folder.mkdir(exist_ok=True)
    data = {
        "key": _spec(layers=[{"conv": {"out": 4, "kernel": 3, text: 1}}]),
        "budget-key": _spec(budget={text: 1}),
        "block-parameter": {
            "name": "t",
            "input": [1, 8, 8],
            "blocks": {"b": {"params": [text], "layers": ["relu"]}},
            "layers": [{"use": "b"}],
        },
        "layer-name": _spec(layers=[{"conv": {"out": 4, "kernel": 3, "name": text}}]),
        "kind": _spec(layers=[{text: {"out": 4}}]),
        "file": _spec(layers=[{"conv": {"out": 4, "kernel": 3, "bad": 1}}]),
    }[where]
    name = text.replace("/", "").replace("\x00", "")[:80] if where == "file" else "s"
    path = _write(folder / f"{name}.yaml", data)
    result = _invoke(runner, ["shapes", str(path)])
    if result.exit_code == 0:  # the text happened to be a valid name
        return
    assert result.exit_code == 2, result.output
    assert_no_forged_lines(_streams(result))
    for fmt in ("text", "github", "junit", "json"):
        result = _invoke(runner, ["check", str(path), "--format", fmt])
        assert result.exit_code == 2, result.output
        assert_no_forged_lines(_streams(result), github=fmt == "github")
        if fmt == "junit":
            ET.fromstring(result.stdout.encode())
        if fmt == "json":
            strict_json(result.stdout)


def test_a_spec_error_is_terminal_text_with_archcalc_s_own_line_breaks():
    err = SpecError(
        "bad_value",
        "got 'x\n::error::m'",
        hint="h\r\x1b[2Jh",
        note="n\u2028" + MARKER,
        layer="l\x85" + MARKER,
        file=f"f\n{MARKER}.yaml",
    )
    lines = str(err).splitlines()
    assert len(lines) == 3 and lines[1].startswith("  hint: ") and lines[2].startswith("  note: "), lines
    assert_no_forged_lines(str(err))
