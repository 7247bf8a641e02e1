"""Negative dependence between two lists, tested on the observed part of the tables, pooled over strata.

Why (docs/estimation.md, "The auto rule"): LCMCR (Manrique-Vallier 2016) makes the lists
independent within each latent class. The dependence a mixture of such classes produces between two
lists is the covariance, across classes, of their capture probabilities: positive whenever the
classes that one list reaches well the other also reaches well, which is the heterogeneity the
model is meant for. A list pair that is *negatively* dependent (people found by a hospital are
less often reached by a household survey, or the reverse) needs classes ordered against each
other; in strata of a few hundred persons the model's prior does not find them, it reads the
shortfall of the pair's overlap as heterogeneity and its estimate rises (end-to-end benchmark,
docs/end-to-end.md: +3% at 3,000 persons with a -0.8 logit hospital x survey dependence, about 0 at
12,000). A log-linear model with the pair's interaction expresses it directly.

The test: for a pair of lists (a, b), every capture pattern of the other lists in which at least
one of them holds the person gives a complete 2 x 2 table of a x b (the cell seen by none of the
lists is missing only from the pattern where no other list holds anyone). Under the log-linear
model without a three-way interaction, and under latent classes ordered alike, these tables share
one odds ratio of a x b, at least 1 for latent classes. The Mantel-Haenszel estimate of that common
odds ratio, pooled over every such table of every stratum, with the Robins, Breslow and Greenland
(1986) variance of its logarithm, gives a z statistic with the power of the whole case, which no
single small stratum has. A pair is negatively dependent when z lies below the one-sided normal
quantile of ``alpha`` divided by the number of pairs (Bonferroni).

The test cannot tell negative dependence that latent classes ordered against each other produce, and
LCMCR expresses (at a few thousand persons it learns such classes), from dependence it does not
express. :func:`check_overlaps` tells them apart: a posterior predictive check (Gelman, Meng and Stern
1996) of the same pooled statistic. From LCMCR's posterior (one chain per table, its class weights and
capture probabilities every few iterations) it draws replicated tables of the documented persons and
their Mantel-Haenszel log odds ratio, pooled as the observed one; the share of replicates at or below
the observed value is the check's p-value. A small p-value says LCMCR cannot reproduce the pair's
shortfall of overlap (the auto rule then switches its point); otherwise LCMCR's fit already holds it.

References: Mantel and Haenszel (1959), J. Natl Cancer Inst. 22:719-748; Robins, Breslow and
Greenland (1986), Biometrics 42:311-323; Manrique-Vallier (2016), Biometrics 72:1246-1254; Gelman,
Meng and Stern (1996), Statistica Sinica 6:733-807.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from undercount.errors import ConfigError
from undercount.estimate import _rng
from undercount.estimate.histories import validate_table
from undercount.estimate.lcmcr import LcmcrOptions
from undercount.estimate.lcmcr_sampler import Chain, block_cells

__all__ = ["PairDependence", "pair_dependence", "negative_pairs", "format_pairs", "parse_pairs", "OverlapCheck",
           "check_overlaps"]

CHECK_DRAWS = 200  # posterior draws of the check (its p-value in steps of 1/200)
CHECK_THINNING = 10  # iterations between them
CHECK_MAX_LISTS = 12  # every capture pattern is enumerated: 2 ** lists


@dataclass(frozen=True)
class PairDependence:
    """The pooled conditional dependence of two lists.

    Attributes:
        lists: the two lists' names.
        log_odds_ratio: the Mantel-Haenszel common log odds ratio (None: a zero sum, not estimable).
        se: its standard error (Robins, Breslow and Greenland 1986).
        z: ``log_odds_ratio / se``.
        persons: persons in the 2 x 2 tables pooled (those on at least one of the other lists).
    """

    lists: tuple[str, str]
    log_odds_ratio: float | None
    se: float | None
    z: float | None
    persons: int

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {"lists": list(self.lists), "log_odds_ratio": self.log_odds_ratio, "se": self.se, "z": self.z,
                "persons": self.persons}


def _slices(table: pd.DataFrame, a: str, b: str) -> list[tuple[float, float, float, float]]:
    """The complete 2 x 2 tables (a&b, a only, b only, neither) of a x b, one per capture pattern of the
    other lists that holds at least one of them."""
    others = [c for c in table.columns if c not in ("count", a, b)]
    if not others:
        return []
    held = table[table[others].sum(axis=1) > 0]
    out = []
    for _, part in held.groupby(others):
        cells = {(int(x), int(y)): 0.0 for x in (0, 1) for y in (0, 1)}
        for x, y, count in zip(part[a], part[b], part["count"]):
            cells[(int(x), int(y))] += float(count)
        out.append((cells[(1, 1)], cells[(1, 0)], cells[(0, 1)], cells[(0, 0)]))
    return out


def _mantel_haenszel(slices: list[tuple[float, float, float, float]]) -> tuple[float | None, float | None]:
    """The Mantel-Haenszel log odds ratio and its Robins-Breslow-Greenland standard error."""
    s = np.array([x for x in slices if sum(x) > 0], dtype=float).reshape(-1, 4)
    a, b, c, d = s.T
    n = s.sum(axis=1)
    p, q, r, t = (a + d) / n, (b + c) / n, a * d / n, b * c / n
    big_r, big_s = float(r.sum()), float(t.sum())
    if big_r <= 0 or big_s <= 0:
        return None, None
    var = (float((p * r).sum()) / (2 * big_r**2) + float((p * t + q * r).sum()) / (2 * big_r * big_s)
           + float((q * t).sum()) / (2 * big_s**2))
    return math.log(big_r / big_s), math.sqrt(var)


def pair_dependence(tables: Sequence[pd.DataFrame]) -> list[PairDependence]:
    """The pooled conditional dependence of every pair of lists, over the strata's capture tables.

    Args:
        tables: capture tables (one 0/1 column per list, ``count``), e.g. one per stratum; a list
            missing from a table (it names no one there) is left out of that table's slices.

    Returns:
        One :class:`PairDependence` per pair of lists, in the order the lists first appear.

    Example:
        >>> t = pd.DataFrame({"A": [1, 0, 1, 1, 0, 0, 1], "B": [0, 1, 1, 0, 1, 0, 1],
        ...                   "C": [0, 0, 0, 1, 1, 1, 1], "count": [50, 50, 5, 40, 40, 40, 2]})
        >>> round(pair_dependence([t])[0].log_odds_ratio, 2)
        -2.69
    """
    names: list[str] = []
    for table in tables:
        names += [str(c) for c in table.columns if c != "count" and str(c) not in names]
    out = []
    for a, b in itertools.combinations(names, 2):
        slices = [s for table in tables if a in table.columns and b in table.columns for s in _slices(table, a, b)]
        persons = int(sum(sum(s) for s in slices))
        lor, se = _mantel_haenszel(slices) if slices else (None, None)
        z = None if lor is None or not se else lor / se
        out.append(PairDependence((a, b), lor, se, z, persons))
    return out


def negative_pairs(tables: Sequence[pd.DataFrame], *, alpha: float = 0.05) -> list[PairDependence]:
    """The pairs of lists whose pooled conditional log odds ratio is significantly below 0.

    One-sided at level ``alpha`` divided by the number of pairs tested (Bonferroni).

    Raises:
        ConfigError: ``alpha`` outside (0, 1).
    """
    if not 0 < alpha < 1:
        raise ConfigError(f"dependence level {alpha}: must lie between 0 and 1")
    pairs = pair_dependence(tables)
    tested = [p for p in pairs if p.z is not None]
    if not tested:
        return []
    bound = float(special.ndtri(alpha / len(tested)))
    return [p for p in tested if p.z is not None and p.z < bound]


def format_pairs(pairs: Sequence[tuple[str, str]]) -> str:
    """Pairs of list names as the text of auto's ``negative_pairs`` option (JSON)."""
    return json.dumps([list(p) for p in pairs], ensure_ascii=False)


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """The pairs of list names in the text of auto's ``negative_pairs`` option.

    Raises:
        ConfigError: not a JSON list of pairs of names.
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in value):
        raise ConfigError(f"negative_pairs={text!r}: write a JSON list of pairs of list names, "
                          "e.g. [[\"hospital\", \"survey\"]]")
    return [(str(p[0]), str(p[1])) for p in value]


@dataclass(frozen=True)
class OverlapCheck:
    """A posterior predictive check of LCMCR's fit of one list pair's conditional dependence.

    Attributes:
        lists: the two lists' names.
        observed: the Mantel-Haenszel log odds ratio of the pair, pooled over the tables checked.
        replicated: the median of the same statistic over tables replicated from LCMCR's posterior.
        p_value: the share of replicates at or below ``observed`` (ties count half); None: no table
            could be checked (fewer than ``min_persons`` persons, the pair absent, too many lists).
        tables: tables checked; draws: posterior draws per table.
    """

    lists: tuple[str, str]
    observed: float | None
    replicated: float | None
    p_value: float | None
    tables: int
    draws: int

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {"lists": list(self.lists), "observed": self.observed, "replicated": self.replicated,
                "p_value": self.p_value, "tables": self.tables, "draws": self.draws}


def _slice_cells(patterns: np.ndarray, a: int, b: int) -> np.ndarray:
    """Indices into ``patterns`` (every non-zero pattern, one per row) of the 2 x 2 cells (a&b, a only, b
    only, neither) of each pattern of the other lists that holds the person: shape (slices, 4)."""
    others = [j for j in range(patterns.shape[1]) if j not in (a, b)]
    index = {tuple(int(v) for v in row): i for i, row in enumerate(patterns)}
    out = []
    for rest in itertools.product((0, 1), repeat=len(others)):
        if not any(rest):
            continue
        row = []
        for x, y in ((1, 1), (1, 0), (0, 1), (0, 0)):
            full = [0] * patterns.shape[1]
            full[a], full[b] = x, y
            for j, v in zip(others, rest):
                full[j] = v
            row.append(index[tuple(full)])
        out.append(row)
    return np.array(out, dtype=np.int64).reshape(-1, 4)


def _mh_sums(counts: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Mantel-Haenszel sums R = sum(a d / n) and S = sum(b c / n) over the slices, per row of ``counts``."""
    a, b, c, d = (counts[..., cells[:, i]] for i in range(4))
    n = a + b + c + d
    safe = np.where(n > 0, n, 1.0)
    return (np.where(n > 0, a * d / safe, 0.0).sum(axis=-1), np.where(n > 0, b * c / safe, 0.0).sum(axis=-1))


