"""One case: a folder holding ``case.duckdb`` and ``sources/<sha256>.<ext>``.

The store is append-only. A stage that writes results opens :meth:`Case.transaction`, inserts
its rows tagged with a run id from :meth:`Case.new_run_id`, and calls :meth:`Case.record_run`
in the same transaction, so a run is either complete or invisible.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from undercount.errors import StoreError
from undercount.store.fields import record_table
from undercount.store.migrations import latest_version, migrate, stored_version

__all__ = ["Case", "CASE_DB", "SOURCES_DIR"]

CASE_DB = "case.duckdb"
SOURCES_DIR = "sources"
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600  # the case holds the names of the dead and missing: owner only


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _schema_sql() -> str:
    """The DDL of every table: uc_records from the field table, the others from schema.sql."""
    static = resources.files("undercount.store").joinpath("schema.sql").read_text(encoding="utf-8")
    return record_table().ddl() + "\n" + static


def _owner_only(path: Path, mode: int = PRIVATE_FILE) -> None:
    """Let only the owner read ``path``, if it exists (DuckDB creates its files with the umask's mode)."""
    try:
        os.chmod(path, mode)
    except FileNotFoundError:
        pass


def _default_user() -> str:
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

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.db_path = self.path / CASE_DB
        self.wal_path = self.path / f"{CASE_DB}.wal"
        self.sources_dir = self.path / SOURCES_DIR

    # -- opening ----------------------------------------------------------------------------
    @classmethod
    def init(cls, path: str | Path) -> "Case":
        """Create a new, empty case folder, readable by its owner only (folders 700, database 600).

        Raises:
            StoreError: the folder already holds a case, or cannot be written.
        """
        case = cls(path)
        if case.db_path.exists():
            raise StoreError(f"{case.path} already holds a case ({CASE_DB} exists)")
        try:
            case.sources_dir.mkdir(parents=True, exist_ok=True)
            for folder in (case.path, case.sources_dir):
                _owner_only(folder, PRIVATE_DIR)
            con = duckdb.connect(str(case.db_path))
            _owner_only(case.db_path)
        except (OSError, duckdb.Error) as exc:
            raise StoreError(f"cannot create a case in {case.path}: {exc}") from exc
        try:
            con.execute(_schema_sql())
            con.execute(
                "INSERT INTO uc_meta (key, value) VALUES ('schema_version', ?), ('created_at', ?)",
                [str(latest_version()), _now().isoformat()],
            )
        finally:
            con.close()
        return case

    @classmethod
    def open(cls, path: str | Path) -> "Case":
        """Open an existing case.

        Raises:
            StoreError: no case at that path.
        """
        case = cls(path)
        if not case.db_path.is_file():
            raise StoreError(f"no case at {case.path}: run 'undercount init {case.path}' first")
        with case.connect(read_only=True) as con:
            try:
                con.execute("SELECT count(*) FROM uc_meta").fetchone()
            except duckdb.Error as exc:
                raise StoreError(f"{case.db_path} is not an undercount case: {exc}") from exc
        case._migrate()
        return case

    def _migrate(self) -> None:
        """Create the tables a later schema added and apply the migrations the case lacks, atomically."""
        with self.transaction() as con:
            stored = stored_version(con, str(self.path))
            con.execute(_schema_sql())
            done = migrate(con, stored, record_table(), str(self.path))
            if done:
                self.log(con, action="migrate", detail={
                    "from": stored, "to": done[-1].version, "changes": [m.description for m in done]})

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the case database, closed on exit; a write-ahead log it leaves is made 600."""
        try:
            con = duckdb.connect(str(self.db_path), read_only=read_only)
            # DuckDB draws a progress bar on stdout for slow queries, which would corrupt --json output.
            con.execute("SET enable_progress_bar = false")
        except duckdb.Error as exc:
            raise StoreError(f"cannot open {self.db_path}: {exc}") from exc
        try:
            yield con
        finally:
            if not read_only:
                with suppress(PermissionError):  # another user's log in a shared case folder
                    _owner_only(self.wal_path)
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
        inputs: dict[str, Any] | None = None,
    ) -> None:
        """Mark a run complete (call inside the run's transaction) and log it.

        Args:
            inputs: what the run read (e.g. the cluster run and the decisions), so that a later
                change to them shows the run's results stale.
        """
        from undercount import __version__

        user = username or _default_user()
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
                None if inputs is None else json.dumps(inputs, default=str),
            ],
        )
        self.log(con, action=kind, detail={"run_id": run_id, **(summary or {})}, username=user)

    def current_run(self, kind: str) -> str | None:
        """The newest complete run of a kind, or None."""
        with self.connect(read_only=True) as con:
            row = con.execute(
                "SELECT run_id FROM uc_runs WHERE kind = ? ORDER BY finished_at DESC, run_id DESC LIMIT 1",
                [kind],
            ).fetchone()
        return None if row is None else str(row[0])

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
            [_now(), username or _default_user(), action, json.dumps(detail or {}, default=str)],
        )

    def audit_log(self) -> pd.DataFrame:
        """The audit log, newest first."""
        return self.query("SELECT * FROM uc_audit ORDER BY event_id DESC")

    # -- reading ----------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run a read-only SQL query against the case and return a DataFrame."""
        with self.connect(read_only=True) as con:
            return con.execute(sql, list(params or [])).df()

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
        with self.connect(read_only=True) as con:
            row = con.execute(
                "SELECT run_id FROM uc_runs WHERE kind IN ('link', 'recluster') "
                "ORDER BY finished_at DESC, run_id DESC LIMIT 1"
            ).fetchone()
        return None if row is None else str(row[0])

    def pairs(self, run_id: str | None = None) -> pd.DataFrame:
        """Candidate pairs of the current (or given) link run."""
        run = run_id or self.current_run("link")
        if run is None:
            raise StoreError(f"{self.path} has not been linked: run 'undercount link {self.path}'")
        return self.query("SELECT * FROM uc_pairs WHERE run_id = ? ORDER BY record_id_l, record_id_r", [run])

    def decisions(self) -> pd.DataFrame:
        """The newest review decision on each pair (skips excluded)."""
        return self.query(
            "SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER (PARTITION BY record_id_l, "
            "record_id_r ORDER BY decision_id DESC) AS rn FROM uc_decisions) WHERE rn = 1 "
            "AND decision <> 'skip' ORDER BY decision_id"
        )

    # -- ingest (convenience; the work is in undercount.ingest) ------------------------------
    def import_list(self, file: str | Path, *, name: str | None = None, spec: Any = None) -> Any:
        """Import a list file; see :func:`undercount.ingest.import_list`."""
        from undercount.ingest import import_list

        return import_list(self, file, name=name, spec=spec)

    def audit(self) -> Any:
        """Quality of each list; see :func:`undercount.ingest.audit_case`."""
        from undercount.ingest import audit_case

        return audit_case(self)

    def __repr__(self) -> str:
        return f"Case({os.fspath(self.path)!r})"
