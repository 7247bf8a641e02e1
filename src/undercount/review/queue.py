"""The review queue: the candidate pairs where a person's decision matters most, and one pair.

Every function reads through a :class:`~undercount.store.runs.Reader` (a case, or the review
app's shared connection), so the app and the command line ask the same questions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from undercount.errors import LinkError
from undercount.review.listing import count, evidence, plain_rows
from undercount.store.runs import CLUSTER_KINDS, NEWEST_DECISIONS, Reader, newest_run

__all__ = ["ReviewQueue", "candidate_pair", "cluster_run", "link_run", "pairs_among", "review_queue"]

DEFAULT_THRESHOLD = 0.5  # the threshold of a link run that stored no model


def _not_linked(case_path: Path | str | None) -> LinkError:
    where = f" {case_path}" if case_path is not None else " CASE"
    return LinkError(f"the case has not been linked yet: run 'undercount link{where}'")


def cluster_run(reader: Reader, *, case_path: Path | str | None = None) -> str:
    """The run whose clusters are current (link or re-cluster).

    Raises:
        LinkError: the case has not been linked.
    """
    run = newest_run(reader, CLUSTER_KINDS)
    if run is None:
        raise _not_linked(case_path)
    return run


def link_run(reader: Reader, *, case_path: Path | str | None = None) -> tuple[str, float]:
    """The current link run and its threshold.

    Raises:
        LinkError: the case has not been linked.
    """
    run = newest_run(reader, ("link",))
    if run is None:
        raise _not_linked(case_path)
    df = reader.query("SELECT threshold FROM uc_link_models WHERE run_id = ? LIMIT 1", [run])
    return run, float(df["threshold"].iloc[0]) if not df.empty else DEFAULT_THRESHOLD


@dataclass(frozen=True)
class ReviewQueue:
    """The first pairs of the queue, how many pairs wait, and the link run's threshold."""

    pairs: list[dict[str, Any]]
    waiting: int
    threshold: float


_QUEUE_SQL = (
    "WITH cl AS (SELECT record_id, person_id FROM uc_clusters WHERE run_id = ?), "
    "sz AS (SELECT person_id, count(*) AS n FROM cl GROUP BY person_id) "
    "SELECT p.record_id_l, p.record_id_r, p.probability, p.match_weight, "
    "abs(p.probability - ?) AS distance, "
    "CASE WHEN cl_l.person_id = cl_r.person_id THEN coalesce(sz_l.n, 1) "
    "ELSE coalesce(sz_l.n, 1) + coalesce(sz_r.n, 1) END AS effect, "
    "coalesce(d.decision = 'skip', false) AS skipped, cl_l.person_id AS person_l, "
    "cl_r.person_id AS person_r FROM uc_pairs p "
    "LEFT JOIN cl cl_l ON cl_l.record_id = p.record_id_l "
    "LEFT JOIN cl cl_r ON cl_r.record_id = p.record_id_r "
    "LEFT JOIN sz sz_l ON sz_l.person_id = cl_l.person_id "
    "LEFT JOIN sz sz_r ON sz_r.person_id = cl_r.person_id "
    f"LEFT JOIN ({NEWEST_DECISIONS}) d USING (record_id_l, record_id_r) "
    "WHERE p.run_id = ? AND (d.decision IS NULL OR d.decision = 'skip')"
)


def review_queue(reader: Reader, *, limit: int = 20, case_path: Path | str | None = None) -> ReviewQueue:
    """Undecided pairs of the current link run, nearest the threshold first.

    Ties are broken by the cluster-size effect (how many records the decision can move), larger
    first. Skipped pairs come after all others.

    Args:
        reader: the case.
        limit: how many pairs to return.
        case_path: the case folder, for messages.

    Raises:
        LinkError: the case has not been linked.
    """
    link, threshold = link_run(reader, case_path=case_path)
    params: list[Any] = [cluster_run(reader, case_path=case_path), threshold, link]
    waiting = count(reader, _QUEUE_SQL, params)
    df = reader.query(
        _QUEUE_SQL + " ORDER BY skipped, distance, effect DESC, p.record_id_l, p.record_id_r LIMIT ?",
        [*params, limit],
    )
    return ReviewQueue(plain_rows(df), waiting, threshold)


def candidate_pair(reader: Reader, record_id_l: int, record_id_r: int, *,
                   case_path: Path | str | None = None) -> dict[str, Any] | None:
    """Two records, their link evidence and the decisions taken on them.

    Returns:
        None when the two are not a candidate pair of the current link run.

    Raises:
        LinkError: the case has not been linked.
    """
    link, threshold = link_run(reader, case_path=case_path)
    lo, hi = sorted((record_id_l, record_id_r))
    pairs = reader.query(
        "SELECT * FROM uc_pairs WHERE run_id = ? AND record_id_l = ? AND record_id_r = ?", [link, lo, hi]
    )
    if pairs.empty:
        return None
    records = reader.query(
        "SELECT r.*, c.person_id FROM uc_records r LEFT JOIN uc_clusters c "
        "ON c.record_id = r.record_id AND c.run_id = ? WHERE r.record_id IN (?, ?) ORDER BY r.record_id",
        [cluster_run(reader, case_path=case_path), lo, hi],
    )
    history = reader.query(
        "SELECT decision, username, decided_at FROM uc_decisions WHERE record_id_l = ? AND record_id_r = ? "
        "ORDER BY decision_id DESC",
        [lo, hi],
    )
    row = plain_rows(pairs)[0]
    return {
        "record_id_l": lo,
        "record_id_r": hi,
        "probability": row["probability"],
        "match_weight": row["match_weight"],
        "evidence": evidence(row["evidence"]),
        "records": plain_rows(records),
        "history": plain_rows(history),
        "threshold": threshold,
        "link_run": link,
    }


def pairs_among(reader: Reader, record_ids: list[int]) -> list[dict[str, Any]]:
    """Pairs of the current link run within ``record_ids``, with evidence and decision."""
    link = newest_run(reader, ("link",))
    if link is None:
        return []
    df = reader.query(
        "SELECT p.record_id_l, p.record_id_r, p.probability, p.match_weight, p.evidence, "
        "d.decision, d.username AS decided_by, d.decided_at FROM uc_pairs p "
        f"LEFT JOIN ({NEWEST_DECISIONS}) d USING (record_id_l, record_id_r) "
        "WHERE p.run_id = ? AND p.record_id_l IN (SELECT unnest(?)) AND p.record_id_r IN (SELECT unnest(?)) "
        "ORDER BY p.probability DESC",
        [link, record_ids, record_ids],
    )
    rows = plain_rows(df)
    for row in rows:
        row["evidence"] = evidence(row["evidence"])
    return rows
