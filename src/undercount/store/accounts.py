"""The review app's accounts and sessions as the case stores them (``uc_users``, ``uc_sessions``).

Both tables are append-only. An account is the newest ``uc_users`` row for its name. A session is
a ``start`` row until an ``end`` row closes it; an ``end`` row with :data:`ALL_SESSIONS` as its
key closes every session of the account that began before it. Passwords reach this module only
as hashes and session ids only as their SHA-256: roles, hashing and cookies are the app's
(:mod:`undercount.web.auth`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from undercount.store.runs import Reader

__all__ = ["ALL_SESSIONS", "account", "accounts", "append_account", "append_session_event", "session_open"]

#: The session key of an ``end`` row that ends every session of the account.
ALL_SESSIONS = "*"

_NEWEST = (
    "SELECT username, role, password_hash, written_at FROM (SELECT *, row_number() OVER "
    "(PARTITION BY username ORDER BY written_at DESC) AS rn FROM uc_users) WHERE rn = 1"
)
_OPEN = (
    "SELECT count(*) AS n FROM uc_sessions s WHERE s.session_hash = ? AND s.username = ? "
    "AND s.event = 'start' AND s.at >= ? AND NOT EXISTS (SELECT 1 FROM uc_sessions e "
    "WHERE e.event = 'end' AND e.username = s.username "
    f"AND (e.session_hash = s.session_hash OR (e.session_hash = '{ALL_SESSIONS}' AND e.at >= s.at)))"
)


def append_account(con: duckdb.DuckDBPyConnection, username: str, role: str, password_hash: str,
                   written_at: datetime, written_by: str | None) -> bool:
    """Append an account row (inside the caller's transaction); True when the name had one before."""
    existed = con.execute("SELECT 1 FROM uc_users WHERE username = ? LIMIT 1", [username]).fetchall()
    con.execute("INSERT INTO uc_users VALUES (?, ?, ?, ?, ?)", [username, role, password_hash, written_at, written_by])
    return bool(existed)


def account(reader: Reader, username: str) -> dict[str, Any] | None:
    """The newest row of an account (username, role, password_hash, written_at), or None."""
    df = reader.query(_NEWEST + " AND username = ?", [username])
    return None if df.empty else {str(k): v for k, v in df.iloc[0].items()}


def accounts(reader: Reader) -> pd.DataFrame:
    """Every account's newest row with who wrote it (username, role, written_at, written_by), by name."""
    return reader.query(
        "SELECT u.username, u.role, u.written_at, w.written_by FROM (" + _NEWEST + ") u "
        "JOIN uc_users w USING (username, written_at) ORDER BY u.username"
    )


def append_session_event(con: duckdb.DuckDBPyConnection, session_hash: str, username: str, event: str,
                         at: datetime, reason: str | None = None) -> None:
    """Append a session's ``start`` or ``end`` row (inside the caller's transaction)."""
    con.execute("INSERT INTO uc_sessions VALUES (?, ?, ?, ?, ?)", [session_hash, username, event, at, reason])


def session_open(reader: Reader, session_hash: str, username: str, since: datetime) -> bool:
    """True when the session started at or after ``since`` and no ``end`` row closed it."""
    df = reader.query(_OPEN, [session_hash, username, since])
    return int(df["n"].iloc[0]) > 0
