"""TARGET text (`pkg.module:callable`, `path/to/file.py:Name`, `model.onnx`) turned into a model.

**This runs the user's code.** A Python target is imported and its callable called, as `python -c`
would: whatever the module or the file does at import and in the call happens here (SECURITY.md).
An ONNX target is data: it is only located here, and read by the ONNX reader with its limits.
torch is imported inside functions only.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import SpecError, close_matches
from ..limits import shown, too_long
from ..reading import regular_file
from .names import spec_name

# The most characters of `--kwargs` JSON read: far past any constructor's keyword arguments.
MAX_KWARGS_CHARS = 64 * 1024

TargetKind = Literal["python", "file", "onnx"]

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
FORMS = "pkg.module:callable (torchvision.models:resnet50), path/to/file.py:Name, or a file.onnx"


@dataclass(frozen=True, slots=True)
class Target:
    """A loaded target: `module` the nn.Module built (None for ONNX), `path` the ONNX file (None for
    Python), `name` a spec name for it (`resnet50`), `kind` which form TARGET was written in, `text`
    the TARGET as written (for messages)."""

    kind: TargetKind
    name: str
    text: str
    module: Any = None
    path: Path | None = None


def _fail(code: str, message: str, hint: str | None = None) -> SpecError:
    return SpecError(code, message, hint=hint)


def parse_kwargs(text: str | None) -> dict[str, Any]:
    """`--kwargs` JSON: an object of keyword arguments, bounded in size; NaN, infinities and
    integers past the digit limit refused.

    >>> parse_kwargs('{"num_classes": 10, "weights": null}')
    {'num_classes': 10, 'weights': None}
    """
    if text is None:
        return {}
    if len(text) > MAX_KWARGS_CHARS:
        raise _fail("bad_kwargs", f"--kwargs is {len(text):,} characters; at most {MAX_KWARGS_CHARS:,} are read")

    def integer(literal: str) -> int:
        if reason := too_long(literal):
            raise ValueError(reason)
        return int(literal)

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a number archcalc reads")

    try:
        value = json.loads(text, parse_int=integer, parse_constant=constant)
    except RecursionError:
        raise _fail("bad_kwargs", "--kwargs is nested too deeply") from None
    except ValueError as err:
        raise _fail(
            "bad_kwargs", f"--kwargs is not valid JSON: {err}", hint="write a JSON object: '{\"num_classes\": 10}'"
        ) from None
    if not isinstance(value, dict):
        raise _fail(
            "bad_kwargs",
            f"--kwargs must be a JSON object of keyword arguments, got {type(value).__name__} {shown(value)}",
            hint="write a JSON object: '{\"num_classes\": 10}'",
        )
    return value


def split_target(text: str) -> tuple[TargetKind, str, str]:
    """(kind, where, attribute): where is a module name or a file path; attribute is empty for ONNX.

    >>> split_target("torchvision.models:resnet50")
    ('python', 'torchvision.models', 'resnet50')
    >>> split_target("models/net.py:Net")
    ('file', 'models/net.py', 'Net')
    >>> split_target("net.onnx")
    ('onnx', 'net.onnx', '')
    """
    if text.lower().endswith(".onnx"):
        return "onnx", text, ""
    where, colon, attribute = text.rpartition(":")
    if not colon or not where or not _DOTTED.fullmatch(attribute):
        raise _fail(
            "bad_target",
            f"cannot read the target {shown(text)}: expected {FORMS}",
            hint="name the callable after a colon: torchvision.models:resnet50",
        )
    if where.endswith(".py") or "/" in where or "\\" in where:
        return "file", where, attribute
    if not _DOTTED.fullmatch(where):
        raise _fail("bad_target", f"{shown(where)} is not a module name or a .py file; expected {FORMS}")
    return "python", where, attribute


def _import_module(name: str) -> Any:
    """`import name`, with the current directory on the path while it runs (as `python -m` has it)."""
    added = _with_path(str(Path.cwd()))
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        raise _not_found(err, name) from None
    except (Exception, SystemExit, KeyboardInterrupt) as err:
        raise _raised(f"importing {shown(name)}", err) from None
    finally:
        added()


def _not_found(err: ModuleNotFoundError, name: str | None) -> SpecError:
    """A module that is not installed: the target's own (`name`, or a package above it) or one it imports."""
    missing = err.name or ""
    if name is not None and missing and (name == missing or name.startswith(missing + ".")):
        return _fail(
            "target_not_found",
            f"no module named {shown(missing)} (the target's own module {shown(name)})",
            hint="install the package, or run archcalc in the directory that holds it",
        )
    return _fail(
        "target_import_failed",
        f"the target imports {shown(missing)}, which is not installed",
        hint=f"install the package that provides {shown(missing)}",
    )


def _with_path(directory: str) -> Any:
    """Put `directory` first on sys.path; return the function that takes it off again."""
    if directory in sys.path:
        return lambda: None
    sys.path.insert(0, directory)

    def remove() -> None:
        if directory in sys.path:
            sys.path.remove(directory)

    return remove


def _raised(what: str, err: BaseException) -> SpecError:
    """User code that raised: its exception type and message, no traceback."""
    where = ""
    if isinstance(err, SyntaxError) and err.filename:
        where = f" ({err.filename}:{err.lineno})"
    message = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return _fail(
        "target_raised",
        f"{what} raised {type(err).__name__}{where}" + (f": {message}" if message else ""),
        hint="run it in Python to see the traceback",
    )


