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

References: Mantel and Haenszel (1959), J. Natl Cancer Inst. 22:719-748; Robins, Breslow and
Greenland (1986), Biometrics 42:311-323; Manrique-Vallier (2016), Biometrics 72:1246-1254.
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

__all__ = ["PairDependence", "pair_dependence", "negative_pairs", "format_pairs", "parse_pairs"]


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
