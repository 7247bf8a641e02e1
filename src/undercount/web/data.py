"""What the review app reads from and writes to the case.

Every call goes through one lock: DuckDB refuses a read-only and a read-write connection to
the same file at once in one process, and the app serves requests on several threads.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import duckdb
import numpy as np
import pandas as pd

from undercount.errors import InputError, LinkError, StoreError
from undercount.store import Case
from undercount.web.auth import User, get_user, session_active

__all__ = ["AppData", "Page", "ReclusterSummary", "compare_clusters"]

T = TypeVar("T")

DECISIONS = ("same", "different", "skip")
PAGE_SIZE = 50

_NEWEST_DECISIONS = (
    "SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER (PARTITION BY record_id_l, "
    "record_id_r ORDER BY decision_id DESC) AS rn FROM uc_decisions) WHERE rn = 1"
)


@dataclass(frozen=True)
class Page:
    """One page of a longer listing."""

    rows: list[dict[str, Any]]
    total: int
    page: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        """How many pages the listing has (at least one)."""
        return max(1, -(-self.total // self.size))


@dataclass(frozen=True)
class ReclusterSummary:
    """How a re-cluster changed the persons: merged and split persons, records whose person changed."""

    run_id: str
    persons_before: int
    persons_after: int
    records_changed: int
    merged: list[str] = field(default_factory=list)
    split: list[str] = field(default_factory=list)


def compare_clusters(before: pd.DataFrame, after: pd.DataFrame, run_id: str) -> ReclusterSummary:
    """Compare two clusterings (``record_id``, ``person_id``) of the same records.

    A person of ``after`` is *merged* when its records came from more than one earlier person;
    an earlier person is *split* when its records went to more than one new person.

    Example:
        >>> b = pd.DataFrame({"record_id": [1, 2, 3], "person_id": ["P1", "P2", "P2"]})
        >>> a = pd.DataFrame({"record_id": [1, 2, 3], "person_id": ["P1", "P1", "P3"]})
        >>> s = compare_clusters(b, a, "r")
        >>> s.merged, s.split, s.records_changed
        (['P1'], ['P2'], 3)
    """
    both = before[["record_id", "person_id"]].merge(
        after[["record_id", "person_id"]], on="record_id", suffixes=("_old", "_new")
    )
    merged = both.groupby("person_id_new")["person_id_old"].nunique()
    split = both.groupby("person_id_old")["person_id_new"].nunique()
    # A record's person is unchanged when its old person went whole into a new person that
    # holds nothing else: neither split nor merged.
    changed = both["person_id_old"].map(split).gt(1) | both["person_id_new"].map(merged).gt(1)
    return ReclusterSummary(
        run_id=run_id,
        persons_before=int(before["person_id"].nunique()),
        persons_after=int(after["person_id"].nunique()),
        records_changed=int(changed.sum()),
        merged=sorted(str(p) for p in merged[merged > 1].index),
        split=sorted(str(p) for p in split[split > 1].index),
    )


def _plain(value: Any) -> Any:
    """A cell as plain Python: lists for DuckDB arrays, None for missing values."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    # pandas-stubs types isna's scalars as numbers and dates only; at run time it takes any numpy scalar.
    if value is None or value is pd.NaT or (np.isscalar(value) and pd.isna(value)):  # type: ignore[arg-type]
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame as a list of plain dicts."""
    return [{str(k): _plain(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def _evidence(text: Any) -> list[dict[str, Any]]:
    """The per-comparison evidence of a pair as a list of {name, level, weight}."""
    if not text:
        return []
    data = json.loads(text) if isinstance(text, str) else text
    items = []
    for name, value in data.items():
        value = value if isinstance(value, dict) else {"level": value}
        items.append({"name": name, "level": value.get("level"), "weight": value.get("weight")})
    return items


class AppData:
    """The case as the app sees it; every method holds the app's case lock."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Hold the lock and one read-only connection for the queries made inside.

        Opening a DuckDB connection costs tens of milliseconds, so a page's queries share one.
        The connection waits while a command in another process holds the case.
        """
        with self.lock:
            if self._con is not None:
                yield
                return
            # One thread: a connection's thread pool costs more to start than these queries.
            with self.case.connect(read_only=True, threads=1) as con:
                self._con = con
                try:
                    yield
                finally:
                    self._con = None

    def locked(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call ``func`` holding the case lock."""
        with self.lock:
            return func(*args, **kwargs)

    def user(self, name: str) -> User | None:
        """The account called ``name`` (None when absent or disabled)."""
        return get_user(self.case, name, query=self._query)

    def session_active(self, session: dict[str, Any], lifetime: int) -> bool:
        """True when the store holds the cookie's session as started and not ended."""
        return session_active(self._query, session, lifetime)

    def recent_logins(self, seconds: float) -> pd.DataFrame:
        """Login events of the audit log of the last ``seconds`` (``at``, ``detail``)."""
        since = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(seconds=seconds)
        return self._query("SELECT \"at\", detail FROM uc_audit WHERE action = 'login' AND \"at\" >= ? "
                           "ORDER BY event_id", [since])

    def _query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        with self.reading():
            assert self._con is not None
            return self._con.execute(sql, list(params or [])).df()

    def _count(self, sql: str, params: list[Any] | None = None) -> int:
        return int(self._query(f"SELECT count(*) AS n FROM ({sql})", params)["n"].iloc[0])

    def _newest_run(self, kinds: tuple[str, ...]) -> str | None:
        df = self._query(
            "SELECT run_id FROM uc_runs WHERE kind IN (SELECT unnest(?)) "
            "ORDER BY finished_at DESC, run_id DESC LIMIT 1",
            [list(kinds)],
        )
        return None if df.empty else str(df["run_id"].iloc[0])

    # -- runs ----------------------------------------------------------------------------
    def _not_linked(self) -> LinkError:
        return LinkError(f"the case has not been linked yet: run 'undercount link {self.case.path}'")

    def cluster_run(self) -> str:
        """The run whose clusters are current (link or re-cluster).

        Raises:
            LinkError: the case has not been linked.
        """
        run = self._newest_run(("link", "recluster"))
        if run is None:
            raise self._not_linked()
        return run

    def link_run(self) -> tuple[str, float]:
        """The current link run and its threshold.

        Raises:
            LinkError: the case has not been linked.
        """
        run = self._newest_run(("link",))
        if run is None:
            raise self._not_linked()
        df = self._query("SELECT threshold FROM uc_link_models WHERE run_id = ? LIMIT 1", [run])
        threshold = float(df["threshold"].iloc[0]) if not df.empty else 0.5
        return run, threshold

    # -- register ------------------------------------------------------------------------
    def persons(self, *, page: int = 1, match: tuple[str, list[Any]] | None = None) -> Page:
        """One page of persons of the current clusters, optionally those with a matching record.

        Args:
            page: 1-based page number.
            match: a SQL condition on ``uc_records`` (alias ``r``) and its parameters.
        """
        page = max(1, page)
        with self.reading():
            run = self.cluster_run()
            ids = "SELECT DISTINCT c.person_id FROM uc_clusters c WHERE c.run_id = ?"
            params: list[Any] = [run]
            if match is not None:
                ids = (
                    "SELECT DISTINCT c.person_id FROM uc_clusters c JOIN uc_records r USING (record_id) "
                    f"WHERE c.run_id = ? AND ({match[0]})"
                )
                params += match[1]
            total = self._count(ids, params)
            # Aggregate only the persons of this page (the register can hold a million).
            df = self._query(
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
        return Page(_rows(df), total, page)

    def person(self, person_id: str) -> dict[str, Any] | None:
        """A person's records side by side, the pairs among them and their decisions.

        Returns:
            None when no person has that id in the current clusters.
        """
        with self.reading():
            return self._person(person_id)

    def _person(self, person_id: str) -> dict[str, Any] | None:
        run = self.cluster_run()
        records = self._query(
            "SELECT r.*, c.probability AS attachment FROM uc_clusters c JOIN uc_records r USING (record_id) "
            "WHERE c.run_id = ? AND c.person_id = ? ORDER BY r.record_id",
            [run, person_id],
        )
        if records.empty:
            return None
        ids = [int(x) for x in records["record_id"]]
        pairs = self.pairs_among(ids)
        return {"person_id": person_id, "records": _rows(records), "pairs": pairs, "run_id": run}

    def pairs_among(self, record_ids: list[int]) -> list[dict[str, Any]]:
        """Pairs of the current link run within ``record_ids``, with evidence and decision."""
        link = self._newest_run(("link",))
        if link is None:
            return []
        df = self._query(
            "SELECT p.record_id_l, p.record_id_r, p.probability, p.match_weight, p.evidence, "
            "d.decision, d.username AS decided_by, d.decided_at FROM uc_pairs p "
            f"LEFT JOIN ({_NEWEST_DECISIONS}) d USING (record_id_l, record_id_r) "
            "WHERE p.run_id = ? AND p.record_id_l IN (SELECT unnest(?)) AND p.record_id_r IN (SELECT unnest(?)) "
            "ORDER BY p.probability DESC",
            [link, record_ids, record_ids],
        )
        rows = _rows(df)
        for row in rows:
            row["evidence"] = _evidence(row["evidence"])
        return rows

    # -- review queue --------------------------------------------------------------------
    def queue(self, *, limit: int = 20) -> tuple[list[dict[str, Any]], int, float]:
        """Undecided pairs of the current link run, nearest the threshold first.

        Ties are broken by the cluster-size effect (how many records the decision can move),
        larger first. Skipped pairs come after all others.

        Returns:
            (the first ``limit`` pairs, how many pairs are waiting, the threshold)
        """
        link, threshold = self.link_run()
        clusters = self.cluster_run()
        sql = (
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
            f"LEFT JOIN ({_NEWEST_DECISIONS}) d USING (record_id_l, record_id_r) "
            "WHERE p.run_id = ? AND (d.decision IS NULL OR d.decision = 'skip')"
        )
        params: list[Any] = [clusters, threshold, link]
        with self.reading():
            total = self._count(sql, params)
            df = self._query(
                sql + " ORDER BY skipped, distance, effect DESC, p.record_id_l, p.record_id_r LIMIT ?",
                [*params, limit],
            )
        return _rows(df), total, threshold

    def pair(self, record_id_l: int, record_id_r: int) -> dict[str, Any] | None:
        """Two records, their link evidence and the decisions taken on them.

        Returns:
            None when the two are not a candidate pair of the current link run.
        """
        with self.reading():
            return self._pair(record_id_l, record_id_r)

    def _pair(self, record_id_l: int, record_id_r: int) -> dict[str, Any] | None:
        link, threshold = self.link_run()
        lo, hi = sorted((record_id_l, record_id_r))
        pairs = self._query(
            "SELECT * FROM uc_pairs WHERE run_id = ? AND record_id_l = ? AND record_id_r = ?", [link, lo, hi]
        )
        if pairs.empty:
            return None
        clusters = self.cluster_run()
        records = self._query(
            "SELECT r.*, c.person_id FROM uc_records r LEFT JOIN uc_clusters c "
            "ON c.record_id = r.record_id AND c.run_id = ? WHERE r.record_id IN (?, ?) ORDER BY r.record_id",
            [clusters, lo, hi],
        )
        history = self._query(
            "SELECT decision, username, decided_at FROM uc_decisions WHERE record_id_l = ? AND record_id_r = ? "
            "ORDER BY decision_id DESC",
            [lo, hi],
        )
        row = _rows(pairs)[0]
        return {
            "record_id_l": lo,
            "record_id_r": hi,
            "probability": row["probability"],
            "match_weight": row["match_weight"],
            "evidence": _evidence(row["evidence"]),
            "records": _rows(records),
            "history": _rows(history),
            "threshold": threshold,
            "link_run": link,
        }

    def decide(self, record_id_l: int, record_id_r: int, decision: str, username: str) -> None:
        """Store a decision on a candidate pair (with user and time) and audit it.

        Raises:
            InputError: the decision is unknown or the pair is not a candidate pair.
        """
        if decision not in DECISIONS:
            raise InputError(f"a decision is one of {', '.join(DECISIONS)}", column="decision")
        pair = self.pair(record_id_l, record_id_r)
        if pair is None:
            raise InputError("these two records are not a candidate pair of the current link run")
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        detail = {
            "record_id_l": pair["record_id_l"],
            "record_id_r": pair["record_id_r"],
            "decision": decision,
            "link_run_id": pair["link_run"],
        }
        with self.lock, self.case.transaction() as con:
            con.execute(
                "INSERT INTO uc_decisions VALUES (nextval('uc_decision_seq'), ?, ?, ?, ?, ?, ?, NULL)",
                [pair["record_id_l"], pair["record_id_r"], decision, username, now, pair["link_run"]],
            )
            self.case.log(con, action="decide", detail=detail, username=username)

    def decision_count(self) -> int:
        """How many pairs have a decision other than skip."""
        df = self._query(f"SELECT count(*) AS n FROM ({_NEWEST_DECISIONS}) WHERE decision <> 'skip'")
        return int(df["n"].iloc[0])

    def decisions(self, *, page: int = 1) -> Page:
        """One page of the newest decision on each pair (skips included), newest first."""
        page = max(1, page)
        sql = f"SELECT record_id_l, record_id_r, decision, username, decided_at, link_run_id FROM ({_NEWEST_DECISIONS})"
        with self.reading():
            total = self._count(sql)
            df = self._query(sql + " ORDER BY decided_at DESC, record_id_l, record_id_r LIMIT ? OFFSET ?",
                             [PAGE_SIZE, (page - 1) * PAGE_SIZE])
        return Page(_rows(df), total, page)

    def recluster(self, username: str) -> ReclusterSummary:
        """Apply every decision with :func:`undercount.link.recluster` and compare the clusters.

        Raises:
            LinkError: the case has not been linked, or re-clustering failed.
        """
        from undercount.link import recluster

        with self.lock:
            before = self.case.clusters()
            recluster(self.case, username=username)
            run = self.cluster_run()
            after = self.case.clusters(run)
        return compare_clusters(before, after, run)

    # -- audit ---------------------------------------------------------------------------
    def audit(self, *, page: int = 1) -> Page:
        """One page of the audit log, newest first."""
        page = max(1, page)
        with self.reading():
            total = self._count("SELECT * FROM uc_audit")
            df = self._query(
                "SELECT * FROM uc_audit ORDER BY event_id DESC LIMIT ? OFFSET ?",
                [PAGE_SIZE, (page - 1) * PAGE_SIZE],
            )
        return Page(_rows(df), total, page)
