"""Bayesian non-parametric latent-class capture-recapture (LCMCR), several chains at once.

Assumptions (Manrique-Vallier 2016, "Bayesian population size estimation using Dirichlet
process mixtures", Biometrics 72:1246-1254): the population is closed; people differ in how
listable they are, and that heterogeneity is captured by a mixture of latent classes (a
truncated Dirichlet process, K classes at most) within which the lists record people
independently. The prior on N is proportional to 1/N. This is the model of the R package LCMCR
and of HRDAG's published estimates; the sampler is in :mod:`undercount.estimate.lcmcr_sampler`.

Several chains run in parallel from different seeds. Their agreement is checked (R-hat, bulk
effective sample size, per-chain medians): chains that settle in different modes are reported
as such, with the interval widened to cover every chain, never as one confident number.
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from undercount.errors import ConfigError, ConvergenceWarning, ModelError
from undercount.estimate import _rng
from undercount.estimate.diagnostics import ESS_MIN, RHAT_MAX, chain_summaries, chains_disagree, ess_bulk, rhat
from undercount.estimate.histories import validate_table
from undercount.estimate.lcmcr_sampler import block_cells, run_chain
from undercount.estimate.registry import Estimator
from undercount.estimate.results import EstimateResult

__all__ = ["fit_lcmcr", "sample_lcmcr", "LcmcrOptions", "ESTIMATOR"]

CAP_SHARE = 0.01


def _check_options(K: int, chains: int, iterations: int, burnin: int, thinning: int) -> None:
    if K < 2:
        raise ModelError(f"K={K}: LCMCR needs at least 2 latent classes")
    if chains < 1:
        raise ModelError(f"chains={chains}: at least one chain is needed")
    if burnin < 0 or thinning < 1:
        raise ModelError(f"burnin={burnin}, thinning={thinning}: burnin must be >= 0 and thinning >= 1")
    if iterations // thinning < 8:
        raise ModelError(
            f"iterations={iterations} with thinning={thinning} keeps fewer than 8 draws per chain"
        )


def _run_chains(
    clean: pd.DataFrame, K: int, a_alpha: float, b_alpha: float, chains: int, iterations: int,
    burnin: int, thinning: int, seed: int, max_n: int | None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Run the chains on a validated table (see :func:`sample_lcmcr`)."""
    _check_options(K, chains, iterations, burnin, thinning)
    patterns = clean.drop(columns="count").to_numpy(dtype=np.int8)
    counts = clean["count"].to_numpy(dtype=np.int64)
    n = int(counts.sum())
    cap = max(1000 * n, 1_000_000) if max_n is None else int(max_n)
    if cap <= n:
        raise ModelError(f"max_n={cap} is not above the {n} people documented")
    cells = block_cells(patterns, counts)
    samples = iterations // thinning
    words = np.random.SeedSequence(seed).generate_state(chains, dtype=np.uint64)
    states = [_rng.new_state(int(w)) for w in words]

    def one(state: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        return run_chain(cells.pat_a, cells.pat_b, cells.code_a, cells.code_b, cells.freq,
                         K, float(a_alpha), float(b_alpha), burnin, samples, thinning, cap - n, state)

    # One thread per chain (the kernels release the GIL): with more chains than cores they share
    # the cores evenly and finish together instead of running in rounds.
    workers = min(chains, 4 * (os.cpu_count() or 1))
    if workers == 1:
        results = [one(s) for s in states]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(one, states))
    draws_n = np.stack([r[0] for r in results])
    draws_alpha = np.stack([r[1] for r in results])
    return draws_n, draws_alpha, int(sum(r[2] for r in results))


