"""Reusable parametrised blocks: a spec's `blocks:` templates, expanded at each `use:` site.

A spec may define named templates once and use them many times with different parameters, so
GoogLeNet's nine inception modules are one template and nine lines that read like the paper's
table:

    blocks:
      inception:
        params: [c1, c3r, c3, c5r, c5, pp]
        layers:
          - parallel:
              merge: concat
              branches:
                - [conv: {out: $c1, kernel: 1}, relu]
                ...
    layers:
      - use: inception
        name: inception3a
        with: {c1: 64, c3r: 96, c3: 128, c5r: 16, c5: 32, pp: 32}

Expansion works on the plain data the loader built from YAML, before validation, so the
analyzer only ever sees ordinary layers: a use site becomes a `block` named after it. Inside a
template, a value written `$name` is replaced by the parameter's value (any YAML value), and
`${expression}` by exact arithmetic over parameters (`${4 * width}`, `${blocks - 1}`; + - * // /,
parentheses, and min, max and round_to: template_functions.py) that ends in an integer. Templates may use other templates; a template that uses itself, directly or
through others, is an error, never a recursion.

Every node of the expanded data keeps the file position of the node it came from, and each use
site leaves a note ("in block 'inception' (line 8), used at line 40"), so an error inside a
template names both the template line and the use site, and a bad parameter value points at the
use site where it was written.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

from .errors import Loc, Position, SpecError, close_matches
from .template_functions import FUNCTIONS, Function, Value

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
BLOCK_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
REFERENCE = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
EXPRESSION = re.compile(r"\$\{([^}]*)\}")
USE_KEYS = ("use", "with", "name", "trainable", "from")
TEMPLATE_KEYS = ("params", "layers", "description")
# Expansion does work in proportion to what it writes, never to the numbers it computes, and each
# of these stops one way a short file could ask for unbounded work:
MAX_NODES = 500_000  # nodes after expansion (ResNet-152 expands to about 340), shared values and expressions included
MAX_TEXT = 16 * 2**20  # characters of the strings the expansion writes: twice the largest spec file
MAX_NESTING = 60  # templates used inside templates, this many deep at most
MAX_EXPRESSION_CHARS = 2_000  # one `${...}` expression: a thousand operators, which Python parses at any depth of call
MAX_EXPRESSIONS = 100_000  # `${...}` evaluated in one spec (each costs microseconds)
MAX_EXPRESSION_DEPTH = 50  # parentheses and signs nested inside one expression
# Every value an expression computes, intermediate or final: torch's int64 range, far past any size
# (2^40) yet far under Python's 4,300-digit limit, so `${x*x}` chained 40 times stops at once.
MAX_VALUE = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Binding:
    """A parameter's value and where it is written in the file (for error positions)."""

    value: Any
    origin: Loc


@dataclass(frozen=True, slots=True)
class Template:
    """A `blocks:` entry: its parameters, their defaults and its layers, expanded at each `use:`."""

    name: str
    params: tuple[str, ...]
    defaults: dict[str, Binding]
    layers: list[Any]


