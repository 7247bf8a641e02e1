"""A release against its top line: how many named records, identified or not, and who they are.

Publishers announce a total (the *top line*) with each release; the named records are fewer. The
published audits of these lists (AOAV 2024, among others) set the top line beside the records,
split the records into identified (a valid ID number) and not, and read the shares of children,
women and elderly people twice: over every record, and over the records whose ID number is valid
and whose age is known, since an invalid ID or a missing age is where errors gather.

Example:
    >>> import pandas as pd
    >>> recs = pd.DataFrame({"id_number": ["1", None], "id_valid": [True, None], "age": [8, 40],
    ...                      "sex": ["male", "female"]})
    >>> profile = release_profile(recs, top_line=5)
    >>> profile["gap"], profile["identified"], profile["composition"]["all"]["children"]
    (3, 1, 0.5)
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

__all__ = ["GROUPS", "composition", "release_profile"]

#: The groups whose shares the audits follow: (key, label, lowest age, highest age, sex).
GROUPS: tuple[tuple[str, str, float, float, str | None], ...] = (
    ("children", "children (under 18)", 0, 17, None),
    ("women", "women (18 and over)", 18, math.inf, "female"),
    ("elderly", "elderly (65 and over)", 65, math.inf, None),
)


def composition(recs: pd.DataFrame) -> dict[str, Any]:
    """The shares of children, women and elderly among records with the age (and sex) known.

    Returns:
        {"records": n, "age_known": n, children/women/elderly: share or None}.
    """
    age = pd.to_numeric(recs["age"], errors="coerce")
    sex = recs["sex"]
    out: dict[str, Any] = {"records": len(recs), "age_known": int(age.notna().sum())}
    for key, _, lo, hi, only in GROUPS:
        known = age.notna() & (sex.isin(["male", "female"]) if only else True)
        inside = known & (age >= lo) & (age <= hi) & ((sex == only) if only else True)
        base = int(known.sum())
        out[key] = round(int(inside.sum()) / base, 4) if base else None
    return out


def release_profile(recs: pd.DataFrame, *, top_line: int | None = None, top_line_identified: int | None = None,
                    persons: int | None = None) -> dict[str, Any]:
    """A release's figures beside its top line.

    Args:
        recs: the release's records (id_number, id_valid, age, sex).
        top_line: the total announced with the release.
        top_line_identified: the announced number of identified people.
        persons: distinct persons among the records (after the release's own duplicates), if known.

    Returns:
        rows, persons, duplicates, top_line, gap (top line less records; None without a top line),
        identified (valid ID) and unidentified records (no ID, or an invalid one), top line
        identified and its gap, missing ages, and ``composition``: ``all`` records and ``valid``
        (valid ID and known age) records.
    """
    valid = recs["id_valid"].astype("boolean").fillna(False).astype(bool) & recs["id_number"].notna()
    has_id = recs["id_number"].notna()
    age_known = pd.to_numeric(recs["age"], errors="coerce").notna()
    rows = len(recs)
    out: dict[str, Any] = {
        "rows": rows,
        "persons": persons,
        "duplicates": None if persons is None else rows - persons,
        "top_line": top_line,
        "gap": None if top_line is None else top_line - rows,
        "gap_persons": None if top_line is None or persons is None else top_line - persons,
        "identified": int(valid.sum()),
        "unidentified": int((~valid).sum()),
        "missing_id": int((~has_id).sum()),
        "invalid_id": int((has_id & ~valid).sum()),
        "missing_age": int((~age_known).sum()),
        "top_line_identified": top_line_identified,
        "identified_gap": None if top_line_identified is None else top_line_identified - int(valid.sum()),
        "composition": {"all": composition(recs), "valid": composition(recs[valid & age_known])},
    }
    return out
