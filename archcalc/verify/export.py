"""Export a spec's torch module to ONNX, for viewers such as Netron."""

from __future__ import annotations

from ..spec import Spec
from . import require


def write_onnx(spec: Spec, path: str) -> None:
    """Trace the built module on one example and write it with torch.onnx.export."""
    import contextlib
    import io
    import warnings

    torch = require("torch", "archcalc export --to onnx")
    require("onnx", "archcalc export --to onnx")
    from .build import build_model

    model = build_model(spec).eval()
    x = torch.randn(1, *spec.input)
    # one name per tensor the network returns (the graph form's `outputs:` may name several)
    outputs = ["output", *(f"output{i}" for i in range(1, len(spec.outputs or ())))]
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), path, input_names=["input"], output_names=outputs, dynamo=False)
