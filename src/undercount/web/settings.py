"""The review app's settings: sessions, login limits, the host names it answers to, proxies.

One frozen dataclass, :class:`WebSettings`; ``undercount serve`` builds it from its options and
:func:`undercount.web.create_app` takes it. Each field carries its help text in its metadata
(``SETTINGS_HELP`` lists them for the docs).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, fields
from typing import Any

from undercount.errors import ConfigError

__all__ = ["WebSettings", "LOCAL_HOSTS", "settings_help", "normalise_host"]

#: Host names a local app answers to by default.
LOCAL_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


def normalise_host(value: str) -> str:
    """A host name as compared: lower case, no brackets, no trailing dot.

    Example:
        >>> normalise_host("[::1]"), normalise_host("LocalHost.")
        ('::1', 'localhost')
    """
    return value.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class WebSettings:
    """How the review app runs. Every field has a safe default for a local app.

    Example:
        >>> WebSettings(session_idle=600).session_idle
        600
    """

    allowed_hosts: tuple[str, ...] = _setting(
        LOCAL_HOSTS, "host names (Host header) the app answers to; any other gets 400")
    trusted_proxies: tuple[str, ...] = _setting(
        (), "addresses of reverse proxies whose X-Forwarded-For/-Proto are believed (none by default)")
    session_idle: int = _setting(30 * 60, "seconds without a request after which a session ends")
    session_lifetime: int = _setting(12 * 3600, "seconds after login at which a session ends, however active")
    login_limit: int = _setting(5, "failed logins for one account from one address before the app answers 429")
    login_window: int = _setting(15 * 60, "seconds a failed login is remembered")
    login_backoff: int = _setting(
        30, "seconds of the first wait once the limit is reached; each further failure doubles it")

    def __post_init__(self) -> None:
        for name in ("session_idle", "session_lifetime", "login_limit", "login_window", "login_backoff"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a whole number of 1 or more, not {value!r}")
        if self.session_idle > self.session_lifetime:
            raise ConfigError("session_idle cannot be longer than session_lifetime")
        hosts = tuple(normalise_host(h) for h in self.allowed_hosts)
        if not hosts or any(not h or "/" in h or " " in h for h in hosts):
            raise ConfigError("allowed_hosts needs at least one host name (no spaces, no slashes)")
        object.__setattr__(self, "allowed_hosts", hosts)
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ConfigError(f"trusted proxy {proxy!r} is not an IP address or network") from None

    def allows_host(self, host: str) -> bool:
        """True when ``host`` (a Host header's name, without port) is one the app answers to."""
        return normalise_host(host) in self.allowed_hosts


def settings_help() -> dict[str, tuple[Any, str]]:
    """Each setting's default and help text, for the docs.

    Example:
        >>> settings_help()["session_idle"][0]
        1800
    """
    return {f.name: (f.default, str(f.metadata["help"])) for f in fields(WebSettings)}
