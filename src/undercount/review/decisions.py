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
from typing import Any

from undercount.errors import InputError
from undercount.review.listing import PAGE_SIZE, Page, count, plain_rows
from undercount.review.queue import candidate_pair
from undercount.store import Case
from undercount.store.case import default_username
from undercount.store.runs import NEWEST_DECISIONS, Reader, decision_state

__all__ = ["DECISIONS", "Decision", "check_decision", "decide", "decision_count", "decision_page", "store_decision"]

DECISIONS = ("same", "different", "skip")


@dataclass(frozen=True)
class Decision:
    """A decision as stored (no names: record ids only)."""

    record_id_l: int
    record_id_r: int
    decision: str
    username: str
    decided_at: datetime
    link_run_id: str

    def to_dict(self) -> dict[str, Any]:
        """The decision as JSON-ready values."""
        return {"record_id_l": self.record_id_l, "record_id_r": self.record_id_r, "decision": self.decision,
                "username": self.username, "decided_at": self.decided_at.isoformat(),
                "link_run_id": self.link_run_id}


def check_decision(reader: Reader, record_id_l: int, record_id_r: int, decision: str, *, username: str,
                   case_path: Path | str | None = None) -> Decision:
    """The decision a reviewer asks for, checked against the current link run (not stored yet).

    Raises:
        InputError: the decision is unknown or the pair is not a candidate pair.
        LinkError: the case has not been linked.
    """
    if decision not in DECISIONS:
        raise InputError(f"a decision is one of {', '.join(DECISIONS)}", column="decision")
    pair = candidate_pair(reader, record_id_l, record_id_r, case_path=case_path)
    if pair is None:
        raise InputError("these two records are not a candidate pair of the current link run")
    return Decision(int(pair["record_id_l"]), int(pair["record_id_r"]), decision, username,
                    datetime.now(UTC).replace(tzinfo=None), str(pair["link_run"]))


def store_decision(case: Case, decision: Decision) -> Decision:
    """Append a checked decision to ``uc_decisions`` and audit it, in one transaction."""
    detail = {"record_id_l": decision.record_id_l, "record_id_r": decision.record_id_r,
              "decision": decision.decision, "link_run_id": decision.link_run_id}
    with case.transaction() as con:
        con.execute(
            "INSERT INTO uc_decisions VALUES (nextval('uc_decision_seq'), ?, ?, ?, ?, ?, ?, NULL)",
            [decision.record_id_l, decision.record_id_r, decision.decision, decision.username,
             decision.decided_at, decision.link_run_id],
        )
        case.log(con, action="decide", detail=detail, username=decision.username)
    return decision


def decide(case: Case, record_id_l: int, record_id_r: int, decision: str, *, username: str | None = None) -> Decision:
    """Store a decision on a candidate pair (with user and time) and audit it.

    Args:
        case: the case.
        record_id_l, record_id_r: the pair, in either order.
        decision: same, different or skip.
        username: who decided (the app's account; the OS user when None).

    Returns:
        The stored :class:`Decision`.

    Raises:
        InputError: the decision is unknown or the pair is not a candidate pair.
        LinkError: the case has not been linked.
    """
    checked = check_decision(case, record_id_l, record_id_r, decision, username=username or default_username(),
                             case_path=case.path)
    return store_decision(case, checked)


def decision_count(reader: Reader) -> int:
    """How many pairs have a standing decision other than skip."""
    return decision_state(reader)[0]


def decision_page(reader: Reader, *, page: int = 1) -> Page:
    """One page of the newest decision on each pair (skips included), newest first."""
    page = max(1, page)
    sql = f"SELECT record_id_l, record_id_r, decision, username, decided_at, link_run_id FROM ({NEWEST_DECISIONS})"
    total = count(reader, sql)
    df = reader.query(sql + " ORDER BY decided_at DESC, record_id_l, record_id_r LIMIT ? OFFSET ?",
                      [PAGE_SIZE, (page - 1) * PAGE_SIZE])
    return Page(plain_rows(df), total, page)
