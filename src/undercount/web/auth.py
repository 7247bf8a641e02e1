"""Accounts, sessions, CSRF tokens and the login rate limit of the review app.

Accounts live in ``uc_users`` (append-only: the newest row for a username wins, role
``disabled`` disables). Passwords are hashed with argon2id. A session is a cookie signed with
itsdangerous using a per-case secret kept in the case folder (``web_secret``, mode 600); it
holds a random session id, the username, a CSRF token, the login time and a fingerprint of
the account row. The server keeps a record of each session in ``uc_sessions`` (a ``start`` row
at login, an ``end`` row at logout; one ``end`` row with session ``*`` ends every session of an
account when it is changed or disabled), so a cookie replayed after logout is refused. A cookie
not renewed by a request for ``session_idle`` seconds has expired, and every session ends
``session_lifetime`` seconds after its login.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

from undercount.errors import AuthError, ConfigError
from undercount.store import Case
from undercount.store.accounts import (
    ALL_SESSIONS,
    account,
    accounts,
    append_account,
    append_session_event,
    session_open,
)
from undercount.store.runs import Reader

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "ROLES",
    "User",
    "add_user",
    "change_account",
    "get_user",
    "list_users",
    "REMOVED",
    "check_password",
    "load_secret",
    "SessionCodec",
    "LoginLimiter",
    "start_session",
    "end_session",
    "session_active",
    "UNKNOWN_USER",
    "role_allows",
    "require_role",
    "check_csrf",
]

#: Roles in increasing order of power; ``disabled`` is not a role one can log in with.
ROLES: tuple[str, ...] = ("viewer", "reviewer", "admin")
SECRET_FILE = "web_secret"
MIN_PASSWORD = 8
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: Audit name of a failed login for a name that is no account (the typed name is not kept:
#: it may be a password typed in the wrong box, or someone's name).
UNKNOWN_USER = "(unknown)"
#: The role of a removed account's last row (append-only store: removal is a row too). A removed
#: name is listed no more and can be added again.
REMOVED = "removed"
_hasher = PasswordHasher()


@dataclass(frozen=True)
class User:
    """An account of the review app (the newest row of ``uc_users`` for the name)."""

    username: str
    role: str
    password_hash: str
    written_at: datetime

    @property
    def fingerprint(self) -> str:
        """A short digest of the account row; it changes when role or password change."""
        text = f"{self.username}|{self.role}|{self.password_hash}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def can(self, role: str) -> bool:
        """True when this user's role is at least ``role``."""
        return role_allows(self.role, role)


def role_allows(have: str, need: str) -> bool:
    """True when role ``have`` includes the rights of role ``need``.

    Example:
        >>> role_allows("admin", "reviewer"), role_allows("viewer", "reviewer")
        (True, False)
    """
    if have not in ROLES or need not in ROLES:
        return False
    return ROLES.index(have) >= ROLES.index(need)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def add_user(
    case: Case, name: str, role: str, password: str, *, written_by: str | None = None
) -> User:
    """Create an account, or replace the role and password of an existing one.

    Args:
        case: the case whose app the account opens.
        name: login name (letters, digits, ``.``, ``_``, ``-``; up to 64 characters).
        role: ``viewer``, ``reviewer``, ``admin``, or ``disabled`` to disable the account.
        password: at least 8 characters; stored only as an argon2id hash.
        written_by: who made the change (recorded with the row and in the audit log).

    Returns:
        The account as now stored.

    Raises:
        ConfigError: the name, role or password is not acceptable.

    Example:
        >>> import tempfile
        >>> case = Case.init(tempfile.mkdtemp() + "/c")
        >>> add_user(case, "amal", "reviewer", "a long passphrase").role
        'reviewer'
    """
    if not _USERNAME.match(name):
        raise ConfigError(
            "a user name has 1-64 letters, digits, '.', '_' or '-', and starts with a letter or digit"
        )
    if role not in (*ROLES, "disabled"):
        raise ConfigError(f"role must be one of {', '.join(ROLES)} or disabled, not {role!r}")
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"a password needs at least {MIN_PASSWORD} characters")
    user = User(name, role, _hasher.hash(password), _now())
    with case.transaction() as con:
        existed = append_account(con, user.username, user.role, user.password_hash, user.written_at, written_by)
        if existed:
            # A new password or role (or a disabled account) ends every session the account had.
            end_session(con, ALL_SESSIONS, name, "account changed")
        case.log(con, action="user", detail={"user": name, "role": role, "change": "add" if not existed else "set"},
                 username=written_by)
    return user


_CHANGES = ("disable", "remove", "password")


