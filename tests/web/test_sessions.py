"""Sessions that end: logout, password change and disabling end them server-side; idle and
lifetime limits; failed-login limits that back off and survive a restart."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner

from undercount.store import Case
from undercount.web import add_user, create_app
from undercount.web.app import SESSION_COOKIE
from undercount.web.auth import UNKNOWN_USER, LoginLimiter
from undercount.web.settings import WebSettings

from .conftest import LOCAL, PASSWORD, csrf_from


def _client(case: Case, **settings: object) -> TestClient:
    app = create_app(case.path, settings=WebSettings(**settings))  # type: ignore[arg-type]
    return TestClient(app, follow_redirects=False, base_url=LOCAL)


def _login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 303, response.text
    return csrf_from(client.get("/login").text)


def _replay(client: TestClient, cookie: str, path: str = "/register") -> int:
    """Status of a GET sent with nothing but the given session cookie."""
    fresh = TestClient(client.app, follow_redirects=False, base_url=LOCAL)
    fresh.cookies.set(SESSION_COOKIE, cookie)
    response = fresh.get(path)
    if response.status_code == 303:
        assert response.headers["location"].startswith("/login")
    return response.status_code


def test_cookie_replayed_after_logout_is_refused(web_case: Case) -> None:
    client = _client(web_case)
    token = _login(client, "vic")
    cookie = client.cookies[SESSION_COOKIE]
    assert _replay(client, cookie) == 200
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert _replay(client, cookie) == 303
    events = web_case.query("SELECT event, coalesce(reason, '') FROM uc_sessions ORDER BY \"at\"")
    assert events.values.tolist() == [["start", ""], ["end", "logout"]]
    assert web_case.audit_log().iloc[0]["action"] == "logout"


def test_password_change_ends_every_session_of_the_account(web_case: Case) -> None:
    client = _client(web_case)
    _login(client, "rita")
    first = client.cookies[SESSION_COOKIE]
    other = TestClient(client.app, follow_redirects=False, base_url=LOCAL)
    _login(other, "rita")
    second = other.cookies[SESSION_COOKIE]
    bystander = TestClient(client.app, follow_redirects=False, base_url=LOCAL)
    _login(bystander, "vic")
    admin = TestClient(client.app, follow_redirects=False, base_url=LOCAL)
    token = _login(admin, "ada")
    saved = admin.post("/admin/users", data={"username": "rita", "role": "reviewer",
                                             "password": "a brand new passphrase", "csrf_token": token})
    assert saved.status_code == 303
    assert _replay(client, first) == 303 and _replay(client, second) == 303
    assert _replay(client, bystander.cookies[SESSION_COOKIE]) == 200
    # Logging in again with the new password opens a new session.
    _login(client, "rita", "a brand new passphrase")
    assert client.get("/review").status_code == 200


def test_session_ends_even_if_the_account_row_looks_unchanged(web_case: Case) -> None:
    """The session record, not only the account's fingerprint, decides: an 'end' row for every
    session of the account closes them, whatever the account looks like."""
    from undercount.web.auth import ALL_SESSIONS, end_session

    client = _client(web_case)
    _login(client, "vic")
    cookie = client.cookies[SESSION_COOKIE]
    with web_case.transaction() as con:
        end_session(con, ALL_SESSIONS, "vic", "account changed")
    assert _replay(client, cookie) == 303


def test_disabling_an_account_from_the_command_line_ends_its_sessions(web_case: Case) -> None:
    client = _client(web_case)
    _login(client, "rita")
    cookie = client.cookies[SESSION_COOKIE]
    add_user(web_case, "rita", "disabled", PASSWORD, written_by="tester")
    assert _replay(client, cookie) == 303
    # Re-enabled with the same password: the old cookie stays dead.
    add_user(web_case, "rita", "reviewer", PASSWORD, written_by="tester")
    assert _replay(client, cookie) == 303


def _resigned(client: TestClient, *, age: float = 0.0, **changes: object) -> str:
    """The client's session cookie re-signed as if issued ``age`` seconds ago, with ``changes``."""
    codec = client.app.state.codec  # type: ignore[attr-defined]
    session, _ = codec.loads(client.cookies[SESSION_COOKIE])
    assert session is not None
    session.update(changes)
    stamp = int(time.time() - age)
    original = TimestampSigner.get_timestamp
    TimestampSigner.get_timestamp = lambda self: stamp  # type: ignore[method-assign]
    try:
        return str(codec.dumps(session))
    finally:
        TimestampSigner.get_timestamp = original  # type: ignore[method-assign]


