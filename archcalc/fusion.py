"""The kernels of a fused inference run and their roofline bound: which rows a compiler can run as
one kernel, and the bytes and FLOPs each kernel cannot avoid. Pure arithmetic, no torch.

The unfused roofline (archcalc/roofline.py) charges every row a round trip to memory; a compiled
run (torch.compile's inductor, cuDNN's fused epilogues) folds batch norm into the convolution
before it and runs element-wise ops inside the kernel that produced their input, so it beats that
"bound". The rules below group the rows into kernels; each op declares how it fuses
(`fusion` in archcalc/layers/ops.py):

1. view (flatten, identity, a channel split; dropout and stochastic depth at inference): no work.
   Its readers read its input (a split's readers only their part).
2. kernel (convolution, linear, pooling, a normalisation over a reduction, softmax, an opaque
   module): starts a kernel.
3. fold (batch norm): folded into the convolution or linear layer whose output it reads directly,
   when it is that output's only reader (no other layer, concat or network output reads it): its
   scale and shift rescale that layer's weights and bias, so it costs no FLOPs and no bytes (the
   folded bias, one value per channel, is not charged either). Otherwise it is pointwise.
4. pointwise (activations, residual add, squeeze-and-excitation multiply, layer scale, a batch
   norm not folded; index remaps: channel shuffle, upsampling, which inductor fuses as element-wise
   code): runs in the kernel that produced the input that is ready last; the others (a
   residual's shortcut, the tensor an SE gate scales) were written by earlier kernels and are read
   from memory. Its FLOPs stay, at its family's peak.
   A pointwise op whose last input has no kernel producing it (the network input, a concat's
   output) starts a kernel of its own; when every tensor that kernel writes is read by one later
   kernel only (a kernel op's, or another such pointwise kernel's: two element-wise ops on one
   tensor read it once), it is that kernel's prologue (applied as the kernel loads its input:
   cuDNN's runtime fusion, inductor's prologue fusion), and the two are one kernel. So is a
   pointwise op whose last input is smaller than its output (a broadcast operand: the SE gate; an
   upsampling): in the gate's kernel it would read the features and write them back; as the
   prologue of the projection that reads its product it reads them once. And so is one whose last
   input is written anyway (another row reads it too, or it is a network output: a pre-activation
   block's batch norm on the residual stream, DenseNet's transition): in the producer's epilogue
   it would write a second tensor. Where no one kernel reads it, it joins the kernel producing
   that input.
5. concat: no work: its producers write into slices of its output (preallocated), which a reader
   reads whole.

Bytes are compulsory traffic, as in the unfused roofline: a kernel reads once each tensor it takes
from outside (one read however many of its rows take it; a split's part once, and not at all
when the kernel reads the whole tensor too) and its parameters (none for a folded batch norm),
and writes each tensor it produces that a row outside it, a concat whose output is needed, or
the network's outputs need (only the parts they need when those are a split's parts). Each
kernel's bound is max(its FLOPs at each family's peak, bytes / bandwidth); the fused bound is
their sum, never more than the unfused one.

Where unsure, less is charged, so a compiled run approaches the bound from above: the folded
bias; padding done in the kernel (an unfused row reads its padded input); a prologue whether or
not a library offers one for that kernel. Not assumed (charged): two kernels reading one tensor
once (horizontal fusion of a bottleneck's first convolution and its projection shortcut), a
pooling or reduction run in the epilogue of the convolution before it, and a cache holding a
tensor between kernels (at a small batch the activations may fit in L2: the bound is of DRAM
traffic).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from math import prod

from .analysis import Analysis, dtype_bytes
from .layers import OPS
from .layers.ops import Fusion, op_rule
from .peaks import Peaks, compute_seconds, family_of
from .roofline import Bound, Traffic, roofline


@dataclass(frozen=True, slots=True)
class Kernel:
    """One kernel of a fused inference run for a batch: its rows (paths, in execution order), the
    batch norms folded into it, FLOPs by op family, and bytes read (tensors from outside it, and
    parameters) and written (tensors needed outside it)."""

    paths: tuple[str, ...]
    kinds: tuple[str, ...]  # the rows' kinds, each once, in order
    folded: tuple[str, ...]
    flops_by_family: Mapping[str, int]
    input_bytes: int
    weight_bytes: int
    bytes_written: int

    @property
    def flops(self) -> int:
        return sum(self.flops_by_family.values())

    @property
    def bytes_read(self) -> int:
        return self.input_bytes + self.weight_bytes

    @property
    def bytes(self) -> int:
        return self.bytes_read + self.bytes_written

    @property
    def traffic(self) -> Traffic:
        """The kernel as one row of the roofline: named by its first row, its kinds joined by '+'."""
        return Traffic(
            path=self.paths[0],
            kind="+".join(self.kinds),
            flops=self.flops,
            input_bytes=self.input_bytes,
            weight_bytes=self.weight_bytes,
            output_bytes=self.bytes_written,
        )


@dataclass(frozen=True, slots=True)
class KernelBound:
    """A kernel and its roofline on a device (compute at each op family's peak)."""

    kernel: Kernel
    bound: Bound


class _Groups:
    """The kernels as they are formed: each row's kernel (-1 for a view or a concat), each kernel's
    rows, whether a kernel starts with a pointwise op (it may become a prologue), and the kernel
    each absorbed one became part of (a union-find forest: `find` resolves a chain of prologues in
    near-constant time). A builder filled step by step by `kernels`."""

    __slots__ = ("of", "members", "headless", "parent")

    def __init__(self, rows: int) -> None:
        self.of = [-1] * rows
        self.members: list[list[int]] = []
        self.headless: list[bool] = []
        self.parent: list[int] = []

    def new(self, headless: bool) -> int:
        self.members.append([])
        self.headless.append(headless)
        self.parent.append(len(self.parent))
        return len(self.members) - 1

    def join(self, row: int, kernel: int) -> None:
        self.of[row] = kernel
        self.members[kernel].append(row)

    def find(self, kernel: int) -> int:
        """The kernel `kernel` is now part of (itself unless absorbed), compressing the path."""
        root = kernel
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[kernel] != root:
            self.parent[kernel], kernel = root, self.parent[kernel]
        return root

    def kernel_of(self, row: int) -> int:
        """Row `row`'s kernel as it stands (-1 for a view or a concat)."""
        k = self.of[row]
        return self.find(k) if k >= 0 else -1

    def absorb(self, kernel: int, into: int) -> None:
        """`kernel` as the prologue of `into`: one kernel (`settle` moves its rows, in order)."""
        if kernel != into:
            self.parent[kernel] = into
        self.headless[kernel] = False

    def settle(self) -> None:
        """Each row in the kernel it ended in, each kernel's rows in execution order, in one pass
        (moving rows at each prologue, or sorting, would be quadratic)."""
        for rows in self.members:
            rows.clear()
        for row in range(len(self.of)):
            kernel = self.kernel_of(row)
            self.of[row] = kernel
            if kernel >= 0:
                self.members[kernel].append(row)


def kernels(analysis: Analysis, dtype: str = "fp32", batch: int = 1) -> list[Kernel]:
    """The rows grouped into the kernels of a fused inference run (the module docstring's rules),
    each with its FLOPs and compulsory bytes for `batch` examples at `dtype`. A few passes over the
    lowered graph: linear in the rows.

    >>> from archcalc import analyze, load_spec
    >>> ks = kernels(analyze(load_spec("resnet50")), "bf16")
    >>> ks[0].paths, ks[0].folded   # the stem: conv, its batch norm folded, the ReLU in its epilogue
    (('conv1', 'bn1', 'relu1'), ('bn1',))
    """
    flow = _Flow(analysis)
    groups, folded = _group(flow)
    needed = _needed(flow, groups)
    size = dtype_bytes(dtype)
    return [
        _measure(flow, groups, k, members, folded, needed, size, batch)
        for k, members in enumerate(groups.members)
        if members
    ]


class _Flow:
    """Who reads and writes what, views resolved: a view's tensor is its source's data (a reader
    of a part, a split, reads that part only). Built once by `kernels`, read by its steps."""

    __slots__ = ("nodes", "shapes", "fusion", "data", "part", "parts", "producer", "readers", "results", "wanted")

    def __init__(self, analysis: Analysis) -> None:
        graph = analysis.graph
        self.nodes, self.shapes = graph.nodes, graph.shapes
        self.fusion: list[Fusion | None] = [op_rule(OPS, n.op, f"{n.path}, {n.kind}").fusion for n in self.nodes]
        self.data: dict[int, int] = {}  # a view's tensor -> the tensor holding its data
        self.part: dict[int, int] = {}  # a view's tensor -> the tensor its reader reads (itself for a part)
        self.parts: dict[int, list[int]] = {}  # a data tensor -> its parts (views smaller than it)
        self.producer: dict[int, int] = {}  # a data tensor -> the row writing it
        self.readers: dict[int, list[int]] = {}  # a data tensor -> the rows (not views) reading it
        for i, node in enumerate(self.nodes):
            if self.fusion[i] == "view":
                src = node.inputs[0]
                self.data[node.output] = self.data.get(src, src)
                same = prod(self.shapes[node.output]) == prod(self.shapes[src])
                self.part[node.output] = self.part.get(src, src) if same else node.output
                if not same:
                    self.parts.setdefault(self.data[node.output], []).append(node.output)
                continue
            self.producer[node.output] = i
            for t in node.inputs:
                self.readers.setdefault(self.data.get(t, t), []).append(i)
        self.results = {self.data.get(t, t) for t in graph.outputs}  # the tensors holding the network's outputs
        self.wanted = {self.read(t) for t in graph.outputs}  # what is written of them: each whole, or a part

    def read(self, tensor: int) -> int:
        """The tensor a reader of `tensor` reads: its source, or the part of it a split takes."""
        return self.part.get(tensor, tensor)

    def source(self, tensor: int) -> int:
        """The tensor holding `tensor`'s data (itself unless it is a view)."""
        return self.data.get(tensor, tensor)

    def folds(self, i: int) -> bool:
        """Whether row `i` (a batch norm) folds into the convolution or linear layer before it:
        it reads that layer's output directly (not through a flatten: one scale per channel) and
        nothing else needs that output."""
        node = self.nodes[i]
        source = self.source(node.inputs[0])
        p = self.producer.get(source, -1)
        return (
            p >= 0
            and self.fusion[p] == "kernel"
            and OPS[self.nodes[p].op].folds_norm
            and len(self.readers[source]) == 1
            and source not in self.results
            and self.shapes[node.inputs[0]] == self.shapes[source]
        )


def _group(flow: _Flow) -> tuple[_Groups, set[int]]:
    """Each row's kernel (rules 2 to 5), and the rows folded away."""
    nodes, shapes, producer = flow.nodes, flow.shapes, flow.producer
    groups = _Groups(len(nodes))
    folded: set[int] = set()
    detached: dict[int, int] = {}  # a kernel started by a broadcast op -> the row writing its operand
    ready: dict[int, int] = {0: -1}  # a data tensor -> the row after which it is complete
    for i, node in enumerate(nodes):
        rule = flow.fusion[i]
        if rule == "view":
            continue
        ins = [flow.source(t) for t in node.inputs]
        if rule == "concat":  # complete when its last part is written
            ready[node.output] = max(ready[t] for t in ins)
            continue
        ready[node.output] = i
        if rule == "kernel":
            groups.join(i, groups.new(headless=False))
        elif rule == "fold" and flow.folds(i):
            folded.add(i)
            groups.join(i, groups.of[producer[ins[0]]])
        else:  # pointwise: into the kernel of the input ready last (an owned one first, on a tie)
            last = max(ins, key=lambda t: (ready[t], producer.get(t, -1) >= 0 and groups.of[producer[t]] >= 0))
            q = producer.get(last, -1)
            owner = groups.of[q] if q >= 0 else -1
            if owner >= 0 and (
                prod(shapes[last]) < prod(node.out_shape) or len(flow.readers[last]) > 1 or last in flow.results
            ):
                # a broadcast operand (the SE gate), or one written anyway (read by another row too,
                # or a network output): first try it as the prologue of its reader
                owner = groups.new(headless=True)
                detached[owner] = q
            groups.join(i, owner if owner >= 0 else groups.new(headless=True))
    for k in range(len(groups.members)):
        if groups.headless[k]:
            into = _prologue_of(k, groups, flow)
            if into is None and k in detached:  # back into the kernel producing its operand
                into = groups.kernel_of(detached[k])
            if into is not None:
                groups.absorb(k, into)
    groups.settle()
    return groups, folded


def _needed(flow: _Flow, groups: _Groups) -> set[int]:
    """The tensors written, each whole or the part read (a split's): read by a row of another
    kernel, by a needed concat (its inputs), or the network's outputs. Backwards, so a concat's
    readers are seen before it."""
    needed = set(flow.wanted)
    for i in range(len(flow.nodes) - 1, -1, -1):
        node = flow.nodes[i]
        if flow.fusion[i] == "view":
            continue
        if flow.fusion[i] == "concat":
            if node.output in needed or any(p in needed for p in flow.parts.get(node.output, ())):
                needed.update(flow.read(t) for t in node.inputs)
            continue
        for t in node.inputs:
            p = flow.producer.get(flow.source(t), -1)
            if p < 0 or groups.of[p] != groups.of[i]:
                needed.add(flow.read(t))
    return needed


def _measure(
    flow: _Flow,
    groups: _Groups,
    k: int,
    members: list[int],
    folded: set[int],
    needed: set[int],
    size: int,
    batch: int,
) -> Kernel:
    """Kernel `k`'s FLOPs by family and its compulsory bytes."""
    nodes, shapes = flow.nodes, flow.shapes
    whole: set[int] = set()  # the tensors read whole from outside
    parts: dict[int, int] = {}  # the parts read from outside -> the tensor holding them
    weights = written = 0
    flops: dict[str, int] = {}
    for i in members:
        node = nodes[i]
        if i not in folded:
            weights += node.params
            family = family_of(node.op)
            flops[family] = flops.get(family, 0) + 2 * node.macs * batch
        for t in node.inputs:
            source = flow.source(t)
            p = flow.producer.get(source, -1)
            if p < 0 or groups.of[p] != k:
                key = flow.read(t)
                if key == source:
                    whole.add(key)
                else:
                    parts[key] = source
        if node.output in needed:
            written += prod(node.out_shape)
        else:  # only the parts others read; never more than the whole (two splits may take one part)
            part_sizes = (prod(shapes[p]) for p in flow.parts.get(node.output, ()) if p in needed)
            written += min(sum(part_sizes), prod(node.out_shape))
    # a part of a tensor also read whole is read with it: once
    read = sum(prod(shapes[t]) for t in whole) + sum(prod(shapes[p]) for p, s in parts.items() if s not in whole)
    return Kernel(
        paths=tuple(nodes[i].path for i in members),
        kinds=tuple(dict.fromkeys(nodes[i].kind for i in members)),
        folded=tuple(nodes[i].path for i in members if i in folded),
        flops_by_family=flops,
        input_bytes=read * size * batch,
        weight_bytes=weights * size,
        bytes_written=written * size * batch,
    )


def _prologue_of(k: int, groups: _Groups, flow: _Flow) -> int | None:
    """The kernel a headless kernel `k` is the prologue of: the one kernel (of any kind: a kernel
    op's, or another pointwise kernel's) reading everything `k` writes; None when another kernel, a concat or the network's outputs
    need one of its tensors, or nothing reads them."""
    into: int | None = None
    for i in groups.members[k]:
        t = flow.nodes[i].output
        if t in flow.results:
            return None
        for r in flow.readers.get(t, ()):
            other = groups.kernel_of(r)
            if other == k:
                continue
            if other < 0 or (into is not None and other != into):
                return None
            into = other
    return into


def fused_roofline(analysis: Analysis, dtype: str, batch: int, peaks: Peaks) -> list[KernelBound]:
    """Every kernel's roofline: max(its FLOPs at each op family's peak, bytes / bandwidth)."""
    bounds = []
    for kernel in kernels(analysis, dtype, batch):
        compute = compute_seconds(kernel.flops_by_family, peaks)
        bounds.append(KernelBound(kernel, Bound(kernel.traffic, compute, kernel.bytes / peaks.bytes_per_s)))
    return bounds


@dataclass(frozen=True, slots=True)
class BatchBounds:
    """One batch's two lower bounds on an inference run: every row its own kernel (the roofline
    command's sum of bounds) and the fused kernels (`roofline --fused`)."""

    batch: int
    roofline_bound_s: float
    fused_bound_s: float


def bench_bounds(analysis: Analysis, dtype: str, batch: int, peaks: Peaks) -> BatchBounds:
    """The unfused and fused bounds of an inference run of `batch` examples, for bench to hold
    its measured time against.

    >>> from archcalc import analyze, load_spec
    >>> from archcalc.devices import device_peak
    >>> from archcalc.peaks import table_peaks
    >>> b = bench_bounds(analyze(load_spec("resnet50")), "bf16", 128, table_peaks(device_peak("h100"), "bf16"))
    >>> b.fused_bound_s < b.roofline_bound_s
    True
    """
    unfused = sum(b.bound_s for b in roofline(analysis.rows, dtype, batch, peaks))
    fused = sum(b.bound.bound_s for b in fused_roofline(analysis, dtype, batch, peaks))
    return BatchBounds(batch=batch, roofline_bound_s=unfused, fused_bound_s=fused)
