"""Estimates by period and by place: the population broken down one covariate at a time.

An editor asks "by month? by region?". The headline is stratified by whatever changes how likely
people are to be recorded (age group, sex); a *breakdown* is a separate estimate of the same
population stratified by one covariate only, so that its rows answer that question and add up to
a total of their own:

* **period**: the quarter of the event (a person's most frequent event date over their records);
* **place**: the place recorded for the person, grouped before estimation
  (:func:`undercount.estimate.strata.place_groups`): each place read as its governorate where the
  gazetteer knows it (neighbourhoods and spellings in any script join it), the places with at least
  ``MIN_PLACE_OVERLAP`` (50) persons on two or more lists their own rows, the largest first, at most
  ``MAX_PLACES`` (8), and the rest one row, "other places".

A breakdown is made when the lists carry the covariate: known for at least ``MIN_KNOWN`` of the
population's persons, with at least two values. Unknown values are imputed as for any stratum
(:func:`undercount.estimate.strata.impute_strata`) and sparse rows are merged with a neighbour
(an adjacent quarter first), so a row may read "2023Q4+2024Q1". Each row is estimated with the
run's method and pooled over the same plausible linkages (and the same correction for missed
links) as the headline, so its interval carries the same uncertainties.

Every row gets the range and verdict logic of a headline where it applies: the range across
models without strata on the row's own capture table (the best linkage, the first imputation):
the log-linear models within ``RANGE_DISTANCE`` of the best, the heterogeneity fit, dga (3 to 5
lists) and Chao's lower bound; LCMCR is left out of a row's range (one sampler run per row would
cost as much as the whole estimate; ``auto``'s own rows already use it); then the verdict
(:func:`undercount.estimate.verdict.judge`) with the number of lists that name anyone in the row.
A row whose three lists cannot bound it says "lower bound only" as the headline would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from undercount.errors import ConfigError, ModelError
from undercount.estimate.histories import capture_table
from undercount.estimate.models import ModelRange, model_range
from undercount.estimate.registry import Fitting
from undercount.estimate.results import EstimateResult
from undercount.estimate.strata import (
    MAX_PLACES,
    MIN_PLACE_OVERLAP,
    OTHER_PLACES,
    group_places,
    impute_strata,
    merge_sparse,
    person_covariates,
    place_groups,
)
from undercount.estimate.verdict import Verdict, judge
from undercount.store import Case

__all__ = ["BREAKDOWNS", "MIN_KNOWN", "Breakdown", "BreakdownRow", "parse_breakdowns", "breakdown_table",
           "judge_rows", "make_breakdown", "covariates"]

BREAKDOWNS = ("period", "place")
MIN_KNOWN = 0.5  # a covariate known for fewer of the population's persons gives no breakdown
NAMES = {"period": "period (quarter of the event)", "place": "place"}
EMPTY_LIST = "names no one in this stratum"


def parse_breakdowns(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """The breakdowns asked for: 'period,place' (default), 'period', 'place' or 'none'.

    Raises:
        ConfigError: an unknown breakdown.

    Example:
        >>> parse_breakdowns("place, period")
        ('place', 'period')
    """
    if value is None:
        return BREAKDOWNS
    items = [v.strip() for v in (value.split(",") if isinstance(value, str) else value) if v.strip()]
    if items in (["none"], []):
        return ()
    bad = [v for v in items if v not in BREAKDOWNS]
    if bad:
        raise ConfigError(f"--breakdowns {','.join(bad)}: use none or any of {', '.join(BREAKDOWNS)}")
    return tuple(dict.fromkeys(items))


@dataclass(frozen=True)
class BreakdownRow:
    """One period or place: its estimate, its range across models and its verdict."""

    label: str
    result: EstimateResult
    lists: int
    verdict: Verdict
    range: ModelRange | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: label, documented, estimate, lower, upper, estimable, reason, method, model,
        warnings, lists, verdict and range (its ends, their models and Chao's floor)."""
        r = self.result.to_dict()
        spread = None if self.range is None else {k: v for k, v in self.range.to_dict().items() if k != "models"}
        return {"label": self.label, **{k: r[k] for k in ("documented", "estimate", "lower", "upper", "level",
                                                          "estimable", "reason", "method", "model", "warnings")},
                "lists": self.lists, "verdict": self.verdict.to_dict(), "range": spread}