class _Expander:
    def __init__(self, file: str, positions: dict[Loc, Position], templates: dict[str, Template]) -> None:
        self.file = file
        self.old = positions
        self.templates = templates
        self.positions: dict[Loc, Position] = {}
        self.notes: dict[Loc, str] = {}
        self.nodes = 0
        self.text = 0
        self.evaluations = 0

    # -- errors and positions ---------------------------------------------------------------

    def line(self, orig: Loc) -> str:
        pos = self.old.get(orig)
        return f"line {pos.line}" if pos else "?"

    def error(self, code: str, message: str, orig: Loc, hint: str | None = None, note: str | None = None) -> SpecError:
        while orig and orig not in self.old:
            orig = orig[:-1]
        return SpecError(code, message, hint=hint, file=self.file, position=self.old.get(orig), note=note)

    def place(self, new: Loc, orig: Loc) -> None:
        self.count(1, orig)
        self.locate(new, orig)

    def locate(self, new: Loc, orig: Loc) -> None:
        position = self.old.get(orig)
        if position is not None:
            self.positions[new] = position

    def count(self, nodes: int, orig: Loc, detail: str = "") -> None:
        """Charge nodes of work (written, shared or evaluated) against MAX_NODES."""
        self.nodes += nodes
        if self.nodes > MAX_NODES:
            raise self.error(
                "spec_too_large",
                f"the blocks expand to more than {MAX_NODES:,} nodes{detail}",
                orig,
                hint="check for a template that uses another template many times over, or a parameter "
                "holding many layers used many times",
            )

    def count_text(self, text: str, orig: Loc) -> None:
        self.text += len(text)
        if self.text > MAX_TEXT:
            raise self.error(
                "spec_too_large",
                f"the blocks expand to more than {MAX_TEXT:,} characters of text",
                orig,
                hint="check for a long string (a name, an expression) written in a block used many times",
            )

    def share(self, value: Any, orig: Loc) -> None:
        """A parameter's value goes into the output as it is (one object, shared by every use), yet
        each use is as many nodes and characters to validate as a copy: charge them as `expand`
        charges a copy (the value itself is placed already; a mapping entry is its key and its
        value), stopping at the limit, so a parameter holding 100,000 layers used 1,000 times is
        refused at once."""
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                self.count_text(item, orig)
            elif isinstance(item, dict):
                self.count(2 * len(item), orig)
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, list):
                self.count(len(item), orig)
                stack.extend(item)

    # -- the walk ------------------------------------------------------------------------------

    def expand(
        self, value: Any, orig: Loc, new: Loc, env: dict[str, Binding] | None, stack: tuple, note: str | None
    ) -> Any:
        """Copy `value` (found at `orig` in the file) to `new` in the expanded data."""
        self.place(new, orig)
        if isinstance(value, dict) and "use" in value:
            return self.use(value, orig, new, env, stack, note)
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                self.place(new + (key,), orig + (key,))
                if isinstance(key, str):
                    self.count_text(key, orig + (key,))
                out[key] = self.expand(item, orig + (key,), new + (key,), env, stack, note)
            return out
        if isinstance(value, list):
            return [self.expand(item, orig + (i,), new + (i,), env, stack, note) for i, item in enumerate(value)]
        if isinstance(value, str) and env is not None and "$" in value:
            binding = self.substitute(value, orig, env, stack, note)
            if binding.origin != orig:
                self.locate(new, binding.origin)
                self.notes[new] = f"the value of `{value}` (written at {self.line(orig)})" + (
                    f", {note}" if note else ""
                )
            self.share(binding.value, orig)
            return binding.value
        if isinstance(value, str):
            self.count_text(value, orig)
        return value

    def substitute(
        self, text: Any, orig: Loc, env: dict[str, Binding] | None, stack: tuple, note: str | None = None
    ) -> Binding:
        """`$name` -> the parameter's binding; `${expr}` -> its value; other text as it is.

        Each expression is charged as a node before any is evaluated (the text it makes is charged
        where it is written), so a name of a million `${w}` costs one check, not a million
        evaluations."""
        if not isinstance(text, str) or env is None:
            return Binding(text, orig)
        block = stack[-1] if stack else "?"
        match = REFERENCE.match(text)
        if match:
            return self.lookup(match.group(1), orig, env, block)
        expressions = text.count("${")
        self.count(expressions, orig, f" (each `${{...}}` evaluated counts as one: this text holds {expressions:,})")
        whole = EXPRESSION.fullmatch(text)
        if whole:
            return Binding(self.evaluate(whole.group(1), orig, env, block, note), orig)
        if EXPRESSION.search(text):
            return Binding(EXPRESSION.sub(lambda m: str(self.evaluate(m.group(1), orig, env, block, note)), text), orig)
        return Binding(text, orig)

    def lookup(self, name: str, orig: Loc, env: dict[str, Binding], block: str) -> Binding:
        if name in env:
            return env[name]
        close = close_matches(name, list(env), n=1, cutoff=0.6)
        raise self.error(
            "unknown_parameter",
            f"`${name}` is not a parameter of block '{block}'",
            orig,
            hint=(f"did you mean `${close[0]}`? " if close else "")
            + (f"its parameters are: {', '.join(env)}" if env else f"add `params: [{name}]` to block '{block}'"),
        )

    def evaluate(self, expression: str, orig: Loc, env: dict[str, Binding], block: str, note: str | None = None) -> int:
        """Exact arithmetic over parameters: + - * // /, parentheses and the calls of
        template_functions.FUNCTIONS (min, max, round_to), nothing else. `/` makes an exact
        fraction; the result must be a whole number (round_to or // makes one), never a float.

        Bounded before Python's own limits can speak: how many expressions a spec evaluates
        (MAX_EXPRESSIONS), each one's nesting and length (MAX_EXPRESSION_DEPTH, _CHARS) before
        it is parsed, and every value met on the way, operand or result, within +-MAX_VALUE (an
        operation on values within it is cheap, and its result is checked before it is used)."""

        def where() -> str:  # built on the error path only: a block used many times evaluates often
            shown = expression if len(expression) <= 60 else expression[:57] + "..."
            return f"`${{{shown}}}` in block '{block}'"

        def fail(code: str, message: str, hint: str | None = None) -> SpecError:
            return self.error(code, message, orig, hint=hint, note=note)

        self.evaluations += 1
        if self.evaluations > MAX_EXPRESSIONS:
            raise fail(
                "spec_too_large",
                f"{where()} is one expression too many: the blocks evaluate more than {MAX_EXPRESSIONS:,}",
                hint="compute a value once and pass it as a parameter",
            )
        depth, tree = _compile(expression)
        if depth > MAX_EXPRESSION_DEPTH:
            raise fail(
                "too_deep",
                f"{where()} nests parentheses and signs {depth:,} deep, more than the limit of {MAX_EXPRESSION_DEPTH}",
                hint="write it flatter, or compute it in steps through nested blocks",
            )
        if len(expression) > MAX_EXPRESSION_CHARS:
            raise fail(
                "bad_expression",
                f"{where()} is {len(expression):,} characters long, more than the limit of {MAX_EXPRESSION_CHARS:,}",
                hint="compute the value in steps, through parameters of nested blocks",
            )
        bad_syntax = (
            "write integer arithmetic over parameters (+ - * // /, min, max, round_to), "
            "e.g. ${4 * width}, ${blocks - 1} or ${round_to(c * 3 / 4, 8)}"
        )
        if tree is None:
            raise fail("bad_expression", f"cannot evaluate {where()}", hint=bad_syntax)

        def checked(result: Value) -> Value:
            fraction = isinstance(result, Fraction)
            if isinstance(result, Fraction):
                top, bottom = abs(result.numerator), result.denominator
                too_large = top > MAX_VALUE * bottom or bottom > MAX_VALUE
            else:
                too_large = abs(result) > MAX_VALUE
            if too_large:
                raise fail(
                    "bad_value",
                    f"{where()} reaches {_magnitude(result)}, past the limit of +-{MAX_VALUE:,} "
                    "(2^63 - 1) for any value an expression computes"
                    + (", a fraction's numerator and denominator alike" if fraction else ""),
                    hint="sizes are at most 2^40; check the parameters passed in",
                )
            if isinstance(result, Fraction) and result.denominator == 1:
                return int(result)  # a whole fraction is an integer: `c / 4` where 4 divides c
            return result

        # post-order over an explicit stack: a chain of a thousand `*` is as deep as its tree, and
        # Python's recursion limit is no bound we state
        results: list[Value] = []
        todo: list[tuple[ast.AST, bool]] = [(tree.body, False)]
        while todo:
            node, ready = todo.pop()
            if isinstance(node, ast.Constant) and type(node.value) is int:
                results.append(checked(node.value))
            elif isinstance(node, ast.Name):
                got = self.lookup(node.id, orig, env, block).value
                if type(got) is not int:
                    raise fail("bad_expression", f"parameter '{node.id}' is {got!r:.60}, not an integer, in {where()}")
                results.append(checked(got))
            elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
                if ready:
                    results.append(-results.pop())
                else:
                    todo += [(node, True), (node.operand, False)]
            elif isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
                if not ready:
                    todo += [(node, True), (node.right, False), (node.left, False)]
                    continue
                right, left = results.pop(), results.pop()
                if isinstance(node.op, (ast.FloorDiv, ast.Div)) and right == 0:
                    raise fail("bad_expression", f"division by zero in {where()}")
                results.append(checked(_OPERATORS[type(node.op)](left, right)))
            elif isinstance(node, ast.Call):
                function = self.function(node, fail, where)
                if not ready:
                    todo += [(node, True), *((arg, False) for arg in reversed(node.args))]
                    continue
                args = results[len(results) - len(node.args) :]
                del results[len(results) - len(node.args) :]
                results.append(checked(self.call(function, args, fail, where)))
            else:
                raise fail("bad_expression", f"cannot evaluate {where()}", hint=bad_syntax)
        value = results[0]
        if isinstance(value, Fraction):  # `checked` made every whole one an int
            raise fail(
                "bad_expression",
                f"{where()} is {value}, not an integer",
                hint="round it: round_to(x, 8) as torchvision's _make_divisible, or // for the floor",
            )
        return value

    def function(self, node: ast.Call, fail: Callable[..., SpecError], where: Callable[[], str]) -> Function:
        """The function a call names, called with as many plain arguments as it takes."""
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS:
            shown = name if name is not None else ast.unparse(node.func)[:40]
            close = close_matches(shown, list(FUNCTIONS), n=1, cutoff=0.6)
            raise fail(
                "bad_expression",
                f"unknown function '{shown}' in {where()}",
                hint=(f"did you mean '{close[0]}'? " if close else "")
                + f"the functions are: {', '.join(f.signature for f in FUNCTIONS.values())}",
            )
        function = FUNCTIONS[name]
        low, high = function.arity
        if node.keywords:  # a named argument: say that, not that the count is wrong
            named = ", ".join(f"{k.arg}=" if k.arg else "**" for k in node.keywords)
            raise fail(
                "bad_expression",
                f"{name} takes its arguments by position; named arguments ({named}) are not allowed in {where()}",
                hint=f"write {function.signature}",
            )
        if any(isinstance(arg, ast.Starred) for arg in node.args) or not low <= len(node.args) <= high:
            raise fail(
                "bad_expression",
                f"{name} takes {low if low == high else f'{low} or {high}'} arguments, "
                f"written by position, got {len(node.args)} in {where()}",
                hint=f"write {function.signature}",
            )
        return function

    def call(
        self, function: Function, args: list[Value], fail: Callable[..., SpecError], where: Callable[[], str]
    ) -> Value:
        for position in function.integers:
            if position < len(args) and type(args[position]) is not int:
                raise fail(
                    "bad_expression",
                    f"argument {position + 1} of {function.signature.split('(')[0]} is {args[position]}, "
                    f"not an integer, in {where()}",
                    hint=f"write {function.signature}",
                )
        try:
            return function.call(*args)
        except ValueError as err:
            raise fail("bad_expression", f"{err} in {where()}", hint=f"write {function.signature}") from None

    def use(
        self,
        site: dict,
        orig: Loc,
        new: Loc,
        env: dict[str, Binding] | None,
        stack: tuple,
        note: str | None,
    ) -> dict:
        """A `use:` layer -> a `block` layer holding the template's layers, parameters bound: named
        as the site names it, else unnamed (its layers then sit in the level of the site)."""
        for key in site:
            if key not in USE_KEYS:
                close = close_matches(str(key), USE_KEYS, n=1, cutoff=0.6)
                raise self.error(
                    "unknown_field",
                    f"unknown field '{key}' in a `use:` layer",
                    orig + (key,),
                    hint=(f"did you mean '{close[0]}'? " if close else "") + f"valid fields: {', '.join(USE_KEYS)}",
                )
        block = self.substitute(site["use"], orig + ("use",), env, stack, note).value
        if not isinstance(block, str) or block not in self.templates:
            names = sorted(self.templates)
            close = close_matches(str(block), names, n=1, cutoff=0.5) if isinstance(block, str) else []
            raise self.error(
                "unknown_block",
                f"no block named {block!r} to use",
                orig + ("use",),
                hint=(f"did you mean '{close[0]}'? " if close else "")
                + (f"the spec's blocks are: {', '.join(names)}" if names else "define it under a top-level `blocks:`"),
            )
        if block in stack:
            chain = " -> ".join((*stack[stack.index(block) :], block))
            raise self.error(
                "recursive_block",
                f"block '{block}' uses itself ({chain})",
                orig + ("use",),
                hint="a block may use other blocks, but never itself, directly or through others",
            )
        if len(stack) >= MAX_NESTING:
            raise self.error("too_deep", f"blocks are used inside blocks more than {MAX_NESTING} deep", orig)
        template = self.templates[block]
        given = site.get("with", {})
        if given is None:
            given = {}
        if not isinstance(given, dict):
            raise self.error(
                "wrong_type",
                f"`with:` takes a mapping of parameter values, got {given!r}",
                orig + ("with",),
                hint=f"write `with: {{{', '.join(f'{p}: ...' for p in template.params)}}}`",
            )
        bindings: dict[str, Binding] = {}
        for key, item in given.items():
            if key not in template.params:
                close = close_matches(str(key), template.params, n=1, cutoff=0.6)
                raise self.error(
                    "unknown_parameter",
                    f"block '{block}' has no parameter '{key}'",
                    orig + ("with", key),
                    hint=(f"did you mean '{close[0]}'? " if close else "")
                    + (
                        f"its parameters are: {', '.join(template.params)}"
                        if template.params
                        else "it takes no parameters"
                    ),
                )
            bindings[key] = self.substitute(item, orig + ("with", key), env, stack, note)
        missing = [p for p in template.params if p not in bindings and p not in template.defaults]
        if missing:
            raise self.error(
                "missing_parameter",
                f"block '{block}' needs parameter{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)}",
                orig + ("with",) if "with" in site else orig,
                hint=f"add {', '.join(f'{m}: ...' for m in missing)} under `with:`",
            )
        for param, default in template.defaults.items():
            bindings.setdefault(param, default)
        bindings = {p: bindings[p] for p in template.params}
        here = f"in block '{block}' ({self.line(('blocks', block))}), used at {self.line(orig)}"
        inner_note = here + (f", {note}" if note else "")
        self.notes[new] = inner_note
        out: dict[str, Any] = {"kind": "block"}
        if "name" in site:
            out["name"] = self.substitute(site["name"], orig + ("name",), env, stack, note).value
            self.share(out["name"], orig + ("name",))
        for key in ("kind", "name", "layers"):
            self.place(new + (key,), orig)
        if "trainable" in site:
            self.place(new + ("trainable",), orig + ("trainable",))
            out["trainable"] = self.substitute(site["trainable"], orig + ("trainable",), env, stack, note).value
            self.share(out["trainable"], orig + ("trainable",))
        if "from" in site:  # the graph form: the block reads the siblings the use site names
            out["from"] = self.expand(site["from"], orig + ("from",), new + ("from",), env, stack, note)
        layers_orig = ("blocks", block, "layers")
        out["layers"] = [
            self.expand(layer, layers_orig + (i,), new + ("layers", i), bindings, (*stack, block), inner_note)
            for i, layer in enumerate(template.layers)
        ]
        return out


