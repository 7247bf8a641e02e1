"""Review decisions: store one (with who and when, audited), list them, count them.

A decision is on a candidate pair of the current link run: ``same``, ``different`` or ``skip``.
Decisions are appended, never changed; the newest on a pair stands
(:data:`undercount.store.runs.NEWEST_DECISIONS`). Linkage and re-clustering apply the standing
ones as must-link and cannot-link constraints.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from undercount.errors import InputError
from undercount.review.listing import PAGE_SIZE, Page, count, plain_rows
from undercount.review.queue import DOUBLE_SQL, PLAN_SQL, REVIEWER_DECISIONS, link_run
from undercount.store import Case
from undercount.store.case import default_username
from undercount.store.runs import NEWEST_DECISIONS, Reader, decision_state

if TYPE_CHECKING:
    import duckdb

__all__ = ["DECISIONS", "MAX_NOTE", "Decision", "check_decision", "decide", "decision_count", "decision_page", "store_decision"]

DECISIONS = ("same", "different", "skip")
#: The longest note a reviewer may keep with a decision (characters).
MAX_NOTE = 2000


@dataclass(frozen=True)
class Decision:
    """A decision as stored (no names: record ids only)."""

    record_id_l: int
    record_id_r: int
    decision: str
    username: str
    decided_at: datetime
    link_run_id: str
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The decision as JSON-ready values."""
        return {"record_id_l": self.record_id_l, "record_id_r": self.record_id_r, "decision": self.decision,
                "username": self.username, "decided_at": self.decided_at.isoformat(),
                "link_run_id": self.link_run_id, "note": self.note}


def check_decision(reader: Reader, record_id_l: int, record_id_r: int, decision: str, *, username: str,
                   case_path: Path | str | None = None, note: str | None = None) -> Decision:
    """The decision a reviewer asks for, checked against the current link run (not stored yet).

    Args:
        note: why (kept with the decision, shown in the app; blank means none).

    Raises:
        InputError: the decision is unknown, the note too long, or the pair is not a candidate pair.
        LinkError: the case has not been linked.
    """
    if decision not in DECISIONS:
        raise InputError(f"a decision is one of {', '.join(DECISIONS)}", column="decision")
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise InputError(f"a note holds at most {MAX_NOTE:,} characters", column="note")
    lo, hi = sorted((int(record_id_l), int(record_id_r)))
    # One query on the decision's path (the app's server time per decision counts).
    found = reader.query(
        "SELECT run_id FROM uc_pairs WHERE run_id = (SELECT run_id FROM uc_runs WHERE kind = 'link' "
        "ORDER BY finished_at DESC, run_id DESC LIMIT 1) AND record_id_l = ? AND record_id_r = ?", [lo, hi])
    if found.empty:
        link_run(reader, case_path=case_path)  # LinkError when the case has not been linked
        raise InputError("these two records are not a candidate pair of the current link run")
    return Decision(lo, hi, decision, username, datetime.now(UTC).replace(tzinfo=None), str(found["run_id"].iloc[0]),
                    note)


def store_decision(case: Case, decision: Decision, *, con: duckdb.DuckDBPyConnection | None = None) -> Decision:
    """Append a checked decision to ``uc_decisions`` and audit it, in one transaction.

    Args:
        con: a connection inside the caller's transaction (default: a transaction of its own).
    """
    if con is None:
        with case.transaction() as own:
            return store_decision(case, decision, con=own)
    # The audit log says whether a note was kept, never what it says (it may name someone).
    detail = {"record_id_l": decision.record_id_l, "record_id_r": decision.record_id_r,
              "decision": decision.decision, "link_run_id": decision.link_run_id, "note": decision.note is not None}
    con.execute(
        "INSERT INTO uc_decisions VALUES (nextval('uc_decision_seq'), ?, ?, ?, ?, ?, ?, ?)",
        [decision.record_id_l, decision.record_id_r, decision.decision, decision.username,
         decision.decided_at, decision.link_run_id, decision.note],
    )
    case.log(con, action="decide", detail=detail, username=decision.username)
    return decision


def decide(case: Case, record_id_l: int, record_id_r: int, decision: str, *, username: str | None = None,
           note: str | None = None) -> Decision:
    """Store a decision on a candidate pair (with user and time) and audit it.

    Args:
        case: the case.
        record_id_l, record_id_r: the pair, in either order.
        decision: same, different or skip.
        username: who decided (the app's account; the OS user when None).
        note: why (optional; at most :data:`MAX_NOTE` characters).

    Returns:
        The stored :class:`Decision`.

    Raises:
        InputError: the decision is unknown or the pair is not a candidate pair.
        LinkError: the case has not been linked.
    """
    checked = check_decision(case, record_id_l, record_id_r, decision, username=username or default_username(),
                             case_path=case.path, note=note)
    return store_decision(case, checked)


def decision_count(reader: Reader) -> int:
    """How many pairs have a standing decision other than skip."""
    return decision_state(reader)[0]


def decision_page(reader: Reader, *, page: int = 1, blind_for: str | None = None) -> Page:
    """One page of the newest decision on each pair (skips included), newest first.

    Args:
        blind_for: leave out the pairs of blind double review this reviewer has not decided yet
            while they are unresolved (:func:`undercount.review.double.blind`).
    """
    page = max(1, page)
    sql = (f"SELECT record_id_l, record_id_r, decision, username, decided_at, link_run_id, note "
           f"FROM ({NEWEST_DECISIONS}) p")
    params: list[Any] = []
    if blind_for is not None:
        sql += (f" CROSS JOIN ({PLAN_SQL}) plan WHERE NOT ({DOUBLE_SQL} AND NOT EXISTS (SELECT 1 FROM uc_decisions m "
                "WHERE m.record_id_l = p.record_id_l AND m.record_id_r = p.record_id_r AND m.username = ? "
                "AND m.decision <> 'skip') AND NOT (SELECT count(*) >= 2 AND (count(DISTINCT decision) = 1 "
                f"OR count(*) >= 3) FROM ({REVIEWER_DECISIONS}) n WHERE n.record_id_l = p.record_id_l "
                "AND n.record_id_r = p.record_id_r))")
        params.append(blind_for)
    total = count(reader, sql, params)
    df = reader.query(sql + " ORDER BY decided_at DESC, record_id_l, record_id_r LIMIT ? OFFSET ?",
                      [*params, PAGE_SIZE, (page - 1) * PAGE_SIZE])
    return Page(plain_rows(df), total, page)
