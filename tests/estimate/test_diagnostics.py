"""Convergence diagnostics on chains with known behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from undercount.estimate.diagnostics import chain_summaries, chains_disagree, ess_bulk, rhat


def _ar1(rng: np.random.Generator, chains: int, n: int, phi: float) -> np.ndarray:
    x = np.zeros((chains, n))
    noise = rng.normal(size=(chains, n)) * np.sqrt(1 - phi**2)
    x[:, 0] = rng.normal(size=chains)
    for t in range(1, n):
        x[:, t] = phi * x[:, t - 1] + noise[:, t]
    return x


def test_independent_chains_rhat_one_and_full_ess() -> None:
    draws = np.random.default_rng(0).normal(size=(4, 1000))
    assert rhat(draws) == pytest.approx(1.0, abs=0.01)
    assert 3000 < ess_bulk(draws) < 5000


def test_autocorrelated_chains_have_ess_near_theory() -> None:
    phi = 0.9
    draws = _ar1(np.random.default_rng(1), 4, 4000, phi)
    theory = draws.size * (1 - phi) / (1 + phi)
    assert ess_bulk(draws) == pytest.approx(theory, rel=0.25)


def test_shifted_chain_raises_rhat_and_is_flagged() -> None:
    rng = np.random.default_rng(2)
    draws = rng.normal(size=(4, 1000))
    draws[3] += 3.0
    assert rhat(draws) > 1.2
    assert chains_disagree(chain_summaries(draws), r_hat=rhat(draws))


def test_scale_difference_is_seen_by_the_tail_rhat() -> None:
    rng = np.random.default_rng(3)
    draws = rng.normal(size=(4, 2000))
    draws[0] *= 4.0
    assert rhat(draws) > 1.05


def test_integer_draws_with_ties_are_handled() -> None:
    draws = np.random.default_rng(4).poisson(3.0, size=(4, 500))
    assert rhat(draws) < 1.02
    assert ess_bulk(draws) > 1000


def test_small_gap_between_good_chains_is_not_flagged() -> None:
    draws = np.random.default_rng(5).normal(size=(4, 2000))
    summaries = chain_summaries(draws)
    assert not chains_disagree(summaries, r_hat=rhat(draws))
    assert {"median", "lower", "upper", "ess", "mcse_median"} <= set(summaries[0])


def test_too_few_draws_raise() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        rhat(np.ones((2, 3)))


def test_grouped_rhat_judges_replicates_as_one_sampler() -> None:
    from undercount.estimate.diagnostics import grouped_ess, grouped_rhat

    rng = np.random.default_rng(5)

    def ar(phi: float, n: int, shift: float = 0.0) -> np.ndarray:
        x = np.zeros(n)
        for i in range(1, n):
            x[i] = phi * x[i - 1] + rng.normal()
        return x + shift

    # ten replicates with their own posteriors (locations 0..900), two short autocorrelated chains each
    good = [np.stack([ar(0.8, 300, 100 * r), ar(0.8, 300, 100 * r)]) for r in range(10)]
    assert rhat(good[0]) > 1.01  # one replicate alone is too short to judge
    assert grouped_rhat(good) < 1.01 and grouped_ess(good) > 400
    drift = [np.stack([ar(0.8, 300, 100 * r) + np.linspace(0, 6, 300), ar(0.8, 300, 100 * r)]) for r in range(10)]
    assert grouped_rhat(drift) > 1.05  # chains that drift apart in every replicate are caught
