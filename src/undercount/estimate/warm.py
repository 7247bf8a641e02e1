"""Compile the estimators' numba kernels (and the linkage's) once, into numba's on-disk cache.

The samplers (LCMCR, the random numbers they draw) and the compiled Poisson fits are numba
functions cached on disk (``cache=True``): a fresh install compiles them on its first estimate,
about half a minute of CPU that a user would otherwise meet inside their first ``undercount
estimate`` or ``undercount demo``. ``make install`` runs this module once so that the compile
happens at install time; running it again costs the few seconds of the fits themselves.

Usage:
    python -m undercount.estimate.warm
"""

from __future__ import annotations

import threading
import time
import warnings

import numpy as np

__all__ = ["compile_kernels", "load_kernels"]

# A three-list table with a little heterogeneity (cells 100, 010, 110, 001, 101, 011, 111): the
# shape of a stratum of the demo. Its figures are made up; any table with these cells would do.
_COUNTS = np.array([120, 95, 30, 80, 25, 20, 12])


def compile_kernels() -> float:
    """Fit the default estimators on a small table (compiling what is not cached yet).

    Runs the automatic choice (log-linear search, Chao, dga, LCMCR until it converges, with the
    sampler's joint and HMC moves on this 3-list table: ``_collapsed`` and ``_hmc`` are compiled into
    the chains' kernel) and a short LCMCR run with the joint move from the start, so that every kernel
    the case-level estimate calls is compiled.

    Returns:
        The CPU seconds it took.
    """
    from undercount.estimate.auto import estimate_table
    from undercount.estimate.histories import table_from_counts

    started = time.process_time()
    table = table_from_counts(_COUNTS, ["a", "b", "c"])
    with warnings.catch_warnings():  # the short run's convergence is not the point here
        warnings.simplefilter("ignore")
        estimate_table(table, method="auto", seed=0)
        estimate_table(table, method="lcmcr", options={"iterations": 2000, "burnin": 500, "joint": 1}, seed=1)
    _compile_linkage_kernel()
    return time.process_time() - started


def _compile_linkage_kernel() -> None:
    """The linkage's one-to-one round (:mod:`undercount.link.posterior_kernel`): two records of one
    list competing for a record of another.

    A link run calls the compiled round only from ``COMPILED_FROM`` competing pairs on; here the
    bound is lowered for the one call so that the round is compiled with the argument types a
    link run gives it."""
    import pandas as pd

    from undercount.link import posterior

    sources = pd.Series(["a", "a", "b", "b"], index=[1, 2, 3, 4])
    bound = posterior.COMPILED_FROM
    posterior.COMPILED_FROM = 0
    try:
        posterior.list_pair_posterior(np.array([1, 2]), np.array([3, 3]), np.array([20.0, 20.0]), sources, prior=1e-3)
    finally:
        posterior.COMPILED_FROM = bound


_LOADED = threading.Lock()
_loaded: list[float] = []


def load_kernels() -> float:
    """Load the kernels a case estimate's strata call into this process, once (a fraction of a second).

    Worker processes forked for a pass (:mod:`undercount.estimate.workers`) inherit what their
    parent has loaded; what it has not, each of them would load from numba's cache again, pass
    after pass (about half a CPU second each). Short runs of fixed length, cold and warm-started,
    with and without the joint move, on the table of :func:`compile_kernels`, touch every kernel
    the strata's fits call.

    Returns:
        The CPU seconds it took (0.0 when the kernels were loaded before).
    """
    from undercount.estimate.auto import estimate_table
    from undercount.estimate.histories import table_from_counts
    from undercount.estimate.lcmcr import warm_starts

    with _LOADED:
        if _loaded:
            return 0.0
        started = time.process_time()
        table = table_from_counts(_COUNTS, ["a", "b", "c"])
        short = {"iterations": 400, "burnin": 100, "thinning": 1, "chains": 2}
        with warnings.catch_warnings():  # the short runs' convergence is not the point here
            warnings.simplefilter("ignore")
            with warm_starts():
                for joint in (0, 1):
                    estimate_table(table, method="auto", seed=0, options={"lcmcr": {**short, "joint": joint}})
                    estimate_table(table, method="auto", seed=1, options={"lcmcr": {**short, "joint": joint}})
        _loaded.append(time.process_time() - started)
        return _loaded[0]


def main() -> None:
    """Entry point of ``python -m undercount.estimate.warm``: prints what it took (no data involved)."""
    print(f"numba kernels compiled or loaded from the cache: {compile_kernels():.1f} CPU s")


if __name__ == "__main__":
    main()
