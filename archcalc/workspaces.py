"""The cuBLAS workspaces torch keeps on a GPU: their size per handle and how many a training step holds.

torch gives each cuBLAS handle (one per thread and device) a workspace from its caching allocator
and keeps it for the life of the process, so `torch.cuda.max_memory_allocated` counts it
(aten/src/ATen/cuda/CublasHandlePool.cpp, parseChosenWorkspaceSize). Its size is
CUBLAS_WORKSPACE_CONFIG's `:SIZE_KiB:COUNT` pairs, summed, where that is set and parses; else 32 MiB
on compute capability 9, 10 and 12 (Hopper, Blackwell) and 4,096 KiB x 2 + 16 KiB x 8 on the others;
on ROCm 128 MiB on gfx94x/gfx95x (MI300, MI350), else 32 MiB. A training step holds two: the forward
runs on the caller's thread, the backward on autograd's device thread, each with its own handle.
Only matrix multiplies use cuBLAS (convolutions run in cuDNN): a network without one holds none.
Pure, no torch: the static `memory` command reads the device table's compute capability.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from .analysis import Analysis
from .peaks import family_of
from .training import dataflow

KIB = 1024
# compute capability majors torch gives 32 MiB per handle (Hopper, Blackwell)
LARGE_WORKSPACE_MAJORS = frozenset({9, 10, 12})
LARGE = 4096 * 8 * KIB
DEFAULT = 4096 * KIB * 2 + 16 * KIB * 8
ROCM_LARGE_ARCHS = ("gfx94", "gfx95")
ROCM_LARGE, ROCM_DEFAULT = 128 * 1024 * KIB, 32 * 1024 * KIB
# a pair as torch's regex reads it; sizes past 12 digits are no workspace anyone sets
_PAIR = re.compile(r":([0-9]{1,12}):([0-9]{1,12})")


# the environment variables torch reads for the size, in its order (ROCm reads the two after the first)
CONFIG_VARIABLES = ("CUBLAS_WORKSPACE_CONFIG",)
ROCM_CONFIG_VARIABLES = ("CUBLAS_WORKSPACE_CONFIG", "HIPBLAS_WORKSPACE_CONFIG", "ROCBLAS_WORKSPACE_CONFIG")


def env_config(rocm: bool, environ: Mapping[str, str] = os.environ) -> str | None:
    """The workspace configuration torch would read in this environment: the first variable set.

    >>> env_config(True, {"ROCBLAS_WORKSPACE_CONFIG": ":1024:2"}), env_config(False, {"ROCBLAS_WORKSPACE_CONFIG": ":1:1"})
    (':1024:2', None)
    """
    for name in ROCM_CONFIG_VARIABLES if rocm else CONFIG_VARIABLES:
        if environ.get(name):
            return environ[name]
    return None


def configured_bytes(config: str | None) -> int | None:
    """CUBLAS_WORKSPACE_CONFIG's size: each `:SIZE:COUNT` pair is SIZE KiB, COUNT times; None when
    unset or when no pair parses (torch then warns and keeps its default).

    >>> configured_bytes(":4096:8"), configured_bytes(":4096:2:16:8"), configured_bytes("4096"), configured_bytes(None)
    (33554432, 8519680, None, None)
    """
    if not config:
        return None
    pairs = _PAIR.findall(config)
    return sum(int(size) * KIB * int(count) for size, count in pairs) if pairs else None


def workspace_bytes(compute_major: int | None, rocm_arch: str | None = None, config: str | None = None) -> int:
    """Bytes of one cuBLAS handle's workspace on a device (module docstring: torch's rule).

    >>> workspace_bytes(9), workspace_bytes(8), workspace_bytes(None, "gfx942"), workspace_bytes(8, config=":4096:8")
    (33554432, 8519680, 134217728, 33554432)
    """
    configured = configured_bytes(config)
    if configured is not None:
        return configured
    if rocm_arch is not None:
        return ROCM_LARGE if rocm_arch.startswith(ROCM_LARGE_ARCHS) else ROCM_DEFAULT
    return LARGE if compute_major in LARGE_WORKSPACE_MAJORS else DEFAULT


def training_handles(analysis: Analysis) -> int:
    """cuBLAS handles a training step holds workspaces for: the forward's thread when a matrix
    multiply runs forward, autograd's thread when one runs in the backward (its input or weight
    gradient is computed).

    >>> from archcalc import analyze, load_spec
    >>> training_handles(analyze(load_spec("lenet5")))
    2
    """
    steps, _ = dataflow(analysis)
    matmuls = [s for s in steps if family_of(s.row.op) == "matmul" and s.row.macs]
    return (1 if matmuls else 0) + (1 if any(s.input_grad or s.trains for s in matmuls) else 0)
