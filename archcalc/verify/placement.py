"""Where and at what precision `verify` runs a built spec: the device tensors go to, the name shown
for it, the dtype, and how to wait for its queued work.

The one seam between verify and the GPU: `resolve_placement` takes the `torch.cuda` module as an
argument, so a test passes a stand-in (available, named, logging its synchronisations) whose
tensors land on the CPU, and runs the whole CUDA path of `verify_analysis` on a machine without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..dtypes import TORCH_DTYPES
from ..throughput.run import resolve_device
from ..throughput.timing import synchronize

CPU_NAME = "CPU"


@dataclass(frozen=True, slots=True)
class Placement:
    """A resolved `--device` and `--dtype`.

    `device` is what the run is reported as (`cpu` or `cuda`), `device_name` what the user reads
    (`CPU`, or the GPU's name as torch.cuda reports it), `dtype` one of TORCH_DTYPES' names, and
    `tensors_on` the torch device the module and input are moved to: `device` itself, except
    under a test's stand-in for torch.cuda, whose tensors stay on the CPU.
    """

    device: str = "cpu"
    device_name: str = CPU_NAME
    dtype: str = "fp32"
    tensors_on: str = "cpu"
    cuda: Any = None  # torch.cuda, or a stand-in, when `device` is cuda

    def torch_dtype(self, torch: Any) -> Any:
        return getattr(torch, TORCH_DTYPES[self.dtype])

    def place(self, torch: Any, model: Any) -> Any:
        """The module on the device at the dtype. `Module.to(dtype)` casts floating-point
        parameters and buffers only: integer counters (batch norm's num_batches_tracked) stay integer."""
        return model.to(device=self.tensors_on, dtype=self.torch_dtype(torch))

    def example(self, torch: Any, batch: int, shape: tuple[int, ...]) -> Any:
        """A random input batch made on the device at the dtype (no copy from the host)."""
        return torch.randn(batch, *shape, device=self.tensors_on, dtype=self.torch_dtype(torch))

    def synchronize(self) -> None:
        """Wait for the device's queued work, so a kernel's failure surfaces here (a no-op on CPU)."""
        synchronize(self.device, self.cuda)

    def describe(self) -> str:
        """`CPU, fp32` or `NVIDIA H100 80GB HBM3, bf16`: for titles."""
        return f"{self.device_name}, {self.dtype}"


CPU_FP32 = Placement()


def resolve_placement(wanted: str = "auto", dtype: str = "fp32", cuda: Any = None, tensors_on: str = "") -> Placement:
    """`--device` (auto, cpu, cuda) and `--dtype` resolved against `cuda` (torch.cuda unless a test
    passes a stand-in); `tensors_on` overrides where a CUDA run's tensors go (a test's CPU).

    `cuda` without a GPU raises BenchError (bench's rule, `resolve_device`); an unknown dtype,
    KeyError naming it.

    >>> class NoGpu:
    ...     def is_available(self): return False
    >>> resolve_placement("auto", "bf16", NoGpu())
    Placement(device='cpu', device_name='CPU', dtype='bf16', tensors_on='cpu', cuda=None)
    """
    if dtype not in TORCH_DTYPES:
        raise KeyError(f"dtype {dtype!r}: expected one of {', '.join(TORCH_DTYPES)}")
    if wanted == "cpu":  # asks nothing of torch.cuda
        return Placement(dtype=dtype)
    if cuda is None:
        import torch

        cuda = torch.cuda
    if resolve_device(wanted, cuda.is_available()) == "cpu":
        return Placement(dtype=dtype)
    return Placement("cuda", str(cuda.get_device_name()), dtype, tensors_on or "cuda", cuda)
