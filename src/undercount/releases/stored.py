"""Diff runs in the case: write one (``uc_release_diffs`` + a 'diff' run), find the newest ones.

A diff row stores record ids, its class, the pair's probability and which fields changed (their
names only): the values before and after are read from the records when shown or exported, so the
diff adds no personal data to the case.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from undercount.store import Case
from undercount.store.releases import release_table

if TYPE_CHECKING:
    from undercount.releases.diff import DiffResult

__all__ = ["diff_runs", "write_diff"]


def _changes(row: Any) -> str:
    data: dict[str, Any] = {}
    if row.fields:
        data["fields"] = list(row.fields)
    if row.spelling_only:
        data["spelling_only"] = True
    if not pd.isna(row.reference):
        data["reference"] = int(row.reference)
    return json.dumps(data)


def write_diff(case: Case, result: DiffResult, *, started: datetime, username: str | None = None) -> DiffResult:
    """Store a computed diff as a 'diff' run; returns it with its run id.

    Raises:
        StoreError: the case cannot be written (nothing is stored).
    """
    from dataclasses import replace

    run_id = case.new_run_id("diff")
    rows = result.rows
    frame = pd.DataFrame({
        "class": rows["class"].astype(str).reset_index(drop=True),
        "record_from": rows["record_from"].astype("Int64").reset_index(drop=True),
        "record_to": rows["record_to"].astype("Int64").reset_index(drop=True),
        "probability": pd.to_numeric(rows["probability"], errors="coerce").to_numpy(),
        "changes": [_changes(r) for r in rows[["fields", "spelling_only", "reference"]].itertuples(index=False)],
    })
    summary = {
        "list": result.list_name, "from": result.before.source, "to": result.after.source,
        "counts": result.to_dict(records=False)["counts"],
        "profiles": result.profiles, "linkage": result.linkage, "seconds": round(result.seconds, 2),
    }
    params = {"list": result.list_name, "from": result.before.source, "to": result.after.source,
              "options": result.options.to_dict()}
    with case.transaction() as con:
        con.register("uc_new_diff", frame)
        try:
            con.execute("INSERT INTO uc_release_diffs SELECT ?, ?, ?, ?, class, record_from, record_to, probability, "
                        "changes::JSON FROM uc_new_diff", [run_id, result.list_name, result.before.source, result.after.source])
        finally:
            con.unregister("uc_new_diff")
        case.record_run(con, run_id=run_id, kind="diff", started_at=started, params=params, summary=summary,
                        username=username)
    return replace(result, run_id=run_id)


def diff_runs(reader: Any) -> pd.DataFrame:
    """The newest diff run of each pair of releases still in the case, in list and release order.

    Returns:
        list_name, from_source, to_source, from_position, to_position, run_id, counts (dict),
        profiles (dict).
    """
    runs = reader.query("SELECT run_id, params, summary, finished_at FROM uc_runs WHERE kind = 'diff' "
                        "ORDER BY finished_at DESC, run_id DESC")
    table = {r.source: r for r in release_table(reader)}
    seen: set[tuple[str, str]] = set()
    out = []
    for run_id, params, summary, _ in runs.itertuples(index=False):
        p = json.loads(params) if isinstance(params, str) else dict(params or {})
        s = json.loads(summary) if isinstance(summary, str) else dict(summary or {})
        key = (str(p.get("from")), str(p.get("to")))
        if key in seen or key[0] not in table or key[1] not in table:
            continue
        seen.add(key)
        early, late = table[key[0]], table[key[1]]
        out.append({"list_name": early.list_name, "from_source": early.source, "to_source": late.source,
                    "from_position": early.position, "to_position": late.position, "run_id": str(run_id),
                    "counts": s.get("counts", {}), "profiles": s.get("profiles", {})})
    frame = pd.DataFrame(out, columns=["list_name", "from_source", "to_source", "from_position", "to_position",
                                       "run_id", "counts", "profiles"])
    return frame.sort_values(["list_name", "to_position", "from_position"], kind="stable").reset_index(drop=True)