def test_idle_session_expires(web_case: Case) -> None:
    client = _client(web_case, session_idle=600)
    _login(client, "vic")
    assert _replay(client, _resigned(client, age=300)) == 200
    assert _replay(client, _resigned(client, age=601)) == 303


def test_active_session_renews_its_cookie(web_case: Case) -> None:
    client = _client(web_case, session_idle=600)
    _login(client, "vic")
    fresh = TestClient(client.app, follow_redirects=False, base_url=LOCAL)
    fresh.cookies.set(SESSION_COOKIE, _resigned(client, age=120))
    response = fresh.get("/register")
    assert response.status_code == 200
    renewed = response.cookies.get(SESSION_COOKIE)
    assert renewed and client.app.state.codec.loads(renewed)[1] < 5  # type: ignore[attr-defined]
    # A cookie just issued is not renewed on every request.
    assert SESSION_COOKIE not in fresh.get("/register").cookies


def test_session_ends_after_its_lifetime_however_active(web_case: Case) -> None:
    client = _client(web_case, session_idle=600, session_lifetime=3600)
    _login(client, "vic")
    assert _replay(client, _resigned(client, t=int(time.time()) - 3000)) == 200
    assert _replay(client, _resigned(client, t=int(time.time()) - 3601)) == 303


def test_session_settings_are_checked() -> None:
    from undercount.errors import ConfigError

    with pytest.raises(ConfigError, match="session_idle cannot be longer than session_lifetime"):
        WebSettings(session_idle=7200, session_lifetime=3600)
    with pytest.raises(ConfigError, match="login_limit must be a whole number of 1 or more"):
        WebSettings(login_limit=0)
    with pytest.raises(ConfigError, match="trusted proxy 'proxy.example' is not an IP address"):
        WebSettings(trusted_proxies=("proxy.example",))


def _fail_login(client: TestClient, username: str, **headers: str) -> int:
    token = csrf_from(client.get("/login").text)
    data = {"username": username, "password": "not the password", "csrf_token": token}
    return client.post("/login", data=data, headers=headers).status_code


def test_failed_login_of_an_unknown_name_does_not_store_the_name(web_case: Case) -> None:
    client = _client(web_case)
    assert _fail_login(client, "Zzcanary Qqname") == 401
    assert _fail_login(client, "rita") == 401
    log = web_case.audit_log()
    stored = log.to_json(date_format="iso")
    assert "Zzcanary" not in stored and "Qqname" not in stored
    unknown, known = log.iloc[1], log.iloc[0]
    assert unknown["username"] == UNKNOWN_USER
    assert json.loads(unknown["detail"]) == {"user": None, "ok": False, "address": "testclient"}
    assert known["username"] == "rita" and json.loads(known["detail"])["user"] == "rita"


