"""Chao's lower bound for K lists, as Rcapture's model Mth with ``h="Chao"`` (Chao 1987; Rivest and
Baillargeon 2007).

The model is the independence (Mt) log-linear model plus, for j = 3..K, a column
``max(0, captures - j + 1)`` (captures = the number of lists holding the pattern). The coefficients
of these columns (eta) absorb heterogeneity among persons seen two or more times; persons seen once
or twice set the estimate, which is why it is a lower bound under heterogeneity. As Rcapture does
(``neg=TRUE``), a negative eta is dropped and the model refitted until none is negative, also at
every point of the profile likelihood. The interval is the profile-likelihood interval (Cormack 1992).

Assumptions: closed population; lists independent given a person's catchability; it estimates
a lower bound of N when catchability varies.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from undercount.errors import ModelError
from undercount.estimate.glm import PoissonFit, cell_patterns, fit_poisson, glm_profile_interval
from undercount.estimate.histories import CountedTable, count_table
from undercount.estimate.registry import Estimator
from undercount.estimate.results import EstimateResult, no_upper_warning

__all__ = ["fit_chao", "ChaoOptions", "ESTIMATOR"]


def chao_design(k: int, *, with_zero: bool = False) -> np.ndarray:
    """Intercept, K main effects and the eta columns max(0, captures - j + 1), j = 3..K."""
    pats = cell_patterns(k, with_zero=with_zero).astype(float)
    nbcap = pats.sum(axis=1)
    etas = [np.maximum(nbcap - j + 1, 0.0) for j in range(3, k + 1)]
    return np.column_stack([np.ones(len(pats)), *pats.T, *etas])


@functools.lru_cache(maxsize=64)
def _designs(k: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`chao_design` of K lists and the same with the zero cell as row 0, made once (never written to)."""
    x = chao_design(k)
    return x, np.vstack([np.eye(1, x.shape[1]), x])


def _fit_without_negative_eta(x: np.ndarray, y: np.ndarray, k: int) -> tuple[PoissonFit, list[int]]:
    """Fit, then drop the first negative eta and refit, until no eta is negative (Rcapture's Chao.neg)."""
    keep = list(range(x.shape[1]))
    fit = fit_poisson(x, y)
    nca = k + 1
    while True:
        eta = fit.beta[nca:]
        negative = np.flatnonzero(eta < 0)
        if len(negative) == 0:
            return fit, [c for c in range(x.shape[1]) if c not in keep]
        del keep[nca + int(negative[0])]
        fit = fit_poisson(x[:, keep], y)


def fit_chao(table: pd.DataFrame | CountedTable, *, level: float = 0.95) -> EstimateResult:
    """Chao's lower bound for N (Rcapture ``closedpCI.t(m="Mth", h="Chao")``).

    Args:
        table: a validated capture table with at least 3 lists, or its counts
            (:func:`undercount.estimate.histories.count_table`).
        level: interval level.

    Returns:
        An EstimateResult (method 'chao', model 'Mth Chao'); ``estimate`` is the maximum of the
        profile likelihood and ``details['poisson_estimate']`` the Poisson one (n + exp(intercept)).

    Raises:
        ModelError: fewer than 3 lists (with two lists use chapman).

    Example:
        >>> t = pd.DataFrame({"A": [1, 0, 0, 1, 1, 0, 1], "B": [0, 1, 0, 1, 0, 1, 1],
        ...                   "C": [0, 0, 1, 0, 1, 1, 1], "count": [50, 40, 30, 10, 8, 6, 2]})
        >>> fit_chao(t).estimate > 146
        True
    """
    counts = count_table(table)
    k, y, n = counts.k, counts.y, counts.n
    if k < 3:
        raise ModelError(f"Chao's lower bound needs at least 3 lists ({k} given): use chapman for two")
    x, x0 = _designs(k)
    fit, dropped = _fit_without_negative_eta(x, y, k)
    missing = math.exp(min(fit.beta[0], 700.0))
    poisson_estimate = n + missing
    se = math.sqrt(missing + missing**2 * max(fit.cov[0, 0], 0.0))
    interval = glm_profile_interval(x0, y, n=n, n_hat=poisson_estimate, level=level, keep_from=k + 1)
    warnings = ["a lower bound: under heterogeneous capture the true N is likely larger"]
    if not fit.converged:
        warnings.append("the Poisson fit did not converge in 25 iterations")
    if interval.upper is None:
        warnings.append(no_upper_warning(3 * poisson_estimate))
    return EstimateResult(
        method="chao",
        documented=n,
        estimate=interval.n_max,
        lower=interval.lower,
        upper=interval.upper,
        level=level,
        model="Mth Chao",
        warnings=tuple(warnings),
        details={
            "poisson_estimate": poisson_estimate,
            "se": se,
            "deviance": fit.deviance,
            "eta_dropped": [f"eta{c - k + 2}" for c in dropped],
        },
    )


@dataclass(frozen=True)
class ChaoOptions:
    """Chao's lower bound has no options."""


ESTIMATOR = Estimator(
    name="chao",
    display_name="Chao's lower bound",
    description="Chao's lower bound (Chao 1987)",
    help="3 or more lists; a lower bound of N under heterogeneous capture",
    options_type=ChaoOptions,
    fit_function=lambda table, level, seed, options: fit_chao(table, level=level),
    min_lists=3,
)
