"""User text -> each artifact's language: one encoder per language, used by every writer (a leaf module).

Every string in a spec, a measured-figures file, a file name or a flag is untrusted. A writer never
puts such a string into its output as it is: it passes it through the encoder of the language it
writes, so the text reads back as text and can never open a block, a tag, a line or a statement.
"""

from __future__ import annotations

import html
import keyword
import math
import re
from typing import Any

# Characters that move a terminal's cursor, break a line or reorder text: C0 (CR, LF, tab, ESC,
# ...), DEL, C1 (NEL ...), the Unicode line and paragraph separators, the bidirectional marks,
# embeddings, overrides and isolates (the "Trojan Source" characters), lone surrogates (no
# encoding can write them) and the two noncharacters XML 1.0 forbids.
_CONTROLS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# GitHub's runner reads a workflow command from any log line that starts with `::` once leading
# white space is trimmed (`::error file=...::text`), and from `##[` anywhere in a line (its legacy
# form). User text can begin a line (a file name at the start of an error, a word after a wrap), so
# a colon at its start or after white space, and the `#` opening `##[`, are shown as escapes.
_WORKFLOW = re.compile(r"(?:^|(?<=\s)):|#(?=#\[)")


def term_text(text: str) -> str:
    r"""Terminal text: every control, line-breaking or bidi character shown as a Python escape, so
    no user string starts a line, moves the cursor or reverses what follows it; and no user string
    reads as a CI workflow command (a colon opening a word, and `##[`, escaped).

    >>> print(term_text("x\n::error::forged\x1b[2J\u202e"))
    x\n::error::forged\x1b[2J\u202e
    >>> print(term_text("::error::x.yaml"), term_text("a ##[error]b"), term_text("std::vector: ok"))
    \x3a:error::x.yaml a \x23#[error]b std::vector: ok
    >>> print(term_text("C:\\xnets"))  # a backslash stays itself: only the characters above are escaped
    C:\xnets
    """
    return _WORKFLOW.sub(_visible, _CONTROLS.sub(_visible, str(text)))


def ci_log_safe(document: str, hash_escape: str) -> str:
    r"""A whole document that may be printed to a CI log (JSON, XML, HTML on stdout): `##[` in it,
    which only user text can hold, written with the format's own escape for `#`, so the document
    reads back the same and the log shows no legacy workflow command.

    >>> ci_log_safe('{"title": "a ##[error]b"}', "\\u0023")
    '{"title": "a #\\u0023[error]b"}'
    """
    return document.replace("##[", "#" + hash_escape + "[")


# rich output: the consoles print with markup off (commands/common.py) and styled text is built as
# rich Text, so no user string is ever parsed as markup. rich.markup.escape is not used: it loses
# the backslash of a `\[` that is not followed by a tag (`a\[b: x[y]` prints as `a[b: x[y]`).


# ---------------------------------------------------------------------------------------------
# Python source


