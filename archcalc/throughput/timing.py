"""Timing a callable right on CPU or GPU: warm-up, then one clock per device.

On CUDA, kernels run asynchronously: a host timer would measure the launch, not the work. The CUDA
clock records an event before and after each iteration on the stream and synchronises once at the
end, reading the elapsed times between event pairs. On CPU the work is synchronous, and
`time.perf_counter` around each call is the measurement. Which clock runs is chosen by
`clock_for(device)`; the loop (`measure`) is the same code for both.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class Clock(Protocol):
    """Times iterations: `start()` before, `stop(token)` after each, `seconds()` once at the end."""

    def start(self) -> Any: ...

    def stop(self, token: Any) -> None: ...

    def seconds(self) -> list[float]: ...


class HostClock:
    """perf_counter around each call: right where the call returns when the work is done (CPU)."""

    def __init__(self, now: Callable[[], float] = time.perf_counter) -> None:
        self.now = now
        self.times: list[float] = []

    def start(self) -> float:
        return self.now()

    def stop(self, token: float) -> None:
        self.times.append(self.now() - token)

    def seconds(self) -> list[float]:
        return list(self.times)


class CudaClock:
    """CUDA events around each iteration, one synchronisation when all are queued.

    `cuda` is the `torch.cuda` module (injected so tests can pass a fake on CPU).
    """

    def __init__(self, cuda: Any) -> None:
        self.cuda = cuda
        self.pairs: list[tuple[Any, Any]] = []

    def start(self) -> Any:
        event = self.cuda.Event(enable_timing=True)
        event.record()
        return event

    def stop(self, token: Any) -> None:
        end = self.cuda.Event(enable_timing=True)
        end.record()
        self.pairs.append((token, end))

    def seconds(self) -> list[float]:
        self.cuda.synchronize()
        return [begin.elapsed_time(end) / 1000.0 for begin, end in self.pairs]  # elapsed_time is in ms


def clock_for(device: str, cuda: Any = None) -> Clock:
    """The clock for a device: CUDA events on `cuda`, perf_counter on `cpu`."""
    if device.startswith("cuda"):
        if cuda is None:
            import torch

            cuda = torch.cuda
        return CudaClock(cuda)
    return HostClock()


def synchronize(device: str, cuda: Any = None) -> None:
    """Wait for queued work (after warm-up): a no-op on CPU."""
    if device.startswith("cuda"):
        if cuda is None:
            import torch

            cuda = torch.cuda
        cuda.synchronize()


def measure(
    step: Callable[[], Any],
    clock: Clock,
    warmup: int,
    iters: int,
    sync: Callable[[], None] = lambda: None,
    advance: Callable[[], None] = lambda: None,
) -> list[float]:
    """Run `step` `warmup` times untimed, wait (`sync`), then `iters` timed times; seconds each.
    `advance` is called after each timed iteration (a progress bar)."""
    for _ in range(warmup):
        step()
    sync()
    for _ in range(iters):
        token = clock.start()
        step()
        clock.stop(token)
        advance()
    return clock.seconds()


@dataclass(frozen=True, slots=True)
class Summary:
    """Median and 95th percentile of iteration times, seconds."""

    median_s: float
    p95_s: float
    iters: int


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), q in [0, 100].

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50), percentile([1.0, 2.0, 3.0, 4.0], 95)
    (2.5, 3.85)
    """
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarize(times: list[float]) -> Summary:
    return Summary(percentile(times, 50), percentile(times, 95), len(times))
