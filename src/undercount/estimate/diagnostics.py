"""Convergence diagnostics for several Markov chains: R-hat, bulk ESS, chain agreement.

R-hat is the rank-normalised split-chain statistic of Vehtari, Gelman, Simpson, Carpenter and
Bürkner (2021, Bayesian Analysis 16:667-718), taking the larger of its bulk and folded (tail)
forms; the bulk effective sample size uses the same rank-normalised split chains with Geyer's
initial monotone sequence. :func:`chains_disagree` is undercount's own check that the chains
describe the same posterior: each chain's median against the others', in units of their Monte
Carlo standard errors, and against the width of the pooled interval.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["chain_summaries", "chains_disagree", "ess_bulk", "grouped_ess", "grouped_rhat", "rhat"]

RHAT_MAX = 1.05  # chains_disagree: R-hat above this makes a gap between chain medians more than chance
RHAT_TARGET = 1.01  # a sampler runs until R-hat is at most this (Vehtari et al. 2021) ...
ESS_MIN = 400  # ... and the bulk effective sample size at least this


def _as_chains(draws: np.ndarray) -> np.ndarray:
    arr = np.asarray(draws, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] < 4:
        raise ValueError("draws must be (chains, draws) with at least 4 draws per chain")
    return arr


def _split(chains: np.ndarray) -> np.ndarray:
    half = chains.shape[1] // 2
    return np.concatenate([chains[:, :half], chains[:, chains.shape[1] - half:]], axis=0)


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing the average of their ranks (as scipy.stats.rankdata's 'average').

    Written here so that the estimate does not import scipy.stats, which costs about a second of
    the command line's start.
    """
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    first = np.concatenate([[True], ordered[1:] != ordered[:-1]])
    group = np.cumsum(first) - 1
    starts = np.concatenate([np.flatnonzero(first), [values.size]])
    ranks = np.empty(values.size)
    ranks[order] = 0.5 * (starts[group] + starts[group + 1] + 1)
    return ranks


def _rank_normalise(chains: np.ndarray) -> np.ndarray:
    size = chains.size
    ranks = _average_ranks(chains.ravel()).reshape(chains.shape)
    normal: np.ndarray = special.ndtri((ranks - 0.375) / (size + 0.25))
    return normal


def _plain_rhat(chains: np.ndarray) -> float:
    n = chains.shape[1]
    within = chains.var(axis=1, ddof=1).mean()
    between = n * chains.mean(axis=1).var(ddof=1)
    if within <= 0.0:
        return 1.0 if between <= 0.0 else float("inf")
    var_plus = (n - 1) / n * within + between / n
    return float(np.sqrt(var_plus / within))


def rhat(draws: np.ndarray) -> float:
    """Rank-normalised split R-hat (the larger of bulk and tail); 1 means the chains agree.

    Args:
        draws: (chains, draws) array; a 1-D array is one chain.

    Returns:
        R-hat, at least about 1; values above 1.05 mean the chains have not converged.

    Raises:
        ValueError: fewer than 4 draws per chain.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> round(rhat(rng.normal(size=(4, 1000))), 2)
        1.0
    """
    chains = _split(_as_chains(draws))
    bulk = _plain_rhat(_rank_normalise(chains))
    folded = np.abs(chains - np.median(chains))
    tail = _plain_rhat(_rank_normalise(folded))
    return max(bulk, tail)


def _autocovariance(x: np.ndarray) -> np.ndarray:
    n = x.shape[-1]
    size = 1 << (2 * n - 1).bit_length()
    centred = x - x.mean(axis=-1, keepdims=True)
    spectrum = np.fft.rfft(centred, n=size, axis=-1)
    acov: np.ndarray = np.fft.irfft(spectrum * np.conjugate(spectrum), n=size, axis=-1)[..., :n] / n
    return acov


def _ess(chains: np.ndarray) -> float:
    m, n = chains.shape
    acov = _autocovariance(chains)
    chain_var = acov[:, 0] * n / (n - 1.0)
    within = chain_var.mean()
    var_plus = within * (n - 1.0) / n
    if m > 1:
        var_plus += chains.mean(axis=1).var(ddof=1)
    if var_plus <= 0.0:
        return float(m * n)
    rho = 1.0 - (within - acov.mean(axis=0)) / var_plus
    rho[0] = 1.0
    pair_sums = []
    t = 0
    while t + 1 < n:
        pair = rho[t] + rho[t + 1]
        if pair < 0.0:
            break
        pair_sums.append(pair)
        t += 2
    if not pair_sums:
        return float(m * n)
    monotone = np.minimum.accumulate(np.array(pair_sums))
    tau = -1.0 + 2.0 * monotone.sum()
    tau = max(tau, 1.0 / np.log10(m * n))
    return float(m * n / tau)


def ess_bulk(draws: np.ndarray) -> float:
    """Bulk effective sample size of the pooled chains (rank-normalised, split).

    Args:
        draws: (chains, draws) array; a 1-D array is one chain.

    Returns:
        The number of independent draws the chains are worth for the centre of the posterior;
        below 400 the interval ends are not reliable.

    Raises:
        ValueError: fewer than 4 draws per chain.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> ess_bulk(rng.normal(size=(4, 500))) > 1500
        True
    """
    return _ess(_rank_normalise(_split(_as_chains(draws))))


