"""Reading a case's incidents: the current deduplication run, with named victims against reports.

An incident shows its named victims (persons of the register linked to it by
:func:`undercount.incidents.assign_victims`) against the range its sources reported:
"12 named of 15-20 reported".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from undercount.incidents.dedupe import current_dedupe_run, merge_incident, read_reports
from undercount.incidents.files import table_exists

if TYPE_CHECKING:
    from undercount.store import Case

__all__ = ["IncidentList", "list_incidents", "coverage_text", "range_text", "INCIDENT_COLUMNS"]

INCIDENT_COLUMNS = [
    "incident_id", "date_start", "date_end", "date_precision", "place", "locality", "adm1", "lat", "lon",
    "object_type", "weapon", "killed_min", "killed_max", "injured_min", "injured_max", "actors", "n_reports",
    "n_sources", "sources", "grade", "grade_reason", "named_killed", "named",
]


def range_text(low: Any, high: Any) -> str:
    """'15-20', '12', 'at least 12', 'up to 20' or 'unknown'.

    Example:
        >>> range_text(15, 20), range_text(12, 12), range_text(12, None), range_text(None, None)
        ('15-20', '12', 'at least 12', 'unknown')
    """
    lo = None if low is None or pd.isna(low) else int(low)
    hi = None if high is None or pd.isna(high) else int(high)
    if lo is None and hi is None:
        return "unknown"
    if hi is None:
        return f"at least {lo}"
    if lo is None:
        return f"up to {hi}"
    return str(lo) if lo == hi else f"{lo}-{hi}"


def coverage_text(named: int, low: Any, high: Any) -> str:
    """'12 named of 15-20 reported'.

    Example:
        >>> coverage_text(12, 15, 20), coverage_text(0, None, None)
        ('12 named of 15-20 reported', '0 named of unknown reported')
    """
    return f"{named:,} named of {range_text(low, high)} reported"


@dataclass(frozen=True)
class IncidentList:
    """The incidents of a case.

    Attributes:
        incidents: one row per incident (:data:`INCIDENT_COLUMNS`); ``actors`` and ``sources`` are lists.
        run_id: the deduplication run shown (None: reports not deduplicated yet, one incident each).
        stale: reports were imported after that run (run 'undercount incidents dedupe' again).
        assignment_run: the run that linked victims to incidents (None: not linked yet).
        reports: reports in the case.
    """

    incidents: pd.DataFrame
    run_id: str | None
    stale: bool
    assignment_run: str | None
    reports: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {"run_id", "stale", "assignment_run", "reports", "incidents": [...]}."""
        rows = []
        for row in self.incidents.to_dict(orient="records"):
            out = {}
            for key, value in row.items():
                if isinstance(value, pd.Timestamp):
                    value = value.date().isoformat()
                elif value is pd.NA or (isinstance(value, float) and pd.isna(value)):
                    value = None
                out[str(key)] = value
            out["coverage"] = coverage_text(int(row["named_killed"] or 0), row["killed_min"], row["killed_max"])
            rows.append(out)
        return {"run_id": self.run_id, "stale": self.stale, "assignment_run": self.assignment_run,
                "reports": self.reports, "notes": self.notes, "incidents": rows}


def _loads(value: Any) -> list[Any]:
    if isinstance(value, str):
        loaded = json.loads(value)
        return loaded if isinstance(loaded, list) else []
    return list(value) if isinstance(value, (list, tuple)) else []


def _named(case: Case, dedupe_run: str) -> tuple[pd.DataFrame, str | None]:
    """Named victims per incident from the newest assignment run made on this deduplication run."""
    if not table_exists(case, "uc_victim_incidents"):
        return pd.DataFrame(columns=["incident_id", "named", "named_killed"]), None
    runs = case.query("SELECT run_id FROM uc_runs WHERE kind = 'incident-assign' AND json_extract_string(params, "
                      "'$.dedupe_run_id') = ? ORDER BY finished_at DESC, run_id DESC LIMIT 1", [dedupe_run])
    if runs.empty:
        return pd.DataFrame(columns=["incident_id", "named", "named_killed"]), None
    run = str(runs["run_id"].iloc[0])
    counts = case.query("SELECT incident_id, count(*) AS named, count(*) FILTER (WHERE killed) AS named_killed "
                        "FROM uc_victim_incidents WHERE run_id = ? GROUP BY incident_id", [run])
    return counts, run


def list_incidents(case: Case) -> IncidentList:
    """The incidents of the current deduplication run, each with its named victims.

    Before any deduplication, each report is shown as its own incident (graded alone).

    Args:
        case: the case.

    Returns:
        An :class:`IncidentList` (empty when no incident file was imported).
    """
    reports = read_reports(case)
    if reports.empty:
        return IncidentList(pd.DataFrame(columns=INCIDENT_COLUMNS), None, False, None, 0,
                            ["no incident file imported yet: run 'undercount incidents import'"])
    run = current_dedupe_run(case)
    notes: list[str] = []
    if run is None:
        rows = []
        for record in reports.to_dict(orient="records"):
            clean = {str(k): (None if v is pd.NA or (isinstance(v, float) and pd.isna(v)) else v)
                     for k, v in record.items()}
            rows.append({"incident_id": f"I{int(record['report_id']):07d}", **merge_incident([clean])})
        table = pd.DataFrame(rows)
        notes.append("reports are not deduplicated yet: each is shown alone (run 'undercount incidents dedupe')")
        stale, assignment = False, None
        table["named"], table["named_killed"] = 0, 0
    else:
        table = case.query("SELECT * EXCLUDE (run_id, family_keys, victim_keys) FROM uc_incidents WHERE run_id = ? "
                           "ORDER BY date_start, incident_id", [run])
        used = case.query("SELECT count(*) AS n FROM uc_incident_clusters WHERE run_id = ?", [run])["n"].iloc[0]
        stale = int(used) != len(reports)
        if stale:
            notes.append("reports were imported after the last deduplication: run 'undercount incidents dedupe'")
        counts, assignment = _named(case, run)
        table = table.merge(counts, on="incident_id", how="left")
        table[["named", "named_killed"]] = table[["named", "named_killed"]].fillna(0).astype(int)
        if assignment is None:
            notes.append("victims are not linked to incidents yet: run 'undercount incidents assign'")
    for col in ("actors", "sources"):
        table[col] = [_loads(v) for v in table[col]]
    for col in ("date_start", "date_end"):
        table[col] = pd.to_datetime(table[col])
    return IncidentList(table[INCIDENT_COLUMNS].reset_index(drop=True), run, stale, assignment, len(reports), notes)
