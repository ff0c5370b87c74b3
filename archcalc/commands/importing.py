"""`archcalc import TARGET`: a PyTorch model (or an ONNX file) written as a spec. Runs the user's code."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from ..importing.target import load_target, parse_kwargs, running_user_code
from ..numfmt import fmt_int, fmt_si
from ..verify import require
from .common import Output, handles_errors, input_option
from .files import check_output, write_file
from .verify import needs_extra

DEFAULT_INPUT = (3, 224, 224)


@click.command("import")
@click.argument("target", metavar="TARGET")
@input_option
@click.option(
    "--kwargs", "kwargs_json", metavar="JSON", help="Keyword arguments for the callable: '{\"num_classes\": 10}'."
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: standard output)."
)
@click.option(
    "--opaque",
    is_flag=True,
    help="Read the innermost module holding an unsupported op as one opaque layer (its parameters and "
    "output shape, no MACs) instead of stopping there.",
)
@handles_errors
@needs_extra
def import_(
    out: Output,
    target: str,
    input_shape: tuple[int, ...] | None,
    kwargs_json: str | None,
    output: Path | None,
    opaque: bool,
) -> None:
    """Write TARGET as a spec: a PyTorch module traced with torch.fx, or an ONNX file.

    TARGET is `package.module:callable` (torchvision.models:resnet50), `path/to/file.py:Name` (a class
    or a function returning an nn.Module) or `model.onnx`. A Python TARGET is imported and called:
    this RUNS ITS CODE, as `python` would (SECURITY.md). --input is the shape without the batch
    (default 3x224x224).
    """
    from ..importing.shape_check import checked_analysis
    from ..importing.spec_text import import_header, spec_yaml
    from ..importing.structure import readable_spec

    if output is not None:  # before the model is built, not after
        check_output(output)
    shape = input_shape or DEFAULT_INPUT
    kwargs = parse_kwargs(kwargs_json)
    if not target.lower().endswith(".onnx"):  # a Python target needs torch: say so before its import does
        require("torch", "archcalc import")
    # What the target's code prints (at import, in its constructor or forward) goes to standard
    # error: standard output carries only the spec, which must stay valid YAML.
    with contextlib.redirect_stdout(sys.stderr), running_user_code(target):
        loaded = load_target(target, kwargs)
        if loaded.path is not None:  # an .onnx file: data, read without torch
            from ..importing.onnx_read import read_onnx

            model = read_onnx(loaded.path, input_shape)
        else:
            from ..importing.fx_read import read_module

            model = read_module(loaded.module, shape, loaded.name, opaque=opaque)
    spec, written = readable_spec(model)
    text = spec_yaml(spec, import_header(target, model.method, model.input_shape, written, model.notes))
    analysis = checked_analysis(model, text)
    if output is not None:
        write_file(output, text)
    else:
        click.echo(text, nl=False)
    totals = analysis.totals
    click.echo(
        f"read with {model.method}: {fmt_int(len(model.layers))} layers, {fmt_si(totals.params)} params, "
        f"{fmt_si(totals.macs)} MACs; {written}",
        err=True,
    )
