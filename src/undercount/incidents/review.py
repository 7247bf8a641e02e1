"""Reviewing incident deduplication as person links are reviewed: a queue, decisions, re-clustering.

The queue holds the undecided candidate pairs of the current deduplication run whose match
probability lies in the review band (half the threshold to halfway from the threshold to 1),
nearest the threshold first, and those above the band that agree on nothing more specific than a
date, a governorate and an object type (deduplication never joins them on its own). A decision
(same, different, skip) is stored with its user and time (append-only; the newest decision on a
pair wins) and the reports are deduplicated again with the current run's settings: "same" pairs
are always joined, "different" pairs never. A reviewer may
also confirm or discount an incident; the grade follows the incident that holds the report named.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from undercount.errors import ConfigError, StoreError
from undercount.incidents.dedupe import SPECIFIC, DedupeOptions, DedupeResult, current_dedupe_run, dedupe_incidents
from undercount.incidents.files import ensure_schema

if TYPE_CHECKING:
    from undercount.store import Case

__all__ = ["review_queue", "decide_pair", "decide_grade", "DECISIONS", "GRADE_DECISIONS", "rerun_options"]

DECISIONS = ("same", "different", "skip")
GRADE_DECISIONS = ("confirmed", "discounted", "clear")
_SHOWN = ("report_id", "file", "row", "source_name", "code", "date_start", "date_precision", "place", "adm1",
          "object_type", "killed_min", "killed_max", "actor")


def rerun_options(case: Case) -> DedupeOptions:
    """The settings of the current deduplication run (the defaults when there is none)."""
    run = current_dedupe_run(case)
    if run is None:
        return DedupeOptions()
    params = json.loads(str(case.query("SELECT params FROM uc_runs WHERE run_id = ?", [run])["params"].iloc[0]))
    known = {k: v for k, v in params.items() if k in DedupeOptions.__dataclass_fields__}
    return DedupeOptions(**known)


#: SQL: the pair's evidence agrees on nothing beyond date, governorate and object (dedupe.area_only).
_AREA_ONLY = "NOT (" + " OR ".join(
    f"coalesce(json_extract_string(p.evidence, '$.{comp}.level') IN ({', '.join(repr(v) for v in good)}), false)"
    for comp, good in SPECIFIC.items()) + ")"


def review_queue(case: Case, *, limit: int = 20) -> pd.DataFrame:
    """Undecided pairs of reports in the review band, nearest the threshold first, and the pairs
    above it that agree only on date, governorate and object (never joined without a reviewer).

    Returns:
        One row per pair: probability, the evidence per comparison, and for each report (suffix
        _l, _r) its id, file, row, source, code, date, place, object type, killed and actor.
    """
    run = current_dedupe_run(case)
    if run is None:
        raise StoreError(f"{case.path} has no deduplicated incidents: run 'undercount incidents dedupe' first")
    threshold = rerun_options(case).threshold
    low, high = threshold / 2, (1 + threshold) / 2
    pairs = case.query(
        "SELECT p.report_id_l, p.report_id_r, p.probability, p.evidence FROM uc_incident_pairs p "
        "WHERE p.run_id = ? AND (p.probability BETWEEN ? AND ? OR (p.probability > ? AND " + _AREA_ONLY + ")) "
        "AND NOT EXISTS (SELECT 1 FROM (SELECT *, row_number() OVER (PARTITION BY report_id_l, report_id_r "
        "ORDER BY decision_id DESC) AS rn FROM uc_incident_decisions) d "
        "WHERE d.rn = 1 AND d.decision <> 'skip' AND d.report_id_l = p.report_id_l AND d.report_id_r = p.report_id_r) "
        "ORDER BY abs(p.probability - ?), p.report_id_l, p.report_id_r LIMIT ?",
        [run, low, high, high, threshold, int(limit)])
    reports = case.query("SELECT " + ", ".join(f'"{c}"' for c in _SHOWN) + " FROM uc_incident_reports")
    out = pairs.merge(reports.add_suffix("_l"), on="report_id_l").merge(reports.add_suffix("_r"), on="report_id_r")
    out["evidence"] = pd.Series([json.loads(e) if isinstance(e, str) else (e or {}) for e in out["evidence"]],
                                index=out.index, dtype=object)
    return out.sort_values("probability", key=lambda p: (p - threshold).abs(), kind="stable").reset_index(drop=True)


def _check_reports(case: Case, ids: list[int]) -> None:
    found = set(case.query("SELECT report_id FROM uc_incident_reports WHERE report_id IN (SELECT unnest(?))",
                           [ids])["report_id"].astype(int))
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise ConfigError(f"no incident report with id {', '.join(missing)} in {case.path}")


def decide_pair(case: Case, first: int, second: int, decision: str, *, username: str | None = None,
                note: str | None = None, rerun: bool = True) -> DedupeResult | None:
    """Record that two reports are the same incident, different incidents, or skipped; deduplicate again.

    Args:
        case: the case.
        first, second: two report ids (any order).
        decision: same | different | skip.
        username: who decides; note: an optional note (never a name).
        rerun: deduplicate again at once with the current settings.

    Returns:
        The new run's result (None when ``rerun`` is False).

    Raises:
        ConfigError: an unknown decision, the same report twice, or an unknown report id.
    """
    if decision not in DECISIONS:
        raise ConfigError(f"decision must be one of {', '.join(DECISIONS)}")
    low, high = sorted((int(first), int(second)))
    if low == high:
        raise ConfigError("a decision needs two different reports")
    _check_reports(case, [low, high])
    run = current_dedupe_run(case)
    from undercount.store.case import default_username

    user = username or default_username()
    with case.transaction() as con:
        ensure_schema(con)
        con.execute("INSERT INTO uc_incident_decisions VALUES (nextval('uc_incident_decision_seq'), ?, ?, ?, ?, ?, ?, ?)",
                    [low, high, decision, user, datetime.now(UTC).replace(tzinfo=None), run, note])
        case.log(con, action="incident-decide", username=user,
                 detail={"report_id_l": low, "report_id_r": high, "decision": decision, "dedupe_run_id": run})
    return dedupe_incidents(case, rerun_options(case), username=user) if rerun else None


def decide_grade(case: Case, report_or_incident: str | int, grade: str, *, username: str | None = None,
                 note: str | None = None, rerun: bool = True) -> DedupeResult | None:
    """Confirm or discount an incident (or clear a reviewer's grade); deduplicate and grade again.

    Args:
        case: the case.
        report_or_incident: a report id (``17``) or an incident id of the current run (``I0000017``).
        grade: confirmed | discounted | clear.
        username, note: who decides, and why (the note is kept; never a name).
        rerun: grade again at once.

    Raises:
        ConfigError: an unknown grade, report or incident.
    """
    if grade not in GRADE_DECISIONS:
        raise ConfigError(f"grade must be one of {', '.join(GRADE_DECISIONS)}")
    text = str(report_or_incident).strip()
    if text.upper().startswith("I"):
        run = current_dedupe_run(case)
        found = case.query("SELECT min(report_id) AS r FROM uc_incident_clusters WHERE run_id = ? AND incident_id = ?",
                           [run, text.upper()]) if run else pd.DataFrame({"r": [None]})
        if found["r"].isna().all():
            raise ConfigError(f"no incident {text} in the current deduplication of {case.path}")
        report = int(found["r"].iloc[0])
    else:
        try:
            report = int(text)
        except ValueError:
            raise ConfigError(f"{text!r} is neither a report id (a number) nor an incident id (I0000017)") from None
        _check_reports(case, [report])
    from undercount.store.case import default_username

    user = username or default_username()
    with case.transaction() as con:
        ensure_schema(con)
        con.execute("INSERT INTO uc_incident_grade_decisions VALUES (nextval('uc_incident_grade_seq'), ?, ?, ?, ?, ?)",
                    [report, grade, user, datetime.now(UTC).replace(tzinfo=None), note])
        case.log(con, action="incident-grade", username=user, detail={"report_id": report, "grade": grade})
    return dedupe_incidents(case, rerun_options(case), username=user) if rerun else None


def queue_rows(queue: pd.DataFrame) -> list[dict[str, Any]]:
    """The queue as JSON-ready rows (dates as ISO text)."""
    rows = []
    for row in queue.to_dict(orient="records"):
        rows.append({str(k): (v.date().isoformat() if isinstance(v, pd.Timestamp) else
                              None if v is pd.NA or (isinstance(v, float) and pd.isna(v)) else v)
                     for k, v in row.items()})
    return rows