@dataclass(frozen=True)
class Breakdown:
    """The population estimated by one covariate.

    Attributes:
        by: 'period' or 'place'.
        made: False when the lists do not carry the covariate (``why`` says so).
        why: how the breakdown was made, or why not.
        known: the share of the population's persons whose value is recorded.
        rows: one row per period or place (merged sparse rows carry a merged label).
        total: the rows' own total (stratified by this covariate only; it differs a little from the
            headline, which is stratified differently).
    """

    by: str
    made: bool
    why: str
    known: float = 0.0
    rows: tuple[BreakdownRow, ...] = field(default_factory=tuple)
    total: EstimateResult | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: by, name, made, why, known, rows, total."""
        total = None if self.total is None else {k: v for k, v in self.total.to_dict().items()
                                                 if k in ("documented", "estimate", "lower", "upper", "method")}
        return {"by": self.by, "name": NAMES.get(self.by, self.by), "made": self.made, "why": self.why,
                "known": round(self.known, 4), "rows": [r.to_dict() for r in self.rows], "total": total}


def _label(stratum: str, by: str) -> str:
    """'period=2024Q1+2024Q2' -> '2024Q1+2024Q2'."""
    return stratum.split("=", 1)[1] if stratum.startswith(f"{by}=") else stratum


def _lists_in(result: EstimateResult, lists: int) -> int:
    """The lists that name anyone in a row: the run's lists less those its fit left out as empty."""
    return lists - sum(EMPTY_LIST in w for w in result.warnings)


def covariates(case: Case, matrix: pd.DataFrame, lists: Sequence[str]) -> pd.DataFrame:
    """The covariates of the population's persons (the index of ``matrix``) on the current linkage."""
    with case.reading():  # one connection for both reads
        records = case.records(columns=["record_id", "source", "age", "sex", "place", "event_date"])
        clusters = case.clusters()[["record_id", "person_id"]]
    records = records[records["source"].isin(list(lists))]
    recs = records.merge(clusters, on="record_id")
    return person_covariates(recs[recs["person_id"].isin(matrix.index)], matrix.index)