def test_login_limit_survives_a_restart(web_case: Case) -> None:
    client = _client(web_case)
    for _ in range(5):
        assert _fail_login(client, "rita") == 401
    restarted = _client(web_case)
    token = csrf_from(restarted.get("/login").text)
    response = restarted.post("/login", data={"username": "rita", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    # Another account is not held back by rita's failures.
    assert restarted.post("/login", data={"username": "vic", "password": PASSWORD,
                                          "csrf_token": token}).status_code == 303


def test_a_good_login_before_the_restart_still_forgives(web_case: Case) -> None:
    client = _client(web_case)
    for _ in range(4):
        assert _fail_login(client, "rita") == 401
    _login(client, "rita")
    restarted = _client(web_case)
    for _ in range(4):
        assert _fail_login(restarted, "rita") == 401
    assert _fail_login(restarted, "rita") == 401  # the 5th failure since the good login
    assert _fail_login(restarted, "rita") == 429


def test_limiter_backs_off_exponentially() -> None:
    limiter = LoginLimiter(limit=3, window=3600, backoff=10)
    waits = []
    now = 0.0
    for _ in range(6):
        limiter.failed("rita", "10.0.0.1", at=now)
        waits.append(limiter.retry_after("rita", "10.0.0.1", now=now))
        now += waits[-1] + 1
    assert waits == [0.0, 0.0, 10.0, 20.0, 40.0, 80.0]
    # At most the window; failures are forgotten after it.
    assert limiter.retry_after("rita", "10.0.0.1", now=now + 3601) == 0.0


def test_limiter_counts_one_address_trying_many_accounts() -> None:
    limiter = LoginLimiter(limit=5, window=600, backoff=30)
    for i in range(19):
        limiter.failed(f"user{i}", "10.0.0.9", at=0.0)
    assert limiter.retry_after("someone", "10.0.0.9", now=1.0) == 0.0
    limiter.failed("user19", "10.0.0.9", at=1.0)
    assert limiter.retry_after("someone", "10.0.0.9", now=2.0) == 29.0
    assert limiter.retry_after("someone", "10.0.0.8", now=2.0) == 0.0


@pytest.mark.parametrize("command", ["disable", "remove", "passwd"])
def test_user_commands_end_the_accounts_sessions_and_are_logged(web_case: Case, command: str) -> None:
    from typer.testing import CliRunner

    from undercount.cli import app as cli

    client = _client(web_case)
    _login(client, "rita")
    cookie = client.cookies[SESSION_COOKIE]
    bystander = TestClient(client.app, follow_redirects=False, base_url=LOCAL)
    _login(bystander, "vic")
    args = ["user", command, str(web_case.path), "rita"]
    result = CliRunner().invoke(cli, [*args, "--password-stdin"] if command == "passwd" else args,
                                input="a brand new passphrase\n")
    assert result.exit_code == 0, result.output
    assert "their open sessions have ended" in result.output
    assert _replay(client, cookie) == 303 and _replay(client, bystander.cookies[SESSION_COOKIE]) == 200
    entry = web_case.audit_log().iloc[0]
    change = {"passwd": "password"}.get(command, command)
    assert entry["action"] == "user" and json.loads(entry["detail"])["change"] == change
    assert "passphrase" not in "".join(web_case.audit_log()["detail"])
    listed = CliRunner().invoke(cli, ["user", "list", str(web_case.path), "--json"])
    roles = {u["username"]: u["role"] for u in json.loads(listed.stdout)}
    assert roles == {"ada": "admin", "vic": "viewer", **({} if command == "remove" else
                                                         {"rita": "disabled" if command == "disable" else "reviewer"})}
    if command == "passwd":
        _login(client, "rita", "a brand new passphrase")
        assert client.get("/review").status_code == 200
    else:  # nobody can log in as rita any more
        token = csrf_from(client.get("/login").text)
        refused = client.post("/login", data={"username": "rita", "password": PASSWORD, "csrf_token": token})
        assert refused.status_code != 303
    again = CliRunner().invoke(cli, ["user", "disable", str(web_case.path), "nobody"])
    assert again.exit_code == 1 and "ConfigError: no account called 'nobody'" in again.output


def test_user_list_says_who_changed_what(web_case: Case) -> None:
    from typer.testing import CliRunner

    from undercount.cli import app as cli

    text = CliRunner().invoke(cli, ["user", "list", str(web_case.path)])
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert lines[0].split() == ["user", "role", "changed", "(UTC)", "by"]
    assert [line.split()[:2] for line in lines[1:]] == [["ada", "admin"], ["rita", "reviewer"], ["vic", "viewer"]]
