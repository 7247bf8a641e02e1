"""Estimates that carry the uncertainty of the linkage (issue 8).

The overlap counts that drive every capture-recapture estimate come from the linkage, which is
itself uncertain. :func:`estimate_with_linkage` draws plausible linkages from the stored pair
probabilities (:func:`undercount.link.draws.draw_linkages`), rebuilds the capture histories of
each draw, estimates each (with one imputation of unknown strata per draw) and pools them: for
Bayesian methods the posterior draws are mixed, for the others each draw's interval becomes
simulated draws that are mixed the same way, which is Rubin's rule in sampling form (the pooled
spread is the within-draw spread plus the between-draw spread).

The pooled interval is never narrower than the best linkage's: its ends are the envelope of the
mixed draws' quantiles and the best linkage's interval (the best linkage is one of the plausible
linkages, and the draws' probabilities may be miscalibrated; docs/linkage-uncertainty.md). A draw
without a finite upper limit puts 5% of its mass beyond any bound
(:func:`undercount.estimate.case.pooling_draws`): the pooled upper limit is finite while fewer than
half of the draws lack one, and never when the best linkage's interval lacks one.

It reports, next to the pooled estimate, the same estimate from the single best linkage, the part
of the interval's width that comes from the linkage, and how the documented count varies across
draws. When no link is uncertain (every probability 0 or 1, or people decided them) there is
nothing to draw and the result is the plain one.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from undercount.errors import ConfigError
from undercount.estimate.auto import check_seed, fixed_fits_known, fixed_fits_since, keep_fixed_fits
from undercount.estimate.breakdowns import make_breakdown, parse_breakdowns
from undercount.estimate.case import StratifiedResult, check_imputations, estimate_case, store_result
from undercount.estimate.correction import Correction, correction_for, with_correction
from undercount.estimate.lcmcr import adaptive_warm_starts
from undercount.estimate.models import ModelFit
from undercount.estimate.population import Population, parse_population, populations_present, reconcile
from undercount.estimate.registry import Fitting, choose
from undercount.estimate.results import EstimateResult
from undercount.estimate.workers import run_forked, side_processes
from undercount.link.draws import LinkageDraws, draw_linkages
from undercount.store import Case

__all__ = ["DEFAULT_LINK_DRAWS", "Progress", "PopulationsResult", "estimate_populations", "estimate_with_linkage",
           "linkage_summary"]

DEFAULT_LINK_DRAWS = 20
#: A progress callback: (what is being done, steps done, steps in all), e.g. ("best linkage: strata", 2, 6).
Progress = Callable[[str, int, int], None]


def _silent(what: str, done: int, total: int) -> None:
    """The progress callback of a run nobody watches."""


def _width(result: EstimateResult) -> float | None:
    if not result.estimable or result.lower is None or result.upper is None:
        return None
    return float(result.upper - result.lower)


def linkage_summary(best: EstimateResult, pooled: EstimateResult) -> dict[str, Any]:
    """How much of the pooled interval the linkage accounts for.

    Args:
        best: the result from the single best linkage.
        pooled: the result pooled over linkage draws.

    Returns:
        A dict with the best linkage's estimate and interval, ``linkage_share`` (the part of the
        pooled interval's width that the best linkage's interval lacks, 0 to 1) and
        ``variance_share`` (the same in variance, assuming intervals proportional to standard
        errors); shares are None where an interval has no finite end.

    Example:
        >>> a = EstimateResult("x", 10, 20.0, 15.0, 25.0)
        >>> b = EstimateResult("x", 10, 21.0, 14.0, 34.0)
        >>> linkage_summary(a, b)["linkage_share"]
        0.5
    """
    w_best, w_pool = _width(best), _width(pooled)
    share = var_share = None
    if w_best is not None and w_pool is not None and w_pool > 0:
        share = float(np.clip(1 - w_best / w_pool, 0.0, 1.0))
        var_share = float(np.clip(1 - (w_best / w_pool) ** 2, 0.0, 1.0))
    return {
        "best_estimate": best.estimate,
        "best_lower": best.lower,
        "best_upper": best.upper,
        "best_documented": best.documented,
        "linkage_share": share,
        "variance_share": var_share,
    }


def _with_linkage(result: EstimateResult, info: dict[str, Any]) -> EstimateResult:
    return replace(result, details={**result.details, "linkage": info})


def _envelope(pooled: EstimateResult, best: EstimateResult) -> EstimateResult:
    """The pooled result with its interval widened to hold the best linkage's interval."""
    if not (pooled.estimable and best.estimable) or pooled.lower is None or best.lower is None:
        return pooled
    upper = None if pooled.upper is None or best.upper is None else max(pooled.upper, best.upper)
    return replace(pooled, lower=min(pooled.lower, best.lower), upper=upper)


