"""The register: one row per person, with best values, sources and status history.

A person's best value of a field is the most frequent non-null value among their records;
ties go to the more reliable source: lists holding valid ID numbers first, then larger lists,
then the list name. The status history lists every record's status with its date (event date,
else reported date) and source, oldest first; the status is killed when any record says killed
(death is final: missing on one list and killed on another is killed), else the last dated one
(records without a date come first; among equal dates the gravest status wins: injured,
detained, missing). The estimate reconciles statuses by the same rule
(:func:`undercount.estimate.population.reconcile`).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from undercount.store import Case
from undercount.store.fields import STATUS_GRAVITY, Role, record_table

__all__ = ["build_register", "source_ranks"]

_GRAVITY = {status: rank for rank, status in enumerate(STATUS_GRAVITY, start=1)}


def source_ranks(records: pd.DataFrame) -> pd.Series:
    """Rank of each list by reliability (0 = most reliable).

    Args:
        records: at least source and id_valid.

    Returns:
        An int Series indexed by source name.
    """
    stats = records.groupby("source").agg(
        valid=("id_valid", lambda s: bool(s.fillna(False).astype(bool).any())), size=("source", "size")
    )
    stats = stats.reset_index().sort_values(["valid", "size", "source"], ascending=[False, False, True])
    return pd.Series(np.arange(len(stats)), index=stats["source"].to_numpy())


def _best(frame: pd.DataFrame, field: str) -> pd.Series:
    values = frame[["person_id", field, "rank"]].dropna(subset=[field])
    if values.empty:
        return pd.Series(dtype=object)
    key = values[field].astype(str)
    grouped = values.assign(_key=key).groupby(["person_id", "_key"], sort=False).agg(
        n=("rank", "size"), best_rank=("rank", "min"), value=(field, "first")
    )
    grouped = grouped.reset_index().sort_values(["person_id", "n", "best_rank", "_key"], ascending=[True, False, True, True])
    return grouped.drop_duplicates("person_id").set_index("person_id")["value"]


def _history(frame: pd.DataFrame) -> pd.DataFrame:
    hist = frame[["person_id", "status", "event_date", "reported_date", "source", "rank"]].copy()
    hist["date"] = pd.to_datetime(hist["event_date"], errors="coerce").fillna(pd.to_datetime(hist["reported_date"], errors="coerce"))
    hist["gravity"] = hist["status"].map(_GRAVITY).fillna(0)
    hist = hist.sort_values(["person_id", "date", "gravity", "rank"], na_position="first", kind="stable")
    hist = hist[hist["status"].map(lambda s: isinstance(s, str))]
    dates = [None if pd.isna(d) else d.date().isoformat() for d in hist["date"]]
    hist["event"] = [
        json.dumps({"status": s, "date": d, "source": src}, ensure_ascii=False)
        for s, d, src in zip(hist["status"], dates, hist["source"])
    ]
    grouped = hist.groupby("person_id", sort=False)
    status = grouped["status"].last()
    status[status.index.isin(hist.loc[hist["status"] == "killed", "person_id"])] = "killed"  # death is final
    out = pd.DataFrame({"statuses": grouped["event"].agg(lambda e: "[" + ", ".join(e) + "]"), "status": status})
    persons = pd.Index(frame["person_id"].unique(), name="person_id")
    out = out.reindex(persons)
    out["statuses"] = out["statuses"].astype(object).where(out["statuses"].notna(), "[]")
    return out


def build_register(case: Case) -> pd.DataFrame:
    """Build the register of the case's current clusters.

    Args:
        case: an open, linked case.

    Returns:
        One row per person: person_id, the best value of each field with the register role
        (:class:`undercount.store.fields.Role`), n_records, sources (list of list names), statuses (JSON list
        of {status, date, source}) and status (the latest), ordered by person_id.

    Raises:
        StoreError: the case has not been linked.
    """
    clusters = case.clusters()[["record_id", "person_id"]]
    records = case.records()
    frame = records.merge(clusters, on="record_id", how="inner")
    frame["rank"] = frame["source"].map(source_ranks(frame))
    persons = frame.groupby("person_id", sort=True)
    out = pd.DataFrame(index=pd.Index(sorted(frame["person_id"].unique()), name="person_id"))
    for field in record_table().with_role(Role.REGISTER):
        out[field] = _best(frame, field).reindex(out.index)
    out["n_records"] = persons.size().reindex(out.index).astype(int)
    pairs = frame[["person_id", "source"]].drop_duplicates().sort_values(["person_id", "source"])
    out["sources"] = pairs.groupby("person_id")["source"].agg(list).reindex(out.index)
    out = out.join(_history(frame))
    if "age" in out:
        out["age"] = pd.to_numeric(out["age"], errors="coerce").astype("Int64")
    return out.reset_index()
