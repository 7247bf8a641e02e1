"""LCMCR's HMC move: its target is the collapsed posterior, its gradient is that target's, and the move
leaves the posterior invariant (against plain Gibbs chains of the same model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from undercount.estimate import _rng
from undercount.estimate.diagnostics import ess_bulk
from undercount.estimate.lcmcr_sampler import Chain, _collapsed, _hmc, block_cells

PAT = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]], dtype=np.int8)
COUNTS = np.array([60, 45, 70, 12, 20, 9, 5])


def _by_hand(x: np.ndarray, pat: np.ndarray, freq: np.ndarray, alpha: float, n_k: int) -> float:
    """The collapsed log posterior written out with numpy: multinomial of the recorded cells given
    (lambda, weights), N integrated out under the 1/N prior, Beta(1, 1) and Beta(1, alpha) priors, logit Jacobians."""
    n_j = pat.shape[1]
    lam = 1.0 / (1.0 + np.exp(-x[:n_j * n_k].reshape(n_j, n_k)))
    v = 1.0 / (1.0 + np.exp(-x[n_j * n_k:]))
    nu = np.append(v, 1.0) * np.concatenate([[1.0], np.cumprod(1.0 - v)])
    like = np.prod(np.where(pat[:, :, None] == 1, lam[None], 1.0 - lam[None]), axis=1) @ nu
    p0 = float(np.prod(1.0 - lam, axis=0) @ nu)
    return float(freq @ np.log(like) - freq.sum() * np.log(1.0 - p0) + np.sum(np.log(lam) + np.log(1.0 - lam))
                 + np.sum(alpha * np.log(1.0 - v) + np.log(v)))


def test_the_hmc_target_is_the_collapsed_posterior_and_its_gradient() -> None:
    kosovo = pd.read_csv(Path(__file__).resolve().parents[1] / "reference" / "kosovo_1999.csv")
    pat = kosovo.drop(columns="count").to_numpy(dtype=np.int8)
    freq = kosovo["count"].to_numpy(dtype=np.int64)
    n_k, n_j = 5, pat.shape[1]
    dim = n_j * n_k + n_k - 1
    rng = np.random.default_rng(3)
    lam, nu, hk = np.zeros((n_j, n_k)), np.zeros(n_k), np.zeros((3, n_k))
    for _ in range(10):
        alpha = float(rng.gamma(1.0))
        hw = np.zeros((5, dim))
        hw[0] = rng.normal(0.0, 1.5, dim)
        got = _collapsed(hw, 0, 3, pat, freq, int(freq.sum()), alpha, lam, nu, hk)
        assert abs(got - _by_hand(hw[0], pat, freq, alpha, n_k)) < 1e-8 * abs(got)
        for i in range(dim):  # the gradient against central differences
            step = np.zeros(dim)
            step[i] = 1e-5
            up = _by_hand(hw[0] + step, pat, freq, alpha, n_k)
            down = _by_hand(hw[0] - step, pat, freq, alpha, n_k)
            assert abs(hw[3, i] - (up - down) / 2e-5) < 1e-4 * max(1.0, abs(hw[3, i]))


def test_the_hmc_move_alone_leaves_the_posterior_invariant() -> None:
    # Plain Gibbs chains with alpha pinned near 1 (a Gamma(1e6, 1e6) prior) against a chain of HMC
    # trajectories alone at alpha = 1 (its target is conditional on alpha): the posterior mean and
    # spread of N, which the HMC chain has as the mean over its draws of E[N | lambda, weights]
    # = n / (1 - p0) and of its variance n p0 / (1 - p0)^2 + (that mean's) spread.
    cells = block_cells(PAT, COUNTS)
    n = int(COUNTS.sum())
    gibbs = []
    for s in range(4):
        chain = Chain(cells, 4, 1e6, 1e6, 10**6, _rng.new_state(s))
        chain.advance(2000, 1, 2000)
        gibbs.append(chain.advance(40_000, 10)[0])
    g = np.stack(gibbs).astype(float)
    g_mean, g_se, g_sd = g.mean(), g.std() / np.sqrt(ess_bulk(g)), g.std()
    chain = Chain(cells, 4, 1e6, 1e6, 10**6, _rng.new_state(9))
    lam, nu = chain.arrays[0], chain.arrays[1]
    means, variances = np.empty((4, 2000)), np.empty((4, 2000))
    for c in range(4):
        for i in range(2000):
            _hmc(chain.state, 0.15, 15, chain.pat, cells.freq, n, 1.0, lam, nu, chain.hw, chain.lam_s, chain.nu_s,
                 chain.hk)
            p0 = float(np.prod(1.0 - lam, axis=0) @ nu)
            means[c, i], variances[c, i] = n / (1.0 - p0), n * p0 / (1.0 - p0) ** 2
    h_mean, h_se = means.mean(), means.std() / np.sqrt(ess_bulk(means))
    h_sd = float(np.sqrt(variances.mean() + means.var()))
    assert abs(h_mean - g_mean) < 4.0 * np.hypot(g_se, h_se), (h_mean, g_mean, g_se, h_se)
    assert abs(h_sd / g_sd - 1.0) < 0.1, (h_sd, g_sd)


def test_a_chain_with_the_hmc_move_keeps_its_step_size_across_rounds_and_warm_starts() -> None:
    # Once tuned, the step size is fixed: a chain advanced in two rounds gives the draws of one
    # advanced at once, and a chain warm-started from its exported state (its generator too)
    # continues it draw for draw without tuning again.
    cells = block_cells(PAT, COUNTS)
    whole = Chain(cells, 4, 0.25, 0.25, 10**6, _rng.new_state(5), hmc=1)
    assert whole.eps > 0.0 and whole.steps >= 1
    parts = Chain(cells, 4, 0.25, 0.25, 10**6, _rng.new_state(5), hmc=1)
    at_once = whole.advance(600, 3)[0]
    first = parts.advance(300, 3)[0]
    saved = parts.export_state()
    assert saved.eps == parts.eps
    again = Chain(cells, 4, 0.25, 0.25, 10**6, None, warm=saved, hmc=1)
    assert again.iteration == parts.iteration
    np.testing.assert_array_equal(at_once, np.concatenate([first, again.advance(300, 3)[0]]))
    np.testing.assert_array_equal(at_once[100:], parts.advance(300, 3)[0])


def test_replicates_with_the_hmc_move_run_a_tenth_as_long_and_only_the_first_tunes(monkeypatch: pytest.MonkeyPatch) -> None:
    # With the HMC move set, a pooled replicate's chains are a tenth of the plain length (burn-in too), and
    # inside warm_starts each replicate after the first starts from the chain before it, tuned step size and all.
    import warnings

    from undercount.errors import ConvergenceWarning
    from undercount.estimate.lcmcr import LcmcrOptions, _fit, _for_replicates, warm_starts

    moves, plain = _for_replicates(LcmcrOptions(hmc=1, joint=1), 20), _for_replicates(LcmcrOptions(), 20)
    assert (moves.iterations * 10, moves.burnin * 10, moves.chains) == (plain.iterations, plain.burnin, plain.chains)
    assert _for_replicates(LcmcrOptions(hmc=1), 2).iterations == 1000
    tuned: list[int] = []
    real = Chain._tune_hmc

    def counted(self: Chain) -> None:
        tuned.append(1)
        real(self)

    monkeypatch.setattr(Chain, "_tune_hmc", counted)
    columns = ["a", "b", "c"]
    with warnings.catch_warnings(), warm_starts():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the replicates' short chains are judged together
        fits = [_fit(pd.DataFrame(np.column_stack([PAT, COUNTS + shift]), columns=[*columns, "count"]), 0.95, seed, moves)
                for seed, shift in enumerate((0, 1, 3))]
    assert len(tuned) == moves.chains  # the first replicate's chains only
    assert all(f.details["hmc"] == 1 and f.chains is not None and f.chains.shape == (2, 200) for f in fits)


def test_by_default_a_cases_replicates_of_a_thousand_people_or_more_run_the_moves_a_tenth_as_long() -> None:
    # auto (hmc unset): inside warm_starts (a case's pooled replicates) a stratum of 1,000 people or more on at
    # most 5 lists runs both moves with chains a tenth as long; smaller strata and runs outside it stay plain
    import warnings

    from undercount.errors import ConvergenceWarning
    from undercount.estimate.lcmcr import LcmcrOptions, _fit, _for_replicates, warm_starts

    options = _for_replicates(LcmcrOptions(), 20)
    columns = ["a", "b", "c", "count"]
    large = pd.DataFrame(np.column_stack([PAT, COUNTS * 5]), columns=columns)  # 1,105 people
    small = pd.DataFrame(np.column_stack([PAT, COUNTS * 4]), columns=columns)  # 884
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the replicates' short chains are judged together
        with warm_starts():
            moves, plain = _fit(large, 0.95, 0, options), _fit(small, 0.95, 1, options)
        outside = _fit(large, 0.95, 2, options)
    assert (moves.details["hmc"], moves.details["joint"], moves.details["burnin"]) == (1, 1, 200)
    assert moves.chains is not None and moves.chains.shape == (2, 200)
    for fit in (plain, outside):
        assert (fit.details["hmc"], fit.details["burnin"]) == (0, 2000)
        assert fit.chains is not None and fit.chains.shape == (2, 500)