def _pooled_with_summary(best: EstimateResult, pooled: EstimateResult, common: dict[str, Any]) -> EstimateResult:
    widened = _envelope(pooled, best)
    return _with_linkage(widened, {**common, **linkage_summary(best, widened)})


def estimate_with_linkage(
    case: Case,
    *,
    link_draws: int = DEFAULT_LINK_DRAWS,
    seed: int = 0,
    store: bool = True,
    imputations: int = 10,
    by: str | Sequence[str] | None = None,
    method: str = "auto",
    options: Any = None,
    model: str | None = None,
    criterion: str | None = None,
    level: float = 0.95,
    population: Population | None = None,
    draws: LinkageDraws | None = None,
    batch: str | None = None,
    releases: Any = None,
    correction: str = "auto",
    models: bool = True,
    progress: Progress | None = None,
    breakdowns: str | Sequence[str] | None = None,
    shared: dict[Any, Any] | None = None,
) -> StratifiedResult:
    """Estimate a linked case, pooling over ``link_draws`` plausible linkages.

    Args:
        case: a linked case.
        link_draws: linkages to draw (0: the single best linkage only).
        seed: seed of the linkage draws, imputations and samplers.
        store: write the pooled result as an 'estimate' run.
        imputations: imputations of unknown strata for the best linkage (each draw gets one).
        by, method, options, model, criterion, level, population: as
            :func:`undercount.estimate.case.estimate_case`.
        draws: linkages drawn already (:func:`undercount.link.draws.draw_linkages`), e.g. shared by
            the populations of one run; None draws ``link_draws`` of them.
        batch: stored with the run: the runs of one batch are the populations of one estimate.
        releases: the release of a list to count instead of its newest linked one (as
            :func:`undercount.estimate.case.estimate_case`).
        correction: the correction for missed links (:func:`undercount.estimate.correction.correction_for`):
            'auto' (an answered search sample, else the model's unverified estimate), 'sample',
            'model' or 'none'.
        models: also fit every admissible model without strata for the range across models
            (:mod:`undercount.estimate.models`); False: the range holds the headline alone.
        progress: called as the run moves (:data:`Progress`): the linkage draws, the strata of
            the best linkage, of the correction and of the pooled draws, the range across models.
        breakdowns: the population also estimated by period and by place, one covariate at a time
            (:mod:`undercount.estimate.breakdowns`): None for both, 'period', 'place' or 'none'.
        shared: the memo of :func:`undercount.estimate.case.estimate_case` (the case read once, each
            linkage prepared once), e.g. shared by the populations of one run; None: a new one.

    Returns:
        The pooled StratifiedResult; ``total.details['linkage']`` (and each stratum's) holds the
        best linkage's figures, the linkage share and the documented count across draws;
        ``total.details['range']`` the range across models and ``total.details['verdict']`` the
        verdict in plain words (:mod:`undercount.estimate.verdict`);
        and ``total.details['correction']`` what the correction is and how much of the estimate and
        of its interval it accounts for.

    Raises:
        StoreError, LinkError: the case has not been linked.
        ConfigError: a bad option (fewer than one imputation, a negative seed or number of draws).
    """
    check_imputations(imputations)
    check_seed(seed)
    if link_draws < 0:
        raise ConfigError(f"link_draws {link_draws}: use 0 or more")
    fitting = choose(method, options, model=model, criterion=criterion)
    common_args: dict[str, Any] = {"method": fitting.name, "options": fitting.options, "level": level,
                                   "store": False, "population": population, "releases": releases,
                                   # the case read, and each linkage prepared, once for every pass
                                   "shared": {} if shared is None else shared}
    params = {**fitting.params(), "level": level, "seed": seed, "batch": batch, "correction": correction}
    report = progress or _silent
    wanted = parse_breakdowns(breakdowns)
    made = ("correction", correction)
    if made not in common_args["shared"]:  # made once per run, applied afresh by each population
        with case.reading():  # one connection for the reads
            common_args["shared"][made] = correction_for(case, correction)
    corr: Correction | None = None if common_args["shared"][made] is None else common_args["shared"][made].fresh()
    if draws is None and link_draws > 0:
        report(f"drawing {link_draws} plausible linkages", 0, 1)
        draws = draw_linkages(case, link_draws, seed=seed)
    plain = estimate_case(case, seed=seed, imputations=imputations, by=by,
                          progress=lambda done, total: report("best linkage: strata", done, total), **common_args)
    common_args["population"] = plain.population
    best = plain if corr is None or not plain.total.estimable else estimate_case(
        case, seed=seed, imputations=imputations, by=plain.by, correction=corr,
        progress=lambda done, total: report("corrected for missed links: strata", done, total), **common_args)
    if best is not plain:  # told plain.by: the reason for those strata is plain's, not "as asked"
        best = replace(best, why=plain.why)
    if draws is None or not draws.assignments or not best.total.estimable:
        info = {"draws": 0, "uncertain_pairs": 0 if draws is None else draws.uncertain_pairs}
        result = replace(best, total=with_correction(_with_linkage(best.total, info), corr, plain.total, best.total))
        result = _range_and_breakdowns(case, result, best, plain, wanted, lambda dim, places, told: estimate_case(
            case, seed=seed, imputations=imputations, by=[dim], correction=corr if best is not plain else None,
            places=places, progress=lambda done, total: told(f"by {dim}: strata", done, total), **common_args),
            fitting=fitting, seed=seed, level=level, criterion=criterion, models=models, common_args=common_args,
            report=report)
        return store_result(case, result, {**params, "link_draws": 0, "imputations": imputations,
                                           "by": best.by}) if store else result
    # the draws sampled each pair with the model's probability already: the correction gives the rest
    drawn = None if corr is None else corr.on_draws()
    pooled = estimate_case(case, seed=seed, imputations=1, assignments=draws.assignments, by=best.by,
                           correction=drawn, **common_args,
                           progress=lambda done, total: report(f"{len(draws.assignments)} linkage draws: strata",
                                                               done, total))
    documented = [int(d) for d in pooled.total.details.get("replicate_documented") or [pooled.total.documented]]
    common = {
        "draws": len(draws.assignments),
        "uncertain_pairs": draws.uncertain_pairs,
        "link_run": draws.link_run,
        "calibration": draws.calibration,
        "documented_min": min(documented),
        "documented_median": float(np.median(documented)),
        "documented_max": max(documented),
    }
    total = with_correction(_pooled_with_summary(best.total, pooled.total, common), corr, plain.total, best.total)
    strata = {
        name: _pooled_with_summary(best.strata[name], res, {}) if name in best.strata else res
        for name, res in pooled.strata.items()
    }
    result = replace(pooled, total=total, strata=strata, why=best.why)  # pooled was told best.by: say why
    assignments = draws.assignments
    result = _range_and_breakdowns(case, result, best, plain, wanted, lambda dim, places, told: estimate_case(
        case, seed=seed, imputations=1, assignments=assignments, by=[dim], correction=drawn, places=places,
        progress=lambda done, total: told(f"by {dim}: strata", done, total), **common_args),
        fitting=fitting, seed=seed, level=level, criterion=criterion, models=models, common_args=common_args,
        report=report)
    if store:
        result = store_result(case, result, {**params, "link_draws": link_draws, "imputations": imputations,
                                             "by": best.by})
    return result


