"""The linkage at a few thresholds: how far the estimate moves when records are linked more or less readily.

The headline is estimated on the best linkage (pairs with match probability at or above the link
run's threshold, 0.5 by default, are links) and pooled over plausible linkages drawn from the
pairs' probabilities. A reader also asks how much the figure depends on where that line is drawn:
a lower threshold links more records (fewer people, more overlap, a lower estimate), a higher one
fewer (more people seen by one list only, a higher estimate).

Nothing is linked again: the link run's stored pairs are clustered at each threshold under the same
chaining guard and the same review decisions as the best linkage
(:func:`undercount.link.clusters.cluster_records`), which takes seconds. Each threshold's linkage
is then estimated as the headline is (its method, options and strata), with one imputation and
without the correction for missed links: the row differs from the headline's best linkage by the
threshold alone. The linkages are the replicates of one estimate (:func:`threshold_fits` hands
them to ``estimate`` together): a stratum's chains run on from one threshold's table to the next
and are judged together, as the linkage draws' are, and each row is its own linkage's total (the
sum of its strata). Until 2026-12-07 each row was one fit without strata run until it converged:
on the gaza-like preset (about 42,000 persons on 3 lists) three such fits took about 40% of the
whole estimate's CPU time (issue 21). The rows are named after their threshold ("linkage at match
probability 0.3") and count towards the range across models
(:mod:`undercount.estimate.models`); the verdict does not read them as models that disagree (a
linkage at 0.8 deliberately leaves out links that are more likely than not).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from undercount.estimate.case import StratifiedResult
from undercount.estimate.models import ModelFit, fit_row
from undercount.link.clusters import cluster_records
from undercount.link.run import decision_pairs
from undercount.store import Case
from undercount.store.runs import link_model

__all__ = ["THRESHOLDS", "linkage_at", "threshold_fits", "used_threshold"]

#: The thresholds tried besides the link run's own (match probability).
THRESHOLDS = (0.3, 0.8)


def used_threshold(case: Case) -> float | None:
    """The threshold of the current link run, or None when the case has not been linked."""
    run = case.current_run("link")
    if run is None:
        return None
    return link_model(case, run)[1]


def linkage_at(case: Case, threshold: float) -> pd.Series:
    """The current link run's stored pairs clustered at another threshold, with people's decisions.

    Args:
        case: a linked case.
        threshold: pairs with match probability at or above it are links.

    Returns:
        person_id indexed by record_id, for the records the link run linked.

    Example:
        >>> linkage_at(case, 0.8)  # doctest: +SKIP
    """
    return _linkages_at(case, [threshold])[float(threshold)]


def _linkages_at(case: Case, thresholds: Sequence[float]) -> dict[float, pd.Series]:
    """:func:`linkage_at` at each threshold, the case read once."""
    run = case.current_run("link")
    records = case.query(  # the records the link run linked (one release per list)
        "SELECT r.record_id, r.source, r.sex, r.id_number, r.id_valid FROM uc_records r "
        "JOIN uc_clusters c ON c.record_id = r.record_id AND c.run_id = ? ORDER BY r.record_id", [run])
    pairs = case.query("SELECT record_id_l, record_id_r, probability FROM uc_pairs WHERE run_id = ?", [run])
    must, cannot = decision_pairs(case)
    return {float(t): cluster_records(records, pairs, threshold=float(t), must_link=must, cannot_link=cannot)
            for t in thresholds}


def threshold_fits(case: Case, estimate: Callable[[list[pd.Series]], StratifiedResult], *,
                   thresholds: Sequence[float] = THRESHOLDS) -> list[ModelFit]:
    """One row of the range per threshold: the linkage used and ``thresholds``, in increasing order.

    Args:
        case: a linked case.
        estimate: estimates the population on the given linkages (person_id by record_id) as the
            replicates of one estimate, with the headline's strata, one imputation each, and
            returns its result (whose ``replicate_totals`` are the linkages' own totals, in order).
        thresholds: the thresholds tried besides the link run's own.

    Returns:
        The rows (none when the case has no link run with a threshold).
    """
    with case.reading():
        used = used_threshold(case)
        if used is None:
            return []
        linkages = _linkages_at(case, sorted({used, *map(float, thresholds)}))
    together = estimate(list(linkages.values()))
    strata = ", ".join(b.replace("_", " ") for b in together.by) or "none"
    unsettled = together.total.details.get("converged") is False
    rows = []
    totals = together.replicate_totals or (together.total,) * len(linkages)  # none: not estimable (too few lists)
    for t, result in zip(linkages, totals, strict=True):
        what = f"{result.method}, by {strata}" if together.by else f"{result.method} {result.model or ''}".rstrip() + ", no strata"
        label = f"linkage at match probability {t:g}{' (the one used)' if t == used else ''}: {what}"
        how = "the headline's linkage" if t == used else f"the stored pairs linked at {t:g} instead of {used:g}"
        note = (f"{how}: {result.documented:,} persons documented; one imputation, no correction for missed links"
                + ("; the sampler did not settle" if unsettled else ""))
        rows.append(fit_row(label, result, strata, note=note, threshold=t))
    return rows
