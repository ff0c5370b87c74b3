"""An ONNX file read into a TracedModel: the file is data, read with a size limit and never with
its external data; onnx's shape inference gives every value's shape; `onnx_ops` maps each op.

The file is parsed from bytes (`onnx.load_model_from_string`), so no path it names (an
initializer's external-data `location`) is ever opened: counts need the weights' dims only.
"""

from __future__ import annotations

import re
from math import prod
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..fields import MAX_SIZE
from ..limits import MAX_ONNX_BYTES, shown
from ..reading import read_bounded
from .onnx_fold import fold_size_inputs
from .onnx_graph import MAX_VALUE_ELEMENTS, Converted, OnnxGraph, attributes, node_label
from .traced import MODEL_INPUT, TracedLayer, TracedModel

DEFAULT_DOMAINS = ("", "ai.onnx")
# ops whose output is a shape, never a tensor of the model: a value computed from them is a constant
SHAPE_OPS = ("Shape", "Size")


def read_onnx(path: Path, input_shape: tuple[int, ...] | None = None) -> TracedModel:
    """The layers of the ONNX model at `path`, in execution order, as spec kinds. `input_shape`
    (without the batch) fixes the input's symbolic dimensions; a fixed one must agree."""
    from ..verify import require

    onnx = require("onnx", "archcalc import of an ONNX file")
    file = str(path)
    model = _parse(onnx, _read(path), file)
    graph_input = _model_input(model, file)
    input_sizes = _prepared(model, graph_input, input_shape, file)
    graph = _graph(onnx, model, file)
    graph.data.add(graph_input.name)
    layers, producers = _walk(graph, graph_input.name)
    outputs = []
    for value in model.graph.output:
        if producers.get(value.name, MODEL_INPUT) == MODEL_INPUT:
            raise SpecError(
                "unsupported_op",
                f"the model's output {shown(value.name)} is not computed by a layer of the model",
                file=file,
            )
        outputs.append(producers[value.name])
    named = _named(layers)
    return TracedModel(name=path.stem, input_shape=input_sizes, layers=named, outputs=tuple(outputs), method="onnx")


def _read(path: Path) -> bytes:
    """The file's bytes, never read past MAX_ONNX_BYTES."""
    data = read_bounded(path, MAX_ONNX_BYTES, "an ONNX model file")
    if len(data) > MAX_ONNX_BYTES:
        raise SpecError(
            "file_too_large",
            f"the file is larger than the limit of {MAX_ONNX_BYTES:,} bytes (protobuf's limit on one ONNX model)",
            file=str(path),
        )
    return data


def _prepared(model: Any, graph_input: Any, input_shape: tuple[int, ...] | None, file: str) -> tuple[int, ...]:
    """The input's sizes after the batch (`input_shape` written in first), its open batch fixed at
    1, the weights' values and the file's own shape claims dropped, ready for inference."""
    if input_shape is not None:
        _fix_input(graph_input, input_shape, file)
    sizes = _fixed_input(graph_input, file)
    batch = graph_input.type.tensor_type.shape.dim[0]
    if not batch.HasField("dim_value"):
        # a symbolic batch read as 1: inference then fixes every size a reshape computes from it
        batch.dim_value = 1
    _drop_weight_values(model)
    _drop_written_shapes(model)
    return sizes


def _graph(onnx: Any, model: Any, file: str) -> OnnxGraph:
    """The graph's shapes (inferred, then again after small size values are folded) and constants."""
    opset = _opset(model, file)
    shapes = _inferred_shapes(onnx, model, file)
    if fold_size_inputs(model, shapes, opset):
        shapes = _inferred_shapes(onnx, model, file)
    graph = OnnxGraph(file, opset, list(model.graph.node), shapes)
    graph.graph_outputs = {value.name for value in model.graph.output}
    for tensor in model.graph.initializer:
        graph.constants[tensor.name] = tensor
    for node in graph.nodes:  # known before the walk: a fused pattern reads constants past its first node
        if node.op_type == "Constant":
            _constants(graph, node)
    return graph


