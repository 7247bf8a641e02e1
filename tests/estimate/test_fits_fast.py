"""The cheaper fits of a table alone give the numbers the plain computations gave, bit for bit
(issue 21, session 15): dga's grid terms and its graphs' sums, the compiled profile interval."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.special import gammaln

from undercount.estimate import dga
from undercount.estimate.chao import _fit_without_negative_eta as _chao_refit
from undercount.estimate.chao import chao_design
from undercount.estimate.glm import COMPILED_FROM, fit_poisson, glm_profile_interval, poisson_deviance, profile_interval
from undercount.estimate.loglinear import design, gamma_column


def _plain_grid_terms(y: np.ndarray, p: int, delta: float, grid: np.ndarray, prior: str) -> tuple[np.ndarray, np.ndarray]:
    """dga's subset terms and common term as computed before session 15: each margin's gammaln on its own."""
    full = np.concatenate([[0.0], y])
    cells = np.arange(2**p)
    total_prior = delta * 2**p
    n = full.sum()
    terms = np.zeros((2**p, grid.size))
    shared = gammaln(total_prior) - gammaln(n + grid + total_prior)
    for s in range(1, 2**p):
        size = bin(s).count("1")
        margin_prior = delta * 2 ** (p - size)
        margin = np.bincount(cells & s, weights=full, minlength=2**p)
        fixed = sum(gammaln(margin[k] + margin_prior) - gammaln(margin_prior) for k in np.unique(cells & s) if k != 0)
        terms[s] = shared + gammaln(margin[0] + grid + margin_prior) - gammaln(margin_prior) + fixed
    common: np.ndarray = gammaln(int(n) + grid + 1) - gammaln(grid + 1)
    if prior == "1/N":
        common = common - np.log(np.maximum(int(n) + grid, 1.0))
    return terms, common


@pytest.mark.parametrize("p", [3, 4, 5])
def test_grid_terms_are_those_of_separate_evaluations(p: int) -> None:
    rng = np.random.default_rng(p)
    for trial in range(6):
        y = rng.integers(0, 60, 2**p - 1).astype(float)
        y[0] += 1
        n = int(y.sum())
        delta = [2.0**-p, 0.3, 1.0][trial % 3]
        prior = ["1/N", "uniform"][trial % 2]
        full = np.arange(trial % 2, 15 * n + 1, dtype=float)
        for grid in (full, full[7 : 7 + 3 * n], full[::3], full[:1]):
            new_terms, new_common = dga._grid_terms(y, p, delta, grid, prior)
            old_terms, old_common = _plain_grid_terms(y, p, delta, grid, prior)
            assert np.array_equal(new_terms, old_terms)
            assert np.array_equal(new_common, old_common)


@pytest.mark.parametrize(("p", "saturated"), [(3, False), (3, True), (4, True)])
def test_graph_sums_equal_the_matrix_product(p: int, saturated: bool) -> None:
    signs = dga._graph_signs(p, saturated)
    rng = np.random.default_rng(7)
    y = rng.integers(1, 80, 2**p - 1).astype(float)
    terms, _ = dga._grid_terms(y, p, 2.0**-p, np.arange(1, 15 * int(y.sum()) + 1, dtype=float), "1/N")
    assert np.array_equal(dga._by_graph(signs, terms), signs @ terms)
    rows = np.array([0, signs.shape[0] - 1])
    assert np.array_equal(dga._by_graph(signs[rows], terms[:, 5:40]), signs[rows] @ terms[:, 5:40])


def _random_tables(k: int, count: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        scale = rng.choice([8.0, 40.0, 300.0])
        y = rng.poisson(scale * rng.uniform(0.2, 1.5, 2**k - 1)).astype(float)
        y[:k] += 40  # every list holds someone, and more than COMPILED_FROM persons are documented
        out.append(y)
    return out


@pytest.mark.parametrize("k", [3, 4])
def test_compiled_profile_interval_is_the_python_one(k: int) -> None:
    """The compiled interval (log-linear models, the heterogeneity column, Chao's dropping of negative
    coefficients) is the Python path's, bit for bit: the same refits and the same optimiser steps."""
    pairs = list(itertools.combinations(range(k), 2))
    designs = [(design(k, []), -1), (design(k, pairs[:2]), -1),
               (np.column_stack([design(k, pairs[:1]), gamma_column(k)]), -1), (chao_design(k), k + 1)]
    checked = 0
    for y in _random_tables(k, 12, k):
        n = int(y.sum())
        assert n > COMPILED_FROM
        for x, keep_from in designs:
            x0 = np.vstack([np.eye(1, x.shape[1]), x])

            def deviance_at(big_n: float, x0: np.ndarray = x0, keep_from: int = keep_from, n: int = n,
                            y: np.ndarray = y) -> float:
                y0 = np.concatenate([[big_n - n], y])
                return _chao_refit(x0, y0, k)[0].deviance if keep_from >= 0 else poisson_deviance(x0, y0)

            fit = fit_poisson(x, y) if keep_from < 0 else _chao_refit(x, y, k)[0]
            n_hat = n + math.exp(min(fit.beta[0], 700.0))
            for level in (0.95, 0.8):
                fast = glm_profile_interval(deviance_at, x0, y, n=n, n_hat=n_hat, level=level, keep_from=keep_from)
                slow = profile_interval(deviance_at, n=n, n_hat=n_hat, level=level)
                assert fast == slow
                checked += 1
    assert checked == 12 * len(designs) * 2
