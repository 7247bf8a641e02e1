"""The range across models: every admissible model's estimate of one population, and their envelope.

A headline figure depends on the model behind it. Critics of published estimates (the Lancet's
2025 Gaza study gave 64,260, 55,298 to 78,525, from one model; its critics asked for the range
over all its models, 47,457 to 88,332) want to see how far the plausible models reach. The range
here holds, for one population:

* the headline itself (the chosen method, with strata when the case was stratified, pooled over
  plausible linkages) and the same estimate from the single best linkage;
* without strata, on the best linkage: every stable log-linear model within ``RANGE_DISTANCE`` of
  the best model's criterion (at most ``MAX_LOGLINEAR``), the best model with Rcapture's
  heterogeneity column when the data support it (as in ``auto``: a regular fit whose AIC is within
  2 of the best model's; with three lists, which cannot weigh heterogeneity, any regular fit),
  LCMCR (latent classes of people recorded alike), dga (Bayesian model averaging, 3 to 5 lists), and Chapman's estimator with two lists;
* the linkage at a few thresholds (:mod:`undercount.estimate.thresholds`): the stored pairs
  clustered at match probability 0.3, at the link run's own (0.5) and at 0.8, each estimated with
  the headline's method without strata, one row each;
* Chao's lower bound, shown beside them but not a model of the total: it is a floor that holds
  when people differ in how likely they are to be recorded.

The range runs from the lowest lower limit to the highest upper limit of the admissible models,
with the model that gives each end; an admissible model without a finite upper limit leaves the
range without one. The uncertainty of the linkage is also inside the headline, pooled over plausible
linkages; the threshold rows show how far a reader's choice of threshold would move the figure.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from undercount.errors import ModelError, UndercountWarning
from undercount.estimate.histories import table_counts
from undercount.estimate.registry import Fitting, get_estimator
from undercount.estimate.results import EstimateResult

__all__ = ["MAX_LOGLINEAR", "RANGE_DISTANCE", "ModelFit", "ModelRange", "fit_row", "model_range", "fits_without_strata"]

RANGE_DISTANCE = 4.0  # criterion units from the best log-linear model (Burnham and Anderson: "some support")
MAX_LOGLINEAR = 6
MIN_LCMCR = 50


@dataclass(frozen=True)
class ModelFit:
    """One model's estimate of the population.

    Attributes:
        label: the model in words ("log-linear [12,13], no strata").
        method, model: the method and its model.
        strata: how the people were split ("age group, sex" or "none").
        estimate, lower, upper: the figures (upper None: no finite upper limit).
        headline: the figure the report leads with.
        admissible: counts towards the range (Chao's lower bound and failed fits do not).
        note: why a fit is shown but not counted, or what it stands for.
        heterogeneous: the model lets people differ in how likely every list is to record them, and
            the data support it (LCMCR always; the log-linear heterogeneity column when it lowers the AIC,
            or with three lists, which cannot test heterogeneity, whenever it is kept).
        threshold: the match probability of the linkage the row was estimated on, for the rows of
            the linkage at a few thresholds (None: the best linkage or the headline's draws).
    """

    label: str
    method: str
    model: str | None
    strata: str
    estimate: float | None
    lower: float | None
    upper: float | None
    headline: bool = False
    admissible: bool = True
    note: str = ""
    heterogeneous: bool = False
    threshold: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"label": self.label, "method": self.method, "model": self.model, "strata": self.strata,
                "estimate": self.estimate, "lower": self.lower, "upper": self.upper, "headline": self.headline,
                "admissible": self.admissible, "note": self.note, "heterogeneous": self.heterogeneous,
                "threshold": self.threshold}


@dataclass(frozen=True)
class ModelRange:
    """The admissible models of one population and the range they span.

    Attributes:
        fits: every model fitted, the headline first.
        lower, upper: the lowest lower limit and the highest upper limit of the admissible fits
            (upper None: some admissible model has no finite upper limit).
        lower_model, upper_model: the labels of the fits giving each end.
        criterion, distance: the log-linear criterion and how far from the best a model may lie.
        chao_lower: Chao's lower bound (its point estimate), None when it could not be computed.
    """

    fits: tuple[ModelFit, ...]
    lower: float | None
    upper: float | None
    lower_model: str | None
    upper_model: str | None
    criterion: str = "bic"
    distance: float = RANGE_DISTANCE
    chao_lower: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def admissible(self) -> list[ModelFit]:
        """The fits that count towards the range."""
        return [f for f in self.fits if f.admissible and f.estimate is not None]

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``range``: both ends with their models, and every fit."""
        return {"lower": self.lower, "upper": self.upper, "lower_model": self.lower_model,
                "upper_model": self.upper_model, "criterion": self.criterion, "distance": self.distance,
                "chao_lower": self.chao_lower, "notes": list(self.notes),
                "models": [f.to_dict() for f in self.fits]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelRange:
        """The range stored by :meth:`to_dict`."""
        fits = tuple(ModelFit(**{k: m.get(k) for k in ModelFit.__dataclass_fields__ if k in m})
                     for m in data.get("models", []))
        return cls(fits, data.get("lower"), data.get("upper"), data.get("lower_model"), data.get("upper_model"),
                   str(data.get("criterion") or "bic"), float(data.get("distance") or RANGE_DISTANCE),
                   data.get("chao_lower"), tuple(data.get("notes") or ()))


def _num(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def fit_row(label: str, result: EstimateResult, strata: str, *, headline: bool = False, note: str = "",
            threshold: float | None = None) -> ModelFit:
    """A row of the range from one result (not admissible, with the reason, when it is not estimable)."""
    ok = result.estimable and result.estimate is not None
    return ModelFit(label=label, method=result.method, model=result.model, strata=strata,
                    estimate=_num(result.estimate) if ok else None, lower=_num(result.lower) if ok else None,
                    upper=_num(result.upper) if ok else None, headline=headline, admissible=ok,
                    note=note if ok else (result.reason or note or "not estimable"), threshold=threshold)


def _stable(result: EstimateResult) -> bool:
    return result.estimable and result.estimate is not None and float(result.details.get("se", 0.0)) <= result.estimate


def _regular_heterogeneity_fit(table: pd.DataFrame, best: EstimateResult, level: float) -> EstimateResult | None:
    """The best model with the heterogeneity column when its fit is regular and stable, whatever its AIC.

    With three lists the AIC cannot weigh heterogeneity (it is confounded with the untestable
    three-way interaction), so a regular fit is a plausible model there.
    """
    from undercount.estimate.loglinear import fit_loglinear

    if not best.estimable or not best.model:
        return None
    try:
        res = fit_loglinear(table, model=best.model, level=level, heterogeneity=True)
    except ModelError:
        return None
    irregular = any("diverges" in w or "did not converge" in w for w in res.warnings)
    return None if irregular or not _stable(res) else res


def _lcmcr_options(fitting: Fitting | None) -> Any:
    if fitting is None:
        return None
    if fitting.name == "lcmcr":
        return fitting.options
    return getattr(fitting.options, "lcmcr", None)


def fits_without_strata(table: pd.DataFrame, *, level: float = 0.95, seed: int = 0, criterion: str = "bic",
                        fitting: Fitting | None = None, distance: float = RANGE_DISTANCE, lcmcr: bool = True,
                        ) -> tuple[list[ModelFit], float | None]:
    """Every admissible model fitted on one capture table (no strata), and Chao's lower bound.

    Args:
        table: a validated capture table.
        level: interval level.
        seed: seed of the samplers.
        criterion: 'bic' or 'aic' for the log-linear models.
        fitting: the run's method and options (its LCMCR options are reused), or None.
        distance: how far (in criterion units) a log-linear model may lie from the best.
        lcmcr: also fit LCMCR (False: leave the sampler out, e.g. for the rows of a breakdown).

    Returns:
        (the fits, Chao's lower bound or None).
    """
    from undercount.estimate.auto import _heterogeneity_fit
    from undercount.estimate.chao import fit_chao
    from undercount.estimate.chapman import fit_chapman
    from undercount.estimate.loglinear import fit_loglinear

    k, _, n = table_counts(table)
    fits: list[ModelFit] = []
    chao_lower: float | None = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndercountWarning)
        if k == 2:
            fits.append(fit_row("Chapman (two lists), no strata", fit_chapman(table, level=level), "none"))
            return fits, None
        best = fit_loglinear(table, criterion=criterion, level=level)
        fits.append(fit_row(f"log-linear {best.model or ''}, no strata (best {criterion.upper()})".replace("  ", " "),
                         best, "none"))
        models = best.details.get("models", []) if best.estimable else []
        top = models[0][criterion] if models else None
        for row in models[1:]:
            if top is None or row[criterion] > top + distance or len(fits) >= MAX_LOGLINEAR:
                break
            try:
                other = fit_loglinear(table, model=row["model"], level=level)
            except ModelError:
                continue
            if _stable(other):
                gap = float(row[criterion]) - float(top)
                fits.append(fit_row(f"log-linear {other.model}, no strata ({criterion.upper()} +{gap:.1f})", other, "none"))
        hetero = _heterogeneity_fit(table, best, level)
        if hetero is None and k == 3:
            hetero = _regular_heterogeneity_fit(table, best, level)
        if hetero is not None:
            # evidence of heterogeneity when the column improves the fit (lower AIC); three lists cannot
            # test heterogeneity at all, so there a supported heterogeneity model is evidence enough
            better = k == 3 or float(hetero.details.get("aic", math.inf)) < float(best.details.get("aic", -math.inf))
            fits.append(replace(fit_row(f"log-linear {best.model} with heterogeneity, no strata", hetero, "none",
                                     note="people differ in how likely every list is to record them"),
                                heterogeneous=better))
        if lcmcr and n >= MIN_LCMCR:
            options = _lcmcr_options(fitting)
            sampled = get_estimator("lcmcr").fit(table, level=level, seed=seed, options=options)
            fits.append(replace(fit_row("LCMCR (latent classes), no strata", sampled, "none"), heterogeneous=True))
        if k <= 5:
            dga = get_estimator("dga").fit(table, level=level, seed=seed)
            fits.append(fit_row("dga (Bayesian model averaging), no strata", dga, "none"))
        chao = fit_chao(table, level=level)
        if chao.estimable and chao.estimate is not None:
            chao_lower = _num(chao.estimate)
            fits.append(replace(fit_row("Chao's lower bound, no strata", chao, "none"), admissible=False,
                                note="a floor, not an estimate: the total is at least this when people differ "
                                     "in how likely they are to be recorded"))
    return fits, chao_lower


def _headline_label(result: EstimateResult, by: list[str]) -> str:
    strata = ", ".join(b.replace("_", " ") for b in by) or "no strata"
    return f"headline: {result.method} {result.model or ''}".rstrip() + f" ({'by ' if by else ''}{strata})"


def model_range(headline: EstimateResult, by: list[str], table: pd.DataFrame | None, *, level: float = 0.95,
                seed: int = 0, criterion: str = "bic", fitting: Fitting | None = None,
                distance: float = RANGE_DISTANCE, lcmcr: bool = True, linkages: Sequence[ModelFit] = ()) -> ModelRange:
    """The range across models of one population.

    Args:
        headline: the headline result (pooled over strata and linkages).
        by: the strata of the headline.
        table: the population's capture table on the best linkage, without strata (None: the
            headline alone).
        level, seed, criterion, fitting, distance, lcmcr: as :func:`fits_without_strata`.
        linkages: rows of the linkage at other thresholds (:func:`undercount.estimate.thresholds.threshold_fits`),
            placed after the headline's own rows.

    Returns:
        A :class:`ModelRange`.
    """
    strata = ", ".join(b.replace("_", " ") for b in by) or "none"
    fits = [fit_row(_headline_label(headline, by), headline, strata, headline=True)]
    link = headline.details.get("linkage") or {}
    if link.get("draws") and link.get("best_estimate") is not None:
        fits.append(ModelFit(label=f"the same, single best linkage ({'by ' + strata if by else 'no strata'})",
                             method=headline.method, model=headline.model, strata=strata,
                             estimate=_num(link.get("best_estimate")), lower=_num(link.get("best_lower")),
                             upper=_num(link.get("best_upper")),
                             note="without the uncertainty of which records belong to the same person"))
    fits += list(linkages)
    chao_lower = None
    notes: list[str] = []
    if table is not None and headline.estimable:
        more, chao_lower = fits_without_strata(table, level=level, seed=seed, criterion=criterion, fitting=fitting,
                                               distance=distance, lcmcr=lcmcr)
        fits += more
        notes.append(f"log-linear models within {distance:g} {criterion.upper()} of the best; "
                     "models without strata are fitted on the single best linkage")
    ok = [f for f in fits if f.admissible and f.estimate is not None and f.lower is not None]
    if not ok:
        return ModelRange(tuple(fits), None, None, None, None, criterion, distance, chao_lower, tuple(notes))
    low = min(ok, key=lambda f: f.lower if f.lower is not None else math.inf)
    unbounded = [f for f in ok if f.upper is None]
    high = unbounded[0] if unbounded else max(ok, key=lambda f: f.upper if f.upper is not None else -math.inf)
    return ModelRange(tuple(fits), low.lower, None if unbounded else high.upper, low.label, high.label,
                      criterion, distance, chao_lower, tuple(notes))