def change_account(case: Case, name: str, change: str, *, password: str | None = None,
                   written_by: str | None = None) -> User:
    """Disable, remove or set a new password for an existing account; its open sessions end.

    Every change is a new ``uc_users`` row (the store is append-only) and an audit entry
    (``action='user'``, ``detail={'user', 'role', 'change'}``; never the password).

    Args:
        case: the case.
        name: the account.
        change: ``disable`` (role disabled, password kept: ``user add`` with a role opens it
            again), ``remove`` (listed no more; the name can be added again) or ``password``.
        password: the new password (``password`` only; at least 8 characters).
        written_by: who made the change.

    Returns:
        The account as now stored.

    Raises:
        ConfigError: no such account (or it was removed), an unknown change, or a short password.

    Example:
        >>> import tempfile
        >>> case = Case.init(tempfile.mkdtemp() + "/c")
        >>> _ = add_user(case, "amal", "reviewer", "a long passphrase")
        >>> change_account(case, "amal", "disable").role
        'disabled'
    """
    if change not in _CHANGES:
        raise ConfigError(f"an account change is one of {', '.join(_CHANGES)}, not {change!r}")
    row = account(case, name)
    if row is None or row["role"] == REMOVED:
        raise ConfigError(f"no account called {name!r}: see 'undercount user list'")
    role, digest = str(row["role"]), str(row["password_hash"])
    if change == "password":
        if password is None or len(password) < MIN_PASSWORD:
            raise ConfigError(f"a password needs at least {MIN_PASSWORD} characters")
        digest = _hasher.hash(password)
    elif change == "disable":
        role = "disabled"
    else:
        role, digest = REMOVED, ""
    user = User(name, role, digest, _now())
    with case.transaction() as con:
        append_account(con, name, role, digest, user.written_at, written_by)
        end_session(con, ALL_SESSIONS, name, {"disable": "account disabled", "remove": "account removed",
                                              "password": "password changed"}[change])
        case.log(con, action="user", detail={"user": name, "role": role, "change": change}, username=written_by)
    return user


def get_user(case: Case, name: str, *, reader: Reader | None = None) -> User | None:
    """The account called ``name`` (None when absent or disabled).

    Args:
        case: the case.
        name: the login name.
        reader: where to read (default the case; the app passes its shared connection).
    """
    row = account(reader or case, name)
    if row is None or row["role"] not in ROLES:
        return None
    return User(str(row["username"]), str(row["role"]), str(row["password_hash"]), row["written_at"])


def list_users(case: Case, *, removed: bool = False) -> list[dict[str, Any]]:
    """Every account (disabled ones included; removed ones when ``removed``) with role and last change, by name."""
    df = accounts(case)
    return [
        {"username": r.username, "role": r.role, "written_at": r.written_at, "written_by": r.written_by}
        for r in df.itertuples() if removed or r.role != REMOVED
    ]


def check_password(user: User | None, password: str) -> bool:
    """True when ``password`` matches the user's hash (constant work when the user is unknown)."""
    if user is None:
        # Hash anyway, so the time taken does not reveal which accounts exist.
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def load_secret(case_path: Path) -> str:
    """The case's session secret, created (mode 600) on first use.

    Raises:
        ConfigError: the secret file cannot be created or read.
    """
    path = Path(case_path) / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ConfigError(f"cannot create {path}: {exc.strerror}") from exc
    else:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32))
    try:
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
        secret = path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    if len(secret) < 32:
        raise ConfigError(f"{path} holds too short a secret: delete it to make a new one")
    return secret