def sample_lcmcr(
    table: pd.DataFrame,
    *,
    K: int = 10,
    a_alpha: float = 0.25,
    b_alpha: float = 0.25,
    chains: int = 4,
    iterations: int = 100_000,
    burnin: int = 10_000,
    thinning: int = 50,
    seed: int = 0,
    max_n: int | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Run the LCMCR chains and return their raw draws.

    Args: as :func:`fit_lcmcr`.

    Returns:
        (draws of N as a (chains, kept) int array, draws of alpha of the same shape, the number
        of kept draws at which N sat on its cap).

    Raises:
        InputError: the table is not a valid capture table.
        ModelError: impossible sampler options.
    """
    return _run_chains(validate_table(table), K, a_alpha, b_alpha, chains, iterations, burnin,
                       thinning, seed, max_n)


def fit_lcmcr(
    table: pd.DataFrame,
    *,
    K: int = 10,
    a_alpha: float = 0.25,
    b_alpha: float = 0.25,
    chains: int = 4,
    iterations: int = 100_000,
    burnin: int = 10_000,
    thinning: int = 50,
    seed: int = 0,
    max_n: int | None = None,
    level: float = 0.95,
) -> EstimateResult:
    """Estimate N with the latent-class model of Manrique-Vallier (2016), several chains in parallel.

    The defaults are those of the reference runs of R's LCMCR: K=10, alpha ~ Gamma(0.25, 0.25),
    10,000 burn-in iterations then 2,000 draws thinned by 50 (110,000 iterations) per chain,
    after a 500-iteration warm-up. Chains run in parallel threads.

    Args:
        table: capture table (one 0/1 column per list, ``count``).
        K: the truncation level (most latent classes).
        a_alpha, b_alpha: shape and rate of the Gamma prior on the stick-breaking concentration.
        chains: independent chains (at least 2 for between-chain diagnostics).
        iterations: iterations per chain after burn-in; every ``thinning``-th is kept.
        burnin: iterations discarded per chain after the warm-up.
        thinning: keep one iteration in this many.
        seed: seed of all chains (each chain gets its own stream from it).
        max_n: cap on N (default 1,000 times the documented count, at least 1,000,000); when
            the chains press against it the data do not bound N and no upper limit is given.
        level: credible-interval level (equal-tailed).

    Returns:
        An :class:`EstimateResult` with the posterior median as ``estimate``, the posterior mean,
        the interval, the pooled draws, and in ``details`` the per-chain medians, R-hat, bulk ESS,
        iterations, K, seconds and ``chains_disagree``.

    Raises:
        InputError: the table is not a valid capture table.
        ModelError: impossible sampler options.

    Example:
        >>> t = pd.DataFrame({"A": [1, 0, 1], "B": [0, 1, 1], "C": [1, 1, 0], "count": [40, 30, 12]})
        >>> fit_lcmcr(t, chains=2, iterations=2000, burnin=500, thinning=5).method
        'lcmcr'
    """
    start = time.perf_counter()
    clean = validate_table(table)
    documented = int(clean["count"].sum())
    draws, alphas, n_capped = _run_chains(clean, K, a_alpha, b_alpha, chains, iterations, burnin,
                                          thinning, seed, max_n)
    seconds = time.perf_counter() - start
    tail = (1.0 - level) / 2.0
    pooled = draws.reshape(-1)
    lower, median, upper = (float(v) for v in np.quantile(pooled, [tail, 0.5, 1.0 - tail]))
    per_chain = chain_summaries(draws, level=level)
    r_hat = rhat(draws)
    ess = ess_bulk(draws)
    notes: list[str] = []
    if r_hat > RHAT_MAX or ess < ESS_MIN:
        notes.append(
            f"ConvergenceWarning: the chains have not converged (R-hat {r_hat:.3f}, limit {RHAT_MAX}; "
            f"bulk ESS {ess:.0f}, minimum {ESS_MIN}); run longer chains before relying on this estimate"
        )
    disagree = chains > 1 and chains_disagree(per_chain, r_hat=r_hat)
    if disagree:
        medians = ", ".join(f"{c['median']:,.0f}" for c in per_chain)
        lower = min(lower, min(c["lower"] for c in per_chain))
        upper = max(upper, max(c["upper"] for c in per_chain))
        notes.append(
            f"chains disagree: the chains settled on different answers (medians {medians}); the "
            "posterior has several modes or mixes too slowly, so no single number is reliable and "
            "the interval is widened to cover every chain"
        )
    capped_share = n_capped / pooled.size
    upper_out: float | None = upper
    if capped_share > CAP_SHARE:
        upper_out = None
        notes.append(
            f"the data do not bound N: {capped_share:.0%} of the draws reached the cap on N "
            "(max_n); no finite upper limit is given"
        )
    for note in notes:
        if note.startswith("ConvergenceWarning") or note.startswith("chains disagree"):
            warnings.warn(note, ConvergenceWarning, stacklevel=2)
    details = {
        "chain_medians": [c["median"] for c in per_chain],
        "chain_intervals": [[c["lower"], c["upper"]] for c in per_chain],
        "rhat": r_hat,
        "ess_bulk": ess,
        "chains_disagree": bool(disagree),
        "chains": chains,
        "iterations": 500 + burnin + iterations,
        "burnin": burnin,
        "thinning": thinning,
        "draws_per_chain": int(draws.shape[1]),
        "K": K,
        "a_alpha": a_alpha,
        "b_alpha": b_alpha,
        "alpha_median": float(np.median(alphas)),
        "seconds": seconds,
        "seed": seed,
    }
    return EstimateResult(
        method="lcmcr",
        documented=documented,
        estimate=median,
        lower=lower,
        upper=upper_out,
        level=level,
        model=f"K={K}",
        mean=float(pooled.mean()),
        warnings=tuple(notes),
        details=details,
        draws=pooled.astype(float),
    )


@dataclass(frozen=True)
class LcmcrOptions:
    """Options of LCMCR (see :func:`fit_lcmcr`).

    Attributes:
        K: most latent classes.
        a_alpha, b_alpha: the Gamma prior of the stick-breaking concentration.
        chains: chains run in parallel.
        iterations: iterations per chain after burn-in.
        burnin: iterations discarded per chain after the warm-up.
        thinning: keep one iteration in this many.
        max_n: cap on N (None: 1,000 times n, at least 1,000,000).
    """

    K: int = 10
    a_alpha: float = 0.25
    b_alpha: float = 0.25
    chains: int = 4
    iterations: int = 100_000
    burnin: int = 10_000
    thinning: int = 50
    max_n: int | None = None

    def __post_init__(self) -> None:
        checks = [(self.K >= 2, "K must be 2 or more"), (self.chains >= 1, "chains must be 1 or more"),
                  (self.burnin >= 0, "burnin must be 0 or more"), (self.thinning >= 1, "thinning must be 1 or more"),
                  (self.a_alpha > 0 and self.b_alpha > 0, "a_alpha and b_alpha must be above 0"),
                  (self.iterations // max(self.thinning, 1) >= 8, "iterations / thinning must keep 8 draws or more")]
        for ok, text in checks:
            if not ok:
                raise ConfigError(f"LCMCR options: {text}")


REPLICATE_CHAINS = {"chains": 2, "burnin": 5_000, "thinning": 10}


def _for_replicates(options: LcmcrOptions, replicates: int) -> LcmcrOptions:
    """Shorter chains for each of several pooled replicates (their draws are pooled), unless set."""
    if options != LcmcrOptions():
        return options
    return dataclasses.replace(options, iterations=max(20_000, 200_000 // replicates), **REPLICATE_CHAINS)


def _fit(table: pd.DataFrame, level: float, seed: int, options: LcmcrOptions) -> EstimateResult:
    return fit_lcmcr(table, seed=seed, level=level, **dataclasses.asdict(options))


ESTIMATOR = Estimator(
    name="lcmcr",
    display_name="LCMCR (latent classes)",
    description="the Bayesian non-parametric latent-class model of Manrique-Vallier (2016)",
    help="3 or more lists; latent classes of catchability (Manrique-Vallier 2016); posterior quantiles",
    options_type=LcmcrOptions,
    fit_function=_fit,
    min_lists=3,
    in_range=True,
    for_replicates=_for_replicates,
)