#: Estimates the population stratified by one covariate alone: (covariate, its place groups or None, progress).
BreakdownRun = Callable[[str, dict[str, str] | None, Progress], StratifiedResult]


def _range_and_breakdowns(case: Case, result: StratifiedResult, best: StratifiedResult, plain: StratifiedResult,
                          wanted: Sequence[str], run: BreakdownRun, *, fitting: Fitting, seed: int, level: float,
                          criterion: str | None, models: bool, common_args: dict[str, Any], report: Progress,
                          workers: int | None = None) -> StratifiedResult:
    """The result with the range across models and the verdict (:func:`_judged`, with the rows of the linkage
    at other thresholds) and its breakdowns by period and place in its total's details ('breakdowns').

    These passes depend on the headline's passes only, not on each other: when asked for (``workers``, else
    ``UNDERCOUNT_WORKERS``, as :func:`undercount.estimate.workers.side_processes`; off by default) they run
    side by side, the range in this process and each breakdown in a child forked for it
    (:func:`undercount.estimate.workers.run_forked`). A seed gives the same result either
    way: each pass fits strata of its own (their fits, kept in the run's memo, are handed back), and a
    breakdown stratified as the headline is (``by`` that covariate alone) keeps the passes in this process.
    """
    def judged() -> StratifiedResult:
        report("range across models", 0, 1)
        with adaptive_warm_starts():  # each fit without strata starts where the previous one's chains stand
            return _judged(result, best, fitting, seed=seed, level=level, criterion=criterion, models=models,
                           linkages=_threshold_rows(case, common_args, seed=seed, by=best.by)
                           if models and best.total.estimable else ())

    dims = list(wanted) if result.total.estimable else []
    processes = side_processes(1 + len(dims), workers) if result.by not in (["period"], ["place"]) else 1
    told = report if processes < 2 else _silent  # a child's progress would write over this process's
    fitted: dict[Any, Any] = common_args["shared"].setdefault(("fitted",), {})
    lists = [str(c) for c in plain.population_notes.get("lists") or []]

    def breakdown(dim: str) -> Callable[[], tuple[dict[str, Any], dict[Any, Any], dict[Any, Any], list[Any]]]:
        def estimate(dim: str, places: dict[str, str] | None) -> tuple[dict[str, EstimateResult], EstimateResult]:
            if result.by == [dim] and dim != "place":  # stratified by this alone: its strata are the rows
                return result.strata, result.total
            broken = run(dim, places, told)
            return broken.strata, broken.total

        def made() -> dict[str, Any]:
            return make_breakdown(case, dim, matrix=plain.matrix, lists=lists, population_label=plain.population.label,
                                  estimate=estimate, level=level, seed=seed, criterion=criterion or "bic",
                                  fitting=fitting, recorded=plain.covariates).to_dict()

        return lambda: _with_what_it_made(made, fitted, processes > 1)

    jobs: list[Callable[[], Any]] = [judged, *[breakdown(dim) for dim in dims]]
    done = run_forked(jobs, processes)
    out: StratifiedResult = done[0]
    if not result.total.estimable:
        return out
    breakdowns = {}
    for dim, (made, fits, fixed, caught) in zip(dims, done[1:]):
        breakdowns[dim] = made
        for key, tables in fits.items():  # a child's stratum fits, for the later populations of the run
            fitted.setdefault(key, {}).update(tables)
        keep_fixed_fits(fixed)
        for text, category, filename, lineno in caught:  # given again here, under this process's filters
            warnings.warn_explicit(text, category, filename, lineno)
    return replace(out, total=replace(out.total, details={**out.total.details, "breakdowns": breakdowns}))


