"""The cheaper fits of a table alone give the numbers the plain computations gave, bit for bit
(issue 21, session 15): dga's grid terms and its graphs' sums."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import gammaln

from undercount.estimate import dga


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
