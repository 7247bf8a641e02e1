"""The report's sections on incidents and on displacement: tables, figures and the text around them.

* **Incidents**: incidents by month and object type (a stacked bar chart and a table), grades per
  object type with the grading rule, and the ten deadliest incidents (by the highest number
  reported) with their named-victim coverage ("12 named of 15-20 reported").
* **Displacement**: displaced people over time by place of arrival, per file (a line chart for
  the largest file and a table for every file). Files are never summed with each other and
  displacement is never added to deaths.

Each reader tolerates a case without incidents or displacement; the section then says what to
import. No name of a victim appears: incidents show counts, and the families reports name are
shown only when the report is not redacted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from undercount.report.figures import A4_WIDTH_IN, MUTED, PALETTE, Chart, _chart, _grid, _thousands, shape_label

if TYPE_CHECKING:
    from undercount.store import Case

__all__ = ["incidents_context", "incidents_by_month", "displacement_over_time", "OBJECT_COLOURS", "GRADE_ORDER"]

OBJECT_COLOURS = {
    "residential": "#D55E00", "shelter": "#E69F00", "school": "#56B4E9", "health_facility": "#009E73",
    "place_of_worship": "#CC79A7", "water_sanitation": "#0072B2", "aid_distribution": "#F0E442", "other": "#999999",
    "unknown": "#DDDDDD",
}
GRADE_ORDER = ("confirmed", "fair", "weak", "contested", "discounted")


def incidents_by_month(incidents: pd.DataFrame) -> Chart | None:
    """Incidents per month, stacked by object type.

    Args:
        incidents: one row per incident with ``date_start`` and ``object_type``.

    Returns:
        The chart, or None when no incident has a date.
    """
    from undercount.incidents import OBJECT_LABELS

    dated = incidents.dropna(subset=["date_start"])
    if dated.empty:
        return None
    month = pd.to_datetime(dated["date_start"]).dt.to_period("M")
    kinds = dated["object_type"].fillna("unknown")
    table = pd.crosstab(month, kinds)
    table = table.reindex(pd.period_range(table.index.min(), table.index.max(), freq="M"), fill_value=0)
    order = [k for k in OBJECT_COLOURS if k in table.columns]
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, 3.4), layout="constrained")
    x = np.arange(len(table))
    bottom = np.zeros(len(table))
    for kind in order:
        values = table[kind].to_numpy(dtype=float)
        ax.bar(x, values, bottom=bottom, color=OBJECT_COLOURS[kind], width=0.8,
               label=OBJECT_LABELS.get(kind, kind))
        bottom += values
    ax.set_xticks(x, [p.strftime("%b\n%Y") if p.month == 1 or i == 0 else p.strftime("%b")
                      for i, p in enumerate(table.index)], fontsize=7)
    ax.set_ylabel("incidents")
    _thousands(ax, "y")
    _grid(ax, "y")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=7)
    alt = f"Incidents per month from {table.index.min()} to {table.index.max()}, by object type ({len(dated):,} in all)."
    return _chart(fig, "incidents-by-month", "Incidents by month and object type", alt)


def displacement_over_time(counts: pd.DataFrame, file: str) -> Chart | None:
    """People displaced per period by place of arrival (cumulative lines), for one file.

    Args:
        counts: the displacement rows (``read_displacement().counts``).
        file: the file to draw.

    Returns:
        The chart, or None when the file has no count.
    """
    rows = counts[counts["file"] == file]
    if rows.empty:
        return None
    place = rows["arrival"].fillna(rows["arrival_adm1"]).fillna("unknown arrival")
    table = rows.assign(place=place).pivot_table(index="date_start", columns="place", values="displaced",
                                                 aggfunc="sum", fill_value=0).sort_index().cumsum()
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, 3.2), layout="constrained")
    for i, column in enumerate(table.columns):
        ax.plot(table.index, table[column].to_numpy(dtype=float), color=PALETTE[i % len(PALETTE)], linewidth=1.6,
                label=shape_label(column), drawstyle="steps-post")
    ax.set_ylabel("people displaced (cumulative)")
    _thousands(ax, "y")
    _grid(ax, "y")
    ax.legend(loc="upper left", frameon=False, fontsize=7, title="arrived in", title_fontsize=7)
    ax.tick_params(axis="x", labelsize=7, colors=MUTED)
    alt = f"Cumulative people displaced by place of arrival in {file}, {len(table.columns)} places."
    return _chart(fig, f"displacement-{len(file)}", f"Displaced people over time by place of arrival ({file})", alt)


def _month_table(incidents: pd.DataFrame) -> dict[str, Any]:
    from undercount.incidents import OBJECT_LABELS

    dated = incidents.dropna(subset=["date_start"])
    if dated.empty:
        return {"months": [], "kinds": [], "rows": []}
    month = pd.to_datetime(dated["date_start"]).dt.strftime("%Y-%m")
    table = pd.crosstab(month, dated["object_type"].fillna("unknown"))
    kinds = [k for k in OBJECT_COLOURS if k in table.columns]
    counts = table.to_numpy(dtype=np.int64)
    position = {k: table.columns.get_loc(k) for k in kinds}
    rows = [{"month": str(m), "counts": [int(counts[i, position[k]]) for k in kinds], "total": int(counts[i].sum())}
            for i, m in enumerate(table.index)]
    return {"kinds": [OBJECT_LABELS.get(k, k) for k in kinds], "rows": rows,
            "totals": [int(table[k].sum()) for k in kinds], "total": int(table.to_numpy().sum())}


def _grades(incidents: pd.DataFrame) -> dict[str, Any]:
    from undercount.incidents import OBJECT_LABELS

    table = pd.crosstab(incidents["object_type"].fillna("unknown"), incidents["grade"])
    grades = [g for g in GRADE_ORDER if g in table.columns]
    kinds = [k for k in OBJECT_COLOURS if k in table.index]
    counts = table.to_numpy(dtype=np.int64)
    col = {g: table.columns.get_loc(g) for g in grades}
    row = {k: table.index.get_loc(k) for k in kinds}
    return {"grades": grades,
            "rows": [{"kind": OBJECT_LABELS.get(k, k), "counts": [int(counts[row[k], col[g]]) for g in grades]}
                     for k in kinds],
            "totals": [int(counts[:, col[g]].sum()) for g in grades]}


def _deadliest(incidents: pd.DataFrame, case: Case, run: str | None, redact: bool) -> list[dict[str, Any]]:
    from undercount.incidents import OBJECT_LABELS
    from undercount.incidents.listing import coverage_text, range_text

    if incidents.empty:
        return []
    size = pd.to_numeric(incidents["killed_max"], errors="coerce").fillna(
        pd.to_numeric(incidents["killed_min"], errors="coerce")).fillna(-1)
    top = incidents.assign(_size=size).sort_values(["_size", "date_start"], ascending=[False, True]).head(10)
    families: dict[str, str] = {}
    if not redact and run is not None:
        found = case.query("SELECT c.incident_id, string_agg(DISTINCT r.family, '; ' ORDER BY r.family) AS f "
                           "FROM uc_incident_clusters c JOIN uc_incident_reports r USING (report_id) WHERE c.run_id = ? "
                           "AND r.family IS NOT NULL GROUP BY c.incident_id", [run])
        families = dict(zip(found["incident_id"].astype(str), found["f"].astype(str)))
    out = []
    for row in top.to_dict(orient="records"):
        date = pd.Timestamp(row["date_start"])
        out.append({
            "incident_id": row["incident_id"],
            "date": date.strftime("%b %Y") if row["date_precision"] == "month" else date.strftime("%d %b %Y"),
            "place": row["place"] or "unknown place", "adm1": row["adm1"],
            "object": OBJECT_LABELS.get(str(row["object_type"]), "unknown"), "weapon": row["weapon"],
            "killed": range_text(row["killed_min"], row["killed_max"]),
            "coverage": coverage_text(int(row["named_killed"] or 0), row["killed_min"], row["killed_max"]),
            "named_killed": int(row["named_killed"] or 0), "grade": row["grade"], "grade_reason": row["grade_reason"],
            "sources": len(row["sources"]), "n_sources": int(row["n_sources"]),
            "families": families.get(str(row["incident_id"])),
        })
    return out


def _displacement(case: Case) -> tuple[dict[str, Any], list[Chart]]:
    from undercount.displacement import read_displacement

    table = read_displacement(case)
    counts = table.counts
    if counts.empty:
        return {"has": False}, []
    files = []
    for file, rows in counts.groupby("file", sort=False):
        place = rows["arrival"].fillna(rows["arrival_adm1"]).fillna("unknown")
        by_place = rows.assign(place=place).groupby("place")["displaced"].sum().sort_values(ascending=False)
        origin = rows["origin"].fillna(rows["origin_adm1"])
        by_origin = rows.assign(o=origin).dropna(subset=["o"]).groupby("o")["displaced"].sum().sort_values(
            ascending=False)
        info = table.files.set_index("name").loc[file] if file in set(table.files["name"]) else None
        files.append({
            "name": file, "file_name": None if info is None else info["file_name"],
            "file_hash": None if info is None else info["file_hash"], "rows": len(rows),
            "hxl": bool(info["hxl"]) if info is not None else False,
            "first": pd.Timestamp(rows["date_start"].min()).strftime("%d %b %Y"),
            "last": pd.Timestamp(rows["date_end"].max()).strftime("%d %b %Y"),
            "total": int(rows["displaced"].sum()),
            "by_place": [(str(k), int(v)) for k, v in by_place.items()],
            "by_origin": [(str(k), int(v)) for k, v in by_origin.items()],
            "sources": sorted(set(rows["source_name"].astype(str))),
        })
    largest = max(files, key=lambda f: int(str(f["rows"])))["name"]
    chart = displacement_over_time(counts, str(largest))
    return {"has": True, "files": files, "charted": largest}, [c for c in (chart,) if c is not None]


def incidents_context(case: Case, *, redact: bool = False) -> tuple[dict[str, Any], int]:
    """What the incidents and displacement sections show, and how many figures they hold.

    Args:
        case: the case.
        redact: leave out the families incident reports name.

    Returns:
        ({"incidents": {...}, "displacement": {...}}, number of figures).
    """
    from undercount.incidents import list_incidents

    listed = list_incidents(case)
    table = listed.incidents
    incidents: dict[str, Any] = {"has": not table.empty, "notes": listed.notes}
    charts: list[Chart] = []
    if not table.empty:
        chart = incidents_by_month(table)
        if chart is not None:
            charts.append(chart)
        named = int(table["named_killed"].sum())
        incidents.update({
            "count": len(table), "reports": listed.reports, "run_id": listed.run_id, "stale": listed.stale,
            "assigned": listed.assignment_run is not None, "named": named,
            "with_named": int((table["named_killed"] > 0).sum()),
            "months": _month_table(table), "grades": _grades(table),
            "deadliest": _deadliest(table, case, listed.run_id, redact), "chart": chart,
        })
    displacement, more = _displacement(case)
    displacement["chart"] = more[0] if more else None
    return {"incidents": incidents, "displacement": displacement}, len(charts) + len(more)