def _nesting(expression: str) -> int:
    """How deep an expression nests: parentheses open plus signs in a row, `-(--w)` is 3.

    Python's parser recurses about once per level (a hundred thousand `-` exhaust its stack),
    so this is measured on the text, before the parser runs.

    >>> _nesting("-(--w)"), _nesting("(a + b) * -c")
    (3, 1)
    """
    deepest = depth = signs = 0
    after_operand = False
    for char in expression:
        if char.isspace():
            continue
        if char == "(":
            depth, signs, after_operand = depth + 1, 0, False
        elif char == ")":
            depth, signs, after_operand = depth - 1, 0, True
        elif char in "+-~" and not after_operand:
            signs += 1  # a sign (unary), not an operator between two operands
        elif char in "+-*/%@<>=&|^!,":
            signs, after_operand = 0, False
        else:
            after_operand = True
        deepest = max(deepest, depth + signs)
    return deepest


_OPERATORS: dict[type[ast.operator], Callable[[Value, Value], Value]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Div: lambda a, b: Fraction(a) / b,  # exact: a fraction, which round_to or // makes whole
}


@lru_cache(maxsize=1024)  # a block used many times evaluates the same few expressions
def _compile(expression: str) -> tuple[int, ast.Expression | None]:
    """The expression's nesting and syntax tree; no tree where it is too deep or long to parse,
    or Python cannot parse it."""
    depth = _nesting(expression)
    if depth > MAX_EXPRESSION_DEPTH or len(expression) > MAX_EXPRESSION_CHARS:
        return depth, None
    try:
        return depth, ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, MemoryError, RecursionError):  # the parser's own limits: too complex is not valid here
        return depth, None


