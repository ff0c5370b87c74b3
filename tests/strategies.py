"""Hypothesis strategies for specs: random valid networks, and near-valid ones at an edge.

`valid_specs()` draws spec data (plain dicts, fed to the real loader as YAML) that PyTorch can
build and run: stacks of 1-, 2- and 3-D convolutions (kernel, stride, dilation, groups and
depthwise, bias, padding as a number, per dimension, per side, `same` or `valid`), transposed
convolutions, max and average pooling (ceil mode, padding), batch norm, parallel branches
merged by concat or add, residuals with identity or projection shortcuts, repeats, and a
flatten + linear head. The strategy tracks the shape with PyTorch's documented formulas only
to keep every draw valid; the tests hold the analyzer's numbers against torch, never against
this tracker.

`near_valid_specs()` draws a spec with one layer on an edge of validity (a kernel exactly as
large as the padded input, or one larger; groups that divide or not; output_padding equal to
the stride; pooling padding of half the kernel or one more; branches that agree or differ by
one position, ...) together with a `Probe` the tests build directly in torch, independently
of archcalc's builder, to learn whether PyTorch accepts it.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

SPATIAL = {1: (3, 24), 2: (3, 12), 3: (2, 6)}  # spatial size range per rank (tests stay small)
MAX_CHANNELS = 8


# ---------------------------------------------------------------------------------------------
# shape tracking (PyTorch's documented output-size formulas; only to keep draws valid)


def _window_out(n: int, k: int, s: int, before: int, after: int, d: int, ceil: bool = False) -> int:
    room = n + before + after - d * (k - 1) - 1
    if not ceil:
        return room // s + 1
    out = -(-room // s) + 1
    return out - 1 if (out - 1) * s >= n + before else out


def _same_pads(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def _per_dim(draw, values: list[int]) -> int | list[int]:
    """One number when every dimension agrees and the draw says so, else a list."""
    if len(set(values)) == 1 and draw(st.booleans()):
        return values[0]
    return list(values)


@st.composite
def _dim_values(draw, rank: int, strategy) -> list[int]:
    if draw(st.booleans()):
        return [draw(strategy)] * rank
    return [draw(strategy) for _ in range(rank)]


@st.composite
def _window(draw, sizes: tuple[int, ...], *, pool: bool, dilate: bool):
    """kernel, stride, dilation, padding (as written) and the pads per side, valid for `sizes`."""
    rank = len(sizes)
    stride = draw(_dim_values(rank, st.integers(1, 3)))
    dilation = draw(_dim_values(rank, st.integers(1, 2))) if dilate and draw(st.booleans()) else [1] * rank
    mode = draw(st.sampled_from(["int", "dims", "sides", "same", "valid"] if not pool else ["int", "dims", "same"]))
    kernel = []
    pads: list[tuple[int, int]] = []
    if mode == "same":
        kernel = (
            [draw(st.integers(1, min(5, n))) for n in sizes] if pool else draw(_dim_values(rank, st.integers(1, 5)))
        )
        pads = [_same_pads(n, k, s, d) for n, k, s, d in zip(sizes, kernel, stride, dilation)]
        written: object = "same"
    else:
        if mode == "valid":
            pads = [(0, 0)] * rank
        elif mode == "sides":
            pads = [(draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in sizes]
        elif mode == "int":
            p = draw(st.integers(0, 2))
            pads = [(p, p)] * rank
        else:
            pads = [(p, p) for p in (draw(st.integers(0, 2)) for _ in sizes)]
        for n, (a, b), d in zip(sizes, pads, dilation):
            largest = (n + a + b - 1) // d + 1
            kernel.append(draw(st.integers(1, max(1, min(5, largest)))))
        if pool:  # torch: pooling padding at most half the kernel (not the dilated span)
            pads = [(min(a, k // 2), min(a, k // 2)) for (a, _), k in zip(pads, kernel)]
        if mode == "valid":
            written = "valid"
        elif mode == "sides":
            written = [list(p) for p in pads]
        elif len({a for a, _ in pads}) == 1 and mode == "int":
            written = pads[0][0]
        else:
            written = [a for a, _ in pads]
    # a kernel may now exceed the padded input (pool padding was cut): shrink it
    for i, (n, (a, b), d) in enumerate(zip(sizes, pads, dilation)):
        while kernel[i] > 1 and d * (kernel[i] - 1) + 1 > n + a + b:
            kernel[i] -= 1
    if mode == "same" and written == "same":
        pads = [_same_pads(n, k, s, d) for n, k, s, d in zip(sizes, kernel, stride, dilation)]
    return kernel, stride, dilation, written, pads


def _fields(draw, kind: str, fields: dict) -> dict:
    """A layer as written by hand: canonical `kind:` form or the short form, long or short names."""
    short = {"out_channels": "out", "out_features": "out", "kernel_size": "kernel"}
    named = {}
    for key, value in fields.items():
        named[short[key] if key in short and draw(st.booleans()) else key] = value
    if draw(st.booleans()):
        return {"kind": kind, **named}
    return {kind: named}


@dataclass
class State:
    """The shape flowing through the network being drawn."""

    shape: tuple[int, ...]

    @property
    def channels(self) -> int:
        return self.shape[0]

    @property
    def sizes(self) -> tuple[int, ...]:
        return self.shape[1:]


@st.composite
def conv_layer(draw, state: State) -> dict:
    c_in = state.channels
    kernel, stride, dilation, padding, pads = draw(_window(state.sizes, pool=False, dilate=True))
    grouping = draw(st.sampled_from(["one", "groups", "depthwise"]))
    fields: dict = {}
    if grouping == "depthwise":
        out = c_in * draw(st.integers(1, max(1, MAX_CHANNELS // c_in)))
        fields["groups"] = "depthwise"
    elif grouping == "groups":
        g = draw(st.sampled_from([g for g in range(1, c_in + 1) if c_in % g == 0]))
        out = g * draw(st.integers(1, max(1, MAX_CHANNELS // g)))
        fields["groups"] = g
    else:
        out = draw(st.integers(1, MAX_CHANNELS))
    sizes = tuple(
        _window_out(n, k, s, a, b, d) for n, k, s, (a, b), d in zip(state.sizes, kernel, stride, pads, dilation)
    )
    body = {"out_channels": out, "kernel_size": _per_dim(draw, kernel)}
    if any(s != 1 for s in stride) or draw(st.booleans()):
        body["stride"] = _per_dim(draw, stride)
    if padding not in (0, "valid") or draw(st.booleans()):
        body["padding"] = padding
    if any(d != 1 for d in dilation):
        body["dilation"] = _per_dim(draw, dilation)
    body.update(fields)
    if draw(st.booleans()):
        body["bias"] = draw(st.booleans())
    state.shape = (out, *sizes)
    return _fields(draw, "conv", body)


@st.composite
def conv_transpose_layer(draw, state: State) -> dict:
    c_in, rank = state.channels, len(state.sizes)
    kernel = draw(_dim_values(rank, st.integers(1, 4)))
    stride = draw(_dim_values(rank, st.integers(1, 3)))
    dilation = draw(_dim_values(rank, st.integers(1, 2)))
    g = draw(st.sampled_from([g for g in range(1, c_in + 1) if c_in % g == 0]))
    out = g * draw(st.integers(1, max(1, MAX_CHANNELS // g)))
    padding, output_padding, sizes = [], [], []
    for n, k, s, d in zip(state.sizes, kernel, stride, dilation):
        full = (n - 1) * s + d * (k - 1) + 1
        p = draw(st.integers(0, max(0, min(2, (full - 1) // 2))))
        op = draw(st.integers(0, max(s, d) - 1))
        padding.append(p)
        output_padding.append(op)
        sizes.append(full - 2 * p + op)
    body = {"out_channels": out, "kernel_size": _per_dim(draw, kernel), "stride": _per_dim(draw, stride)}
    if any(padding):
        body["padding"] = _per_dim(draw, padding)
    if any(output_padding):
        body["output_padding"] = _per_dim(draw, output_padding)
    if any(d != 1 for d in dilation):
        body["dilation"] = _per_dim(draw, dilation)
    if g != 1:
        body["groups"] = g
    body["bias"] = draw(st.booleans())
    state.shape = (out, *sizes)
    return _fields(draw, "conv_transpose", body)


@st.composite
def pool_layer(draw, state: State) -> dict:
    kind = draw(st.sampled_from(["maxpool", "avgpool"]))
    kernel, stride, dilation, padding, pads = draw(_window(state.sizes, pool=True, dilate=kind == "maxpool"))
    if kind == "avgpool" and len(kernel) == 3 and all(a == b for a, b in pads):
        kernel = [min(k, n) for k, n in zip(kernel, state.sizes)]  # torch's avg_pool3d: kernel <= unpadded input
        if padding == "same":
            pads = [_same_pads(n, k, s, d) for n, k, s, d in zip(state.sizes, kernel, stride, dilation)]
        else:  # the smaller kernel allows less padding
            pads = [(min(a, k // 2), min(a, k // 2)) for (a, _), k in zip(pads, kernel)]
            padding = [a for a, _ in pads]
    if kind == "maxpool" and padding == "same" and any(a == b and a > k // 2 for (a, b), k in zip(pads, kernel)):
        padding, pads = 0, [(0, 0)] * len(kernel)  # SAME pads past torch's limit: the spec must say no padding
        kernel = [min(k, (n - 1) // d + 1) for k, n, d in zip(kernel, state.sizes, dilation)]  # and fit unpadded
    ceil = draw(st.booleans())
    body: dict = {"kernel_size": _per_dim(draw, kernel)}
    default_stride = padding != "same" and draw(st.booleans())  # SAME pads were drawn for the written stride
    if default_stride:
        stride = kernel
    else:
        body["stride"] = _per_dim(draw, stride)
    if padding != 0:
        body["padding"] = padding
    if any(d != 1 for d in dilation):
        body["dilation"] = _per_dim(draw, dilation)
    if ceil:
        body["ceil_mode"] = True
    if kind == "avgpool" and draw(st.booleans()):
        body["count_include_pad"] = draw(st.booleans())
    sizes = tuple(
        _window_out(n, k, s, a, b, d, ceil and padding != "same")
        for n, k, s, (a, b), d in zip(state.sizes, kernel, stride, pads, dilation)
    )
    if padding == "same" and ceil:  # ceil mode on an explicitly padded input: torch's rule on the padded size
        sizes = tuple(
            _window_out(n + a + b, k, s, 0, 0, d, True)
            for n, k, s, (a, b), d in zip(state.sizes, kernel, stride, pads, dilation)
        )
    state.shape = (state.channels, *sizes)
    return _fields(draw, kind, body)


def _same_conv(out: int, kernel: int, stride: int) -> dict:
    return {"kind": "conv", "out_channels": out, "kernel_size": kernel, "stride": stride, "padding": "same"}


@st.composite
def parallel_layer(draw, state: State) -> dict:
    """Branches with the same spatial output (SAME padding, one stride), merged by concat or add."""
    merge = draw(st.sampled_from(["concat", "add"]))
    stride = draw(st.integers(1, 2))
    c_in = state.channels
    width = c_in if draw(st.booleans()) else draw(st.integers(1, MAX_CHANNELS))  # add: every branch's channels
    branches: list[list] = []
    outs: list[int] = []
    for _ in range(draw(st.integers(2, 3))):
        choice = draw(st.sampled_from(["conv", "two", "pool", "identity"]))
        keeps = merge == "concat" or width == c_in  # a branch that keeps the input's channels fits
        if choice == "identity" and stride == 1 and keeps:
            branches.append([])
            outs.append(c_in)
        elif choice == "pool" and keeps:
            branches.append([{"kind": "maxpool", "kernel_size": 3, "stride": stride, "padding": "same"}])
            outs.append(c_in)
        else:
            out = width if merge == "add" else draw(st.integers(1, MAX_CHANNELS))
            if choice == "two":
                branches.append(
                    [
                        _same_conv(out, draw(st.sampled_from([1, 3])), stride),
                        {"kind": "relu"},
                        _same_conv(out, draw(st.sampled_from([1, 3, 5])), 1),
                    ]
                )
            else:
                branches.append([_same_conv(out, draw(st.sampled_from([1, 2, 3, 5])), stride)])
            outs.append(out)
    channels = sum(outs) if merge == "concat" else width
    state.shape = (channels, *(-(-n // stride) for n in state.sizes))
    if draw(st.booleans()):
        return {"kind": "parallel", "merge": merge, "branches": branches}
    return {"parallel": {"merge": merge, "branches": [{"layers": b} for b in branches]}}


@st.composite
def residual_layer(draw, state: State) -> dict:
    c_in = state.channels
    stride = draw(st.integers(1, 2))
    out = draw(st.sampled_from([c_in, draw(st.integers(1, MAX_CHANNELS))]))
    body = [_same_conv(out, draw(st.sampled_from([1, 3])), stride), {"kind": "batchnorm"}, {"kind": "relu"}]
    if draw(st.booleans()):
        body.append(_same_conv(out, 3, 1))
    layer: dict = {"kind": "residual", "body": body}
    if stride != 1 or out != c_in or draw(st.booleans()):
        layer["shortcut"] = [{"kind": "conv", "out_channels": out, "kernel_size": 1, "stride": stride, "bias": False}]
    state.shape = (out, *(-(-n // stride) for n in state.sizes))
    return layer


@st.composite
def repeat_layer(draw, state: State) -> dict:
    kernel = draw(st.sampled_from([1, 3]))
    layers = [{"kind": "conv", "out_channels": state.channels, "kernel_size": kernel, "padding": kernel // 2}]
    if draw(st.booleans()):
        layers.append({"kind": draw(st.sampled_from(["relu", "batchnorm", "tanh"]))})
    return {"kind": "repeat", "times": draw(st.integers(0, 3)), "layers": layers}  # 0: the identity


@st.composite
def valid_specs(draw) -> dict:
    """A random network PyTorch can build and run, as spec data."""
    rank = draw(st.sampled_from([1, 2, 2, 3]))
    lo, hi = SPATIAL[rank]
    state = State((draw(st.integers(1, 6)), *draw(_dim_values(rank, st.integers(lo, hi)))))
    input_shape = list(state.shape)
    layers = []
    makers = [conv_layer, conv_layer, conv_transpose_layer, pool_layer, parallel_layer, residual_layer, repeat_layer]
    for _ in range(draw(st.integers(1, 5))):
        if max(state.sizes) > 2 * hi:  # transposed convs grew it: stop growing
            maker = draw(st.sampled_from([conv_layer, pool_layer]))
        else:
            maker = draw(st.sampled_from(makers))
        layers.append(draw(maker(state)))
        extra = draw(st.sampled_from([None, None, "relu", "batchnorm"]))
        if extra:
            layers.append(extra if draw(st.booleans()) else {"kind": extra})
    if draw(st.booleans()):
        if rank == 2 and draw(st.booleans()):
            layers.append("global_avgpool")  # fvcore counts 2-D adaptive average pooling
        layers.append("flatten")
        layers.append({"linear": {"out": draw(st.integers(1, 10)), "bias": draw(st.booleans())}})
        if draw(st.booleans()):
            layers += ["relu", {"kind": "linear", "out_features": draw(st.integers(1, 5))}]
    return {"name": "prop", "input": input_shape, "layers": layers}


# ---------------------------------------------------------------------------------------------
# near-valid specs: one layer on an edge; a Probe to build it directly in torch


@dataclass(frozen=True)
class Probe:
    """What the near-valid layer is, in torch's own terms, applied to `input`.

    `op`: conv, conv_transpose, maxpool, avgpool, concat or add; `args` the torch constructor
    arguments (branches for the merges: a list of conv argument dicts); `mutation` names the
    edge drawn, `codes` the archcalc error codes a rejection may carry.
    """

    input: tuple[int, ...]
    op: str
    args: dict
    mutation: str
    codes: tuple[str, ...]


@st.composite
def near_valid_specs(draw) -> tuple[dict, Probe]:
    rank = draw(st.sampled_from([1, 2, 3]))
    lo, hi = SPATIAL[rank]
    c_in = draw(st.integers(1, 6))
    sizes = tuple(draw(_dim_values(rank, st.integers(lo, hi))))
    shape = (c_in, *sizes)
    edge = draw(st.integers(0, 1))  # 0: just inside the edge, 1: one step past it
    mutation = draw(
        st.sampled_from(
            [
                "conv_kernel",
                "conv_dilated_kernel",
                "conv_groups",
                "depthwise_out",
                "transpose_output_padding",
                "transpose_crop",
                "pool_padding",
                "pool_kernel",
                "concat_mismatch",
                "add_mismatch",
            ]
        )
    )
    n = sizes[0]
    if mutation in ("conv_kernel", "conv_dilated_kernel"):
        d = 1 if mutation == "conv_kernel" else draw(st.integers(2, 3))
        p = draw(st.integers(0, 2))
        # a kernel spanning exactly the padded input, or the next size up
        k = (n + 2 * p - 1) // d + 1 + edge
        args = {
            "in_channels": c_in,
            "out_channels": draw(st.integers(1, 4)),
            "kernel_size": k,
            "padding": p,
            "dilation": d,
            "stride": draw(st.integers(1, 3)),
        }
        layer = {
            "kind": "conv",
            "out_channels": args["out_channels"],
            "kernel_size": k,
            "padding": p,
            "dilation": d,
            "stride": args["stride"],
        }
        probe = Probe(shape, "conv", args, mutation, ("kernel_too_large",))
    elif mutation == "conv_groups":
        g = draw(st.integers(1, 6))
        out = draw(st.integers(1, 8))
        args = {"in_channels": c_in, "out_channels": out, "kernel_size": 1, "groups": g}
        layer = {"kind": "conv", "out_channels": out, "kernel_size": 1, "groups": g}
        probe = Probe(shape, "conv", args, mutation, ("groups_mismatch",))
    elif mutation == "depthwise_out":
        out = draw(st.integers(1, 12))
        args = {"in_channels": c_in, "out_channels": out, "kernel_size": 1, "groups": c_in}
        layer = {"kind": "conv", "out_channels": out, "kernel_size": 1, "groups": "depthwise"}
        probe = Probe(shape, "conv", args, mutation, ("groups_mismatch",))
    elif mutation == "transpose_output_padding":
        s, d = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        op = max(s, d) - 1 + edge
        k = draw(st.integers(1, 3))
        args = {
            "in_channels": c_in,
            "out_channels": 2,
            "kernel_size": k,
            "stride": s,
            "dilation": d,
            "output_padding": op,
        }
        layer = {
            "kind": "conv_transpose",
            "out_channels": 2,
            "kernel_size": k,
            "stride": s,
            "dilation": d,
            "output_padding": op,
        }
        probe = Probe(shape, "conv_transpose", args, mutation, ("bad_output_padding",))
    elif mutation == "transpose_crop":
        s, k = draw(st.integers(1, 2)), draw(st.integers(1, 3))
        full = (n - 1) * s + k  # output length before cropping; padding crops 2p
        p = (full - 1) // 2 + edge  # the largest padding leaving >= 1 position, or one more
        args = {"in_channels": c_in, "out_channels": 2, "kernel_size": k, "stride": s, "padding": p}
        layer = {"kind": "conv_transpose", "out_channels": 2, "kernel_size": k, "stride": s, "padding": p}
        probe = Probe(shape, "conv_transpose", args, mutation, ("padding_too_large",))
    elif mutation == "pool_padding":
        op = draw(st.sampled_from(["maxpool", "avgpool"]))
        k = draw(st.integers(1, min(n, 5)))
        d = draw(st.integers(1, 2)) if op == "maxpool" else 1
        p = k // 2 + edge
        args = {"kernel_size": k, "padding": p, "ceil_mode": draw(st.booleans())}
        if d != 1:
            args["dilation"] = d
        layer = {"kind": op, **args}
        probe = Probe(shape, op, args, mutation, ("padding_too_large", "kernel_too_large"))
    elif mutation == "pool_kernel":
        op = draw(st.sampled_from(["maxpool", "avgpool"]))
        p = draw(st.integers(0, 1))
        k = n + 2 * p + edge
        args = {"kernel_size": k, "padding": p, "stride": draw(st.integers(1, 3)), "ceil_mode": draw(st.booleans())}
        layer = {"kind": op, **args}
        probe = Probe(shape, op, args, mutation, ("kernel_too_large", "padding_too_large"))
    else:  # two conv branches whose outputs agree, or differ by one position or one channel
        merge = "concat" if mutation == "concat_mismatch" else "add"
        k = draw(st.sampled_from([1, 3]))
        out = draw(st.integers(1, 4))
        first = {"in_channels": c_in, "out_channels": out, "kernel_size": k, "padding": k // 2}
        second = dict(first)
        if edge:
            what = draw(st.sampled_from(["padding", "channels"] if merge == "add" else ["padding"]))
            if what == "padding":
                second["padding"] = k // 2 + 1
            else:
                second["out_channels"] = out + 1
        elif merge == "concat":
            second["out_channels"] = draw(st.integers(1, 4))
        args = {"branches": [first, second]}
        branches = [
            [{"kind": "conv", **{key: v for key, v in b.items() if key != "in_channels"}}] for b in (first, second)
        ]
        layer = {"kind": "parallel", "merge": merge, "branches": branches}
        probe = Probe(shape, merge, args, mutation, ("branch_mismatch",))
    layers = [layer]
    if draw(st.booleans()):
        layers.append("relu")
    return {"name": "near", "input": list(shape), "layers": layers}, probe
