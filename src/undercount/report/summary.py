"""The headline numbers and the demographic shares of the report.

Documented shares come from persons with a known age (and sex); estimated shares from the
stratified estimates when the strata's age groups line up with the share's boundary. The
interval of an estimated share is conservative: its ends combine the stratum intervals' ends
in the direction that widens it (the strata's joint draws are not stored).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from undercount.estimate.correction import correction_line

__all__ = ["Headline", "Share", "headline", "shares", "grouped_warnings", "parse_stratum", "age_range",
           "plain_warning", "missed_share"]


@dataclass(frozen=True)
class Headline:
    """The numbers of the report's first screen.

    Attributes:
        documented: distinct persons on at least one list (the register).
        base: the persons the estimate counts as documented (differs from ``documented`` when the
            estimate pooled over plausible linkages, whose documented count varies).
        estimate, lower, upper: the estimated total and its interval (None if not estimated).
        undercount, undercount_lower, undercount_upper: estimate minus the persons it counts as documented.
        level: the interval's level.
        method, model: the total's method and model.
        estimable: whether a total could be estimated; reason says why not.
        linkage_share: share of the interval's width due to linkage, if measured.
        linkage: the total's linkage-uncertainty figures (draws, documented_min/max, best_estimate ...).
        warnings: every warning of the total and the strata (deduplicated, in order), in plain
            words (:func:`plain_warning`).
        missed, missed_lower, missed_upper: the share of victims on no list, with its interval.
        verdict: the verdict in plain words (kind, title, reasons, lower_bound), {} when not judged.
        range: the range across models (lower, upper, their models, every model's fit), {} when
            not computed.
        correction: the total's correction for missed links (kind, shift, variance_share, ...).
        correction_text: one sentence on it (what it is, what it moved, its part of the interval,
            searches that would narrow it); None when no correction was stored.
        breakdowns: the estimates by period and by place ('period', 'place' -> rows with their
            verdicts, or why not made), {} when not computed.
        dependence: the pairs of lists the estimate found negatively dependent, pooled over its strata
            (:mod:`undercount.estimate.dependence`: lists, log_odds_ratio, se, z, persons).
    """

    documented: int
    base: int | None = None
    estimate: float | None = None
    lower: float | None = None
    upper: float | None = None
    undercount: float | None = None
    undercount_lower: float | None = None
    undercount_upper: float | None = None
    level: float = 0.95
    method: str | None = None
    model: str | None = None
    estimable: bool = False
    reason: str | None = None
    linkage_share: float | None = None
    linkage: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    missed: float | None = None
    missed_lower: float | None = None
    missed_upper: float | None = None
    verdict: dict[str, Any] = field(default_factory=dict)
    range: dict[str, Any] = field(default_factory=dict)
    correction: dict[str, Any] = field(default_factory=dict)
    correction_text: str | None = None
    breakdowns: dict[str, Any] = field(default_factory=dict)
    dependence: tuple[dict[str, Any], ...] = ()


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def headline(documented: int, estimates: pd.DataFrame) -> Headline:
    """The headline from the persons count and the current estimate rows.

    Args:
        documented: persons in the register.
        estimates: rows from :func:`undercount.report.data.read_estimates`.

    Returns:
        The :class:`Headline`.
    """
    if estimates.empty or not estimates["is_total"].any():
        return Headline(documented=documented, reason="no estimate has been run on this case")
    total = estimates[estimates["is_total"]].iloc[0]
    warnings = grouped_warnings(estimates)
    est, lo, hi = _num(total["estimate"]), _num(total["lower"]), _num(total["upper"])
    base = int(total["documented"]) if pd.notna(total["documented"]) else documented
    details = total.get("details")
    details = details if isinstance(details, dict) else {}
    correction = dict(details.get("correction") or {})
    missed = missed_share(base, est, lo, hi)
    return Headline(
        documented=documented,
        base=base,
        estimate=est,
        lower=lo,
        upper=hi,
        undercount=None if est is None else est - base,
        undercount_lower=None if lo is None else max(lo - base, 0.0),
        undercount_upper=None if hi is None else hi - base,
        level=float(total["level"]),
        method=total["method"],
        model=total["model"],
        estimable=bool(total["estimable"]) and est is not None,
        reason=total["reason"],
        linkage_share=_num(total["linkage"].get("linkage_share")),
        linkage=total["linkage"],
        warnings=tuple(warnings),
        missed=missed[0],
        missed_lower=missed[1],
        missed_upper=missed[2],
        verdict=dict(details.get("verdict") or {}),
        range=dict(details.get("range") or {}),
        correction=correction,
        correction_text=correction_line(correction) if correction else None,
        breakdowns=dict(details.get("breakdowns") or {}),
        dependence=tuple(p for p in details.get("negative_pairs") or () if isinstance(p, dict) and p.get("switched", True)),
    )


def missed_share(documented: int, estimate: float | None, lower: float | None,
                 upper: float | None) -> tuple[float | None, float | None, float | None]:
    """The share of victims on no list, 1 - documented / N, with the interval N's interval gives.

    Example:
        >>> [round(v, 3) for v in missed_share(840, 1000.0, 900.0, 1200.0)]
        [0.16, 0.067, 0.3]
    """
    def share(n: float | None) -> float | None:
        return None if n is None or n <= 0 else max(0.0, 1.0 - documented / n)

    return share(estimate), share(lower), share(upper)


_PLAIN: list[tuple[str, str]] = [
    (r"^ConvergenceWarning:\s*", ""),
    (r"the chains of (\d+) stratum\(s\) \(([^)]*)\) did not converge within their time budget, so the total is unreliable",
     r"the computer simulation did not settle within its time limit in \1 group(s) (\2), so the total is unreliable"),
    (r"the chains have not mixed \(R-hat ([\d.]+), target ([\d.]+)\)",
     r"the simulation's separate runs still disagree (agreement measure \1; it should be at most \2)"),
    (r"too few effective draws for reliable interval ends \(bulk ESS (\d+), target (\d+)\)",
     r"too few independent simulated values for reliable interval ends (\1; at least \2 are needed)"),
    (r"(\d+) iterations per chain", r"\1 simulation steps per run"),
    (r"the time budget \(([\d]+) CPU seconds\) ran out: allow more time \(--time-budget\) or fix the length \(--iterations\)",
     r"its time limit (\1 seconds of computing) ran out; a longer run (--time-budget) may settle it"),
    (r"(\d+) CPU seconds", r"\1 seconds of computing"),
    (r"run longer chains \(--iterations\)", "a longer run (--iterations) may settle it"),
    (r"chains disagree: the chains settled", "the simulation's separate runs settled"),
    (r"the interval is widened to the envelope of the plausible models",
     "the interval is widened to cover every plausible model"),
    (r"(\d+) of (\d+) replicates have", r"\1 of \2 repeats (over plausible linkages and missing values) have"),
    (r"varies across replicates", "varies across plausible linkages"),
    (r"(\d+) models lie within ([\d.]+) (BIC|AIC) of the best",
     r"\1 models fit the data almost as well as the best"),
    (r"\bR-hat\b", "agreement measure"),
    (r"\bbulk ESS\b|\bESS\b", "independent simulated values"),
]


def plain_warning(text: str) -> str:
    """A warning in words a reader understands: no class names, no statistic's symbol.

    Example:
        >>> plain_warning("ConvergenceWarning: the chains have not mixed (R-hat 1.050, target 1.01) ...")
        "the simulation's separate runs still disagree (agreement measure 1.050; it should be at most 1.01) ..."
    """
    for pattern, repl in _PLAIN:
        text = re.sub(pattern, repl, text)
    return text


def grouped_warnings(estimates: pd.DataFrame) -> list[str]:
    """Every warning once: those repeated across strata (numbers aside) said once with where they apply.

    Args:
        estimates: the estimate rows (label, is_total, warnings).

    Returns:
        Plain-language warnings, the total's first.
    """
    if estimates.empty:
        return []
    groups: dict[str, list[tuple[str, str]]] = {}
    for warnings, is_total, label in zip(estimates["warnings"], estimates["is_total"], estimates["label"]):
        for text in map(plain_warning, warnings):
            groups.setdefault(re.sub(r"\d[\d.,]*", "#", text), []).append((text, "" if is_total else label))
    out = []
    for items in groups.values():
        text, where = items[0][0], [label for _, label in items]
        if where == [""]:
            out.append(text)
        elif len(where) == 1:
            out.append(f"{where[0]}: {text}")
        else:
            places = ("the total and " if "" in where else "") + _groups(len([w for w in where if w]))
            differ = "; the figures differ, see the estimates" if len({t for t, _ in items}) > 1 else ""
            out.append(f"{text} ({places}{differ})")
    return out


def _groups(n: int) -> str:
    return f"{n} group{'s' if n != 1 else ''}"


def parse_stratum(stratum: str) -> dict[str, str]:
    """'age_group=0-17|sex=female' -> {'age_group': '0-17', 'sex': 'female'}."""
    if stratum in ("total", "", "all"):
        return {}
    return dict(item.partition("=")[::2] for item in stratum.split("|"))


def age_range(label: str | None) -> tuple[float, float] | None:
    """The (lowest, highest) age of an age-group label such as '0-17', '60+', '<18'; None if unknown."""
    if not label:
        return None
    text = label.strip()
    if m := re.fullmatch(r"(\d+)\s*[-–]\s*(\d+)", text):
        return float(m[1]), float(m[2])
    if m := re.fullmatch(r"(\d+)\s*\+", text):
        return float(m[1]), math.inf
    if m := re.fullmatch(r"<\s*(\d+)", text):
        return 0.0, float(m[1]) - 1
    return None


@dataclass(frozen=True)
class Share:
    """One demographic share: documented and, where the strata allow, estimated.

    Attributes:
        label: e.g. 'children (under 18)'.
        count, base: documented persons in the group and with the fields known.
        documented: count / base (None without a base).
        estimated, lower, upper: the share of the estimated total, with its conservative interval.
    """

    label: str
    count: int
    base: int
    documented: float | None
    estimated: float | None = None
    lower: float | None = None
    upper: float | None = None


_GROUPS: list[tuple[str, float, float, str | None]] = [
    ("children (under 18)", 0, 17, None),
    ("women (18 and over)", 18, math.inf, "female"),
    ("elderly (60 and over)", 60, math.inf, None),
    ("elderly (65 and over)", 65, math.inf, None),
]


def _member(stratum: dict[str, str], lo: float, hi: float, sex: str | None) -> bool | None:
    """Whether a stratum lies inside the group (True), outside (False) or straddles it (None)."""
    if sex is not None:
        if "sex" not in stratum:
            return None
        if stratum["sex"] != sex:
            return False
    rng = age_range(stratum.get("age_group"))
    if rng is None:
        return None
    if rng[0] >= lo and rng[1] <= hi:
        return True
    if rng[1] < lo or rng[0] > hi:
        return False
    return None


def _estimated_share(strata: pd.DataFrame, lo: float, hi: float, sex: str | None) -> tuple[float, ...] | None:
    if strata.empty or not strata["estimable"].all():
        return None
    inside = [_member(parse_stratum(s), lo, hi, sex) for s in strata["stratum"]]
    if any(flag is None for flag in inside):
        return None
    mask = pd.Series(inside, index=strata.index, dtype=bool)
    est_in, est_out = strata.loc[mask, "estimate"].sum(), strata.loc[~mask, "estimate"].sum()
    if est_in + est_out <= 0:
        return None
    share = est_in / (est_in + est_out)
    low_in, up_in = strata.loc[mask, "lower"], strata.loc[mask, "upper"]
    low_out, up_out = strata.loc[~mask, "lower"], strata.loc[~mask, "upper"]
    lower = low_in.sum() / (low_in.sum() + up_out.sum()) if not up_out.isna().any() else 0.0
    upper = up_in.sum() / (up_in.sum() + low_out.sum()) if not up_in.isna().any() else 1.0
    return float(share), float(lower), float(upper)


def shares(persons: pd.DataFrame, estimates: pd.DataFrame) -> list[Share]:
    """The shares of children, women and elderly (60+ and 65+).

    Args:
        persons: one row per person with ``age`` and ``sex``.
        estimates: the estimate rows (may be empty).

    Returns:
        One :class:`Share` per group, in a fixed order.
    """
    strata = estimates[~estimates["is_total"]] if not estimates.empty else estimates
    age = pd.to_numeric(persons["age"], errors="coerce")
    out = []
    for label, lo, hi, sex in _GROUPS:
        known = age.notna() & (persons["sex"].isin(["male", "female"]) if sex else True)
        in_group = known & (age >= lo) & (age <= hi) & ((persons["sex"] == sex) if sex else True)
        base, count = int(known.sum()), int(in_group.sum())
        estimated = _estimated_share(strata, lo, hi, sex) if not strata.empty else None
        out.append(Share(label, count, base, count / base if base else None, *(estimated or ())))
    return out
