"""`archcalc import`: a PyTorch model or an ONNX file read into a spec.

Reading a model (`fx_read` for PyTorch, `onnx_read` for ONNX) gives a `traced.TracedModel`: the
model's layers as spec kinds and fields, in execution order, each with the earlier layers it reads
and its module path. `structure` turns that into a spec (nested `block`/`residual`/`parallel`
where the graph allows, the graph form where it does not, repeated blocks written once) and
`spec_text` writes it as YAML. Only the readers import torch or onnx, inside functions.
"""