def _with_what_it_made(job: Callable[[], dict[str, Any]], fitted: dict[Any, Any], child: bool
                       ) -> tuple[dict[str, Any], dict[Any, Any], dict[Any, Any], list[Any]]:
    """``job()`` and, when it runs in a forked child, what a later pass of the calling process would
    otherwise miss: the stratum fits it added to the run's memo, the fits of tables alone it made, and
    the warnings it gave (to give again in the calling process)."""
    if not child:
        return job(), {}, {}, []
    before = {key: set(tables) for key, tables in fitted.items()}
    known = fixed_fits_known()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = job()
    fits = {key: {t: r for t, r in tables.items() if t not in before.get(key, ())} for key, tables in fitted.items()}
    return (value, {key: tables for key, tables in fits.items() if tables}, fixed_fits_since(known),
            [(str(w.message), w.category, w.filename, w.lineno) for w in caught])


def _threshold_rows(case: Case, common_args: dict[str, Any], *, seed: int, by: list[str]) -> list[ModelFit]:
    """The range's rows of the linkage at a few thresholds (:mod:`undercount.estimate.thresholds`):
    the population estimated with the headline's strata (``by``) on the stored pairs clustered at each
    threshold, the linkages estimated together as the replicates of one pass."""
    from undercount.estimate.thresholds import threshold_fits

    def together(persons: list[pd.Series]) -> StratifiedResult:
        return estimate_case(case, seed=seed, imputations=1, by=by, assignments=persons, **common_args)

    return threshold_fits(case, together)


def _judged(result: StratifiedResult, best: StratifiedResult, fitting: Fitting, *, seed: int, level: float,
            criterion: str | None, models: bool, linkages: Sequence[ModelFit] = ()) -> StratifiedResult:
    """The result with the range across models (and ``linkages``, the rows of the linkage at other
    thresholds) and the verdict in its total's details."""
    from undercount.estimate.histories import capture_table
    from undercount.estimate.models import model_range
    from undercount.estimate.verdict import judge

    lists = len(result.population_notes.get("lists") or [])
    table = None
    if models and best.matrix is not None and best.matrix.shape[1] >= 2:
        table = capture_table(best.matrix.loc[:, best.matrix.sum(axis=0) > 0])
    spread = model_range(result.total, result.by, table, level=level, seed=seed, criterion=criterion or "bic",
                         fitting=fitting, linkages=linkages)
    verdict = judge(result.total, lists=lists, models=spread)
    details = {**result.total.details, "range": spread.to_dict(), "verdict": verdict.to_dict()}
    return replace(result, total=replace(result.total, details=details))


