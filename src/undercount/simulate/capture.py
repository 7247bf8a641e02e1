"""Who each list captures: a logistic model per list, calibrated to the list's target capture rate.

For list k and person i::

    logit P(i on k) = b_k + sum_c effect_kc * x_ic            (covariates: child, unrecovered, ...)
                          + latent_effect_k[class_i]           (unobserved heterogeneity)
                          + household_sd_k * z_k[household_i]  (cluster sampling, z ~ N(0, 1))
                          + sum_a dependence_ak * on_a(i)      (lists drawn before k)

The intercept b_k is solved for so that the mean probability over the population equals the
list's ``capture`` setting; the realised share then differs from it only by sampling error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit

from undercount.simulate.config import COVARIATES, SimulationConfig

__all__ = ["CaptureResult", "covariates", "draw_captures"]


@dataclass(frozen=True)
class CaptureResult:
    """Captures of every person on every list.

    Attributes:
        lists: list names, in order (the columns of the arrays).
        captured: bool array (people, lists).
        probability: the capture probabilities used (people, lists).
        intercepts: the calibrated intercept of each list.
    """

    lists: tuple[str, ...]
    captured: np.ndarray
    probability: np.ndarray
    intercepts: tuple[float, ...]

    def rates(self) -> dict[str, float]:
        """Realised capture rate of each list (share of the population on it)."""
        return {name: float(self.captured[:, k].mean()) for k, name in enumerate(self.lists)}

    def rates_by(self, labels: pd.Series) -> dict[str, dict[str, float]]:
        """Realised capture rate of each list within each value of ``labels`` (e.g. age group)."""
        frame = pd.DataFrame(self.captured, columns=list(self.lists))
        frame["_by"] = labels.to_numpy()
        means = frame.groupby("_by", sort=True).mean()
        return {name: {str(k): float(v) for k, v in means[name].items()} for name in self.lists}

    def histories(self) -> pd.DataFrame:
        """The true capture-history table: one 0/1 column per list and ``count`` (no all-zero row)."""
        frame = pd.DataFrame(self.captured.astype(np.int64), columns=list(self.lists))
        table = frame.value_counts().rename("count").reset_index()
        table = table[table[list(self.lists)].sum(axis=1) > 0]
        return table.sort_values(list(self.lists), ascending=False, kind="stable").reset_index(drop=True)


def covariates(population: pd.DataFrame) -> dict[str, np.ndarray]:
    """The 0/1 indicators capture can depend on, one float array per name in ``COVARIATES``."""
    age = population["age"].to_numpy()
    male = population["sex"].to_numpy() == "male"
    status = population["status"].to_numpy()
    values = {
        "child": age < 18,
        "elderly": age >= 65,
        "female": ~male,
        "adult_male": male & (age >= 18),
        "missing": status == "missing",
        "detained": status == "detained",
        "injured": status == "injured",
        "unrecovered": population["unrecovered"].to_numpy(dtype=bool),
        "killed_together": population["killed_together"].to_numpy(dtype=bool),
        "wiped_out": population["wiped_out"].to_numpy(dtype=bool),
    }
    assert set(values) == set(COVARIATES)
    return {k: v.astype(float) for k, v in values.items()}


def _calibrate(eta: np.ndarray, target: float) -> float:
    """The intercept b with mean(expit(b + eta)) == target."""
    def gap(b: float) -> float:
        return float(expit(b + eta).mean()) - target

    low, high = -30.0 - float(eta.max()), 30.0 - float(eta.min())
    return float(brentq(gap, low, high, xtol=1e-10))


def draw_captures(population: pd.DataFrame, config: SimulationConfig,
                  rng: np.random.Generator) -> CaptureResult:
    """Decide which people each list holds.

    Args:
        population: the true population (from ``make_population``).
        config: the simulation settings (lists, dependence).
        rng: the random generator.

    Returns:
        The captures, probabilities and intercepts.
    """
    n, k_lists = len(population), len(config.lists)
    x = covariates(population)
    latent = population["latent_class"].to_numpy()
    household = population["household_id"].to_numpy()
    n_households = int(household.max()) + 1 if n else 0
    names = tuple(lst.name for lst in config.lists)
    captured = np.zeros((n, k_lists), dtype=bool)
    probability = np.zeros((n, k_lists))
    intercepts = []
    for k, lst in enumerate(config.lists):
        eta = np.zeros(n)
        for name, effect in lst.effects.items():
            eta += effect * x[name]
        if lst.latent_effects:
            eta += np.asarray(lst.latent_effects, dtype=float)[latent]
        if lst.household_sd > 0:
            eta += lst.household_sd * rng.standard_normal(n_households)[household]
        for a, b, effect in config.dependence:
            if b == lst.name:
                eta += effect * captured[:, names.index(a)]
        intercept = _calibrate(eta, lst.capture)
        probability[:, k] = expit(intercept + eta)
        captured[:, k] = rng.random(n) < probability[:, k]
        intercepts.append(intercept)
    return CaptureResult(names, captured, probability, tuple(intercepts))
