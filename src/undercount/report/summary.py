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

__all__ = ["Headline", "Share", "headline", "shares", "grouped_warnings", "parse_stratum", "age_range"]


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
        warnings: every warning of the total and the strata (deduplicated, in order).
        correction: the total's correction for missed links (kind, shift, variance_share, ...).
        correction_text: one sentence on it (what it is, what it moved, its part of the interval,
            searches that would narrow it); None when no correction was stored.
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
    correction: dict[str, Any] = field(default_factory=dict)
    correction_text: str | None = None


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
    correction = dict(details.get("correction") or {}) if isinstance(details, dict) else {}
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
        correction=correction,
        correction_text=correction_line(correction) if correction else None,
    )


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
        for text in warnings:
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