@dataclass(frozen=True)
class PopulationsResult:
    """The estimates of every population of one run, never summed across populations.

    Attributes:
        results: one StratifiedResult per population, killed first (the headline is the first).
        batch: the id shared by the populations' stored runs, or None when not stored.
    """

    results: list[StratifiedResult]
    batch: str | None = None

    @property
    def headline(self) -> StratifiedResult:
        """The first population's result (killed, when the lists hold any)."""
        return self.results[0]

    def to_dict(self) -> dict[str, Any]:
        """The headline population's keys, plus ``populations``: every population's, in order."""
        return {**self.headline.to_dict(), "batch": self.batch,
                "populations": [r.to_dict() for r in self.results]}


def _current_persons(case: Case) -> pd.DataFrame:
    clusters = case.clusters()
    records = case.records(columns=["record_id", "source", "status", "cause", "event_date", "reported_date"])
    recs = records.merge(clusters[["record_id", "person_id"]], on="record_id")
    return reconcile(recs, case.sources()["name"].tolist(), history=False)


def estimate_populations(
    case: Case,
    *,
    status: str | None = None,
    cause: str | None = None,
    link_draws: int = DEFAULT_LINK_DRAWS,
    seed: int = 0,
    store: bool = True,
    imputations: int = 10,
    by: str | Sequence[str] | None = None,
    method: str = "auto",
    options: Any = None,
    model: str | None = None,
    criterion: str | None = None,
    level: float = 0.95,
    releases: Any = None,
    correction: str = "auto",
    models: bool = True,
    progress: Progress | None = None,
    breakdowns: str | Sequence[str] | None = None,
) -> PopulationsResult:
    """Estimate each population of a case (or the one asked for), pooling over plausible linkages.

    By default every status present is estimated on its own, killed first, and the killed are
    split into direct and indirect deaths when some records say starvation or disease
    (:func:`undercount.estimate.population.populations_present`); people of different statuses
    are never counted in one total.

    Args:
        case: a linked case.
        status: killed, injured, missing or detained (None: each present).
        cause: for the killed: direct, indirect, one cause, or 'any' (None: split when needed).
        link_draws, seed, store, imputations, by, method, options, model, criterion, level, correction,
        releases, models, breakdowns: as :func:`estimate_with_linkage`; the linkage draws are shared by the
            populations.
        progress: as :func:`estimate_with_linkage`, each step named after its population when there
            are several ("killed: best linkage: strata", 3, 6).

    Returns:
        A PopulationsResult.

    Raises:
        ConfigError: an unknown status or cause, or a bad option.
        StoreError, LinkError: the case has not been linked.
    """
    asked = parse_population(status, cause)
    parse_breakdowns(breakdowns)  # a bad value fails before anything is drawn
    check_seed(seed)
    if link_draws < 0:
        raise ConfigError(f"link_draws {link_draws}: use 0 or more")
    report = progress or _silent
    with case.reading():  # one connection for the reads
        populations = [asked] if asked is not None else populations_present(_current_persons(case))
        if link_draws > 0:
            report(f"drawing {link_draws} plausible linkages", 0, 1)
        draws = draw_linkages(case, link_draws, seed=seed) if link_draws > 0 else None
    batch = case.new_run_id("batch") if store else None
    shared: dict[Any, Any] = {}  # the case read, and the correction made, once for every population
    results = [
        estimate_with_linkage(case, link_draws=link_draws, seed=seed, store=store, imputations=imputations, by=by,
                              method=method, options=options, model=model, criterion=criterion, level=level,
                              population=population, draws=draws, batch=batch,
                              correction=correction, releases=releases, models=models,
                              progress=_named(report, population, len(populations)), breakdowns=breakdowns,
                              shared=shared)
        for population in populations
    ]
    return PopulationsResult(results, batch)


def _named(report: Progress, population: Population, count: int) -> Progress:
    """``report`` with the population's label before each step when a run estimates several."""
    if count <= 1:
        return report
    return lambda what, done, total: report(f"{population.label}: {what}", done, total)
