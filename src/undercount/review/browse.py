"""Browsing a linked case: the register a page at a time, search, one person, the audit log.

Search is by name in any script or by ID number (:func:`search_condition`); a person's page
holds their records side by side and the candidate pairs among them with their decisions.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from undercount.review.listing import PAGE_SIZE, Page, count, plain_rows
from undercount.review.queue import cluster_run, pairs_among
from undercount.store.runs import Reader

__all__ = ["MAX_QUERY", "audit_page", "person", "persons_page", "recent_events", "search_condition"]

MAX_QUERY = 200
_DIGITS = re.compile(r"^[\d\s-]+$")


def _tokens(text: str) -> list[str]:
    return [t for t in text.split() if t]


def search_condition(query: str) -> tuple[str, list[Any]] | None:
    """A SQL condition on ``uc_records`` (alias ``r``) for a search by name or ID number.

    Digits (with spaces or dashes) search ID numbers. Anything else is a name: every token of
    the query, normalised as ingest normalises names, must begin a token of the record's
    ``name_norm``; or every token of the query's transliteration key must be a token of the
    record's ``name_key``, so a Latin spelling finds Arabic records and the reverse.

    Args:
        query: what the user typed (at most 200 characters are used).

    Returns:
        (condition, parameters), or None for an empty query.

    Example:
        >>> search_condition("400 000 002")[1]
        ['400000002', '400000002']
    """
    from undercount.names import name_key, normalise_name

    text = query.strip()[:MAX_QUERY]
    if not text:
        return None
    if _DIGITS.match(text):
        digits = re.sub(r"\D", "", text)
        return "r.id_number = ? OR ltrim(r.id_number, '0') = ltrim(?, '0')", [digits, digits]
    norm = _tokens(normalise_name(text))
    key = _tokens(name_key(text))
    parts: list[str] = []
    params: list[Any] = []
    if norm:
        # Each query token starts a token of the normalised name (so a partial name finds).
        parts.append("(" + " AND ".join("contains(' ' || coalesce(r.name_norm, ''), ' ' || ?)" for _ in norm) + ")")
        params.extend(norm)
    if key:
        # Each token of the key is a whole token of the record's key (keys are short).
        parts.append(
            "(" + " AND ".join("contains(' ' || coalesce(r.name_key, '') || ' ', ' ' || ? || ' ')" for _ in key) + ")"
        )
        params.extend(key)
    if not parts:
        return None
    return " OR ".join(parts), params


def persons_page(reader: Reader, *, page: int = 1, query: str | None = None,
                 case_path: Path | str | None = None) -> Page:
    """One page of persons of the current clusters, optionally those with a record matching ``query``.

    Args:
        reader: the case.
        page: 1-based page number.
        query: a name (any script) or an ID number, as :func:`search_condition` reads it; None or
            empty lists everyone.
        case_path: the case folder, for messages.

    Raises:
        LinkError: the case has not been linked.
    """
    page = max(1, page)
    run = cluster_run(reader, case_path=case_path)
    ids = "SELECT DISTINCT c.person_id FROM uc_clusters c WHERE c.run_id = ?"
    params: list[Any] = [run]
    match = search_condition(query) if query else None
    if match is not None:
        ids = (
            "SELECT DISTINCT c.person_id FROM uc_clusters c JOIN uc_records r USING (record_id) "
            f"WHERE c.run_id = ? AND ({match[0]})"
        )
        params += match[1]
    total = count(reader, ids, params)
    # Aggregate only the persons of this page (the register can hold a million).
    df = reader.query(
        f"WITH page AS ({ids} ORDER BY c.person_id LIMIT ? OFFSET ?) "
        "SELECT c.person_id, count(*) AS records, list(DISTINCT r.source ORDER BY r.source) AS sources, "
        "list(DISTINCT r.full_name ORDER BY r.full_name) FILTER (WHERE r.full_name IS NOT NULL) AS names, "
        "mode(r.id_number) AS id_number, mode(r.sex) AS sex, mode(r.age) AS age, "
        "list(DISTINCT r.status ORDER BY r.status) FILTER (WHERE r.status IS NOT NULL) AS statuses "
        "FROM uc_clusters c JOIN uc_records r USING (record_id) "
        "WHERE c.run_id = ? AND c.person_id IN (SELECT person_id FROM page) "
        "GROUP BY c.person_id ORDER BY c.person_id",
        [*params, PAGE_SIZE, (page - 1) * PAGE_SIZE, run],
    )
    return Page(plain_rows(df), total, page)


def person(reader: Reader, person_id: str, *, case_path: Path | str | None = None) -> dict[str, Any] | None:
    """A person's records side by side, the pairs among them and their decisions.

    Returns:
        None when no person has that id in the current clusters.

    Raises:
        LinkError: the case has not been linked.
    """
    run = cluster_run(reader, case_path=case_path)
    records = reader.query(
        "SELECT r.*, c.probability AS attachment FROM uc_clusters c JOIN uc_records r USING (record_id) "
        "WHERE c.run_id = ? AND c.person_id = ? ORDER BY r.record_id",
        [run, person_id],
    )
    if records.empty:
        return None
    ids = [int(x) for x in records["record_id"]]
    return {"person_id": person_id, "records": plain_rows(records), "pairs": pairs_among(reader, ids), "run_id": run}


def audit_page(reader: Reader, *, page: int = 1) -> Page:
    """One page of the audit log, newest first."""
    page = max(1, page)
    total = count(reader, "SELECT * FROM uc_audit")
    df = reader.query("SELECT * FROM uc_audit ORDER BY event_id DESC LIMIT ? OFFSET ?",
                      [PAGE_SIZE, (page - 1) * PAGE_SIZE])
    return Page(plain_rows(df), total, page)


def recent_events(reader: Reader, action: str, seconds: float) -> pd.DataFrame:
    """Audit events of one action of the last ``seconds``, oldest first (``at``, ``detail``)."""
    since = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=seconds)
    return reader.query("SELECT \"at\", detail FROM uc_audit WHERE action = ? AND \"at\" >= ? ORDER BY event_id",
                        [action, since])
