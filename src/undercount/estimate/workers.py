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

The independent passes at the end of a run (the range across models with the linkage at other
thresholds, and each breakdown) can run side by side in forked children (:func:`run_forked`,
:func:`side_processes`), a whole pass a fork; off by default too (measured: no wall time gained here).

The strata's worker processes are off by default: ``UNDERCOUNT_WORKERS=2`` (an environment variable, like ``OMP_NUM_THREADS``) or
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
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, TypeVar, cast

T = TypeVar("T")

__all__ = ["PROCESS_MIN_ROWS", "available_cores", "run_forked", "run_in_processes", "side_processes", "stratum_processes"]

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
        workers = _asked() if rows >= PROCESS_MIN_ROWS else 1
    return max(1, min(tasks, workers))


def _asked() -> int:
    """The processes ``UNDERCOUNT_WORKERS`` asks for, at most the free cores (1 when it is unset)."""
    asked = os.environ.get(ENV, "").strip()
    return min(int(asked), available_cores()) if asked.isdigit() else 1


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


def side_processes(jobs: int, workers: int | None = None) -> int:
    """How many processes a run's independent passes (the range across models and the breakdowns,
    :func:`undercount.estimate.linkage.estimate_with_linkage`) get: one a job, or 1 (one after another here).

    Off by default, as the strata's (:func:`stratum_processes`): on this project's shared 2-core
    machine they gained no wall time and cost 3-14% more CPU (docs/estimation.md, session 14).
    ``UNDERCOUNT_WORKERS=2`` (or ``workers=2``) turns them on where fork is available and the call
    comes from the main thread; never from another thread (the web app's background estimate: a
    server forked while its other threads hold locks is what fork handles worst).

    Example:
        >>> side_processes(3, workers=1), side_processes(1, workers=2)
        (1, 1)
    """
    if "fork" not in multiprocessing.get_all_start_methods() or threading.current_thread() is not threading.main_thread():
        return 1
    if workers is None:
        workers = _asked()
    return max(1, jobs) if workers >= 2 else 1


def _forked_child(job: Callable[[], Any], send: Any) -> None:
    """A forked child: run ``job``, send ``(True, value)`` (or ``(False, None)`` when it failed) and leave
    at once (``os._exit``: none of the parent's exit handlers or open connections is touched)."""
    code = 0
    try:
        try:
            value = job()
        except BaseException:  # noqa: BLE001 - the parent runs the job itself and raises its error there
            send.send((False, None))
            code = 1
        else:
            send.send((True, value))
        send.close()
    finally:
        os._exit(code)


def run_forked(jobs: Sequence[Callable[[], T]], processes: int) -> list[T]:
    """Run ``jobs`` side by side: the first in this process, each other in a child forked for it; their
    results in the jobs' order.

    With ``processes`` below 2 the jobs run here one after another. A child that cannot start, dies
    or fails hands its job back: it is run here afterwards (an error of the job itself is then raised
    here). The jobs must not depend on each other's side effects: each child sees this process as it
    was when the children were forked, and what it changes stays in it (its result aside).
    """
    if processes < 2 or len(jobs) < 2:
        return [job() for job in jobs]
    context = multiprocessing.get_context("fork")
    children: list[tuple[Any, Any] | None] = []
    gc.freeze()  # the children's garbage collections leave the inherited objects alone (no pages copied)
    try:
        for job in jobs[1:]:
            try:
                receive, send = context.Pipe(duplex=False)
                child = context.Process(target=_forked_child, args=(job, send), daemon=True)
                child.start()
                send.close()
                children.append((child, receive))
            except OSError:
                children.append(None)
    finally:
        gc.unfreeze()
    try:
        results: list[T] = [jobs[0]()]
    except BaseException:
        for started in children:
            if started is not None:
                started[0].kill()
                started[0].join()
        raise
    for job, started in zip(jobs[1:], children):
        ok, value = False, None
        if started is not None:  # (True, the job's result) or (False, None)
            child, receive = started
            try:
                ok, value = receive.recv()
            except Exception:  # noqa: BLE001 - the child died or its result could not be read: the job runs here
                ok = False
            finally:
                receive.close()
                child.join()
        results.append(cast(T, value) if ok else job())
    return results
