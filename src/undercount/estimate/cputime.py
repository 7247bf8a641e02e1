"""CPU time of work spread over threads: the samplers' time budgets, counted so that load does not cut them.

A sampler's budget used to be wall time: on a shared machine (two cores, a load of 12-15) a
stratum's chains got a fraction of a core, ran out of wall time after a fraction of the work, and
the estimate was marked unreliable although more of the same work would have converged. The
budget is now the CPU time spent on the work: the thread that opened a :func:`cpu_meter` (its
own CPU time since then) plus what the worker threads it starts report (each worker's thread CPU
time, through :func:`charged`). Load then changes how long a run takes, not how far it gets.
Meters nest: a meter opened inside another (a stratum's sampler inside the stratum) also charges
its workers' time to the outer one.

Thread CPU time is ``time.thread_time`` (CLOCK_THREAD_CPUTIME_ID on Linux), which also counts
compiled code that released the GIL.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

__all__ = ["CpuMeter", "charged", "cpu_meter"]

P = ParamSpec("P")
R = TypeVar("R")


class CpuMeter:
    """CPU seconds of the thread that opened it, since then, plus those its workers reported."""

    def __init__(self, parent: CpuMeter | None = None) -> None:
        self._start = time.thread_time()
        self._workers = 0.0
        self._lock = threading.Lock()
        self._parent = parent

    def add(self, seconds: float) -> None:
        """Count ``seconds`` of a worker thread's CPU time (also in the meters this one is inside)."""
        with self._lock:
            self._workers += seconds
        if self._parent is not None:
            self._parent.add(seconds)

    @property
    def seconds(self) -> float:
        """CPU seconds so far (read it from the thread that opened the meter)."""
        with self._lock:
            return time.thread_time() - self._start + self._workers


_METER: contextvars.ContextVar[CpuMeter | None] = contextvars.ContextVar("undercount_cpu_meter", default=None)


@contextlib.contextmanager
def cpu_meter() -> Iterator[CpuMeter]:
    """A meter of the CPU time spent in this block by this thread and the workers it charges.

    Example:
        >>> with cpu_meter() as meter:
        ...     _ = sum(range(1000))
        >>> meter.seconds >= 0
        True
    """
    meter = CpuMeter(_METER.get())
    token = _METER.set(meter)
    try:
        yield meter
    finally:
        _METER.reset(token)


def charged(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` for a worker thread: its CPU time is charged to the meter open where ``charged`` was called.

    Example:
        >>> with cpu_meter() as meter:
        ...     square = charged(lambda x: x * x)
        ...     square(3)
        9
    """
    meter = _METER.get()
    if meter is None:
        return function

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        start = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            meter.add(time.thread_time() - start)

    return run