def _magnitude(value: Value) -> str:
    """A huge value by its size, without converting it to decimal (Python refuses past 4,300 digits).

    >>> _magnitude(2**100), _magnitude(Fraction(1, 2**110))
    ('about 2^100', 'a fraction of about 2^0 / 2^110')
    """
    if isinstance(value, Fraction) and value.denominator != 1:
        if abs(value.numerator) < 10**30 and value.denominator < 10**30:
            return str(value)
        sign = "-" if value < 0 else ""
        top, bottom = abs(value.numerator).bit_length() - 1, value.denominator.bit_length() - 1
        return f"a fraction of about {sign}2^{top} / 2^{bottom}"
    value = int(value)
    if abs(value) < 10**30:
        return f"{value:,}"
    return f"about {'-' if value < 0 else ''}2^{abs(value).bit_length() - 1}"


def _templates(raw: Any, file: str, positions: dict[Loc, Position]) -> dict[str, Template]:
    """The `blocks:` mapping -> templates, every malformed entry reported where it is written."""

    def error(code: str, message: str, loc: Loc, hint: str | None = None) -> SpecError:
        while loc and loc not in positions:
            loc = loc[:-1]
        return SpecError(code, message, hint=hint, file=file, position=positions.get(loc))

    if not isinstance(raw, dict):
        raise error(
            "wrong_type",
            f"`blocks:` takes a mapping of block names to templates, got {raw!r:.60}",
            ("blocks",),
            hint="write `blocks: {name: {params: [...], layers: [...]}}`",
        )
    templates = {}
    for name, body in raw.items():
        loc: Loc = ("blocks", name)
        if not isinstance(name, str) or not BLOCK_NAME.match(name):
            raise error("bad_value", f"block name {name!r} must be a plain name (letters, digits, _ . -)", loc)
        if not isinstance(body, dict):
            raise error("wrong_type", f"block '{name}' must be a mapping with `params` and `layers`", loc)
        for key in body:
            if key not in TEMPLATE_KEYS:
                close = close_matches(str(key), TEMPLATE_KEYS, n=1, cutoff=0.6)
                raise error(
                    "unknown_field",
                    f"unknown field '{key}' in block '{name}'",
                    loc + (key,),
                    hint=(f"did you mean '{close[0]}'? " if close else "")
                    + f"valid fields: {', '.join(TEMPLATE_KEYS)}",
                )
        layers = body.get("layers")
        if not isinstance(layers, list) or not layers:
            raise error(
                "missing_field" if layers is None else "bad_value",
                f"block '{name}' needs a non-empty list of `layers`",
                loc + (("layers",) if "layers" in body else ()),
            )
        params_raw = body.get("params", []) or []
        if not isinstance(params_raw, list):
            raise error(
                "wrong_type",
                f"`params` of block '{name}' must be a list of names",
                loc + ("params",),
                hint="write `params: [width, {stride: 1}]` (a mapping gives a default)",
            )
        params: list[str] = []
        defaults: dict[str, Binding] = {}
        for i, entry in enumerate(params_raw):
            here = loc + ("params", i)
            if isinstance(entry, dict) and len(entry) == 1:
                ((param, default),) = entry.items()
                defaults[param] = Binding(default, here + (param,))
            else:
                param = entry
            if not isinstance(param, str) or not NAME.match(param):
                raise error(
                    "bad_value",
                    f"parameter {param!r} of block '{name}' must be a name (letters, digits, _)",
                    here,
                    hint="write `params: [width, {stride: 1}]` (a mapping gives a default)",
                )
            if param in params:
                raise error("duplicate_key", f"parameter '{param}' of block '{name}' is listed twice", here)
            params.append(param)
        templates[name] = Template(name=name, params=tuple(params), defaults=defaults, layers=layers)
    return templates


