"""What the review app reads from and writes to the case: the review stage's functions under one lock.

Every call goes through one lock: DuckDB refuses a read-only and a read-write connection to
the same file at once in one process, and the app serves requests on several threads. The
queries themselves are the review stage's (:mod:`undercount.review`): the app holds no SQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import duckdb
import pandas as pd

from undercount import review
from undercount.review import Page, ReclusterSummary, compare_clusters
from undercount.store import Case
from undercount.store.runs import cursor_rows, newest_run
from undercount.web.auth import User, get_user, session_active
from undercount.web.jobs import EstimateJob

__all__ = ["AppData", "Page", "ReclusterSummary", "compare_clusters"]

T = TypeVar("T")


class _Connection:
    """A reader over an open connection (inside a transaction)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        return self.con.execute(sql, list(params or [])).df()

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        return cursor_rows(self.con.execute(sql, list(params or [])))


class AppData:
    """The case as the app sees it; every method holds the app's case lock.

    It is a :class:`~undercount.store.runs.Reader`: inside :meth:`reading`, the review functions'
    queries share one read-only connection.
    """

    def __init__(self, case: Case) -> None:
        self.case = case
        self.lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._writable = False  # the shared connection is writing's (read-write)
        self.estimate_job = EstimateJob(case, self.lock)  # the admin's "re-estimate": one background run at a time

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

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the lock and one read-write connection for the reads and the write made inside.

        A decision checks the session, the account and the pair, then stores: on one connection
        that is one DuckDB start instead of two (about 35 ms each). Not inside :meth:`reading`.
        """
        with self.lock:
            if self._con is not None:
                raise RuntimeError("AppData.writing() inside reading(): a read-only connection cannot write")
            with self.case.connect(threads=1) as con:
                self._con, self._writable = con, True
                try:
                    yield
                finally:
                    self._con, self._writable = None, False

    def locked(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call ``func`` holding the case lock."""
        with self.lock:
            return func(*args, **kwargs)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run a read-only query on the page's shared connection (the review functions call it)."""
        with self.reading():
            assert self._con is not None
            return self._con.execute(sql, list(params or [])).df()

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Run a read-only query on the page's shared connection: its rows as plain dicts."""
        with self.reading():
            assert self._con is not None
            return cursor_rows(self._con.execute(sql, list(params or [])))

    def user(self, name: str) -> User | None:
        """The account called ``name`` (None when absent or disabled)."""
        return get_user(self.case, name, reader=self)

    def session_active(self, session: dict[str, Any], lifetime: int) -> bool:
        """True when the store holds the cookie's session as started and not ended."""
        return session_active(self, session, lifetime)

    def recent_logins(self, seconds: float) -> pd.DataFrame:
        """Login events of the audit log of the last ``seconds`` (``at``, ``detail``)."""
        return review.recent_events(self, "login", seconds)

    # -- runs ----------------------------------------------------------------------------
    def cluster_run(self) -> str:
        """The run whose clusters are current (link or re-cluster); LinkError when not linked."""
        return review.cluster_run(self, case_path=self.case.path)

    def link_run(self) -> tuple[str, float]:
        """The current link run and its threshold; LinkError when not linked."""
        return review.link_run(self, case_path=self.case.path)

    def stale_warnings(self) -> list[str]:
        """What is out of date and the command that brings it up to date (as 'undercount status' says)."""
        with self.reading():
            return review.case_status(self, case_path=self.case.path, count_waiting=False).warnings()

    # -- register ------------------------------------------------------------------------
    def persons(self, *, page: int = 1, query: str | None = None) -> Page:
        """One page of persons of the current clusters, optionally those with a record matching ``query``."""
        with self.reading():
            listing = review.persons_page(self, page=page, query=query, case_path=self.case.path)
        from undercount.incidents.assign import incident_labels

        # Each person's incident; under the lock: the app's connections must never overlap.
        labels = self.locked(incident_labels, self.case, [str(r["person_id"]) for r in listing.rows])
        for row in listing.rows:
            row["incident"] = labels.get(str(row["person_id"]))
        return listing

    def person(self, person_id: str) -> dict[str, Any] | None:
        """A person's records side by side, the pairs among them and their decisions (None: no such person)."""
        with self.reading():
            return review.person(self, person_id, case_path=self.case.path)

    def pairs_among(self, record_ids: list[int]) -> list[dict[str, Any]]:
        """Pairs of the current link run within ``record_ids``, with evidence and decision."""
        with self.reading():
            return review.pairs_among(self, record_ids)

    # -- review queue --------------------------------------------------------------------
    def queue(self, *, limit: int = 20) -> tuple[list[dict[str, Any]], int, float]:
        """(the first ``limit`` pairs of the review queue, how many wait, the threshold)."""
        found = self.review_queue(limit=limit)
        return found.pairs, found.waiting, found.threshold

    def review_queue(self, *, limit: int = 20, username: str | None = None) -> review.ReviewQueue:
        """The review queue (of ``username``, under double review) with its progress against the pairs that matter."""
        with self.reading():
            return review.review_queue(self, limit=limit, case_path=self.case.path, username=username)

    def search_waiting(self) -> review.SearchWaiting | None:
        """The newest search sample's progress and next person (None without a sample: one query then)."""
        with self.reading():
            if newest_run(self, ("search-sample",)) is None:
                return None
        return self.locked(review.search_waiting, self.case)

    def blind(self, record_id_l: int, record_id_r: int, username: str) -> bool:
        """True when ``username`` must not see the pair's earlier decisions yet (blind double review)."""
        with self.reading():
            return review.blind(self, record_id_l, record_id_r, username)

    def agreement(self) -> review.Agreement:
        """Cohen's kappa of blind double review and the disagreements' third decisions."""
        with self.reading():
            return review.agreement(self)

    def double_plan(self) -> tuple[float, int]:
        """(share, seed) of blind double review; (0.0, 0) when off."""
        with self.reading():
            return review.double_plan(self)

    def pair(self, record_id_l: int, record_id_r: int) -> dict[str, Any] | None:
        """Two records, their link evidence and the decisions taken on them (None: not a candidate pair)."""
        with self.reading():
            return review.candidate_pair(self, record_id_l, record_id_r, case_path=self.case.path)

    def decide(self, record_id_l: int, record_id_r: int, decision: str, username: str,
               note: str | None = None) -> None:
        """Store a decision on a candidate pair (with user, time and an optional note) and audit it.

        Raises:
            InputError: the decision is unknown, the note too long, or the pair is not a candidate pair.
        """
        # One writing connection checks and stores: opening a connection costs more than the queries.
        with self.lock:
            if self._con is not None and self._writable:  # inside writing(): its connection
                self._decide_on(self._con, record_id_l, record_id_r, decision, username, note)
                return
            with self.case.connect() as con:
                self._decide_on(con, record_id_l, record_id_r, decision, username, note)

    def _decide_on(self, con: duckdb.DuckDBPyConnection, record_id_l: int, record_id_r: int, decision: str,
                   username: str, note: str | None) -> None:
        con.execute("BEGIN TRANSACTION")
        try:
            checked = review.check_decision(_Connection(con), record_id_l, record_id_r, decision, username=username,
                                            case_path=self.case.path, note=note)
            review.store_decision(self.case, checked, con=con)
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def decision_count(self) -> int:
        """How many pairs have a decision other than skip."""
        with self.reading():
            return review.decision_count(self)

    def decisions(self, *, page: int = 1, blind_for: str | None = None) -> Page:
        """One page of the newest decision on each pair (skips included), newest first (without the
        pairs ``blind_for`` must not see yet)."""
        with self.reading():
            return review.decision_page(self, page=page, blind_for=blind_for)

    def recluster(self, username: str) -> ReclusterSummary:
        """Apply every decision to the clusters and say what changed.

        Raises:
            LinkError: the case has not been linked, or re-clustering failed.
        """
        with self.lock:
            return review.recluster_case(self.case, username=username)

    # -- audit ---------------------------------------------------------------------------
    def audit(self, *, page: int = 1) -> Page:
        """One page of the audit log, newest first."""
        with self.reading():
            return review.audit_page(self, page=page)