def _posterior_patterns(table: pd.DataFrame, patterns: np.ndarray, options: LcmcrOptions, seed: int,
                        draws: int) -> np.ndarray:
    """Draws from LCMCR's posterior of the probability of every non-zero capture pattern given that the
    person is documented: shape (draws, patterns). One chain, the fit's burn-in, then a draw of its class
    weights and capture probabilities every ``CHECK_THINNING`` iterations."""
    counts = table["count"].to_numpy(dtype=np.int64)
    n = int(counts.sum())
    cap = max(1000 * n, 1_000_000) if options.max_n is None else int(options.max_n)
    cells = block_cells(table.drop(columns="count").to_numpy(dtype=np.int8), counts)
    word = int(np.random.SeedSequence([seed, 0x0C4E]).generate_state(1, dtype=np.uint64)[0])
    chain = Chain(cells, options.K, options.a_alpha, options.b_alpha, cap - n, _rng.new_state(word),
                  joint=options.joint or 0)
    chain.advance(options.burnin, 1, options.burnin)
    out = np.empty((draws, len(patterns)))
    for i in range(draws):
        chain.advance(CHECK_THINNING, CHECK_THINNING)
        state = chain.export_state()
        lam = np.clip(state.lam, 1e-12, 1 - 1e-12)  # lists x classes
        given = np.exp(patterns @ np.log(lam) + (1 - patterns) @ np.log1p(-lam))  # patterns x classes
        probs = given @ state.nu
        out[i] = probs / probs.sum()
    return out


