"""One case: a folder holding ``case.duckdb`` and ``sources/<sha256>.<ext>``.

The store is append-only. A stage that writes results opens :meth:`Case.transaction`, inserts
its rows tagged with a run id from :meth:`Case.new_run_id`, and calls :meth:`Case.record_run`
in the same transaction, so a run is either complete or invisible.

Several processes share a case (the review app and commands run beside it): every connection
is short (opened for a query or a transaction, closed after), and one that finds the file
locked by another process tries again with growing pauses for up to :attr:`Case.lock_wait`
seconds before a :class:`StoreError`. While a connection is open the process's umask is 077, so
the write-ahead log DuckDB creates (and re-creates after each checkpoint) and its spill files
are 600 from their first byte, also when the process is killed.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import random
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from undercount.errors import StoreError
from undercount.store.fields import record_table
from undercount.store.migrations import latest_version, migrate, stored_version
from undercount.store.runs import CLUSTER_KINDS, NEWEST_DECISIONS, RunInputs, cursor_rows, newest_run

if TYPE_CHECKING:  # DuckDB's .df() loads pandas when a frame is asked for; `undercount status` never asks
    import pandas as pd

__all__ = ["Case", "CASE_DB", "SOURCES_DIR", "default_username"]

CASE_DB = "case.duckdb"
SOURCES_DIR = "sources"
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600  # the case holds the names of the dead and missing: owner only


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _schema_sql() -> str:
    """The DDL of every table: uc_records from the field table, the others from schema.sql."""
    static = resources.files("undercount.store").joinpath("schema.sql").read_text(encoding="utf-8")
    return record_table().ddl() + "\n" + static


def _schema_digest(ddl: str) -> str:
    """What identifies the DDL a case was last brought up to (stored in uc_meta, key ``schema_digest``):
    a case that holds the current digest and schema version has every table and column, and opening it
    needs no write."""
    return f"{latest_version()}:{hashlib.sha256(ddl.encode('utf-8')).hexdigest()[:16]}"


def _owner_only(path: Path, mode: int = PRIVATE_FILE) -> None:
    """Let only the owner read ``path``, if it exists (DuckDB creates its files with the umask's mode)."""
    try:
        os.chmod(path, mode)
    except FileNotFoundError:
        pass


_umask_lock = threading.Lock()
_umask_users = 0
_umask_saved = 0


@contextmanager
def _private_files() -> Iterator[None]:
    """Umask 077 while the block runs (nested and threaded uses share one saved umask), so files
    DuckDB creates meanwhile (its write-ahead log, its spill folder) are the owner's only."""
    global _umask_users, _umask_saved
    with _umask_lock:
        if _umask_users == 0:
            _umask_saved = os.umask(0o077)
            os.umask(_umask_saved | 0o077)
        _umask_users += 1
    try:
        yield
    finally:
        with _umask_lock:
            _umask_users -= 1
            if _umask_users == 0:
                os.umask(_umask_saved)


def _locked_by_other(exc: duckdb.Error) -> bool:
    """True when DuckDB could not open the file because another process holds its lock."""
    return "Could not set lock" in str(exc) or "Conflicting lock" in str(exc)


def default_username() -> str:
    """Who runs a command: the OS login name ('unknown' where a container has none)."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "unknown"


class Case:
    """A case folder and its DuckDB store.

    Example:
        >>> import tempfile
        >>> case = Case.init(tempfile.mkdtemp() + "/demo")
        >>> case.records().shape[0]
        0
    """

    #: Seconds a connection waits for another process to release the case before failing.
    lock_wait: float = 120.0

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.db_path = self.path / CASE_DB
        self.wal_path = self.path / f"{CASE_DB}.wal"
        self.sources_dir = self.path / SOURCES_DIR
        self._shared = threading.local()  # reading(): this thread's shared read-only connection

    # -- opening ----------------------------------------------------------------------------
    @classmethod
    def init(cls, path: str | Path) -> Case:
        """Create a new, empty case folder, readable by its owner only (folders 700, database 600).

        Raises:
            StoreError: the folder already holds a case, or cannot be written.
        """
        case = cls(path)
        if case.db_path.exists():
            raise StoreError(f"{case.path} already holds a case ({CASE_DB} exists)")
        with _private_files():
            try:
                case.sources_dir.mkdir(parents=True, exist_ok=True)
                for folder in (case.path, case.sources_dir):
                    _owner_only(folder, PRIVATE_DIR)
                con = duckdb.connect(str(case.db_path))
                _owner_only(case.db_path)
            except (OSError, duckdb.Error) as exc:
                raise StoreError(f"cannot create a case in {case.path}: {exc}") from exc
            try:
                ddl = _schema_sql()
                con.execute(ddl)
                con.execute(
                    "INSERT INTO uc_meta (key, value) VALUES ('schema_version', ?), ('created_at', ?), ('schema_digest', ?)",
                    [str(latest_version()), _now().isoformat(), _schema_digest(ddl)],
                )
            finally:
                con.close()
        return case

    @classmethod
    def open(cls, path: str | Path) -> Case:
        """Open an existing case.

        Raises:
            StoreError: no case at that path.
        """
        case = cls(path)
        if case.path.is_file():  # 'undercount audit some.csv': a list given where the case folder goes
            raise StoreError(f"{case.path.name} is a file, not a case folder: give the case folder first "
                             f"(e.g. 'undercount import CASE {case.path.name}'; 'undercount init CASE' makes one)")
        if not case.db_path.is_file():
            raise StoreError(f"no case at {case.path}: run 'undercount init {case.path}' first")
        ddl = _schema_sql()
        with case.connect(read_only=True) as con:
            try:
                current = con.execute("SELECT count(*) FROM uc_meta WHERE key = 'schema_digest' AND value = ?",
                                      [_schema_digest(ddl)]).fetchone()
            except duckdb.Error as exc:
                raise StoreError(f"{case.db_path} is not an undercount case: {exc}") from exc
            stored = stored_version(con, str(case.path))
        if not (current and current[0]) or stored != latest_version():
            case._migrate(ddl)
        case._repair_modes()
        return case

    def _migrate(self, ddl: str) -> None:
        """Create the tables a later schema added and apply the migrations the case lacks, atomically;
        then record the schema's digest, so that later opens of this version read only."""
        with self.transaction() as con:
            stored = stored_version(con, str(self.path))
            con.execute(ddl)
            done = migrate(con, stored, record_table(), str(self.path))
            if done:
                self.log(con, action="migrate", detail={
                    "from": stored, "to": done[-1].version, "changes": [m.description for m in done]})
            con.execute("INSERT INTO uc_meta (key, value) VALUES ('schema_digest', ?)", [_schema_digest(ddl)])

    def _repair_modes(self) -> None:
        """Make the case's files 600 again (a write-ahead log left by a process of an older
        version killed mid-write could be 644)."""
        files = [self.db_path, self.wal_path, self.path / "web_secret"]
        with suppress(OSError):
            files += [p for p in self.sources_dir.iterdir() if p.is_file()]
        for path in files:
            with suppress(OSError):  # absent, or another user's file in a shared folder
                if path.stat().st_mode & 0o077:
                    _owner_only(path)

    def _open(self, read_only: bool, threads: int | None) -> duckdb.DuckDBPyConnection:
        """Open a connection, waiting (with growing, jittered pauses) while another process holds
        the case, for up to :attr:`lock_wait` seconds."""
        config: dict[str, str | bool | int | float | list[str]] = {"threads": threads} if threads else {}
        deadline = time.monotonic() + self.lock_wait
        pause = 0.005
        while True:
            try:
                con = duckdb.connect(str(self.db_path), read_only=read_only, config=config)
                # DuckDB draws a progress bar on stdout for slow queries, which would corrupt --json output.
                con.execute("SET enable_progress_bar = false")
                return con
            except duckdb.Error as exc:
                if not _locked_by_other(exc):
                    raise StoreError(f"cannot open {self.db_path}: {exc}") from exc
                if time.monotonic() + pause > deadline:
                    raise StoreError(
                        f"{self.db_path} stayed in use by another undercount process for {self.lock_wait:g} s "
                        "(a long import or link?): try again when it has finished"
                    ) from exc
            time.sleep(pause * random.uniform(0.5, 1.5))
            pause = min(pause * 2, 0.2)

    @contextmanager
    def connect(
        self, *, read_only: bool = False, threads: int | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection to the case database, closed on exit.

        Waits while another process holds the case (see :attr:`lock_wait`). The connection runs
        under umask 077, so its write-ahead log and spill files are the owner's only.

        Args:
            read_only: open for reading only (other readers may share the file).
            threads: DuckDB threads for this connection (default: DuckDB's).

        Raises:
            StoreError: the file cannot be opened, or stayed locked for ``lock_wait`` seconds.
        """
        shared = getattr(self._shared, "depth", 0) > 0
        if shared and read_only and threads is None:
            con = getattr(self._shared, "con", None)
            if con is None:
                with _private_files():
                    con = self._shared.con = self._open(True, None)
            yield con
            return
        if shared:  # a writer (or a reader with its own threads) closes the shared reader first
            self._close_shared()
        # Umask 077 for every connection: a writer's log, and the spill files (DuckDB's
        # case.duckdb.tmp/) a large query of a reader may write, are the owner's only.
        with _private_files():
            con = self._open(read_only, threads)
            try:
                yield con
            finally:
                if not read_only:
                    with suppress(PermissionError):  # another user's log in a shared case folder
                        _owner_only(self.wal_path)
                con.close()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Reads of this thread inside the block share one read-only connection (opened at the
        first read, closed on exit), instead of opening and closing one per query (tens of ms each).

        Keep the block short: while its connection is open, another process cannot write to the
        case. A write inside the block closes the shared connection first (a later read reopens it).
        """
        self._shared.depth = getattr(self._shared, "depth", 0) + 1
        try:
            yield
        finally:
            self._shared.depth -= 1
            if self._shared.depth == 0:
                self._close_shared()

    def _close_shared(self) -> None:
        con = getattr(self._shared, "con", None)
        self._shared.con = None
        if con is not None:
            con.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection inside BEGIN ... COMMIT; any exception rolls everything back."""
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # -- runs -------------------------------------------------------------------------------
    @staticmethod
    def new_run_id(kind: str) -> str:
        """A fresh, sortable run id such as ``link-20261124T230812123456-3f2a``."""
        stamp = _now().strftime("%Y%m%dT%H%M%S%f")
        return f"{kind}-{stamp}-{secrets.token_hex(2)}"

    def record_run(
        self,
        con: duckdb.DuckDBPyConnection,
        *,
        run_id: str,
        kind: str,
        started_at: datetime,
        params: dict[str, Any] | None = None,
        summary: dict[str, Any] | None = None,
        username: str | None = None,
        inputs: RunInputs | None = None,
        log: bool = True,
    ) -> None:
        """Mark a run complete (call inside the run's transaction) and log it.

        Args:
            inputs: what the run read (e.g. the cluster run and the decisions), so that a later
                change to them shows the run's results stale.
            log: write the audit event (False when the caller audits the run itself).
        """
        from undercount._version import __version__

        user = username or default_username()
        con.execute(
            "INSERT INTO uc_runs (run_id, kind, started_at, finished_at, username, params, summary, version, "
            "inputs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                kind,
                started_at,
                _now(),
                user,
                json.dumps(params or {}, default=str),
                json.dumps(summary or {}, default=str),
                __version__,
                None if inputs is None else json.dumps(inputs.to_dict(), default=str),
            ],
        )
        if log:
            self.log(con, action=kind, detail={"run_id": run_id, **(summary or {})}, username=user)

    def current_run(self, kind: str) -> str | None:
        """The newest complete run of a kind, or None."""
        return newest_run(self, (kind,))

    def runs(self, kind: str | None = None) -> pd.DataFrame:
        """Every complete run, newest first."""
        sql = "SELECT * FROM uc_runs"
        args: list[Any] = []
        if kind:
            sql += " WHERE kind = ?"
            args.append(kind)
        return self.query(sql + " ORDER BY finished_at DESC", args)

    # -- audit ------------------------------------------------------------------------------
    @staticmethod
    def log(
        con: duckdb.DuckDBPyConnection,
        *,
        action: str,
        detail: dict[str, Any] | None = None,
        username: str | None = None,
    ) -> None:
        """Append an audit event (never with victims' names or ID numbers)."""
        con.execute(
            "INSERT INTO uc_audit VALUES (nextval('uc_audit_seq'), ?, ?, ?, ?)",
            [_now(), username or default_username(), action, json.dumps(detail or {}, default=str)],
        )

    def audit_log(self) -> pd.DataFrame:
        """The audit log, newest first."""
        return self.query("SELECT * FROM uc_audit ORDER BY event_id DESC")

    # -- reading ----------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run a read-only SQL query against the case and return a DataFrame."""
        with self.connect(read_only=True) as con:
            return con.execute(sql, list(params or [])).df()

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Run a read-only SQL query against the case: its rows as dicts of plain Python values."""
        with self.connect(read_only=True) as con:
            return cursor_rows(con.execute(sql, list(params or [])))

    def records(
        self, columns: Sequence[str] | None = None, *, sources: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """All records (one row per source row), ordered by record_id."""
        cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        sql = f"SELECT {cols} FROM uc_records"
        args: list[Any] = []
        if sources:
            sql += " WHERE source IN (SELECT unnest(?))"
            args.append(list(sources))
        return self.query(sql + " ORDER BY record_id", args)

    def sources(self) -> pd.DataFrame:
        """Every imported list, in import order."""
        return self.query("SELECT * FROM uc_sources ORDER BY imported_at")

    def clusters(self, run_id: str | None = None) -> pd.DataFrame:
        """record_id, source, row, person_id, probability of the current (or given) link run.

        Raises:
            StoreError: the case has not been linked.
        """
        run = run_id or self.current_link_run()
        if run is None:
            raise StoreError(f"{self.path} has not been linked: run 'undercount link {self.path}'")
        return self.query(
            "SELECT c.record_id, r.source, r.\"row\", c.person_id, c.probability "
            "FROM uc_clusters c JOIN uc_records r USING (record_id) WHERE c.run_id = ? "
            "ORDER BY c.record_id",
            [run],
        )

    def current_link_run(self) -> str | None:
        """The newest complete run that wrote clusters (a link or a re-cluster run)."""
        return newest_run(self, CLUSTER_KINDS)

    def pairs(self, run_id: str | None = None) -> pd.DataFrame:
        """Candidate pairs of the current (or given) link run."""
        run = run_id or self.current_run("link")
        if run is None:
            raise StoreError(f"{self.path} has not been linked: run 'undercount link {self.path}'")
        return self.query("SELECT * FROM uc_pairs WHERE run_id = ? ORDER BY record_id_l, record_id_r", [run])

    def decisions(self) -> pd.DataFrame:
        """The newest review decision on each pair (skips excluded)."""
        return self.query(f"SELECT * FROM ({NEWEST_DECISIONS}) WHERE decision <> 'skip' ORDER BY decision_id")

    def __repr__(self) -> str:
        return f"Case({os.fspath(self.path)!r})"
