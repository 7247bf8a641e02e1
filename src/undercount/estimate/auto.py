"""One entry point for every estimator, and the ``auto`` rule that picks among them.

The auto rule (docs/estimation.md):

* 2 lists: Chapman, with a warning that dependence and heterogeneity cannot be seen.
* 3 or more lists: the point estimate is LCMCR's posterior median (it models heterogeneity) when
  the Bayesian module is installed and the table holds at least ``MIN_LCMCR`` persons, else the
  BIC-best log-linear model's. The interval is the envelope of the plausible answers: LCMCR's
  interval, the profile intervals of every stable log-linear model within 2 BIC of the best, the
  best model with Rcapture's Gamma(3.5) heterogeneity column added (a sensitivity fit for
  heterogeneous capture, kept when its AIC is within 2 of the best model's and its fit is
  regular), and (3 lists only) dga's interval over the decomposable graphs but the complete one
  (the saturated model, under which N is not identified: its interval is the prior's). Chao's
  lower bound is reported as a cross-check, and when the point estimate lies below Chao's lower
  bound the interval is stretched to include it.
* 3 or more lists, two lists negatively dependent (:mod:`undercount.estimate.dependence`; a case
  tests once, pooled over its strata, and passes the pairs in ``negative_pairs``): the point
  estimate is the best log-linear model holding those pairs' interactions (latent classes do not
  express negative dependence; LCMCR's estimate rises), and that model and its heterogeneity fit
  join the envelope, LCMCR's interval staying in it. With 4 or more lists a posterior predictive
  check of LCMCR's fit comes first (:func:`undercount.estimate.dependence.check_overlaps`): where
  LCMCR's replicated tables reproduce the pair's small overlap (latent classes ordered against
  each other do express it), LCMCR stays the point.
* 3 lists: a warning that heterogeneity cannot be tested (the highest interaction is not
  identifiable), and the widened envelope above.

Draws for pooling: Bayesian results carry posterior draws; other results get draws simulated from
a split log-normal matched to the point estimate and the interval ends (:func:`approximate_draws`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special

from undercount.errors import ConfigError, ModelError
from undercount.estimate.chao import fit_chao
from undercount.estimate.chapman import fit_chapman
from undercount.estimate.dependence import OverlapCheck, check_overlaps, format_pairs, negative_pairs, parse_pairs
from undercount.estimate.dga import DgaOptions, fit_dga
from undercount.estimate.histories import CountedTable, count_table, nested_lists
from undercount.estimate.lcmcr import LcmcrOptions
from undercount.estimate.loglinear import fit_loglinear, format_model, parse_model, search_models
from undercount.estimate.registry import Convergence, Estimator, Fitting, choose, get_estimator
from undercount.estimate.results import NO_UPPER, EstimateResult

__all__ = ["estimate_table", "fit_table", "approximate_draws", "AutoOptions", "ESTIMATOR", "check_seed",
           "with_pooled_dependence"]

MIN_LCMCR = 50
# The check of LCMCR's fit of a negatively dependent pair needs this many lists: with three, seven
# observed cells leave latent classes free to match the pair's overlap whether or not they hold its
# dependence (docs/estimation.md: posterior predictive p 0.09-0.40 where LCMCR's point is 3-7% high).
CHECK_MIN_LISTS = 4
SAMPLER_KEYS = ("rhat", "ess_bulk", "converged", "iterations", "rounds", "seconds")  # LCMCR's, kept on auto's result
MAX_ENVELOPE_MODELS = 4
THREE_LISTS = (
    "with three lists heterogeneity and the three-way interaction cannot be tested; the interval "
    "is widened to the envelope of the plausible models"
)


@dataclass(frozen=True)
class AutoOptions:
    """Options of the auto rule.

    Attributes:
        criterion: 'bic' or 'aic' for the log-linear search.
        lcmcr: the options of the LCMCR fit it runs (``lcmcr.K=5`` on the command line).
        dga: the options of the dga fit it runs (``dga.delta=1/16``); without the complete graph
            (``dga.saturated=false``): under the saturated model N is not identified, and with three
            lists a table whose pairs all interact puts dga's weight there, its interval then the
            prior's (docs/estimation.md, "dga's complete graph"); ``dga.saturated=true`` as R's dga.
        dependence_alpha: level of the test for negative dependence between two lists
            (:mod:`undercount.estimate.dependence`); 0 turns the test off.
        negative_pairs: the negatively dependent list pairs, as JSON (``[["hospital", "survey"]]``);
            None: found by the test on the table itself. A case estimate tests once, pooled over its
            strata, and passes what it found to every stratum.
        check_alpha: level of the posterior predictive check of LCMCR's fit of a pair the test finds
            (:func:`undercount.estimate.dependence.check_overlaps`): the point leaves LCMCR only when
            the check's p-value lies below it (LCMCR cannot reproduce the pair's small overlap);
            0: whenever the test finds a pair (the rule of session 8). Pairs given in
            ``negative_pairs`` are not checked.
    """

    criterion: Literal["bic", "aic"] = "bic"
    lcmcr: LcmcrOptions = field(default_factory=LcmcrOptions)
    dga: DgaOptions = field(default_factory=lambda: DgaOptions(saturated=False))
    dependence_alpha: float = 0.05
    negative_pairs: str | None = None
    check_alpha: float = 0.05

    def __post_init__(self) -> None:
        if self.criterion not in ("aic", "bic"):
            raise ConfigError(f"criterion {self.criterion!r}: use 'aic' or 'bic'")
        if not 0 <= self.dependence_alpha < 1:
            raise ConfigError(f"dependence_alpha={self.dependence_alpha}: use 0 (no test) or a level below 1")
        if self.negative_pairs is not None:
            parse_pairs(self.negative_pairs)
        if not 0 <= self.check_alpha < 1:
            raise ConfigError(f"check_alpha={self.check_alpha}: use 0 (no check) or a level below 1")


def approximate_draws(result: EstimateResult, size: int, rng: np.random.Generator) -> np.ndarray | None:
    """Draws of N for pooling: the result's own draws, else a split log-normal matched to its interval.

    The undocumented part f0 = N - n is log-normal with median f0_hat and separate spreads below and
    above, chosen so that the interval ends are the level's quantiles.

    Returns:
        An array of ``size`` draws, or None when the result has no estimate or no finite upper limit.
    """
    if result.draws is not None and len(result.draws) > 0:
        sample: np.ndarray = rng.choice(np.asarray(result.draws, dtype=float), size=size, replace=True)
        return sample
    if not result.estimable or result.estimate is None or result.upper is None or result.lower is None:
        return None
    n = result.documented
    f0 = max(result.estimate - n, 1e-9)
    z = float(special.ndtri(0.5 + result.level / 2))
    lo_f, hi_f = max(result.lower - n, f0 * 1e-3), max(result.upper - n, f0)
    s_lo = max(math.log(f0 / lo_f), 0.0) / z
    s_hi = max(math.log(hi_f / f0), 0.0) / z
    e = rng.standard_normal(size)
    undocumented = f0 * np.exp(np.where(e < 0, e * s_lo, e * s_hi))
    # an estimate of nobody undocumented stands at f0 = 1e-9 only to keep the logarithms finite:
    # less than a millionth of a person is nobody (else a pooled lower limit reads n + 1e-10)
    out: np.ndarray = n + np.where(undocumented < 1e-6, 0.0, undocumented)
    return out


def check_seed(seed: int) -> None:
    """Refuse a negative seed (numpy's generators take none; it was a plain ValueError deep inside).

    Raises:
        ConfigError: ``seed`` is below 0.
    """
    if seed < 0:
        raise ConfigError(f"seed {seed}: must be 0 or more")


def estimate_table(
    table: pd.DataFrame,
    *,
    method: str = "auto",
    options: Any = None,
    model: str | None = None,
    criterion: str | None = None,
    seed: int = 0,
    level: float = 0.95,
) -> EstimateResult:
    """Estimate N from a capture table with the named method, or by the auto rule.

    Args:
        table: a validated capture table.
        method: a registered method (:func:`undercount.estimate.registry.method_names`).
        options: the method's options: its options object, a mapping (``{"K": 5}``, nested for
            auto: ``{"lcmcr": {"K": 5}}``) or ``KEY=VALUE`` texts; None for the defaults.
        model: a log-linear model in Rcapture notation (implies 'loglinear' under 'auto').
        criterion: 'bic' or 'aic' for the log-linear search (methods that search models).
        seed: seed of the Bayesian samplers.
        level: interval level.

    Returns:
        An EstimateResult; under 'auto', ``details['why']`` says what was chosen and why.

    Raises:
        ConfigError: unknown method, option or criterion, or a negative seed.
        ModelError: the method cannot fit this table (e.g. chapman on three lists).
    """
    check_seed(seed)
    return fit_table(choose(method, options, model=model, criterion=criterion), table, level=level, seed=seed)


def fit_table(fitting: Fitting, table: pd.DataFrame, *, level: float, seed: int) -> EstimateResult:
    """Fit a method on a table, warning of lists that overlap almost entirely (:func:`nested_lists`)."""
    result = fitting.fit(table, level=level, seed=seed)
    for a, b, share in nested_lists(table):
        result = result.with_warning(
            f"lists {a} and {b} overlap almost entirely ({share:.0%} of the smaller is on the other): they "
            "may be releases of one source rather than separate systems, and the estimate is then too "
            "close to the documented count and too confident"
        )
    return result


def _brief(result: EstimateResult) -> dict[str, Any]:
    """The keys of ``result.to_dict()`` an auto result keeps of each fit it weighed (without copying
    the fit's draws and details, as ``to_dict`` does: that was a tenth of a case estimate's fitting)."""
    def clean(value: float | None) -> float | None:
        return None if value is None or not math.isfinite(float(value)) else float(value)

    return {"method": result.method, "model": result.model, "estimate": clean(result.estimate),
            "lower": clean(result.lower), "upper": clean(result.upper), "warnings": list(result.warnings),
            "estimable": result.estimable, "reason": result.reason}


def _auto(table: pd.DataFrame, level: float, seed: int, options: AutoOptions) -> EstimateResult:
    """The auto rule (module docstring)."""
    criterion = options.criterion
    counts = count_table(table, check=True)
    k, n = counts.k, counts.n
    if k == 2:
        res = fit_chapman(table, level=level)
        return replace(res, details={**res.details, "why": "two lists: Chapman's estimator is the only one"})
    checks: dict[str, Any] = {}
    why: list[str] = []
    warnings: list[str] = []
    pairs, tested, kept = _negative_pairs(table, options, seed, n, counts.names)
    fixed = _fixed_fits(counts if counts.valid else table, k, level, seed, options, pairs)
    loglin, chao = fixed.loglin, fixed.chao
    checks["loglinear"] = _brief(loglin)
    candidates: list[EstimateResult] = [loglin] if loglin.estimable else []
    candidates += fixed.close
    if fixed.hetero is not None:
        checks["loglinear_heterogeneity"] = _brief(fixed.hetero)
        candidates.append(fixed.hetero)
    checks["chao"] = _brief(chao)
    point = loglin
    bayes: EstimateResult | None = None
    if n >= MIN_LCMCR:
        bayes = get_estimator("lcmcr").fit(table, level=level, seed=seed, options=options.lcmcr)
        checks["lcmcr"] = _brief(bayes)
        if bayes.estimable and bayes.estimate is not None:
            point = bayes
            candidates.append(bayes)
            warnings += [w for w in bayes.warnings]
    if fixed.dga is not None:
        res = fixed.dga
        checks["dga"] = _brief(res)
        if res.estimable and res.estimate is not None:
            candidates.append(res)
    dependent = fixed.dependent
    if dependent is not None:
        checks["loglinear_dependence"] = _brief(dependent)
        candidates += [c for c in (dependent, fixed.dependent_hetero) if c is not None and all(c is not x for x in candidates)]
        point = dependent
        named = ", ".join(f"{a} x {b}" for a, b in pairs)
        why.append(f"the {criterion.upper()}-best log-linear model with the negative dependence of {named} "
                   f"({tested}), {dependent.model}: LCMCR's latent classes do not express it and its estimate "
                   "rises; LCMCR stays in the interval")
    elif point is bayes:
        why.append("LCMCR's posterior median: the latent classes model heterogeneous capture")
        why += [f"the negative dependence of {' x '.join(c['lists'])} is held by LCMCR's fit (posterior predictive "
                f"p {c['p_value']:.3f}, replicated log odds ratio {c['replicated']:+.2f}, observed "
                f"{c['observed']:+.2f})" for c in kept]
    if point is loglin and dependent is None:
        if not loglin.estimable:
            return EstimateResult.not_estimable("auto", n, loglin.reason or "no model fits", details={"checks": checks})
        why.append(f"the {criterion.upper()}-best log-linear model {loglin.model}")
    if point is not bayes:
        warnings += list(point.warnings)
    lower = min(c.lower for c in candidates if c.lower is not None)
    uppers = [c.upper for c in candidates]
    upper = None if any(u is None for u in uppers) else max(u for u in uppers if u is not None)
    why.append(f"interval: envelope of {len(candidates)} plausible fits "
               f"({', '.join(sorted({c.method + ' ' + (c.model or '') for c in candidates}))})")
    if chao.lower is not None and point.estimate is not None and point.estimate < chao.lower:
        warnings.append(
            f"the estimate lies below Chao's lower bound ({chao.estimate:,.0f}, interval from "
            f"{chao.lower:,.0f}): heterogeneity is likely and the estimate too low"
        )
        if upper is not None:
            upper = max(upper, chao.upper or upper)
    if k == 3:
        warnings.append(THREE_LISTS)
    if upper is None:
        warnings.append(f"{NO_UPPER}: at least one plausible model cannot bound N from above")
    estimate = float(point.estimate) if point.estimate is not None else None
    return EstimateResult(
        method="auto",
        documented=n,
        estimate=estimate,
        lower=lower,
        upper=upper,
        level=level,
        model=f"{point.method} {point.model or ''}".strip(),
        mean=point.mean,
        warnings=tuple(dict.fromkeys(warnings)),
        details={"why": "; ".join(why), "point_method": point.method, "checks": checks,
                 "negative_pairs": [list(p) for p in pairs], **({"lcmcr_reproduces": kept} if kept else {}),
                 **({} if bayes is None else {key: bayes.details.get(key) for key in SAMPLER_KEYS})},
        draws=point.draws if upper is not None and point.draws is not None and _draws_cover(point, lower, upper) else None,
        chains=None if bayes is None else bayes.chains,
    )


def _negative_pairs(table: pd.DataFrame, options: AutoOptions, seed: int, n: int, lists: tuple[str, ...]
                    ) -> tuple[tuple[tuple[str, str], ...], str, list[dict[str, Any]]]:
    """The negatively dependent pairs of lists this table holds that LCMCR does not reproduce (given by
    the case, else tested and checked on the table; :mod:`undercount.estimate.dependence`), in words
    where they come from, and the checks of the pairs found that LCMCR reproduces (JSON-ready)."""
    if options.dependence_alpha == 0:
        return (), "", []
    names = set(lists)
    if options.negative_pairs is not None:
        return tuple(p for p in parse_pairs(options.negative_pairs) if p[0] in names and p[1] in names), \
            "found pooled over the strata", []
    found = negative_pairs([table], alpha=options.dependence_alpha)
    checks = _checks([table], [p.lists for p in found], options, seed) if n >= MIN_LCMCR else {}
    switch = [p for p in found if _switches(checks.get(p.lists), options)]
    where = "found in this table: " + ", ".join(
        f"log odds ratio {p.log_odds_ratio:+.2f}, z {p.z:+.1f}" + _check_words(checks.get(p.lists)) for p in switch)
    kept = [checks[p.lists].to_dict() for p in found if p not in switch]
    return tuple(p.lists for p in switch if p.lists[0] in names and p.lists[1] in names), where, kept


def _checks(tables: Sequence[pd.DataFrame], pairs: Sequence[tuple[str, str]], options: AutoOptions, seed: int
            ) -> dict[tuple[str, str], OverlapCheck]:
    """The posterior predictive check of LCMCR's fit of each pair, pooled over the tables of
    ``CHECK_MIN_LISTS`` lists or more (none when ``check_alpha`` is 0 or no table has as many lists)."""
    wide = [t for t in tables if sum(1 for c in t.columns if c != "count") >= CHECK_MIN_LISTS]
    if options.check_alpha == 0 or not wide:
        return {}
    return {pair: check_overlaps(wide, pair, options=options.lcmcr, seed=seed, min_persons=MIN_LCMCR)
            for pair in pairs}


def _switches(check: OverlapCheck | None, options: AutoOptions) -> bool:
    """Whether a pair the test found moves the point from LCMCR: no check made or possible, or LCMCR
    does not reproduce the pair's overlap (the check's p-value below ``check_alpha``)."""
    return check is None or check.p_value is None or check.p_value < options.check_alpha


def _check_words(check: OverlapCheck | None) -> str:
    return "" if check is None or check.p_value is None else \
        f", LCMCR's posterior predictive p {check.p_value:.3f} (replicated {check.replicated:+.2f})"


def with_pooled_dependence(fitting: Fitting, tables: Sequence[pd.DataFrame], *, seed: int = 0
                           ) -> tuple[Fitting, list[dict[str, Any]]]:
    """The auto fitting told which list pairs are negatively dependent in a way LCMCR does not
    reproduce, tested and checked once on all the strata of a case (pooled: the power a small stratum
    lacks); other fittings as they are.

    Returns:
        (the fitting, the pairs found with their test statistics, JSON-ready; a pair's ``check`` holds
        the posterior predictive check of LCMCR's fit and ``switched`` whether the point left LCMCR).
    """
    options = fitting.options
    if fitting.name != "auto" or not isinstance(options, AutoOptions) or options.negative_pairs is not None \
            or options.dependence_alpha == 0:
        return fitting, []
    usable = [t for t in tables if sum(1 for c in t.columns if c != "count") >= 3]
    found = negative_pairs(usable, alpha=options.dependence_alpha) if usable else []
    checks = _checks(usable, [p.lists for p in found], options, seed)
    switch = [p.lists for p in found if _switches(checks.get(p.lists), options)]
    out = [{**p.to_dict(), **({"check": checks[p.lists].to_dict()} if p.lists in checks else {}),
            "switched": p.lists in switch} for p in found]
    return Fitting(fitting.estimator, replace(options, negative_pairs=format_pairs(switch))), out


@dataclass(frozen=True)
class _Fixed:
    """The fits of the auto rule that depend on the table alone (not on a sampler's chain length)."""

    loglin: EstimateResult
    close: list[EstimateResult]
    hetero: EstimateResult | None
    chao: EstimateResult
    dga: EstimateResult | None
    dependent: EstimateResult | None = None  # the best model with the negatively dependent pairs' terms
    dependent_hetero: EstimateResult | None = None


_FIXED: dict[tuple[Any, ...], _Fixed] = {}
_FIXED_LOCK = threading.Lock()
FIXED_CACHE_SIZE = 4096  # tables kept; a case estimate meets a few hundred distinct ones


def _fixed_fits(table: pd.DataFrame | CountedTable, k: int, level: float, seed: int, options: AutoOptions,
                pairs: tuple[tuple[str, str], ...] = ()) -> _Fixed:
    """The log-linear search, its close models and heterogeneity fit, Chao, (3 lists) dga of a table,
    and the best model holding the terms of the negatively dependent ``pairs`` with its heterogeneity fit.

    They depend on the table's counts, the level, the criterion, dga's options and the seed only,
    so a table met again in the same process (a stratum refitted with longer chains, an imputation
    or linkage draw that gives the same table, the correction's pass and the plain one) takes the
    fits made the first time: the same results, computed once (issue 21). The table is counted once
    (:func:`undercount.estimate.histories.count_table`) and every fit reads those counts; dga, which
    validates its table, takes them when the count's check found the table valid, else the table.
    """
    counts = count_table(table, check=True)
    key = (counts.names, counts.y.tobytes(), counts.valid, level, seed, options.criterion,
           options.dga if k == 3 else None, pairs)
    with _FIXED_LOCK:
        hit = _FIXED.get(key)
    if hit is not None:
        return hit
    loglin = fit_loglinear(counts, criterion=options.criterion, level=level)
    dga = options.dga
    fixed = _Fixed(
        loglin=loglin,
        close=_close_models(counts, loglin, options.criterion, level),
        hetero=_heterogeneity_fit(counts, loglin, level),
        chao=fit_chao(counts, level=level),
        dga=fit_dga(counts if counts.valid or not isinstance(table, pd.DataFrame) else table, delta=dga.delta,
                    prior=dga.prior, n_missing_max=dga.n_missing_max, n_missing_min=dga.n_missing_min, seed=seed,
                    level=level, saturated=dga.saturated) if k == 3 else None,
    )
    if pairs:
        dependent = _dependent_fit(counts, loglin, pairs, options.criterion, level)
        fixed = replace(fixed, dependent=dependent, dependent_hetero=None if dependent is None else
                        _heterogeneity_fit(counts, dependent, level))
    with _FIXED_LOCK:
        if len(_FIXED) >= FIXED_CACHE_SIZE:
            _FIXED.clear()
        _FIXED[key] = fixed
    return fixed


def fixed_fits_known() -> set[tuple[Any, ...]]:
    """The tables whose fits of the table alone this process holds (see :func:`fixed_fits_since`)."""
    with _FIXED_LOCK:
        return set(_FIXED)


def fixed_fits_since(known: set[tuple[Any, ...]]) -> dict[tuple[Any, ...], _Fixed]:
    """The fits of the table alone made in this process since ``known`` was taken: a worker process
    (:mod:`undercount.estimate.workers`) hands them back so that later passes find them."""
    with _FIXED_LOCK:
        return {key: fixed for key, fixed in _FIXED.items() if key not in known}


def keep_fixed_fits(made: dict[tuple[Any, ...], _Fixed]) -> None:
    """Keep fits of the table alone made in a worker process (:func:`fixed_fits_since`)."""
    with _FIXED_LOCK:
        if len(_FIXED) + len(made) > FIXED_CACHE_SIZE:
            _FIXED.clear()
        _FIXED.update(made)


def _draws_cover(point: EstimateResult, lower: float, upper: float) -> bool:
    """True when the point method's own interval already is the envelope (its draws may be used)."""
    return point.lower is not None and point.upper is not None and math.isclose(point.lower, lower) \
        and math.isclose(point.upper, upper)


def _heterogeneity_fit(table: pd.DataFrame | CountedTable, best: EstimateResult, level: float) -> EstimateResult | None:
    """The best log-linear model plus Rcapture's Gamma(3.5) heterogeneity column, when the data support it.

    Kept when it is identifiable, its fit is regular (converged, no diverging coefficient, at least
    one person missing, SE below N) and its AIC is no more than 2 above the best model's.
    """
    if not best.estimable or not best.model:
        return None
    try:
        res = fit_loglinear(table, model=best.model, level=level, heterogeneity=True)
    except ModelError:
        return None
    regular = not any("diverges" in w or "did not converge" in w for w in res.warnings)
    missing = float(res.details.get("poisson_estimate", 0.0)) - res.documented
    supported = float(res.details.get("aic", math.inf)) <= float(best.details.get("aic", -math.inf)) + 2.0
    stable = res.details.get("se", math.inf) <= (res.estimate or 0)
    return res if regular and missing >= 1 and supported and stable else None


def _dependent_fit(table: pd.DataFrame | CountedTable, best: EstimateResult, pairs: tuple[tuple[str, str], ...], criterion: str,
                   level: float) -> EstimateResult | None:
    """The criterion-best stable log-linear model that holds the interaction of every pair (None: none is stable)."""
    names = list(count_table(table).names)
    k = len(names)
    needed = {tuple(sorted((names.index(a), names.index(b)))) for a, b in pairs}
    if best.estimable and best.model and needed <= set(parse_model(best.model, k)):
        return best
    ranked = search_models(table, criterion=criterion)
    usable = ranked[ranked["stable"] & ~ranked["boundary"]]
    chosen = next((str(m) for m in usable["model"] if needed <= set(parse_model(str(m), k))), None)
    if chosen is None and best.estimable and best.model:  # a stepwise search (7+ lists) may not have visited it
        chosen = format_model(tuple(sorted(set(parse_model(best.model, k)) | needed)), k)
    if chosen is None:
        return None
    try:
        res = fit_loglinear(table, model=chosen, level=level)
    except ModelError:
        return None
    regular = not any("diverges" in w or "did not converge" in w for w in res.warnings)
    stable = res.estimable and res.details.get("se", math.inf) <= (res.estimate or 0)
    return res if regular and stable else None


def _close_models(table: pd.DataFrame | CountedTable, best: EstimateResult, criterion: str, level: float) -> list[EstimateResult]:
    """Profile fits of the other stable log-linear models within 2 of the best's criterion."""
    out: list[EstimateResult] = []
    models = best.details.get("models", []) if best.estimable else []
    top = models[0][criterion] if models else None
    for row in models[1:]:
        if len(out) >= MAX_ENVELOPE_MODELS or top is None or row[criterion] > top + 2:
            break
        try:
            res = fit_loglinear(table, model=row["model"], level=level)
        except ModelError:
            continue
        if res.estimable and res.details.get("se", math.inf) <= (res.estimate or 0):
            out.append(res)
    return out


def _for_replicates(options: AutoOptions, replicates: int) -> AutoOptions:
    return replace(options, lcmcr=get_estimator("lcmcr").replicate_options(options.lcmcr, replicates))


def _extend(options: AutoOptions, factor: float) -> AutoOptions:
    lcmcr = get_estimator("lcmcr")
    return options if lcmcr.extend is None else replace(options, lcmcr=lcmcr.extend(options.lcmcr, factor))


def _convergence(options: AutoOptions) -> Convergence | None:
    lcmcr = get_estimator("lcmcr")
    return None if lcmcr.convergence is None else lcmcr.convergence(options.lcmcr)


ESTIMATOR = Estimator(
    name="auto",
    display_name="automatic choice",
    description="undercount's automatic choice of method",
    help="any number of lists (the default): Chapman for two; for three or more LCMCR's posterior "
         "median (the best log-linear model with their interaction when two lists are negatively "
         "dependent) with the envelope of the plausible models as interval",
    options_type=AutoOptions,
    fit_function=_auto,
    min_lists=2,
    for_replicates=_for_replicates,
    extend=_extend,
    convergence=_convergence,
)
