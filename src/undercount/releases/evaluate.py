"""Score a diff against a known truth (a simulated series of releases): precision and recall per class.

Every record of either release has one true class in the transition (the truth of
:func:`undercount.simulate.releases.simulate_releases`: ``class_to_next`` for the earlier release's
records, ``class_from_previous`` for the later's) and one class in the diff; a class's precision is
the share of records the diff puts in it that truly belong there, its recall the share of the
records truly in it that the diff puts there.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from undercount.releases.diff import DiffResult
from undercount.releases.match import CLASSES
from undercount.store import Case

__all__ = ["classified_records", "score_diff"]


def classified_records(case: Case, result: DiffResult, truth: pd.DataFrame, files: Mapping[str, str]) -> pd.DataFrame:
    """One row per record of the two releases: its true class and the diff's.

    Args:
        case: the case holding the releases.
        result: their diff.
        truth: release, row, class_from_previous, class_to_next (one row per record of each release).
        files: release source name in the case -> its ``release`` name in ``truth``.

    Returns:
        release, row, true, found.
    """
    recs = case.records(["record_id", "source", "row"], sources=[result.before.source, result.after.source])
    where = recs.set_index("record_id")
    parts = []
    for end, column in (("from", "class_to_next"), ("to", "class_from_previous")):
        rows = result.rows[result.rows[f"record_{end}"].notna()]
        ids = rows[f"record_{end}"].astype("int64").to_numpy()
        part = pd.DataFrame({"release": where["source"].reindex(ids).map(dict(files)).to_numpy(),
                             "row": where["row"].reindex(ids).to_numpy(), "found": rows["class"].to_numpy()})
        true = truth[["release", "row", column]].rename(columns={column: "true"})
        parts.append(part.merge(true, on=["release", "row"], how="left", validate="one_to_one"))
    return pd.concat(parts, ignore_index=True)[["release", "row", "true", "found"]]


def score_diff(case: Case, result: DiffResult, truth: pd.DataFrame, files: Mapping[str, str]) -> pd.DataFrame:
    """Precision and recall per class (records), with the true and found counts.

    Returns:
        Indexed by class (those present in the truth or the diff): true, found, correct,
        precision, recall (None where undefined).
    """
    table = classified_records(case, result, truth, files)
    rows = []
    for cls in CLASSES:
        true = int((table["true"] == cls).sum())
        found = int((table["found"] == cls).sum())
        if not true and not found:
            continue
        correct = int(((table["true"] == cls) & (table["found"] == cls)).sum())
        rows.append({"class": cls, "true": true, "found": found, "correct": correct,
                     "precision": round(correct / found, 4) if found else None,
                     "recall": round(correct / true, 4) if true else None})
    return pd.DataFrame(rows).set_index("class")