def check_overlaps(tables: Sequence[pd.DataFrame], pair: tuple[str, str], *, options: LcmcrOptions | None = None,
                   seed: int = 0, draws: int = CHECK_DRAWS, min_persons: int = 50) -> OverlapCheck:
    """Whether LCMCR reproduces a list pair's conditional dependence: a posterior predictive check,
    pooled over tables (the module docstring).

    Args:
        tables: capture tables, e.g. one per stratum; those without both lists, with fewer than
            ``min_persons`` persons (auto then uses no LCMCR) or with more than ``CHECK_MAX_LISTS``
            lists are left out.
        pair: the two lists' names.
        options: LCMCR's options (its K, prior, burn-in and cap); None for the defaults.
        seed: seed of the chains.
        draws: posterior draws per table.

    Returns:
        An :class:`OverlapCheck`; a small ``p_value`` says LCMCR's fit does not hold the pair's dependence.

    Example:
        >>> t = pd.DataFrame({"A": [1, 0, 1, 1, 0, 0, 1], "B": [0, 1, 1, 0, 1, 0, 1],
        ...                   "C": [0, 0, 0, 1, 1, 1, 1], "count": [250, 250, 5, 200, 200, 200, 10]})
        >>> check_overlaps([t], ("A", "B"), draws=50).p_value < 0.05
        True
    """
    opts = options or LcmcrOptions()
    rng = np.random.default_rng([seed, 0x0C4F])
    obs_r = obs_s = 0.0
    rep_r, rep_s = np.zeros(draws), np.zeros(draws)
    used = 0
    for number, raw in enumerate(tables):
        if pair[0] not in raw.columns or pair[1] not in raw.columns:
            continue
        table = validate_table(raw)
        names = [str(c) for c in table.columns if c != "count"]
        n = int(table["count"].sum())
        if n < min_persons or not 3 <= len(names) <= CHECK_MAX_LISTS:
            continue
        patterns = np.array(list(itertools.product((0, 1), repeat=len(names)))[1:], dtype=float)
        cells = _slice_cells(patterns, names.index(pair[0]), names.index(pair[1]))
        index = {tuple(row): i for i, row in enumerate(patterns.astype(int).tolist())}
        observed = np.zeros(len(patterns))
        for row, count in zip(table[names].to_numpy(dtype=int).tolist(), table["count"]):
            observed[index[tuple(row)]] += float(count)
        r, s = _mh_sums(observed, cells)
        obs_r, obs_s = obs_r + float(r), obs_s + float(s)
        probs = _posterior_patterns(table, patterns, opts, seed + number, draws)
        replicated = rng.multinomial(n, probs).astype(float)
        r, s = _mh_sums(replicated, cells)
        rep_r, rep_s = rep_r + r, rep_s + s
        used += 1
    if not used or obs_r <= 0 or obs_s <= 0:
        return OverlapCheck(pair, None, None, None, used, draws)
    observed_lor = math.log(obs_r / obs_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        rep = np.log(rep_r / rep_s)
    rep = np.where(np.isnan(rep), np.inf, rep)  # no slice with both cells: no evidence of a shortfall
    p_value = float((np.sum(rep < observed_lor) + 0.5 * np.sum(rep == observed_lor)) / draws)
    return OverlapCheck(pair, observed_lor, float(np.median(rep)), p_value, used, draws)