def _existing_file(path: Path, written: str, what: str) -> None:
    """A file target that is there and is a regular file: a missing one is `target_file_missing`; a
    directory, FIFO or device `not_a_file`, and a name the system refuses (too long) `unreadable`
    (reading.regular_file), each one message, never an OSError."""
    if not os.path.lexists(path):  # False for a name too long to exist, too
        raise _fail("target_file_missing", "no such file", hint=f"give the path of {what}").located(written, None)
    regular_file(path, what)


def _load_file(path_text: str) -> Any:
    """Run the Python file at `path_text` as a module, its directory on sys.path during the load only
    (so `from blocks import Block` beside it works). The module and the sibling modules it brought in
    are taken out of sys.modules again: a later import of the same name finds nothing left over."""
    path = Path(path_text)
    _existing_file(path, path_text, "a .py file")
    directory = str(path.resolve().parent)
    name = f"_archcalc_target_{abs(hash(str(path.resolve()))):x}"
    loader_spec = importlib.util.spec_from_file_location(name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise _fail("bad_target", f"{shown(path_text)} cannot be loaded as a Python file")
    module = importlib.util.module_from_spec(loader_spec)
    before = set(sys.modules)
    remove = _with_path(directory)
    sys.modules[name] = module  # while it runs: dataclasses and typing look the module up by name
    try:
        loader_spec.loader.exec_module(module)
    except ModuleNotFoundError as err:
        raise _not_found(err, None).located(path_text, None) from None
    except (Exception, SystemExit, KeyboardInterrupt) as err:
        raise _raised(f"running {path.name}", err).located(path_text, None) from None
    finally:
        remove()
        for added in set(sys.modules) - before:
            file = getattr(sys.modules[added], "__file__", None)
            if added == name or (file and Path(file).resolve().is_relative_to(directory)):
                del sys.modules[added]
    return module


def _attribute(module: Any, dotted: str, where: str) -> Any:
    value = module
    for step in dotted.split("."):
        if not hasattr(value, step):
            names = [n for n in dir(value) if not n.startswith("_")]
            near = close_matches(step, names, n=3)
            raise _fail(
                "target_attribute",
                f"{shown(where)} has no attribute {shown(step)}",
                hint=f"did you mean {', '.join(near)}?" if near else "name a class or function the module defines",
            )
        value = getattr(value, step)
    return value


def _instantiate(value: Any, text: str, kwargs: dict[str, Any]) -> Any:
    """The nn.Module the target names: an instance as it is, else the callable's result."""
    import torch

    if isinstance(value, torch.nn.Module):
        if kwargs:
            raise _fail("bad_kwargs", f"{shown(text)} is a module instance already; --kwargs has nothing to call")
        return value
    if not callable(value):
        raise _fail(
            "target_not_callable",
            f"{shown(text)} is a {type(value).__name__}, not a class or function",
            hint="name a class or a function that returns an nn.Module",
        )
    try:
        result = value(**kwargs)
    except (Exception, SystemExit, KeyboardInterrupt) as err:
        raise _raised(f"calling {shown(text)}", err) from None
    if not isinstance(result, torch.nn.Module):
        raise _fail(
            "target_not_module",
            f"{shown(text)} returned a {type(result).__name__}, not a torch.nn.Module",
            hint="name a class or a function that returns an nn.Module",
        )
    return result


def model_too_deep() -> SpecError:
    """A model whose module tree is deeper than Python's recursion limit lets torch (`.eval()`,
    `named_modules()`) or archcalc walk it: one message, not an internal RecursionError."""
    return _fail(
        "model_too_deep",
        f"the model's modules nest too deeply to read: walking them passed Python's recursion limit "
        f"({sys.getrecursionlimit():,} calls)",
        hint="flatten its nested containers (nn.Sequential inside nn.Sequential ...)",
    )


@contextmanager
def running_user_code(text: str) -> Iterator[None]:
    """Around everything that runs the target's code (its import, constructor, forward under a
    trace, hook or counter): a `sys.exit()` or KeyboardInterrupt raised there is the target's
    failure, one message and exit 2, not archcalc's own exit (a forward calling `sys.exit(0)` must
    not end `verify --against` with success, nor `import` with no spec)."""
    try:
        yield
    except (SystemExit, KeyboardInterrupt) as err:
        raise _raised(f"running {shown(text)}", err) from None


def load_target(text: str, kwargs: dict[str, Any] | None = None) -> Target:
    """The model TARGET names. **Runs user code**: imports the module or runs the file, then calls
    the callable with `kwargs`. An ONNX target is only checked to exist."""
    kind, where, attribute = split_target(text)
    kwargs = kwargs or {}
    if kind == "onnx":
        path = Path(where)
        _existing_file(path, where, "an .onnx file")
        if kwargs:
            raise _fail("bad_kwargs", "--kwargs applies to a Python target, not an ONNX file")
        return Target(kind=kind, name=spec_name(path.stem), text=text, path=path)
    module = _load_file(where) if kind == "file" else _import_module(where)
    # a file's name, not its whole path, in messages: `shown` cuts a quoted value to 60 characters
    label = where if kind == "python" else Path(where).name
    value = _attribute(module, attribute, label)
    model = _instantiate(value, f"{label}:{attribute}", kwargs)
    return Target(kind=kind, name=spec_name(attribute.rsplit(".", 1)[-1]), text=text, module=model)
