"""Export a spec's torch module to ONNX, for viewers such as Netron."""

from __future__ import annotations

from ..spec import Spec
from . import require


def write_onnx(spec: Spec, path: str) -> None:
    """Trace the built module on one example and write it with torch.onnx.export; the batch axis
    (dim 0 of the input and of every output) is dynamic, so the file runs at any batch size.

    The module is in eval mode, exported with TrainingMode.PRESERVE: the default (EVAL) folds each
    BatchNorm into the conv before it, so the file would hold other layers, and other parameter
    counts, than the spec (`archcalc import` of the file gives the spec's counts back)."""
    import contextlib
    import io
    import warnings

    torch = require("torch", "archcalc export --to onnx")
    require("onnx", "archcalc export --to onnx")
    from .build import build_model

    model = build_model(spec).eval()
    x = torch.randn(2, *spec.input)  # not 1: a trace at batch 1 may fold a size-1 axis into a constant
    # one name per tensor the network returns (the graph form's `outputs:` may name several)
    outputs = ["output", *(f"output{i}" for i in range(1, len(spec.outputs or ())))]
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (x,),
            path,
            input_names=["input"],
            output_names=outputs,
            dynamic_axes={name: {0: "batch"} for name in ("input", *outputs)},
            dynamo=False,
            training=torch.onnx.TrainingMode.PRESERVE,
        )
