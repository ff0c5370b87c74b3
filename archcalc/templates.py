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
`${expression}` by integer arithmetic over parameters (`${4 * width}`, `${blocks - 1}`; + - * //
and parentheses). Templates may use other templates; a template that uses itself, directly or
through others, is an error, never a recursion.

Every node of the expanded data keeps the file position of the node it came from, and each use
site leaves a note ("in block 'inception' (line 8), used at line 40"), so an error inside a
template names both the template line and the use site, and a bad parameter value points at the
use site where it was written.
"""

from __future__ import annotations

import ast
import re
from typing import Any, NamedTuple

from .errors import Loc, Position, SpecError, close_matches

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
BLOCK_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
REFERENCE = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
EXPRESSION = re.compile(r"\$\{([^}]*)\}")
USE_KEYS = ("use", "with", "name", "trainable")
TEMPLATE_KEYS = ("params", "layers", "description")
MAX_NODES = 500_000  # nodes after expansion (ResNet-152 expands to about 340): a template bomb stops here
MAX_NESTING = 60  # templates used inside templates, this many deep at most


class Binding(NamedTuple):
    """A parameter's value and where it is written in the file (for error positions)."""

    value: Any
    origin: Loc


class Template(NamedTuple):
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

    # -- errors and positions ---------------------------------------------------------------

    def line(self, orig: Loc) -> str:
        pos = self.old.get(orig)
        return f"line {pos.line}" if pos else "?"

    def error(self, code: str, message: str, orig: Loc, hint: str | None = None, note: str | None = None) -> SpecError:
        while orig and orig not in self.old:
            orig = orig[:-1]
        return SpecError(code, message, hint=hint, file=self.file, position=self.old.get(orig), note=note)

    def place(self, new: Loc, orig: Loc) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.error("spec_too_large", f"the blocks expand to more than {MAX_NODES:,} nodes", orig,
                             hint="check for a template that uses another template many times over")  # fmt: skip
        position = self.old.get(orig)
        if position is not None:
            self.positions[new] = position

    # -- the walk ------------------------------------------------------------------------------

    def expand(self, value: Any, orig: Loc, new: Loc, env: dict[str, Binding] | None, stack: tuple, note: str | None) -> Any:
        """Copy `value` (found at `orig` in the file) to `new` in the expanded data."""
        self.place(new, orig)
        if isinstance(value, dict) and "use" in value:
            return self.use(value, orig, new, env, stack, note, auto_name=None)
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                self.place(new + (key,), orig + (key,))
                out[key] = self.expand(item, orig + (key,), new + (key,), env, stack, note)
            return out
        if isinstance(value, list):
            out_list, uses = [], {}
            for i, item in enumerate(value):
                if isinstance(item, dict) and "use" in item and "name" not in item and isinstance(item["use"], str):
                    block = self.substitute(item["use"], orig + (i, "use"), env, stack).value
                    uses[block] = uses.get(block, 0) + 1
                    self.place(new + (i,), orig + (i,))
                    out_list.append(self.use(item, orig + (i,), new + (i,), env, stack, note, f"{block}{uses[block]}"))
                else:
                    out_list.append(self.expand(item, orig + (i,), new + (i,), env, stack, note))
            return out_list
        if isinstance(value, str) and env is not None and "$" in value:
            binding = self.substitute(value, orig, env, stack)
            if binding.origin != orig:
                self.place(new, binding.origin)
                self.notes[new] = f"the value of `{value}` (written at {self.line(orig)})" + (f", {note}" if note else "")
            return binding.value
        return value

    def substitute(self, text: Any, orig: Loc, env: dict[str, Binding] | None, stack: tuple) -> Binding:
        """`$name` -> the parameter's binding; `${expr}` -> its value; other text as it is."""
        if not isinstance(text, str) or env is None:
            return Binding(text, orig)
        block = stack[-1] if stack else "?"
        match = REFERENCE.match(text)
        if match:
            return self.lookup(match.group(1), orig, env, block)
        whole = EXPRESSION.fullmatch(text)
        if whole:
            return Binding(self.evaluate(whole.group(1), orig, env, block), orig)
        if EXPRESSION.search(text):
            return Binding(EXPRESSION.sub(lambda m: str(self.evaluate(m.group(1), orig, env, block)), text), orig)
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

    def evaluate(self, expression: str, orig: Loc, env: dict[str, Binding], block: str) -> int:
        """Integer arithmetic over parameters: + - * // and parentheses, nothing else."""
        bad = self.error("bad_expression", f"cannot evaluate `${{{expression}}}` in block '{block}'", orig,
                         hint="write integer arithmetic over parameters, e.g. ${4 * width} or ${blocks - 1}")  # fmt: skip
        try:
            tree = ast.parse(expression.strip(), mode="eval")
        except SyntaxError:
            raise bad from None
        operators = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b}

        def value(node: ast.AST) -> int:
            if isinstance(node, ast.Expression):
                return value(node.body)
            if isinstance(node, ast.Constant) and type(node.value) is int:
                return node.value
            if isinstance(node, ast.Name):
                got = self.lookup(node.id, orig, env, block).value
                if type(got) is not int:
                    raise self.error("bad_expression", f"parameter '{node.id}' of block '{block}' is {got!r}, "
                                     f"not an integer, in `${{{expression}}}`", orig)  # fmt: skip
                return got
            if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
                return -value(node.operand)
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.FloorDiv):
                divisor = value(node.right)
                if divisor == 0:
                    raise self.error("bad_expression", f"division by zero in `${{{expression}}}`", orig)
                return value(node.left) // divisor
            if isinstance(node, ast.BinOp) and type(node.op) in operators:
                return operators[type(node.op)](value(node.left), value(node.right))
            raise bad

        return value(tree)

    def use(self, site: dict, orig: Loc, new: Loc, env: dict[str, Binding] | None, stack: tuple,
            note: str | None, auto_name: str | None) -> dict:  # fmt: skip
        """A `use:` layer -> a `block` layer holding the template's layers, parameters bound."""
        for key in site:
            if key not in USE_KEYS:
                close = close_matches(str(key), USE_KEYS, n=1, cutoff=0.6)
                raise self.error("unknown_field", f"unknown field '{key}' in a `use:` layer", orig + (key,),
                                 hint=(f"did you mean '{close[0]}'? " if close else "")
                                 + f"valid fields: {', '.join(USE_KEYS)}")  # fmt: skip
        block = self.substitute(site["use"], orig + ("use",), env, stack).value
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
            chain = " -> ".join((*stack[stack.index(block):], block))
            raise self.error("recursive_block", f"block '{block}' uses itself ({chain})", orig + ("use",),
                             hint="a block may use other blocks, but never itself, directly or through others")  # fmt: skip
        if len(stack) >= MAX_NESTING:
            raise self.error("too_deep", f"blocks are used inside blocks more than {MAX_NESTING} deep", orig)
        template = self.templates[block]
        given = site.get("with", {})
        if given is None:
            given = {}
        if not isinstance(given, dict):
            raise self.error("wrong_type", f"`with:` takes a mapping of parameter values, got {given!r}",
                             orig + ("with",), hint=f"write `with: {{{', '.join(f'{p}: ...' for p in template.params)}}}`")  # fmt: skip
        bindings: dict[str, Binding] = {}
        for key, item in given.items():
            if key not in template.params:
                close = close_matches(str(key), template.params, n=1, cutoff=0.6)
                raise self.error(
                    "unknown_parameter",
                    f"block '{block}' has no parameter '{key}'",
                    orig + ("with", key),
                    hint=(f"did you mean '{close[0]}'? " if close else "")
                    + (f"its parameters are: {', '.join(template.params)}" if template.params else "it takes no parameters"),
                )
            bindings[key] = self.substitute(item, orig + ("with", key), env, stack)
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
        name = self.substitute(site["name"], orig + ("name",), env, stack).value if "name" in site else auto_name or block
        here = f"in block '{block}' ({self.line(('blocks', block))}), used at {self.line(orig)}"
        inner_note = here + (f", {note}" if note else "")
        self.notes[new] = inner_note
        out: dict[str, Any] = {"kind": "block", "name": name}
        for key in ("kind", "name", "layers"):
            self.place(new + (key,), orig)
        if "trainable" in site:
            self.place(new + ("trainable",), orig + ("trainable",))
            out["trainable"] = self.substitute(site["trainable"], orig + ("trainable",), env, stack).value
        layers_orig = ("blocks", block, "layers")
        out["layers"] = [
            self.expand(layer, layers_orig + (i,), new + ("layers", i), bindings, (*stack, block), inner_note)
            for i, layer in enumerate(template.layers)
        ]
        return out