def _parse(onnx: Any, data: bytes, file: str) -> Any:
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, RuntimeError, ValueError) as err:
        raise SpecError(
            "bad_onnx", f"not an ONNX model: {str(err).splitlines()[0] if str(err) else type(err).__name__}", file=file
        ) from None
    if not model.HasField("graph") or not model.graph.node:
        raise SpecError("bad_onnx", "not an ONNX model: it holds no graph of nodes", file=file)
    return model


def _drop_weight_values(model: Any) -> None:
    """Forget the values of every tensor past a few elements (the weights): counts need their
    dims only, and onnx's shape inference then copies kilobytes, not the whole model (10 s less
    for VGG-16's 528 MB)."""
    for tensor in model.graph.initializer:
        if prod(tensor.dims) > MAX_VALUE_ELEMENTS:
            for field in ("raw_data", "float_data", "int32_data", "int64_data", "double_data", "uint64_data"):
                tensor.ClearField(field)


def _drop_written_shapes(model: Any) -> None:
    """Forget the shapes the file states for values and outputs: onnx's inference keeps a stated
    size where it cannot infer one, so a file could claim a few elements for a value that holds
    10^12, and every size used here must be one onnx computed."""
    del model.graph.value_info[:]
    for value in model.graph.output:
        if value.type.HasField("tensor_type"):
            value.type.tensor_type.ClearField("shape")


def _model_input(model: Any, file: str) -> Any:
    """The one graph input that is not an initializer (older files list initializers as inputs)."""
    weights = {tensor.name for tensor in model.graph.initializer}
    inputs = [value for value in model.graph.input if value.name not in weights]
    if len(inputs) != 1:
        raise SpecError(
            "unsupported_op",
            f"the model has {len(inputs)} inputs ({shown([v.name for v in inputs])}); archcalc reads models of one input",
            file=file,
        )
    value = inputs[0]
    if not value.type.HasField("tensor_type") or not value.type.tensor_type.HasField("shape"):
        raise SpecError(
            "symbolic_shape",
            f"the model's input {shown(value.name)} has no shape",
            file=file,
            hint="give the input's shape (--input CxHxW)",
        )
    return value


def _fixed_input(value: Any, file: str) -> tuple[int, ...]:
    """The input's sizes after the batch, each fixed (`symbolic_shape` otherwise) and within MAX_SIZE."""
    dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in value.type.tensor_type.shape.dim]
    if len(dims) < 2 or not all(isinstance(size, int) and 1 <= size <= MAX_SIZE for size in dims[1:]):
        raise SpecError(
            "symbolic_shape",
            f"the model's input {shown(value.name)} has shape {shown(dims)}: every size after the batch must be "
            f"fixed, from 1 to {MAX_SIZE:,} (only the batch, the first, may be left open)",
            file=file,
            hint="give the input's fixed shape without the batch (--input CxHxW)",
        )
    return tuple(dims[1:])  # type: ignore[arg-type]


def _fix_input(value: Any, shape: tuple[int, ...], file: str) -> None:
    """Write `shape` into the input's dimensions after the batch."""
    dims = value.type.tensor_type.shape.dim
    if len(dims) != len(shape) + 1:
        raise SpecError(
            "bad_value",
            f"--input gives {len(shape)} sizes; the model's input {shown(value.name)} has {len(dims) - 1} after the batch",
            file=file,
        )
    for dim, size in zip(list(dims)[1:], shape):
        if dim.HasField("dim_value") and dim.dim_value != size:
            raise SpecError(
                "bad_value",
                f"--input gives {list(shape)}, but the model's input is fixed to "
                f"{[d.dim_value if d.HasField('dim_value') else d.dim_param for d in dims][1:]}",
                file=file,
            )
        dim.dim_value = size


