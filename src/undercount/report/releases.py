"""The report's "Releases" section: each list's releases beside their top lines, and what changed.

For every list with more than one release: a table of its releases (date, records, the top line
announced and its gap to the records, identified and unidentified records, missing ages, and the
shares of children, women and elderly over all records and over records with a valid ID and a known
age), the stored diffs of consecutive releases (counts per class, status moves) and a figure of the
counts by class across releases. Figures and counts only: no name, no ID number. Diffs are read
from stored 'diff' runs (``undercount diff``), never computed by the report.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np

from undercount.releases.match import CLASSES
from undercount.releases.profile import release_profile
from undercount.releases.stored import diff_runs
from undercount.report.figures import A4_WIDTH_IN, Chart, _chart, _grid, _thousands
from undercount.store.releases import ReleaseInfo, release_table

if TYPE_CHECKING:
    from undercount.store import Case

__all__ = ["CLASS_COLOURS", "CLASS_LABELS", "changes_across_releases", "releases_context"]

CLASS_LABELS = {
    "unchanged": "unchanged", "corrected": "corrected", "status_moved": "status moved",
    "reappeared_new_id": "reappeared with a new ID", "id_reassigned": "ID reassigned", "added": "added",
    "removed": "removed", "duplicate_resolved": "duplicate resolved", "duplicate_added": "duplicate added",
}
CLASS_COLOURS = {
    "unchanged": "#BBBBBB", "corrected": "#56B4E9", "status_moved": "#CC79A7", "reappeared_new_id": "#E69F00",
    "id_reassigned": "#D55E00", "added": "#009E73", "removed": "#000000", "duplicate_resolved": "#777777",
    "duplicate_added": "#0072B2",
}


def changes_across_releases(list_name: str, diffs: list[dict[str, Any]]) -> Chart | None:
    """Records per class in each stored diff of one list (a bar per pair of releases, the later
    release's records above the axis, the earlier release's removed records below).

    Returns:
        The chart, or None without a diff.
    """
    if not diffs:
        return None
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, 3.2), layout="constrained")
    x = np.arange(len(diffs))
    up = np.zeros(len(diffs))
    down = np.zeros(len(diffs))
    for cls in CLASSES:
        later = np.array([d["counts"].get(cls, {}).get("later", 0) for d in diffs], dtype=float)
        earlier_only = np.array([d["counts"].get(cls, {}).get("earlier", 0) if not d["counts"].get(cls, {}).get("later")
                                 else 0 for d in diffs], dtype=float)
        if later.any():
            ax.bar(x, later, bottom=up, color=CLASS_COLOURS[cls], width=0.6, label=CLASS_LABELS[cls])
            up += later
        if earlier_only.any():
            ax.bar(x, -earlier_only, bottom=-down, color=CLASS_COLOURS[cls], width=0.6, hatch="//",
                   label=f"{CLASS_LABELS[cls]} (earlier release)")
            down += earlier_only
    ax.axhline(0, color="#333333", linewidth=0.8)
    ax.set_xticks(x, [f"{d['from_label']}\n→ {d['to_label']}" for d in diffs], fontsize=7)
    ax.set_ylabel("records")
    _thousands(ax, "y")
    _grid(ax, "y")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=7)
    alt = (f"Records of list {list_name} by what happened to them between consecutive releases "
           f"({len(diffs)} pair{'s' if len(diffs) != 1 else ''} of releases).")
    key = "releases-" + hashlib.sha256(list_name.encode("utf-8")).hexdigest()[:10]
    return _chart(fig, key, f"What changed between releases of {list_name}", alt)


def _release_row(rel: ReleaseInfo, recs: Any) -> dict[str, Any]:
    profile = release_profile(recs, top_line=rel.top_line, top_line_identified=rel.top_line_identified)
    return {"source": rel.source, "released": rel.released.isoformat() if rel.released else "date unknown",
            "file": rel.file_name, **profile}


def releases_context(case: Case) -> dict[str, Any]:
    """The Releases section's data.

    Returns:
        {"releases": {"has": bool, "lists": [{name, releases: [...], diffs: [...], chart}], "figures": n}}.
    """
    table = release_table(case)
    by_list: dict[str, list[ReleaseInfo]] = {}
    for rel in table:
        by_list.setdefault(rel.list_name, []).append(rel)
    several = {name: rels for name, rels in by_list.items() if len(rels) > 1 or rels[0].top_line is not None}
    lists = []
    figures = 0
    if several:
        sources = [r.source for rels in several.values() for r in rels]
        recs = case.records(["source", "id_number", "id_valid", "age", "sex"], sources=sources)
        runs = diff_runs(case)
        labels = {r.source: (r.released.isoformat() if r.released else r.source) for r in table}
        for name, rels in several.items():
            rows = [_release_row(rel, recs[recs["source"] == rel.source]) for rel in rels]
            mine = runs[runs["list_name"] == name] if not runs.empty else runs
            diffs = []
            for run in mine.to_dict("records"):
                counts = run["counts"]
                diffs.append({
                    "from": run["from_source"], "to": run["to_source"], "run_id": run["run_id"],
                    "from_label": labels.get(run["from_source"], run["from_source"]),
                    "to_label": labels.get(run["to_source"], run["to_source"]),
                    "counts": counts,
                    "rows": [{"class": CLASS_LABELS.get(c, c), "earlier": counts.get(c, {}).get("earlier", 0),
                              "later": counts.get(c, {}).get("later", 0)} for c in CLASSES
                             if counts.get(c, {}).get("earlier", 0) or counts.get(c, {}).get("later", 0)],
                    "totals": [sum(v.get("earlier", 0) for v in counts.values()),
                               sum(v.get("later", 0) for v in counts.values())],
                })
            consecutive = [d for d in diffs if _consecutive(rels, d["from"], d["to"])]
            chart = changes_across_releases(name, consecutive)
            figures += chart is not None
            missing = [f"{a.source} → {b.source}" for a, b in zip(rels, rels[1:])
                       if not any(d["from"] == a.source and d["to"] == b.source for d in diffs)]
            lists.append({"name": name, "releases": rows, "diffs": diffs, "chart": chart, "undiffed": missing})
    return {"releases": {"has": bool(lists), "lists": lists}, "release_figures": figures}


def _consecutive(rels: list[ReleaseInfo], early: str, late: str) -> bool:
    order = [r.source for r in rels]
    return early in order and late in order and order.index(late) == order.index(early) + 1