def _templates(raw: Any, file: str, positions: dict[Loc, Position]) -> dict[str, Template]:
    """The `blocks:` mapping -> templates, every malformed entry reported where it is written."""

    def error(code: str, message: str, loc: Loc, hint: str | None = None) -> SpecError:
        while loc and loc not in positions:
            loc = loc[:-1]
        return SpecError(code, message, hint=hint, file=file, position=positions.get(loc))

    if not isinstance(raw, dict):
        raise error("wrong_type", f"`blocks:` takes a mapping of block names to templates, got {raw!r:.60}", ("blocks",),
                    hint="write `blocks: {name: {params: [...], layers: [...]}}`")  # fmt: skip
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
                raise error("unknown_field", f"unknown field '{key}' in block '{name}'", loc + (key,),
                            hint=(f"did you mean '{close[0]}'? " if close else "") + f"valid fields: {', '.join(TEMPLATE_KEYS)}")  # fmt: skip
        layers = body.get("layers")
        if not isinstance(layers, list) or not layers:
            raise error("missing_field" if layers is None else "bad_value",
                        f"block '{name}' needs a non-empty list of `layers`", loc + (("layers",) if "layers" in body else ()))  # fmt: skip
        params_raw = body.get("params", []) or []
        if not isinstance(params_raw, list):
            raise error("wrong_type", f"`params` of block '{name}' must be a list of names", loc + ("params",),
                        hint="write `params: [width, {stride: 1}]` (a mapping gives a default)")  # fmt: skip
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
                raise error("bad_value", f"parameter {param!r} of block '{name}' must be a name (letters, digits, _)",
                            here, hint="write `params: [width, {stride: 1}]` (a mapping gives a default)")  # fmt: skip
            if param in params:
                raise error("duplicate_key", f"parameter '{param}' of block '{name}' is listed twice", here)
            params.append(param)
        templates[name] = Template(name, tuple(params), defaults, layers)
    return templates


def expand_blocks(data: dict, file: str, positions: dict[Loc, Position]) -> tuple[dict, dict[Loc, Position], dict[Loc, str]]:
    """Spec data with `blocks:` -> the same data without it, every `use:` replaced by its block.

    Returns the expanded data, the file position of every expanded node, and the notes that say
    which block and use site each expanded part came from. Data with neither `blocks:` nor any
    `use:` comes back unchanged.
    """
    templates = _templates(data["blocks"], file, positions) if "blocks" in data else {}
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
