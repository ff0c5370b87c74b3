"""Small ONNX files for the import tests, built with onnx.helper in a test's tmp_path: one graph
input `x` (a symbolic batch, then `shape`), weights as zero initializers of the given dims."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def weight(name: str, *dims: int) -> Any:
    """A zero float32 initializer of `dims`."""
    from onnx import numpy_helper

    return numpy_helper.from_array(np.zeros(dims, np.float32), name)


def values(name: str, data: list[float] | list[int], dtype: Any = np.float32) -> Any:
    """A small initializer holding `data` (a Clip bound, Resize scales, Split sizes)."""
    from onnx import numpy_helper

    return numpy_helper.from_array(np.array(data, dtype), name)


def onnx_file(
    path: Path,
    nodes: list[Any],
    shape: tuple[int | str, ...],
    initializers: tuple[Any, ...] = (),
    outputs: tuple[str, ...] = ("y",),
    opset: int = 20,
    batch: int | str = "N",
    value_info: dict[str, list[int]] | None = None,
) -> Path:
    """Write a model of `nodes` reading `x` [batch, *shape] and returning `outputs` (types only:
    onnx's shape inference gives their shapes) to `path`; `value_info` states shapes of values."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, *shape])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs],
        initializer=list(initializers),
        value_info=[helper.make_tensor_value_info(k, TensorProto.INT64, v) for k, v in (value_info or {}).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.save(model, str(path))
    return path
