"""Plausible linkages drawn from the stored pair probabilities (link uncertainty, issue 8).

A draw samples every uncertain candidate pair as a link with its match probability, then
clusters the sampled links under the same chaining guard as the best linkage. People's
decisions are never sampled: a 'same' decision is always a link, a 'different' decision never.
Pairs whose probability is within ``certainty`` of 0 or 1 are taken as certain, so a case whose
links are all certain yields no draws and its estimate is the plain one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from undercount.errors import LinkError
from undercount.link.clusters import cluster_records
from undercount.link.run import _decision_pairs
from undercount.store import Case

__all__ = ["LinkageDraws", "draw_linkages", "sample_linkages"]

_RECORD_COLUMNS = ["record_id", "source", "sex", "id_number", "id_valid"]


@dataclass(frozen=True)
class LinkageDraws:
    """The drawn linkages of a case and what they share.

    Attributes:
        assignments: one person_id Series per draw, indexed by record_id.
        uncertain_pairs: candidate pairs whose link was sampled.
        link_run: the link run whose pairs were used.
    """

    assignments: list[pd.Series]
    uncertain_pairs: int
    link_run: str | None


def sample_linkages(
    records: pd.DataFrame,
    pairs: pd.DataFrame,
    n: int,
    *,
    seed: int = 0,
    must_link: list[tuple[int, int]] | None = None,
    cannot_link: list[tuple[int, int]] | None = None,
    certainty: float = 1e-6,
) -> tuple[list[pd.Series], int]:
    """Draw ``n`` linkages: each uncertain pair linked with its probability, then clustered.

    Args:
        records: record_id, source, sex, id_number, id_valid.
        pairs: record_id_l, record_id_r, probability.
        n: number of draws.
        seed: seed of the draws (the same seed gives the same linkages).
        must_link, cannot_link: people's decisions; never sampled.
        certainty: probabilities within this of 0 or 1 are certain.

    Returns:
        (the drawn person_id Series, the number of uncertain pairs). No draws when no pair is
        uncertain.

    Example:
        >>> recs = pd.DataFrame({"record_id": [1, 2], "source": ["a", "b"], "sex": ["male"] * 2,
        ...     "id_number": [None] * 2, "id_valid": [None] * 2})
        >>> prs = pd.DataFrame({"record_id_l": [1], "record_id_r": [2], "probability": [1.0]})
        >>> sample_linkages(recs, prs, 5)
        ([], 0)
    """
    must = list(must_link or [])
    cannot = list(cannot_link or [])
    decided = {tuple(sorted(p)) for p in must + cannot}
    lo = pairs["record_id_l"].to_numpy(dtype=np.int64)
    hi = pairs["record_id_r"].to_numpy(dtype=np.int64)
    prob = pairs["probability"].to_numpy(dtype=float)
    if decided:
        key = pd.MultiIndex.from_arrays([np.minimum(lo, hi), np.maximum(lo, hi)])
        free = ~key.isin(list(decided))
    else:
        free = np.ones(len(prob), dtype=bool)
    certain_link = free & (prob >= 1 - certainty)
    uncertain = free & (prob > certainty) & (prob < 1 - certainty)
    n_uncertain = int(uncertain.sum())
    if n_uncertain == 0 or n <= 0:
        return [], n_uncertain
    rng = np.random.default_rng(seed)
    draws: list[pd.Series] = []
    for _ in range(n):
        linked = certain_link | (uncertain & (rng.random(len(prob)) < prob))
        sampled = pd.DataFrame({"record_id_l": lo[linked], "record_id_r": hi[linked], "probability": prob[linked]})
        # Every sampled pair is a link; the guard still splits chains at their weakest link.
        draws.append(
            cluster_records(records, sampled, threshold=0.0, must_link=must, cannot_link=cannot)
        )
    return draws, n_uncertain


def draw_linkages(case: Case, n: int, *, seed: int = 0) -> LinkageDraws:
    """Draw ``n`` plausible linkages of a linked case from its current link run.

    Args:
        case: a linked case.
        n: number of draws (0 gives none).
        seed: seed of the draws.

    Returns:
        LinkageDraws (empty when every link is certain).

    Raises:
        LinkError: the case has not been linked.
    """
    run = case.current_run("link")
    if run is None:
        raise LinkError(f"{case.path} has not been linked: run 'undercount link {case.path}'")
    pairs = case.pairs(run)
    records = case.records(columns=_RECORD_COLUMNS)
    must, cannot = _decision_pairs(case)
    assignments, uncertain = sample_linkages(records, pairs, n, seed=seed, must_link=must, cannot_link=cannot)
    return LinkageDraws(assignments=assignments, uncertain_pairs=uncertain, link_run=run)
