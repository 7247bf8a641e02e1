"""The cheaper fits of a table alone give the numbers the plain computations gave, bit for bit
(issue 21, sessions 15 and 16): dga's grid terms and its graphs' sums, the compiled profile interval and
its Python fallback built from the same design, a table counted once for all its fits."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import gammaln

from undercount.errors import InputError
from undercount.estimate import dga, glm
from undercount.estimate.chao import _fit_without_negative_eta as _chao_refit
from undercount.estimate.chao import chao_design
from undercount.estimate.glm import fit_poisson, glm_profile_interval, poisson_deviance, profile_interval
from undercount.estimate.histories import count_table, table_counts, validate_table, validated_counts
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
        y[:k] += 40  # every list holds someone, and more than 100 persons are documented (Stirling's Cormack)
        out.append(y)
    return out


def _models(k: int) -> list[tuple[np.ndarray, int]]:
    """Designs of log-linear models, the heterogeneity column and Chao's, with their ``keep_from``."""
    pairs = list(itertools.combinations(range(k), 2))
    return [(design(k, []), -1), (design(k, pairs[:2]), -1),
            (np.column_stack([design(k, pairs[:1]), gamma_column(k)]), -1), (chao_design(k), k + 1)]


def _plain_deviance(x0: np.ndarray, y: np.ndarray, n: int, k: int, keep_from: int):  # type: ignore[no-untyped-def]
    """The deviance at a trial N as the estimators computed it before session 16 (their own closures)."""
    def deviance_at(big_n: float) -> float:
        y0 = np.concatenate([[big_n - n], y])
        return _chao_refit(x0, y0, k)[0].deviance if keep_from >= 0 else poisson_deviance(x0, y0)
    return deviance_at


@pytest.mark.parametrize("k", [3, 4])
def test_compiled_profile_interval_is_the_python_one(k: int) -> None:
    """The compiled interval (log-linear models, the heterogeneity column, Chao's dropping of negative
    coefficients), its Python fallback built from the same design (forced here) and the plain Python path
    with each estimator's own deviance are the same interval, bit for bit: the same refits and steps."""
    checked = 0
    for y in _random_tables(k, 12, k):
        n = int(y.sum())
        assert n > 100
        for x, keep_from in _models(k):
            x0 = np.vstack([np.eye(1, x.shape[1]), x])
            fit = fit_poisson(x, y) if keep_from < 0 else _chao_refit(x, y, k)[0]
            n_hat = n + math.exp(min(fit.beta[0], 700.0))
            for level in (0.95, 0.8):
                fast = glm_profile_interval(x0, y, n=n, n_hat=n_hat, level=level, keep_from=keep_from)
                fallback = glm_profile_interval(x0, y, n=n, n_hat=n_hat, level=level, keep_from=keep_from, compiled=False)
                slow = profile_interval(_plain_deviance(x0, y, n, k, keep_from), n=n, n_hat=n_hat, level=level)
                assert fast == slow
                assert fallback == slow
                checked += 1
    assert checked == 12 * 4 * 2


def test_small_tables_intervals_are_the_python_ones() -> None:
    """At 100 persons or fewer (Cormack's exact correction, scipy's gammaln inside the compiled kernel): the
    compiled interval and the fallback's are the plain Python path's, and the fallback's deviance, refitted
    from the design alone, is the estimators' own at every trial N (Chao's drops negative coefficients)."""
    rng = np.random.default_rng(16)
    dropped = 0
    for k in (3, 4):
        for _ in range(10):
            y = rng.poisson(rng.uniform(0.5, 60.0 / 2**k, 2**k - 1)).astype(float)
            y[:k] += 3
            n = int(y.sum())
            assert n <= 100
            for x, keep_from in _models(k):
                x0 = np.vstack([np.eye(1, x.shape[1]), x])
                plain = _plain_deviance(x0, y, n, k, keep_from)
                refit = glm.refit_deviance(x0, y, n=n, keep_from=keep_from)
                for big_n in (n + 0.5, 1.7 * n, 4.0 * n):
                    assert refit(big_n) == plain(big_n)
                    if keep_from >= 0:
                        dropped += len(_chao_refit(x0, np.concatenate([[big_n - n], y]), k)[0].beta) < x0.shape[1]
                fit = fit_poisson(x, y) if keep_from < 0 else _chao_refit(x, y, k)[0]
                n_hat = n + math.exp(min(fit.beta[0], 700.0))
                slow = profile_interval(plain, n=n, n_hat=n_hat)
                assert glm_profile_interval(x0, y, n=n, n_hat=n_hat, keep_from=keep_from) == slow
                assert glm_profile_interval(x0, y, n=n, n_hat=n_hat, keep_from=keep_from, compiled=False) == slow
    assert dropped > 0  # Chao's refit did drop coefficients, so its loop was exercised