def _written_nodes(value: Any, templates: dict[str, Template], base: Loc) -> tuple[int, list[tuple[str, Loc]]]:
    """The nodes `_Expander` places for `value` itself, and each `use:` of a template by its written
    name with its location: a use site is 4 nodes (the site, its block's kind, name and layers)
    plus its template's layers, counted by the caller. A use whose name is a `$parameter` or names
    no template counts as its site only: this is a lower bound, exact where names are written."""
    nodes = 0
    uses: list[tuple[str, Loc]] = []
    stack: list[tuple[Any, Loc]] = [(value, base)]
    while stack:  # an explicit stack: the data is as deep as YAML allows, the walk stays flat
        item, loc = stack.pop()
        nodes += 1
        if isinstance(item, dict) and "use" in item:
            name = item["use"]
            if isinstance(name, str) and name in templates:
                nodes += 3
                uses.append((name, loc))
        elif isinstance(item, dict):
            nodes += len(item)  # each key is placed, then its value
            stack.extend(reversed([(v, (*loc, k)) for k, v in item.items()]))  # reversed: uses come in file order
        elif isinstance(item, list):
            stack.extend(reversed([(v, (*loc, i)) for i, v in enumerate(item)]))
    return nodes, uses


def _static_sizes(templates: dict[str, Template]) -> dict[str, int] | None:
    """Each template's expanded size, bottom-up: its own nodes plus, per `use:` inside it, the used
    template's size (memoised, so a chain of doublings costs its length, not its 2^40 nodes);
    capped just past MAX_NODES. None when templates use each other in a cycle: expansion reports
    that (recursive_block) at the use that closes it."""
    cap = MAX_NODES + 1
    own = {}
    for name, template in templates.items():
        nodes, uses = _written_nodes(template.layers, templates, ("blocks", name, "layers"))
        own[name] = (nodes - 1, uses)  # the layers list itself is the use site's `layers`, counted there
    sizes: dict[str, int] = {}
    for root in templates:
        active: set[str] = set()
        stack = [(root, False)]
        while stack:  # post-order over the use graph, an explicit stack: a chain may be thousands long
            name, done = stack.pop()
            nodes, uses = own[name]
            if done:
                active.discard(name)
                sizes[name] = min(cap, nodes + sum(sizes[used] for used, _ in uses))
            elif name not in sizes:
                if name in active:
                    return None
                active.add(name)
                stack.append((name, True))
                stack.extend((used, False) for used in {used for used, _ in uses} if used not in sizes)
    return sizes