def _inferred_shapes(onnx: Any, model: Any, file: str) -> dict[str, tuple[int | str | None, ...]]:
    """Every value's shape by onnx's own inference (strict: an op it cannot type is an error)."""
    for node in model.graph.node:
        if node.domain not in DEFAULT_DOMAINS:
            raise SpecError(
                "unsupported_op",
                f"an op of the custom domain {shown(node.domain)}; archcalc maps the standard ONNX ops",
                file=file,
                layer=node_label(node),
            )
    try:
        # no data_prop: it computes values of any size (onnx_fold.py says why); onnx_fold does that part
        inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except Exception as err:  # onnx raises InferenceError, ValidationError, RuntimeError: all mean a bad file
        first = str(err).strip().splitlines()
        raise SpecError(
            "bad_onnx", f"onnx's shape inference failed: {first[0] if first else type(err).__name__}", file=file
        ) from None
    shapes: dict[str, tuple[int | str | None, ...]] = {}
    graph = inferred.graph
    for value in (*graph.input, *graph.value_info, *graph.output):
        tensor_type = value.type.tensor_type
        if value.type.HasField("tensor_type") and tensor_type.HasField("shape"):
            shapes[value.name] = tuple(
                d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tensor_type.shape.dim
            )
    return shapes


def _opset(model: Any, file: str) -> int:
    for entry in model.opset_import:
        if entry.domain in DEFAULT_DOMAINS:
            return int(entry.version)
    raise SpecError("bad_onnx", "the model names no opset of the standard ONNX domain", file=file)


def _walk(graph: OnnxGraph, model_input: str) -> tuple[list[tuple[TracedLayer, list[Any]]], dict[str, int]]:
    """Each node in file order: a constant (no input computed from the model's), a shape, or a
    layer by its converter. Returns the layers, each with the nodes it was made from (its name
    comes from them), and which layer writes each value."""
    from .onnx_ops import CONVERTERS

    producers: dict[str, int] = {model_input: MODEL_INPUT}
    layers: list[tuple[TracedLayer, list[Any]]] = []
    absorbed: set[int] = set()
    for index, node in enumerate(graph.nodes):
        if index in absorbed:
            continue
        for tensor in node.input:
            if tensor and not graph.is_data(tensor) and not graph.is_constant(tensor):
                raise graph.error(
                    node,
                    "bad_onnx" if tensor not in graph.shapes else "unsupported_op",
                    f"it reads {shown(tensor)}, which no earlier node writes as a layer's output",
                    hint="nodes are in topological order in a valid file; a second output of pooling or "
                    "dropout has no layer",
                )
        if node.op_type == "Constant" or not any(graph.is_data(t) for t in node.input if t):
            _constants(graph, node)
            continue
        if node.op_type in SHAPE_OPS:
            for tensor in node.output:
                graph.constants[tensor] = None
            continue
        converter = CONVERTERS.get(node.op_type)
        if converter is None:
            raise graph.error(
                node,
                "unsupported_op",
                f"ONNX op {shown(node.op_type)} has no archcalc layer kind",
                hint="run `archcalc kinds` for the kinds; the README lists the ONNX ops archcalc reads",
            )
        for made in converter(index, node, graph):
            layers.append((_layer(graph, node, made, producers), [node, *(graph.nodes[i] for i in made.absorbed)]))
            producers[made.output] = len(layers) - 1
            graph.data.add(made.output)
            absorbed.update(made.absorbed)
    return layers, producers


def _constants(graph: OnnxGraph, node: Any) -> None:
    """A node of constants only: its outputs are constants, their values known for a Constant's
    tensor and an Identity's copy (the exporter shares equal initializers so)."""
    known: Any = None
    if node.op_type == "Constant":
        known = attributes(node).get("value")
    elif node.op_type == "Identity" and node.input:
        known = graph.constants.get(node.input[0])
    for tensor in node.output:
        graph.constants[tensor] = known


def _layer(graph: OnnxGraph, node: Any, made: Converted, producers: dict[str, int]) -> TracedLayer:
    ops = [node.op_type, *(graph.nodes[i].op_type for i in made.absorbed)]
    op = "+".join(ops) if len(ops) <= 3 else f"{ops[0]}+...+{ops[-1]} ({len(ops)} nodes)"
    return TracedLayer(
        path=(),
        kind=made.kind,
        fields=made.fields,
        inputs=tuple(producers[t] for t in made.inputs),
        out_shape=graph.shape(made.output, node),
        module_type=op,
    )


# ---- names ------------------------------------------------------------------------------------------