class SessionCodec:
    """Signs and reads session cookies.

    A cookie holds ``{"s": session id, "u": user, "c": csrf, "f": fingerprint, "t": login time}``
    (``s``, ``u``, ``f`` and ``t`` are None for an anonymous visitor, who still needs a CSRF
    token for the login form). The signature's time stamp is when the cookie was issued; the
    app issues a fresh one as requests come, so a cookie older than ``idle`` seconds means a
    session left idle. ``lifetime`` bounds a session from its login, however active.
    """

    def __init__(self, secret: str, *, idle: int, lifetime: int) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt="undercount-session")
        self.idle = idle
        self.lifetime = lifetime
        #: Renew a logged-in cookie when it is older than this (seconds).
        self.renew_after = max(1, min(60, idle // 10))

    def new(self, user: User | None = None) -> dict[str, Any]:
        """A fresh session (a new CSRF token; a new session id for ``user``)."""
        return {
            "s": secrets.token_urlsafe(32) if user else None,
            "u": user.username if user else None,
            "c": secrets.token_urlsafe(32),
            "f": user.fingerprint if user else None,
            "t": int(time.time()) if user else None,
        }

    def dumps(self, session: dict[str, Any]) -> str:
        """The signed cookie value."""
        return str(self._signer.dumps(session))

    def loads(self, value: str | None) -> tuple[dict[str, Any] | None, float]:
        """The session in a cookie and its age in seconds; None when missing, forged, idle too
        long or past its lifetime."""
        if not value or len(value) > 4096:
            return None, 0.0
        try:
            data, issued = self._signer.loads(value, max_age=self.idle, return_timestamp=True)
        except BadSignature:
            return None, 0.0
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None, 0.0
        if data.get("u") is not None:
            started = data.get("t")
            if not isinstance(data.get("s"), str) or not isinstance(started, int):
                return None, 0.0
            if time.time() - started > self.lifetime:
                return None, 0.0
        return data, max(0.0, time.time() - issued.timestamp())


def _session_hash(session_id: str) -> str:
    """What the store keeps of a session id (the id itself lives only in the cookie)."""
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def start_session(con: duckdb.DuckDBPyConnection, session: dict[str, Any]) -> None:
    """Record a session that starts (call inside the login's transaction)."""
    append_session_event(con, _session_hash(str(session["s"])), str(session["u"]), "start", _now())


def end_session(con: duckdb.DuckDBPyConnection, session_id: str, username: str, reason: str) -> None:
    """Record that a session ends; ``session_id`` ``*`` ends every session of ``username``."""
    key = ALL_SESSIONS if session_id == ALL_SESSIONS else _session_hash(session_id)
    append_session_event(con, key, username, "end", _now(), reason)


def session_active(reader: Reader, session: dict[str, Any], lifetime: int) -> bool:
    """True when the store holds the session as started and not ended (nor past its lifetime).

    Args:
        reader: the case, or the app's shared connection.
        session: the cookie's session.
        lifetime: seconds a session may last from its login.
    """
    if not isinstance(session.get("s"), str) or not isinstance(session.get("u"), str):
        return False
    since = _now() - timedelta(seconds=lifetime)
    return session_open(reader, _session_hash(session["s"]), session["u"], since)


def check_csrf(session: dict[str, Any], token: str | None) -> None:
    """Accept the request only when ``token`` equals the session's CSRF token.

    Raises:
        AuthError: the token is missing or wrong.
    """
    expected = session.get("c")
    if not token or not isinstance(expected, str) or not secrets.compare_digest(token, expected):
        raise AuthError("the form's security token is missing or out of date: reload the page and try again")


class LoginLimiter:
    """Counts failed logins and makes the app wait longer after each one past a limit.

    Failures are counted per (account, address), and per address and per account alone with
    four times the limit (one address trying many accounts, many addresses trying one). Once a
    count reaches its limit, logins under that key wait ``backoff`` seconds after the last
    failure, twice as long after each further failure, at most ``window``; a failure is
    forgotten ``window`` seconds after it happened. Addresses are the TCP peer's (forwarding
    headers only count when the app trusts the proxy that sent them).

    Example:
        >>> limiter = LoginLimiter(limit=2, window=60, backoff=10)
        >>> limiter.failed("amal", "10.0.0.1", at=0.0); limiter.failed("amal", "10.0.0.1", at=1.0)
        >>> limiter.retry_after("amal", "10.0.0.1", now=2.0), limiter.retry_after("amal", "10.0.0.2", now=2.0)
        (9.0, 0.0)
    """

    def __init__(self, *, limit: int = 5, window: float = 15 * 60, backoff: float = 30) -> None:
        self.limit = limit
        self.window = window
        self.backoff = backoff
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _keys(self, username: str, address: str) -> list[tuple[tuple[str, str], int]]:
        name = username.casefold()
        return [(("pair", f"{name}\x00{address}"), self.limit), (("address", address), 4 * self.limit),
                (("account", name), 4 * self.limit)]

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, username: str, address: str, *, now: float | None = None) -> float:
        """Seconds to wait before this account may try to log in from this address (0: now)."""
        now = time.time() if now is None else now
        wait = 0.0
        with self._lock:
            for key, limit in self._keys(username, address):
                times = self._recent(key, now)
                if len(times) >= limit:
                    pause = min(self.window, self.backoff * 2.0 ** (len(times) - limit))
                    wait = max(wait, times[-1] + pause - now)
        return max(0.0, wait)

    def blocked(self, username: str, address: str) -> bool:
        """True when this account and address must wait before trying again."""
        return self.retry_after(username, address) > 0

    def failed(self, username: str, address: str, *, at: float | None = None) -> None:
        """Count one failed login (at ``at``, seconds since the epoch; default now)."""
        at = time.time() if at is None else at
        with self._lock:
            for key, _ in self._keys(username, address):
                self._failures.setdefault(key, deque()).append(at)

    def succeeded(self, username: str, address: str) -> None:
        """Forget the failures of this account from this address after a good login."""
        with self._lock:
            self._failures.pop(self._keys(username, address)[0][0], None)

    def restore(self, events: pd.DataFrame) -> int:
        """Count again the failed logins of the audit log (columns ``at``, ``detail``, oldest
        first; a good login forgives as it did), so the limits survive a restart of the app.
        Returns how many failures were counted."""
        count = 0
        for at, detail in zip(events["at"], events["detail"]):
            try:
                data = json.loads(detail) if isinstance(detail, str) else {}
            except ValueError:
                continue
            if not isinstance(data, dict) or data.get("ok") not in (True, False):
                continue
            user, address = str(data.get("user") or UNKNOWN_USER), str(data.get("address") or "unknown")
            if data["ok"]:
                self.succeeded(user, address)  # a good login forgave that account's failures
                continue
            self.failed(user, address, at=pd.Timestamp(at).tz_localize("UTC").timestamp())
            count += 1
        return count


def require_role(user: User, role: str) -> None:
    """Raise unless ``user`` holds at least ``role``.

    Raises:
        AuthError: the role is too low.
    """
    if not user.can(role):
        raise AuthError(f"this needs the {role} role; your account is a {user.role}")