def py_literal(value: Any) -> str:
    r"""A Python literal for a constructor argument: `repr` for strings, numbers, booleans, None and
    lists/tuples of them; an infinity (max pooling's padding value) as `float("inf")`. NaN has no
    literal and no meaning as an argument: refused.

    >>> print(py_literal("x'''\nimport os"))
    "x'''\nimport os"
    >>> py_literal(float("-inf")), py_literal([1, (2, 3)])
    ('float("-inf")', '[1, (2, 3)]')
    """
    if isinstance(value, float):
        if math.isnan(value):
            raise ValueError("NaN cannot be written as a constructor argument: give a finite number")
        if math.isinf(value):
            return 'float("-inf")' if value < 0 else 'float("inf")'
        return repr(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(py_literal(v) for v in value)
        if isinstance(value, tuple):
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        return f"[{inner}]"
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    raise TypeError(f"no Python literal for a {type(value).__name__}")


def py_identifier(name: str) -> str:
    r"""`name` if it is a Python identifier and not a keyword (a function or variable name in
    generated source); anything else is refused, never patched.

    >>> py_identifier("build_lenet5")
    'build_lenet5'
    """
    if not name.isidentifier() or keyword.iskeyword(name) or not name.isascii():
        raise ValueError(f"{name!r} is not a plain Python identifier")
    return name


# ---------------------------------------------------------------------------------------------
# Markdown (CommonMark and GitHub's extensions)

# Inline syntax a user string could open: emphasis (* and _), code spans, links and images ([ ]),
# strikethrough (~), math ($), heading closers (#), table cells (|) and backslash escapes.
_MD_PUNCT = re.compile(r"([\\`*\[\]~$#|])")
# An underscore between two letters or digits cannot open or close emphasis (CommonMark's
# flanking rules): left as it is, so names such as conv1_1 stay readable.
_MD_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")


def md_text(text: str) -> str:
    r"""Markdown inline text (a heading, a paragraph, a table cell): `<`, `>` and `&` as HTML
    entities, CR and LF as spaces (no new block, heading or row), inline syntax backslash-escaped
    (no link, image, emphasis, code or new cell), other control characters made visible.

    >>> print(md_text("a\r<script>x</script>\r\r# H | [l](javascript:1) *e* a_b _c_"))
    a &lt;script&gt;x&lt;/script&gt;  \# H \| \[l\](javascript:1) \*e\* a_b \_c\_
    """
    text = str(text).replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    text = html.escape(term_text(text), quote=False)
    text = _MD_PUNCT.sub(r"\\\1", text)
    return _MD_UNDERSCORE.sub(r"\\_", text)


def md_url(target: str) -> str:
    r"""A link destination: percent-encoded, so it cannot close the link or start a new one.

    >>> md_url("a b).svg")
    'a%20b%29.svg'
    """
    from urllib.parse import quote  # on the report path only: every command imports this module

    return quote(str(target), safe="/-_.~")


# ---------------------------------------------------------------------------------------------
# HTML, SVG and XML


def xml_text(text: str) -> str:
    r"""Text for an XML serializer (JUnit, via ElementTree, which escapes `<`, `&` and quotes):
    characters XML 1.0 forbids, and line breaks (a CI log prints the XML), shown as escapes.

    >>> print(xml_text("a\x01b\nc"))
    a\x01b\nc
    """
    return _CONTROLS.sub(_visible, str(text))


def html_text(text: str) -> str:
    r"""Text or an attribute value in HTML or SVG: `html.escape(quote=True)` of the XML-safe text
    (an SVG is XML, so a control character would leave it not well formed).

    >>> html_text('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    """
    return ci_log_safe(html.escape(xml_text(text), quote=True), "&#35;")


# ---------------------------------------------------------------------------------------------
# CSV

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    r"""A CSV cell: numbers stay numbers; text a spreadsheet would run as a formula (it begins with
    `=`, `+`, `-`, `@`, tab or CR) gets a leading `'` (OWASP's CSV-injection rule).

    >>> csv_cell("=HYPERLINK(1)"), csv_cell("conv1"), csv_cell(-3)
    ("'=HYPERLINK(1)", 'conv1', -3)
    """
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_START) else value
    return value


# ---------------------------------------------------------------------------------------------
# GitHub Actions workflow commands


def gh_data(text: str) -> str:
    r"""The message of a workflow command: `%`, CR and LF as %25, %0D, %0A (GitHub's toolkit), then
    any other line-breaking or control character made visible.

    >>> gh_data("50%\n::error::x")
    '50%25%0A::error::x'
    """
    text = str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return term_text(text)


def gh_prop(text: str) -> str:
    r"""A property value (file=, title=) of a workflow command: as a message, and `:` and `,`.

    >>> gh_prop("a,b:c")
    'a%2Cb%3Ac'
    """
    return gh_data(text).replace(":", "%3A").replace(",", "%2C")


# ---------------------------------------------------------------------------------------------
# JSON


def json_text(data: Any) -> str:
    r"""Strict JSON, indented: NaN and infinities are refused (`allow_nan=False`; JSON has no such
    numbers and strict parsers reject Python's `NaN`), every non-ASCII or control character escaped.

    >>> print(json_text({"tool": "x\n<script>"}))
    {
      "tool": "x\n<script>"
    }
    """
    import json  # not every command writes JSON

    return ci_log_safe(json.dumps(data, indent=2, allow_nan=False), "\\u0023")