def test_compiled_cormack_is_the_python_one() -> None:
    """Cormack's correction compiled (scipy's gammaln bound into the kernel) is the Python one, bit for bit,
    at or below 100 persons (the exact form) and above (Stirling's)."""
    rng = np.random.default_rng(3)
    for total in np.concatenate([rng.uniform(1.0, 100.0, 300), [1.0, 2.0, 99.5, 100.0, 100.25, 101.0], rng.uniform(100, 5e4, 100)]):
        for n0 in (0.0, 1.0, 0.37 * total, total - 1.0, rng.uniform(0.0, total)):
            assert glm._cormack_compiled(n0, total) == glm._cormack(n0, total)


def _frame(rows: list[list[object]], columns: list[object]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


CLEANABLE = {
    "unsorted, int64, zero row": _frame([[1, 1, 0, 4], [1, 0, 0, 7], [0, 1, 1, 0], [0, 0, 1, 5]], ["a", "b", "c", "count"]),
    "float values, count first": _frame([[7.0, 1.0, 0.0], [3.0, 0.0, 1.0], [2.0, 1.0, 1.0]], ["count", "a", "b"]),
    "spaces in names": _frame([[1, 0, 7], [0, 1, 3], [1, 1, 2]], [" a", "b ", "count"]),
    "count named with spaces": _frame([[1, 0, 7], [0, 1, 3], [1, 1, 2]], ["a", "b", " count"]),
    "text values": _frame([["1", "0", "7"], ["0", "1", "3"], ["1", "1", "2"]], ["a", "b", "count"]),
}
INVALID = {
    "a value 2": _frame([[2, 0, 7], [0, 1, 3], [1, 1, 2]], ["a", "b", "count"]),
    "a missing value": _frame([[np.nan, 0, 7], [0, 1, 3], [1, 1, 2]], ["a", "b", "count"]),
    "a negative count": _frame([[1, 0, -7], [0, 1, 3], [1, 1, 2]], ["a", "b", "count"]),
    "a count not whole": _frame([[1, 0, 7.5], [0, 1, 3], [1, 1, 2]], ["a", "b", "count"]),
    "a pattern twice": _frame([[1, 0, 7], [0, 1, 3], [1, 0, 2]], ["a", "b", "count"]),
    "a pattern twice, one count 0": _frame([[1, 0, 7], [0, 1, 3], [1, 0, 0]], ["a", "b", "count"]),
    "someone on no list": _frame([[1, 0, 7], [0, 1, 3], [0, 0, 2]], ["a", "b", "count"]),
    "a list holding no one": _frame([[1, 0, 7], [0, 1, 0]], ["a", "b", "count"]),
    "no one": _frame([[1, 0, 0], [0, 1, 0]], ["a", "b", "count"]),
    "one list": _frame([[1, 7]], ["a", "count"]),
    "no count column": _frame([[1, 0, 7], [0, 1, 3]], ["a", "b", "c"]),
}


@pytest.mark.parametrize("name", sorted(CLEANABLE))
def test_a_table_counted_once_is_the_clean_tables_counts(name: str) -> None:
    """count_table's check tells a table validate_table takes as it is (or cleans) from one it refuses;
    validated_counts gives the clean table's counts either way."""
    table = CLEANABLE[name]
    clean = validate_table(table)
    k, y, n = table_counts(clean)
    got = validated_counts(table)
    assert got.valid and (got.k, got.n) == (k, n) and np.array_equal(got.y, y)
    assert got.names == tuple(str(c) for c in clean.columns if c != "count")
    again = count_table(clean, check=True)
    assert again.valid and np.array_equal(again.y, y)
    assert validated_counts(again) is again


@pytest.mark.parametrize("name", sorted(INVALID))
def test_a_table_refused_by_validation_is_refused_by_the_count(name: str) -> None:
    """Every table validate_table refuses fails count_table's check, and validated_counts raises the same
    error (naming the row and column), never counts."""
    table = INVALID[name]
    with pytest.raises(InputError) as expected:
        validate_table(table)
    try:
        checked = count_table(table, check=True)
    except ValueError:
        checked = None
    assert checked is None or not checked.valid
    with pytest.raises(InputError) as got:
        validated_counts(table)
    assert str(got.value) == str(expected.value)
    if checked is not None:  # counts not known to be valid are refused by dga
        with pytest.raises(InputError):
            dga.fit_dga(checked)