def scope_of(name: str) -> tuple[tuple[str, ...], str] | None:
    """torch's exporter names a node by its module scope and op, `/layer1/layer1.0/conv1/Conv`:
    a segment is the module's full dotted name or its name within the last (`conv1`). Returns the
    module path and the op segment, or None for a name in another form.

    >>> scope_of("/layer1/layer1.0/conv1/Conv"), scope_of("/Add_1"), scope_of("conv1")
    ((('layer1', '0', 'conv1'), 'Conv'), ((), 'Add_1'), None)
    """
    if not name.startswith("/") or name.endswith("/"):
        return None
    *segments, op = name[1:].split("/")
    path: list[str] = []
    for segment in segments:
        dotted = ".".join(path)
        inner = segment[len(dotted) + 1 :] if path and segment.startswith(dotted + ".") else segment
        path.extend(step for step in inner.split(".") if step)
    return tuple(path), op


def _op_step(kind: str, op_segment: str) -> str:
    """A function's step within its module: its kind, with the exporter's call count (`Add_1` -> add_1)."""
    suffix = re.fullmatch(r".*?(_\d+)", op_segment)
    return kind + (suffix.group(1) if suffix else "")


def _layer_scope(nodes: list[Any]) -> tuple[tuple[str, ...], str] | None:
    """The scope of a layer made from several nodes (MatMul and Add in `/fc`, a conv and its bias
    add in `/conv13/conv13.0` and `/conv13/conv13.1`): the scopes' common part, the first's op."""
    found = [scope_of(node.name) for node in nodes]
    first = found[0]
    if first is None or any(f is None for f in found):
        return first
    common = first[0]
    for other in found[1:]:
        scope = other[0] if other is not None else ()
        same = 0
        while same < min(len(common), len(scope)) and common[same] == scope[same]:
            same += 1
        common = common[:same]
    return common, first[1]


def _named(layers: list[tuple[TracedLayer, list[Any]]]) -> tuple[TracedLayer, ...]:
    """Each layer's path from its nodes' names. A torch scope holding one layer, inside which no
    other lies, is that layer's module (`/fc/Gemm` -> fc); otherwise a layer is a function called in
    it (`/layer1/layer1.0/Add` -> layer1.0.add). Another name is one step; no name, kind + count.
    Steps are the file's text as it is: the spec writer (`names.level_names`) makes them names."""
    scoped = [_layer_scope(nodes) for _, nodes in layers]
    direct: dict[tuple[str, ...], int] = {}
    inner: set[tuple[str, ...]] = set()
    for found in scoped:
        if found is not None:
            scope = found[0]
            direct[scope] = direct.get(scope, 0) + 1
            inner.update(scope[:i] for i in range(len(scope)))
    paths: list[tuple[str, ...]] = []
    counts: dict[str, int] = {}
    for (layer, nodes), found in zip(layers, scoped):
        if found is not None:
            scope = found[0]
            if scope and direct[scope] == 1 and scope not in inner:
                paths.append(scope)
            else:
                paths.append((*scope, _op_step(layer.kind, found[1])))
            continue
        step = nodes[0].name
        if not step:
            counts[layer.kind] = counts.get(layer.kind, 0) + 1
            step = f"{layer.kind}{counts[layer.kind]}"
        paths.append((step,))
    return tuple(_replace_path(layer, path) for (layer, _), path in zip(layers, _unique(paths)))


def _unique(paths: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Paths made unique: a repeat, or a path that another one continues (a row cannot also be a
    block), gets `_1`, `_2`, ... on its last step."""
    taken: set[tuple[str, ...]] = set()
    prefixes = {path[:i] for path in paths for i in range(1, len(path))}
    out = []
    for path in paths:
        candidate, n = path, 0
        while candidate in taken or candidate in prefixes:
            n += 1
            candidate = (*path[:-1], f"{path[-1]}_{n}")
        taken.add(candidate)
        out.append(candidate)
    return out


def _replace_path(layer: TracedLayer, path: tuple[str, ...]) -> TracedLayer:
    from dataclasses import replace

    return replace(layer, path=path)


__all__ = ["read_onnx", "scope_of"]
