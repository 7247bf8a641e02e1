"""The confidence grade of an incident, from its merged sources, by one stated rule.

The grades follow the practice of casualty recorders (Airwars grades each incident by the public
record behind it; WHO's attack surveillance and Insecurity Insight attach a certainty to each
attack). undercount computes the grade from the reports an incident holds, so it changes when
deduplication merges or splits reports, and it always says why.

The rule, applied in this order (the first that holds wins):

1. **discounted**: a reviewer discounted the incident, or every report that grades it says
   discounted (the sources themselves found the claim not credible).
2. **confirmed**: a reviewer confirmed it, or a report says the suspected actor it names
   accepted responsibility (``acknowledged = yes``).
3. **contested**: the reports name two or more different suspected actors (competing claims).
4. **fair**: two or more independent credible sources report it.
5. **weak**: a single source (or sources that are not independent, or not credible).

Sources are *independent* when they are different publishers (names compared after folding case,
spaces and Arabic letter variants) and do not cite the same reference (two outlets repeating one
URL are one source). A source is *credible* unless its file marks it ``credible = no``. A reviewer's
decision (``undercount incidents grade``) overrides the rule for confirmed or discounted only; the
other grades always follow the record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from undercount.ingest.columns import fold

__all__ = ["Grade", "grade_incident", "independent_sources", "actor_claims"]


@dataclass(frozen=True)
class Grade:
    """An incident's grade and why.

    Attributes:
        grade: confirmed | fair | weak | contested | discounted.
        reason: one sentence a reader can check against the sources.
        sources: the independent sources counted (their names).
    """

    grade: str
    reason: str
    sources: tuple[str, ...]


def _flag(value: Any) -> bool | None:
    """A yes/no cell's value (numpy and pandas booleans too); None when unknown."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return None


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and pd.isna(value)) and value is not pd.NA


def independent_sources(reports: Iterable[Mapping[str, Any]], *, credible_only: bool = True) -> tuple[str, ...]:
    """The independent sources among reports: distinct publishers not citing one reference.

    Args:
        reports: rows with source_name, reference and credible.
        credible_only: leave out sources marked not credible.

    Returns:
        The publishers' names, one per independent source, sorted.

    Example:
        >>> rows = [{"source_name": "Airwars", "reference": "u1", "credible": None},
        ...         {"source_name": "AIRWARS ", "reference": "u2", "credible": None},
        ...         {"source_name": "Reuters", "reference": "u9", "credible": None},
        ...         {"source_name": "AP", "reference": "u9", "credible": None}]
        >>> independent_sources(rows)
        ('AP', 'Airwars')
    """
    names: dict[str, str] = {}
    references: dict[str, str] = {}
    groups: dict[str, str] = {}

    def find(x: str) -> str:
        while groups[x] != x:
            x = groups[x]
        return x

    for row in reports:
        if credible_only and _flag(row.get("credible")) is False:
            continue
        name = str(row.get("source_name") or "").strip()
        key = fold(name)
        if not key:
            continue
        names.setdefault(key, name)
        groups.setdefault(key, key)
        reference = row.get("reference")
        if _present(reference) and str(reference).strip():
            ref = str(reference).strip().rstrip("/").casefold()
            if ref in references:
                a, b = find(references[ref]), find(key)
                if a != b:
                    groups[max(a, b)] = min(a, b)
            else:
                references[ref] = key
    roots = {find(k) for k in groups}
    return tuple(sorted(names[r] for r in roots))


def actor_claims(reports: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """The different suspected actors the reports name, as first written (compared folded).

    Example:
        >>> actor_claims([{"actor": "Israeli forces"}, {"actor": "israeli  forces"}, {"actor": None}])
        ('Israeli forces',)
    """
    seen: dict[str, str] = {}
    for row in reports:
        actor = row.get("actor")
        if _present(actor) and str(actor).strip():
            seen.setdefault(fold(str(actor)), " ".join(str(actor).split()))
    return tuple(seen[k] for k in sorted(seen))


def grade_incident(reports: Iterable[Mapping[str, Any]], *, decision: str | None = None) -> Grade:
    """Grade one incident from its reports by the module's rule.

    Args:
        reports: the incident's reports (rows with source_name, reference, credible, actor,
            acknowledged and assessment).
        decision: a reviewer's grade ('confirmed' or 'discounted'), or None.

    Returns:
        The :class:`Grade`.

    Example:
        >>> grade_incident([{"source_name": "Airwars"}, {"source_name": "WHO"}]).grade
        'fair'
        >>> grade_incident([{"source_name": "Airwars", "actor": "A"}, {"source_name": "WHO", "actor": "B"}]).grade
        'contested'
    """
    rows = list(reports)
    sources = independent_sources(rows)
    every = independent_sources(rows, credible_only=False)
    if decision == "discounted":
        return Grade("discounted", "discounted by a reviewer", sources)
    graded = [str(r["assessment"]) for r in rows if _present(r.get("assessment"))]
    if graded and all(g == "discounted" for g in graded):
        return Grade("discounted", f"every report that grades it says discounted ({len(graded)})", sources)
    actors = actor_claims(rows)
    if decision == "confirmed":
        return Grade("confirmed", "confirmed by a reviewer", sources)
    owned = [r for r in rows if _flag(r.get("acknowledged")) is True and _present(r.get("actor"))]
    if owned:
        who = " ".join(str(owned[0]["actor"]).split())
        return Grade("confirmed", f"the named actor ({who}) accepted responsibility, "
                                  f"reported by {owned[0].get('source_name')}", sources)
    if len(actors) >= 2:
        return Grade("contested", f"competing claims: {len(actors)} different suspected actors reported", sources)
    if len(sources) >= 2:
        return Grade("fair", f"{len(sources)} independent credible sources: {', '.join(sources)}", sources)
    if len(every) > len(sources):
        return Grade("weak", f"{len(sources)} credible source(s); {len(every) - len(sources)} marked not credible",
                     sources)
    if len(every) == 1 and len(rows) > 1:
        return Grade("weak", f"a single source ({every[0]}), in {len(rows)} reports", sources)
    return Grade("weak", f"a single source ({every[0]})" if every else "no named source", sources)