def _refuse_oversize(data: dict, templates: dict[str, Template], file: str, positions: dict[Loc, Position]) -> None:
    """Refuse at once a spec whose blocks, by their written uses alone, expand past MAX_NODES: the
    cost of this check is the file's length, where expanding would take time up to the limit.
    Exact where every use names its block as written: the nodes `expand_blocks` would count."""
    sizes = _static_sizes(templates) if templates else None
    if sizes is None or "layers" not in data:
        return
    nodes, uses = _written_nodes(data["layers"], templates, ("layers",))
    nodes += 1 + sum(key != "blocks" for key in data)  # the root and each top-level key but `blocks:`
    total = nodes + sum(sizes[name] for name, _ in uses)
    if total <= MAX_NODES:
        return
    name, loc = max(uses, key=lambda use: sizes[use[0]])
    while loc and loc not in positions:
        loc = loc[:-1]
    alone = sizes[name] + 4
    raise SpecError(
        "spec_too_large",
        f"the blocks expand to more than {MAX_NODES:,} nodes: block '{name}' used here expands to "
        + (f"more than {MAX_NODES:,} nodes by itself" if sizes[name] > MAX_NODES else f"{alone:,} nodes or more"),
        hint="check for a template that uses another template many times over: each level multiplies the nodes",
        file=file,
        position=positions.get(loc),
    )


def expand_blocks(
    data: dict, file: str, positions: dict[Loc, Position]
) -> tuple[dict, dict[Loc, Position], dict[Loc, str]]:
    """Spec data with `blocks:` -> the same data without it, every `use:` replaced by its block.

    Returns the expanded data, the file position of every expanded node, and the notes that say
    which block and use site each expanded part came from. Data with neither `blocks:` nor any
    `use:` comes back unchanged.
    """
    templates = _templates(data["blocks"], file, positions) if "blocks" in data else {}
    _refuse_oversize(data, templates, file, positions)
    expander = _Expander(file, positions, templates)
    out: dict = {}
    expander.place((), ())
    for key, value in data.items():
        if key == "blocks":
            continue
        expander.place((key,), (key,))
        out[key] = expander.expand(value, (key,), (key,), None, (), None) if key == "layers" else value
        if key != "layers":
            _copy_positions(positions, expander.positions, (key,))
    return out, expander.positions, expander.notes


def _copy_positions(old: dict[Loc, Position], new: dict[Loc, Position], prefix: Loc) -> None:
    for loc, position in old.items():
        if loc[: len(prefix)] == prefix:
            new[loc] = position
