"""Accounts, sessions, CSRF tokens and the login rate limit of the review app.

Accounts live in ``uc_users`` (append-only: the newest row for a username wins, role
``disabled`` disables). Passwords are hashed with argon2id. A session is a cookie signed with
itsdangerous using a per-case secret kept in the case folder (``web_secret``, mode 600); it
holds the username, a CSRF token and a fingerprint of the account row, so that changing a
user's role or password ends their open sessions.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

from undercount.errors import AuthError, ConfigError
from undercount.store import Case

__all__ = [
    "ROLES",
    "User",
    "add_user",
    "get_user",
    "list_users",
    "check_password",
    "load_secret",
    "SessionCodec",
    "LoginLimiter",
    "role_allows",
    "require_role",
    "check_csrf",
]

#: Roles in increasing order of power; ``disabled`` is not a role one can log in with.
ROLES: tuple[str, ...] = ("viewer", "reviewer", "admin")
SECRET_FILE = "web_secret"
MIN_PASSWORD = 8
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
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
    return datetime.now(timezone.utc).replace(tzinfo=None)


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
        con.execute(
            "INSERT INTO uc_users VALUES (?, ?, ?, ?, ?)",
            [user.username, user.role, user.password_hash, user.written_at, written_by],
        )
        case.log(con, action="user", detail={"user": name, "role": role}, username=written_by)
    return user


_USERS_SQL = (
    "SELECT username, role, password_hash, written_at FROM (SELECT *, row_number() OVER "
    "(PARTITION BY username ORDER BY written_at DESC) AS rn FROM uc_users) WHERE rn = 1"
)


def get_user(
    case: Case, name: str, *, query: Callable[[str, list[Any]], pd.DataFrame] | None = None
) -> User | None:
    """The account called ``name`` (None when absent or disabled).

    Args:
        case: the case.
        name: the login name.
        query: runs SQL with parameters (default ``case.query``; the app passes its own).
    """
    df = (query or case.query)(_USERS_SQL + " AND username = ?", [name])
    if df.empty or df["role"].iloc[0] not in ROLES:
        return None
    row = df.iloc[0]
    return User(str(row["username"]), str(row["role"]), str(row["password_hash"]), row["written_at"])


def list_users(case: Case) -> list[dict[str, Any]]:
    """Every account (disabled ones included) with role and last change, by name."""
    df = case.query(
        "SELECT u.username, u.role, u.written_at, w.written_by FROM (" + _USERS_SQL + ") u "
        "JOIN uc_users w USING (username, written_at) ORDER BY u.username"
    )
    return [
        {"username": r.username, "role": r.role, "written_at": r.written_at, "written_by": r.written_by}
        for r in df.itertuples()
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
    """Signs and reads session cookies: ``{"u": user or None, "c": csrf, "f": fingerprint}``."""

    def __init__(self, secret: str, *, max_age: int) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt="undercount-session")
        self.max_age = max_age

    def new(self, user: User | None = None) -> dict[str, Any]:
        """A fresh session (a new CSRF token), anonymous or for ``user``."""
        return {
            "u": user.username if user else None,
            "c": secrets.token_urlsafe(32),
            "f": user.fingerprint if user else None,
        }

    def dumps(self, session: dict[str, Any]) -> str:
        """The signed cookie value."""
        return str(self._signer.dumps(session))

    def loads(self, value: str | None) -> dict[str, Any] | None:
        """The session in a cookie, or None when missing, forged or expired."""
        if not value:
            return None
        try:
            data = self._signer.loads(value, max_age=self.max_age)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        return data


def check_csrf(session: dict[str, Any], token: str | None) -> None:
    """Accept the request only when ``token`` equals the session's CSRF token.

    Raises:
        AuthError: the token is missing or wrong.
    """
    expected = session.get("c")
    if not token or not isinstance(expected, str) or not secrets.compare_digest(token, expected):
        raise AuthError("the form's security token is missing or out of date: reload the page and try again")


class LoginLimiter:
    """Counts failed logins per (user, address); too many in a window blocks that pair.

    Example:
        >>> limiter = LoginLimiter(limit=2, window=60)
        >>> limiter.failed("amal", "10.0.0.1"); limiter.failed("amal", "10.0.0.1")
        >>> limiter.blocked("amal", "10.0.0.1"), limiter.blocked("amal", "10.0.0.2")
        (True, False)
    """

    def __init__(self, *, limit: int = 5, window: float = 15 * 60) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        return times

    def blocked(self, username: str, address: str) -> bool:
        """True when this user and address have used up their failed attempts."""
        key = (username.casefold(), address)
        with self._lock:
            return len(self._recent(key, time.monotonic())) >= self.limit

    def failed(self, username: str, address: str) -> None:
        """Count one failed login."""
        key = (username.casefold(), address)
        with self._lock:
            self._recent(key, time.monotonic()).append(time.monotonic())

    def succeeded(self, username: str, address: str) -> None:
        """Forget the failures of a user and address after a good login."""
        with self._lock:
            self._failures.pop((username.casefold(), address), None)


def require_role(user: User, role: str) -> None:
    """Raise unless ``user`` holds at least ``role``.

    Raises:
        AuthError: the role is too low.
    """
    if not user.can(role):
        raise AuthError(f"this needs the {role} role; your account is a {user.role}")
