"""A verdict in plain words on an estimate: can a reader quote it, and how.

Four verdicts, the first that applies wins:

* **not estimable** - no total could be estimated, or fewer than three lists name anyone in the
  population (two lists must assume they record people independently, which nothing can check).
* **lower bound only** - the total has no finite upper limit, or the estimate lies below Chao's
  lower bound (with three lists, more than half its standard error below its point; with more, below
  the lower end of its interval: people differ in how likely they are to be recorded, and the models
  miss it), or,
  with three lists (which cannot tell heterogeneity from dependence), a plausible model of
  heterogeneous capture reaches more than twice as far above the estimate as its interval does;
  or a model of heterogeneous capture (LCMCR, log-linear with heterogeneity) puts the total at least
  half-way from the best log-linear model's estimate to its upper limit, or beyond: people hard for
  every list to record are then likely, and every model undercounts them (the calibration bench's
  latent-heterogeneity scenarios, docs/estimation.md). The margins (half a standard error, half-way)
  keep the noise between two estimates of one table from calling every three-list estimate a lower
  bound: without them, homogeneous independent lists were never "solid".
* **use with care** - the simulation behind the estimate did not settle within its time limit,
  or the plausible models disagree (one model's estimate lies outside the headline's interval).
* **solid** - none of these.

The floor quoted with "lower bound only" is the headline's lower limit: Chao's estimate is itself
pushed up by linkage errors (a missed link makes two people seen once), so it is evidence that the
estimate is low, never a figure to quote as "at least". When the simulation did not settle, the
title says "unreliable" too.

Each reason is one sentence a journalist can repeat. The verdict never names a statistic (no
"R-hat", no "ESS"): the numbers stay in the details.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from undercount.estimate.models import ModelFit, ModelRange
from undercount.estimate.results import EstimateResult

__all__ = ["Verdict", "judge", "KINDS"]

Kind = Literal["solid", "care", "lower_bound", "not_estimable"]
KINDS: dict[str, str] = {
    "solid": "solid",
    "care": "use with care",
    "lower_bound": "lower bound only",
    "not_estimable": "not estimable",
}
SHIFT = 0.5  # a heterogeneous model this far towards (or past) the plain model's upper limit: heterogeneity seen
CHAO_MARGIN = 0.5  # with three lists: the estimate this many of Chao's standard errors below its point is too low
Z95 = 1.959964
REACH = 2.0  # the models reach this many times further above the estimate than its own interval: lower bound


def _n(value: float | None) -> str:
    return "?" if value is None else f"{round(value):,}"


@dataclass(frozen=True)
class Verdict:
    """What a reader may do with an estimate.

    Attributes:
        kind: solid, care, lower_bound or not_estimable.
        title: the verdict in words ("use with care: the models disagree").
        reasons: one plain sentence per reason.
        lower_bound: the figure to quote as a floor when the verdict is 'lower bound only'.
    """

    kind: Kind
    title: str
    reasons: tuple[str, ...] = field(default_factory=tuple)
    lower_bound: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"kind": self.kind, "title": self.title, "reasons": list(self.reasons), "lower_bound": self.lower_bound}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        """The verdict stored by :meth:`to_dict`."""
        kind = data.get("kind") if data.get("kind") in KINDS else "care"
        return cls(kind, str(data.get("title") or KINDS[str(kind)]),  # type: ignore[arg-type]
                   tuple(data.get("reasons") or ()), data.get("lower_bound"))


def _heterogeneous_reach(models: ModelRange | None, estimate: float, upper: float | None) -> ModelFit | None:
    """The heterogeneous model reaching furthest above the interval, when it reaches ``REACH`` times as far."""
    if models is None or upper is None or upper <= estimate:
        return None
    far = [f for f in models.admissible if f.heterogeneous and f.upper is not None
           and (f.upper - estimate) > REACH * (upper - estimate)]
    return max(far, key=lambda f: f.upper or 0.0) if far else None


def _heterogeneity_seen(models: ModelRange | None, shift: float = 0.5) -> tuple[ModelFit, ModelFit] | None:
    """A heterogeneous model whose estimate lies ``shift`` of the way or more from the best plain log-linear
    model's estimate to its upper limit, and that model (with three lists, which cannot test
    heterogeneity, any heterogeneous model above the plain one counts: ``shift`` 0)."""
    if models is None:
        return None
    plain = next((f for f in models.admissible if f.method == "loglinear" and not f.heterogeneous
                  and not f.headline and f.threshold is None and f.upper is not None), None)
    if plain is None or plain.upper is None:
        return None
    assert plain.estimate is not None
    step = shift * (plain.upper - plain.estimate)
    above = [f for f in models.admissible if f.heterogeneous and f.estimate is not None
             and f.estimate > plain.estimate + step]
    return (max(above, key=lambda f: f.estimate or 0.0), plain) if above else None


def _chao_line(chao: float | None, fit: ModelFit | None, lists: int) -> float | None:
    """How low the estimate may lie before Chao's lower bound says it is too low.

    With more than three lists: the lower end of Chao's interval. With three, which cannot test
    heterogeneity at all, Chao's floor is the one sign of it there is, so the line is nearer:
    ``CHAO_MARGIN`` of its standard errors (from its interval) below its point; a smaller gap is
    the noise of two estimates of one table (on homogeneous tables they agree within 0.3 of them).
    """
    if chao is None or fit is None or fit.lower is None:
        return chao
    if lists > 3:
        return fit.lower
    se = (fit.upper - fit.lower) / (2 * Z95) if fit.upper is not None else (chao - fit.lower) / Z95
    return chao - CHAO_MARGIN * max(se, 0.0)


def _converged(total: EstimateResult) -> bool:
    return total.details.get("converged") is not False


def judge(total: EstimateResult, *, lists: int, models: ModelRange | None = None) -> Verdict:
    """The verdict on a population's total.

    Args:
        total: the headline result.
        lists: the lists that name anyone in the population.
        models: the range across models (None: not computed).

    Returns:
        The :class:`Verdict`.
    """
    if not total.estimable or total.estimate is None:
        reason = total.reason or "no total could be estimated"
        if lists < 3 or "fewer than three usable lists" in reason:
            return Verdict("not_estimable", "not estimable: fewer than three usable lists",
                           (f"Only {lists} list{'s' if lists != 1 else ''} name{'s' if lists == 1 else ''} anyone in this population; "
                            "an estimate needs at least three that overlap.",))
        return Verdict("not_estimable", "not estimable", (f"No total could be estimated: {reason}.",))
    estimate = float(total.estimate)
    if lists < 3:
        return Verdict("not_estimable", "not estimable: fewer than three usable lists", (
            f"Only two lists name people in this population: the figure of {_n(estimate)} assumes the two lists "
            "record people independently of each other, which the data cannot check, so it is no more than a "
            "rough indication.",), lower_bound=float(total.documented))
    floors: list[str] = []
    care: list[str] = []
    chao = models.chao_lower if models is not None else None
    lower_bound: float | None = None
    if total.upper is None:
        floors.append("The data cannot rule out a much larger number: the estimate has no upper limit.")
        lower_bound = total.lower
    chao_fit = next((f for f in models.fits if f.method == "chao" and f.lower is not None), None) if models else None
    chao_line = _chao_line(chao, chao_fit, lists)
    if chao is not None and chao_line is not None and estimate < chao_line:
        floors.append(f"The estimate ({_n(estimate)}) is below Chao's lower bound ({_n(chao)}), the smallest total "
                      "consistent with people being unequally likely to be recorded, so it is probably too low.")
        lower_bound = total.lower if lower_bound is None else lower_bound
    reach = _heterogeneous_reach(models, estimate, total.upper) if lists == 3 else None
    if reach is not None:
        floors.append(f"With three lists the data cannot tell whether some people are hard for every list to "
                      f"record; models that allow for them reach {_n(reach.upper)} ({reach.label}), far above the "
                      f"interval's {_n(total.upper)}.")
        lower_bound = lower_bound if lower_bound is not None else total.lower
    seen = _heterogeneity_seen(models, SHIFT)
    if seen is not None and reach is None:
        mixed, plain = seen
        floors.append(f"Models that allow for people who are hard for every list to record give more "
                      f"({_n(mixed.estimate)}, {mixed.label}) than the best model that does not ({_n(plain.estimate)}): "
                      "such people are probably missing from every list, and no model "
                      "can fully count them.")
        lower_bound = lower_bound if lower_bound is not None else total.lower
    if models is not None and models.upper is None and total.upper is not None:
        care.append(f"One plausible model ({models.upper_model}) cannot bound the total from above.")
    if not _converged(total):
        care.append("The computer simulation behind the estimate did not settle within its time limit, so a "
                    "rerun may give a different figure.")
    if models is not None and total.lower is not None and total.upper is not None:
        outside = [f for f in models.admissible if not f.headline and f.threshold is None and f.estimate is not None
                   and not total.lower <= f.estimate <= total.upper]
        if outside:
            low = min(f.estimate for f in models.admissible if f.estimate is not None)
            high = max(f.estimate for f in models.admissible if f.estimate is not None)
            care.append(f"The plausible models disagree: their estimates run from {_n(low)} to {_n(high)}, "
                        f"and {len(outside)} of them lie outside the headline's interval.")
    if floors:
        title = "lower bound only"
        if lower_bound is not None:
            title += f": at least {_n(lower_bound)}"
        if not _converged(total):  # the headline says so, not only a reason below it
            title += " (unreliable: the simulation did not settle)"
        return Verdict("lower_bound", title, tuple(floors + care), lower_bound)
    if care:
        what = "the models disagree" if any("models disagree" in c for c in care) else (
            "the estimate has not settled" if not _converged(total) else "see why")
        return Verdict("care", f"use with care: {what}", tuple(care))
    reasons = ["The plausible models agree with the headline's interval."] if models is not None else []
    reasons.append("The estimate settled and has a finite interval.")
    return Verdict("solid", "solid", tuple(reasons))