def breakdown_table(matrix: pd.DataFrame, values: pd.Series, by: str, *, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Each row's capture table on the best linkage (first imputation, sparse rows merged as the estimate merges them).

    Args:
        matrix: the population's persons x lists 0/1 matrix (best linkage).
        values: each person's value of ``by`` (None when unknown), indexed like ``matrix``.
        by: the covariate.
        seed: seed of the imputation.

    Returns:
        row label ('2024Q1') -> capture table of the lists that name anyone in it.
    """
    labels = impute_strata(matrix, values.to_frame(by), [by], m=1, rng=np.random.default_rng(seed))[0]
    mapping, _ = merge_sparse(matrix, labels)
    merged = labels.map(lambda s: mapping.get(s, s))
    out = {}
    for name, idx in merged.groupby(merged.to_numpy()).groups.items():
        sub = matrix.loc[idx]
        sub = sub.loc[:, sub.sum(axis=0) > 0]
        if sub.shape[1] >= 2:
            out[_label(str(name), by)] = capture_table(sub)
    return out


def judge_rows(strata: dict[str, EstimateResult], tables: dict[str, pd.DataFrame], by: str, *, lists: int,
               level: float, seed: int, criterion: str, fitting: Fitting | None) -> tuple[BreakdownRow, ...]:
    """Each row with its range across models (on its own table, LCMCR left out) and its verdict."""
    rows = []
    for stratum, result in strata.items():
        label = _label(stratum, by)
        table = tables.get(label)
        spread = None
        if table is not None and result.estimable and table.shape[1] >= 3:
            try:
                spread = model_range(result, [], table, level=level, seed=seed, criterion=criterion, fitting=fitting,
                                     lcmcr=False)
            except ModelError:
                spread = None
        count = table.shape[1] - 1 if table is not None else _lists_in(result, lists)
        rows.append(BreakdownRow(label, result, count, judge(result, lists=count, models=spread), spread))
    return tuple(rows)


def _order(rows: tuple[BreakdownRow, ...], by: str) -> tuple[BreakdownRow, ...]:
    """Periods in time order; places by estimate, largest first, "other places" last."""
    if by == "period":
        return tuple(sorted(rows, key=lambda r: r.label))
    return tuple(sorted(rows, key=lambda r: (r.label == OTHER_PLACES, -(r.result.estimate or r.result.documented),
                                             r.label)))


def make_breakdown(
    case: Case, by: str, *, matrix: pd.DataFrame | None, lists: Sequence[str], population_label: str,
    estimate: Callable[[str, dict[str, str] | None], tuple[dict[str, EstimateResult], EstimateResult]],
    level: float, seed: int, criterion: str, fitting: Fitting | None, recorded: pd.DataFrame | None = None,
) -> Breakdown:
    """One breakdown of a population.

    Args:
        case: the linked case.
        by: 'period' or 'place'.
        matrix: the population's persons x lists matrix on the best linkage (None: nothing to break down).
        lists: the lists of the estimate.
        population_label: the population's words ('killed'), for the reasons.
        estimate: runs the population's estimate stratified by ``by`` alone (pooled as the
            headline is), given the place groups (None unless ``by`` is place), and returns (rows, their total).
        level, seed, criterion, fitting: as the headline's range across models.
        recorded: the covariates of ``matrix``'s persons made already (the headline's,
            :attr:`undercount.estimate.case.StratifiedResult.covariates`); None: read from the case.

    Returns:
        The :class:`Breakdown` (``made`` False, with the reason, when the lists do not carry ``by``).
    """
    if matrix is None or matrix.empty:
        return Breakdown(by, False, f"no {population_label} to break down")
    values = (covariates(case, matrix, lists) if recorded is None else recorded.reindex(matrix.index))[by]
    known = float(values.notna().mean())
    distinct = int(values.dropna().nunique())
    name = NAMES.get(by, by)
    groups = None
    if by == "place" and distinct >= 2:
        groups = place_groups(values, matrix)
        values = group_places(values, groups)
        if values.dropna().nunique() < 2 and known >= MIN_KNOWN:
            return Breakdown(by, False, f"no two places hold {MIN_PLACE_OVERLAP} or more {population_label} on two or "
                                        "more lists: too few to estimate by place", known)
    if known < MIN_KNOWN or distinct < 2:
        why = (f"the lists record one {by} only" if distinct == 1 else
               f"the {name} is recorded for {known:.0%} of the {population_label}: too few to break the estimate down"
               if distinct else f"the lists do not record the {name}")
        return Breakdown(by, False, why, known)
    strata, total = estimate(by, groups)
    if not strata:
        return Breakdown(by, False, f"the {name} gives no separate groups that can be estimated", known, (), total)
    tables = breakdown_table(matrix, values, by, seed=seed)
    rows = judge_rows(strata, tables, by, lists=len(lists), level=level, seed=seed, criterion=criterion,
                      fitting=fitting)
    unknown = f"; unknown for {1 - known:.0%} of persons, imputed" if known < 1 else ""
    grouped = (f"places grouped: governorates where known, those with {MIN_PLACE_OVERLAP} or more persons on two or "
               f"more lists (at most {MAX_PLACES}) each a row, the rest '{OTHER_PLACES}'; " if groups else "")
    why = (f"{population_label} estimated by {name} alone ({len(rows)} groups{unknown}); {grouped}sparse groups merged "
           "with a neighbour; each row pooled over the same linkages as the headline")
    return Breakdown(by, True, why, known, _order(rows, by), total)
