"""Diff runs in the case: the newest one of each pair of releases (written by :func:`undercount.releases.diff.write_diff`).

A diff row stores record ids, its class, the pair's probability and which fields changed (their
names only): the values before and after are read from the records when shown or exported, so the
diff adds no personal data to the case.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from undercount.store.releases import release_table

__all__ = ["diff_runs"]


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
