"""Lincoln-Petersen with Chapman's correction, for two lists (Chapman 1951; Seber 1982).

N = (n1 + 1)(n2 + 1)/(m + 1) - 1, with n1, n2 the lists' sizes and m the persons on both. Variance
(Seber 1970): (n1 + 1)(n2 + 1)(n1 - m)(n2 - m) / ((m + 1)^2 (m + 2)). The interval is log-normal on
the undocumented count f0 = N - n (Chao 1987): n + f0/C to n + f0*C, C = exp(z sqrt(log(1 + var/f0^2))),
so it never falls below the documented count.

Assumptions: closed population, the two lists independent and every person equally likely to be on
each list. Two lists cannot test either: positive dependence or heterogeneity bias N downwards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from scipy import special

from undercount.errors import ModelError
from undercount.estimate.histories import table_counts
from undercount.estimate.registry import Estimator
from undercount.estimate.results import EstimateResult

__all__ = ["fit_chapman", "ChapmanOptions", "HETEROGENEITY_TWO_LISTS", "ESTIMATOR"]

HETEROGENEITY_TWO_LISTS = (
    "two lists cannot reveal list dependence or heterogeneous capture; both usually bias the "
    "estimate downwards"
)


def fit_chapman(table: pd.DataFrame, *, level: float = 0.95) -> EstimateResult:
    """Chapman's estimate of N from a two-list table, with a log-normal interval.

    Args:
        table: a validated capture table with exactly two lists.
        level: interval level.

    Returns:
        An EstimateResult (method 'chapman'), details n1, n2, m, se.

    Raises:
        ModelError: the table does not have exactly two lists.

    Example:
        >>> t = pd.DataFrame({"A": [1, 0, 1], "B": [0, 1, 1], "count": [30, 20, 10]})
        >>> round(fit_chapman(t).estimate, 1)
        114.5
    """
    k, y, n = table_counts(table)
    if k != 2:
        raise ModelError(f"chapman needs exactly two lists ({k} given): use chao or loglinear")
    only1, only2, both = y
    n1, n2, m = only1 + both, only2 + both, both
    estimate = (n1 + 1) * (n2 + 1) / (m + 1) - 1
    var = (n1 + 1) * (n2 + 1) * (n1 - m) * (n2 - m) / ((m + 1) ** 2 * (m + 2))
    f0 = estimate - n
    z = float(special.ndtri(0.5 + level / 2))
    warnings = [HETEROGENEITY_TWO_LISTS]
    if f0 > 0 and var > 0:
        c = math.exp(z * math.sqrt(math.log(1 + var / f0**2)))
        lower, upper = n + f0 / c, n + f0 * c
    else:
        lower, upper = float(n), float(n)
    if m == 0:
        warnings.append("no person is on both lists: the estimate is unstable and the interval unreliable")
    elif m < 7:
        warnings.append(f"only {int(m)} person(s) on both lists: Chapman's estimate is unstable")
    return EstimateResult(
        method="chapman",
        documented=n,
        estimate=float(estimate),
        lower=float(lower),
        upper=float(upper),
        level=level,
        model="Lincoln-Petersen (Chapman)",
        warnings=tuple(warnings),
        details={"n1": int(n1), "n2": int(n2), "m": int(m), "se": math.sqrt(var)},
    )


@dataclass(frozen=True)
class ChapmanOptions:
    """Chapman's estimator has no options."""


ESTIMATOR = Estimator(
    name="chapman",
    display_name="Chapman (two lists)",
    description="the Lincoln-Petersen estimator with Chapman's correction (Chapman 1951)",
    help="exactly 2 lists; assumes independent lists and equal catchability",
    options_type=ChapmanOptions,
    fit_function=lambda table, level, seed, options: fit_chapman(table, level=level),
    min_lists=2,
    max_lists=2,
)