def chain_summaries(draws: np.ndarray, *, level: float = 0.95) -> list[dict[str, float]]:
    """Per chain: median, interval ends at ``level``, bulk ESS and Monte Carlo error of the median.

    Args:
        draws: (chains, draws) array.
        level: interval level.

    Returns:
        One dict per chain with keys median, lower, upper, ess, mcse_median.
    """
    chains = _as_chains(draws)
    tail = (1.0 - level) / 2.0
    out = []
    for chain in chains:
        ess = ess_bulk(chain)
        lo, med, hi = np.quantile(chain, [tail, 0.5, 1.0 - tail])
        q25, q75 = np.quantile(chain, [0.25, 0.75])
        spread = (q75 - q25) / 1.349 if q75 > q25 else chain.std()
        mcse = 1.2533 * spread / np.sqrt(max(ess, 1.0))
        out.append({"median": float(med), "lower": float(lo), "upper": float(hi),
                    "ess": float(ess), "mcse_median": float(mcse)})
    return out


def chains_disagree(
    summaries: list[dict[str, float]], *, r_hat: float = 1.0, z_max: float = 4.0, share_max: float = 0.1
) -> bool:
    """Whether the chains' medians differ by more than Monte Carlo error allows, and by enough to matter.

    Two chains disagree when their medians are more than ``share_max`` of the narrower of their
    two intervals apart (the gap changes the answer) and the gap is not chance: either more than
    ``z_max`` combined Monte Carlo standard errors, or R-hat above 1.05. The second case catches
    chains that each stay for long stretches in one mode: their own effective sample sizes are
    then so small that no single gap is significant, but R-hat sees the chains differ.

    Args:
        summaries: from :func:`chain_summaries`.
        r_hat: R-hat of all the chains together (:func:`rhat`).
        z_max: the allowed gap in Monte Carlo standard errors.
        share_max: the allowed gap as a share of an interval's width.

    Returns:
        True when some pair of chains disagrees.

    Example:
        >>> a = {"median": 100.0, "lower": 90.0, "upper": 110.0, "ess": 1000.0, "mcse_median": 0.3}
        >>> chains_disagree([a, dict(a, median=108.0)]), chains_disagree([a, dict(a, median=100.5)])
        (True, False)
    """
    for i, a in enumerate(summaries):
        for b in summaries[i + 1:]:
            gap = abs(a["median"] - b["median"])
            mcse = float(np.hypot(a["mcse_median"], b["mcse_median"]))
            width = min(a["upper"] - a["lower"], b["upper"] - b["lower"])
            if gap > share_max * width and (gap > z_max * mcse or r_hat > RHAT_MAX):
                return True
    return False


def _normalised_concat(groups: list[np.ndarray], fold: bool) -> np.ndarray:
    """Each group rank-normalised on its own (folded first when asked), then the groups' chains joined end to end."""
    parts = []
    for chains in groups:
        values = np.abs(chains - np.median(chains)) if fold else chains
        parts.append(_rank_normalise(values))
    return np.concatenate(parts, axis=1)


def grouped_rhat(groups: list[np.ndarray]) -> float:
    """R-hat of several sets of chains that each target their own posterior (e.g. imputations).

    Each group (chains x draws, the same number of chains in every group) is rank-normalised on
    its own, which removes what differs between the groups' posteriors (their location and
    scale); chain c of every group is then joined end to end into one long chain, and the split
    R-hat of these joined chains is taken (bulk and folded forms, the larger). The pooled draws of
    R replicates with short chains are so judged as one sampler whose chains are R times longer;
    chains stuck apart within one replicate are caught by :func:`chains_disagree` on that replicate.

    Args:
        groups: one (chains, draws) array per replicate; groups with fewer than 2 chains, fewer
            than 4 draws or a different number of chains from the first are ignored.

    Returns:
        The pooled R-hat (1.0 when no group can be judged).

    Example:
        >>> rng = np.random.default_rng(1)
        >>> round(grouped_rhat([rng.normal(m, 1, size=(2, 500)) for m in (0, 5, 10)]), 2)
        1.0
    """
    usable = [np.asarray(g, dtype=float) for g in groups if np.ndim(g) == 2 and g.shape[0] >= 2 and g.shape[1] >= 4]
    usable = [g for g in usable if g.shape[0] == usable[0].shape[0]] if usable else []
    if not usable:
        return 1.0
    bulk = _plain_rhat(_split(_normalised_concat(usable, fold=False)))
    tail = _plain_rhat(_split(_normalised_concat(usable, fold=True)))
    return max(bulk, tail)


def grouped_ess(groups: list[np.ndarray]) -> float:
    """The bulk effective sample size of several sets of chains: the sum of each group's."""
    return float(sum(ess_bulk(g) for g in groups if np.ndim(g) == 2 and g.shape[1] >= 4))
