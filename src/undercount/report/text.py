"""The methods text: what was done, with the case's numbers, in words a journalist can quote.

The text states the assumptions behind multiple systems estimation and the caveats that apply
to this case (how many lists, whether dependence can be tested, unresolved links, warnings).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from undercount.estimate.registry import estimators
from undercount.report.data import LinkageSummary
from undercount.report.summary import Headline, _groups

__all__ = ["methods_text", "fmt_int", "fmt_interval", "method_names"]


def method_names() -> dict[str, str]:
    """Each registered method's description with its citation, by name (the estimator registry)."""
    return {e.name: e.description for e in estimators() if e.name != "auto"}


def fmt_int(value: float | int | None) -> str:
    """A count with thousands separators, or an en dash when unknown."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    return f"{round(float(value)):,}"


def fmt_interval(lower: float | None, upper: float | None) -> str:
    """'12,300 to 15,800'; an open upper end is said in words."""
    if lower is None and upper is None:
        return "no interval"
    if upper is None:
        return f"{fmt_int(lower)} to no finite upper limit"
    return f"{fmt_int(lower)} to {fmt_int(upper)}"


def _join(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _method_name(method: str | None, estimates: pd.DataFrame | None = None) -> str:
    if not method:
        return "an unnamed method"
    base = method.split("+")[0].split(":")[0].replace("pooled_", "").replace("pooled-", "")
    if base == "auto" and estimates is not None and not estimates.empty:
        rows = estimates[~estimates["is_total"]] if (~estimates["is_total"]).any() else estimates
        chosen = rows["model"].dropna().map(lambda m: str(m).split()[0] if str(m).split() else "").value_counts()
        known = method_names()
        names = [f"{known.get(m, m)}{' (' + _groups(n) + ')' if len(rows) > 1 else ''}"
                 for m, n in chosen.items() if m in known]
        if names:
            return "undercount's automatic choice of method, which used " + _join(names)
    return method_names().get(base, method)


def _data_paragraph(sources: pd.DataFrame, link: LinkageSummary) -> str:
    k = len(sources)
    names = _join([f"'{n}' ({fmt_int(r)} rows)" for n, r in zip(sources["name"], sources["row_count"])])
    text = f"undercount combined {k} list{'s' if k != 1 else ''}: {names}. "
    if not link.linked:
        return text + "The records have not yet been linked, so no count of distinct persons is given."
    text += (
        f"Of the {fmt_int(link.records)} records, {fmt_int(link.duplicates_within)} were repeat entries of a "
        f"person already on the same list. After linking the records that refer to the same person across "
        f"lists, the lists name {fmt_int(link.persons)} distinct persons; {fmt_int(link.multi_list)} of them "
        f"appear on more than one list."
    )
    return text


def _linkage_paragraph(link: LinkageSummary) -> str:
    if not link.linked:
        return ""
    text = (
        "Records were linked by a probabilistic record-linkage model (Fellegi and Sunter 1969, as "
        "implemented by Splink) that compares each part of the name, also across Arabic and Latin "
        "script, together with age, sex, ID number, dates and place, and learns how much each agreement "
        "counts from the data themselves."
    )
    if link.threshold is not None:
        text += f" Two records were treated as the same person when the model gave a match probability of at least {link.threshold:g}."
    if link.waiting:
        text += (
            f" {fmt_int(link.waiting)} candidate links lie close to that threshold and have not yet been "
            f"checked by a person; each could move the count of distinct persons by one."
        )
    elif link.band is not None:
        text += " Every candidate link close to the threshold has been checked by a person."
    return text


def _estimate_paragraph(head: Headline, estimates: pd.DataFrame, run: dict[str, Any]) -> str:
    if estimates.empty:
        return "No estimate of the victims missing from every list has been made yet."
    strata = estimates[~estimates["is_total"]]
    method = _method_name(head.method, estimates)
    text = (
        "The number of victims who appear on none of the lists was estimated by multiple systems "
        f"estimation (also called capture-recapture), using {method}"
    )
    if len(strata):
        by = run.get("params", {}).get("by")
        by_list = [b.strip() for b in by.split(",")] if isinstance(by, str) else [str(b) for b in by or []]
        by_text = f" defined by {_join([b.replace('_', ' ') for b in by_list])}" if by_list else ""
        text += (f", separately in {len(strata)} groups{by_text}, because people in different groups "
                 f"are not equally likely to be recorded; the groups' estimates were then combined")
    text += ". "
    if head.estimable and head.estimate is not None:
        population = (run.get("population") or {}).get("label") or "all victims"
        documented = head.base if head.base is not None else head.documented
        text += (
            f"The estimated total of {population} is {fmt_int(head.estimate)} ({head.level:.0%} interval "
            f"{fmt_interval(head.lower, head.upper)}), against {fmt_int(documented)} documented by name: "
            f"an estimated {fmt_int(head.undercount)} of them "
            f"({fmt_interval(head.undercount_lower, head.undercount_upper)}) are on none of the lists."
        )
        if head.base is not None and head.base != head.documented:
            text += (
                f" (The lists hold {fmt_int(head.documented)} distinct persons of every status in the best single "
                f"linkage; the estimate counts {fmt_int(head.base)} of them as documented {population}, over plausible "
                f"linkages of the records; the number on no list is the estimate minus the latter.)"
            )
        if head.upper is None:
            text += " The data cannot rule out a much larger number: the interval has no finite upper end."
    else:
        text += f"No total could be estimated honestly: {head.reason or 'see the warnings'}."
    draws = head.linkage.get("draws")
    if head.linkage_share is not None or draws:
        text += (
            " The interval also carries the uncertainty of the linkage itself: the estimate was repeated over "
            f"{f'{draws} ' if draws else ''}plausible alternative linkages and pooled"
        )
        text += (f", and {head.linkage_share:.0%} of the interval's width comes from not knowing for sure which "
                 "records belong to the same person." if head.linkage_share is not None else ".")
    return text


def _caveats(k: int, head: Headline, estimates: pd.DataFrame) -> list[str]:
    caveats = [
        "Capture-recapture rests on assumptions. The most important is that the lists' chances of "
        "recording a person are either unrelated, or related in ways the model can describe. When some "
        "victims are hard for every list to record (people never recovered from rubble, small children, "
        "whole households killed together), all lists miss them together and the estimate is too low "
        "(heterogeneity). The interval does not cover this bias.",
    ]
    if k <= 2:
        caveats.append(
            "With only two lists, the estimate has to assume that the lists record people independently of "
            "each other; the data cannot test this."
        )
    elif k == 3:
        caveats.append(
            "With three lists, the data cannot test every form of dependence between the lists: the model "
            "that allows all of them at once has no information left to estimate the unseen. The estimate "
            "therefore depends on an assumption the data cannot check."
        )
    else:
        caveats.append(
            f"With {k} lists, some dependence between lists can be modelled, but not every form of it at once."
        )
    if head.dependence:
        named = "; ".join(" and ".join(str(n) for n in p.get("lists", ())) for p in head.dependence)
        caveats.append(
            f"Some lists record fewer people in common than their sizes would lead one to expect ({named}; "
            "tested over all groups together). Capture-recapture reads a small overlap as many victims on no "
            "list, so the estimate uses a model that allows for this, and its interval still includes the "
            "answer of the model that does not."
        )
    if head.warnings:
        caveats.append(
            f"The estimation raised {len(head.warnings)} warning{'s' if len(head.warnings) != 1 else ''}, "
            "listed in the estimates section; figures they concern should be quoted with them."
        )
    if not estimates.empty and (~estimates["estimable"]).any():
        caveats.append(
            f"{int((~estimates['estimable']).sum())} group(s) had too little information to estimate "
            "and are shown as not estimable rather than given a number."
        )
    caveats.append(
        "The estimate covers the kind of victims the lists record (for example deaths reported to the "
        "lists' sources); deaths the lists could never record in principle, such as many indirect deaths "
        "from starvation or disease, are outside it."
    )
    return caveats


def methods_text(
    sources: pd.DataFrame,
    link: LinkageSummary,
    head: Headline,
    estimates: pd.DataFrame,
    run: dict[str, Any],
) -> dict[str, list[str]]:
    """The methods section as paragraphs.

    Args:
        sources: the imported lists (name, row_count).
        link: the linkage summary.
        head: the headline numbers.
        estimates: the current estimate rows.
        run: the estimate run (params, summary).

    Returns:
        {'what': [...paragraphs...], 'caveats': [...]} in plain text.
    """
    what = [
        _data_paragraph(sources, link),
        _linkage_paragraph(link),
        _estimate_paragraph(head, estimates, run),
    ]
    return {"what": [p for p in what if p], "caveats": _caveats(len(sources), head, estimates)}
