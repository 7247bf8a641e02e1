"""Worker processes for the strata of a case estimate: both cores, whatever the GIL holds.

The strata of a pass (:func:`undercount.estimate.case.estimate_case`) are independent: each
stratum's fits depend on its own tables and the run's seed only. Threads already run them side by
side, but the Python around the compiled samplers (the log-linear search, dga, Chao, tables and
pooling) holds the GIL, so two threads share one core for much of a pass. Worker processes do not:
each stratum is fitted whole in one of them, the strata largest first, and its results come back
in the order of the strata, so a seed gives the same estimate with one process or several
(tests/estimate/test_workers.py).

The workers are forked from the calling process for each pass (they see its modules, registered
estimators and compiled kernels as they are then, and start in milliseconds) and end with it.
Where fork is not available, the work is small (fewer than ``PROCESS_MIN_ROWS`` persons summed
over the replicates of the pass) or only one core is free, the strata run in threads as before;
so do they when a worker fails to start or to return (the pass is then run again in this process,
which raises any error of the fit itself).

Off by default: ``UNDERCOUNT_WORKERS=2`` (an environment variable, like ``OMP_NUM_THREADS``) or
``workers=2`` (:func:`undercount.estimate.case.estimate_case`) turns them on. Measured on this
project's shared 2-core machine (docs/estimation.md), whole ``undercount estimate`` runs of the small
preset gained no wall time at load 4-12 (wall ratio processes / threads 1.13 at load 4-5, 1.00 at
9-10, 1.05 at 12) for about 5% more CPU; only a single pass measured alone was faster (0.5-0.9 of
the wall time). Where they pay (an idle machine, more cores) they can be switched on.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

__all__ = ["PROCESS_MIN_ROWS", "available_cores", "run_in_processes", "stratum_processes"]

#: A pass with fewer persons than this, summed over its replicates, stays in one process.
PROCESS_MIN_ROWS = 4_000
ENV = "UNDERCOUNT_WORKERS"


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), capped by ``UNDERCOUNT_WORKERS`` when set.

    Example:
        >>> available_cores() >= 1
        True
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    cap = os.environ.get(ENV, "").strip()
    if cap.isdigit() and int(cap) >= 1:
        cores = min(cores, int(cap))
    return max(1, cores)


def stratum_processes(tasks: int, rows: int, workers: int | None = None) -> int:
    """How many worker processes a pass of ``tasks`` strata and ``rows`` persons (over its replicates) gets.

    Args:
        tasks: strata to fit.
        rows: persons summed over the strata of every replicate (the size of the work).
        workers: processes asked for (1: none; None: ``UNDERCOUNT_WORKERS`` when set, at most the free
            cores, when the work is large enough; else none).

    Returns:
        0 or 1 for none (the pass runs in this process), else the number of processes.

    Example:
        >>> stratum_processes(6, 100, workers=2), stratum_processes(1, 10**6, workers=2)
        (2, 1)
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if workers is None:  # asked for by UNDERCOUNT_WORKERS only: measured, they did not pay on a shared machine
        asked = os.environ.get(ENV, "").strip()
        workers = min(int(asked), available_cores()) if asked.isdigit() and rows >= PROCESS_MIN_ROWS else 1
    return max(1, min(tasks, workers))


def run_in_processes(processes: int, tasks: Sequence[tuple[Callable[..., Any], tuple[Any, ...], int]],
                     report: Callable[[int], None] | None = None) -> list[Any] | None:
    """Run ``tasks`` (function, arguments, size) in ``processes`` forked workers; their results in the tasks' order.

    ``report(finished)`` is called in this process as tasks finish. Tasks are submitted largest first
    so that the last to finish is a small one.

    Returns:
        The results, or None when the workers could not run them (a worker failed to start, died,
        a task or result could not be sent, or a task raised): the caller then runs the tasks itself.
    """
    order = sorted(range(len(tasks)), key=lambda i: -tasks[i][2])
    try:
        with ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("fork")) as pool:
            # The workers are forked at the first submit. Frozen, the objects they inherit are left out
            # of their garbage collections, which would otherwise visit (and so copy) every page of them.
            gc.freeze()
            try:
                futures = {pool.submit(tasks[i][0], *tasks[i][1]): i for i in order}
            finally:
                gc.unfreeze()
            results: list[Any] = [None] * len(tasks)
            for finished, future in enumerate(as_completed(futures), start=1):
                results[futures[future]] = future.result()
                if report is not None:
                    report(finished)
            return results
    except Exception:  # noqa: BLE001 - a broken worker or an error of the fit: the caller runs the tasks itself
        return None
