"""A local app no web page can reach: host names, origins, forwarding headers, the login limiter
over a real socket."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from undercount.store import Case
from undercount.web import create_app
from undercount.web.app import foreign_origin
from undercount.web.settings import WebSettings

from .conftest import LOCAL, PASSWORD, LiveServer, csrf_from


@pytest.fixture(scope="module")
def app(_template_case: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    target = tmp_path_factory.mktemp("hosts") / "case"
    shutil.copytree(_template_case, target)
    return create_app(target, settings=WebSettings(allowed_hosts=("127.0.0.1", "localhost", "::1", "review.example")))


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.nip.io", "localhost.evil.example", "", "[::1",
                                  "127.0.0.1:80:80", "10.0.0.1", "LOCALHOST@evil.example"])
@pytest.mark.parametrize("path", ["/login", "/admin/audit", "/static/app.css"])
def test_foreign_host_gets_400(app: Any, host: str, path: str) -> None:
    client = TestClient(app, follow_redirects=False, base_url=LOCAL)
    response = client.get(path, headers={"host": host})
    assert response.status_code == 400
    assert "Unknown host name" in response.text
    assert "set-cookie" not in response.headers
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8000", "localhost:8000", "LocalHost", "[::1]:8000",
                                  "review.example", "localhost."])
def test_configured_hosts_are_served(app: Any, host: str) -> None:
    client = TestClient(app, follow_redirects=False, base_url=LOCAL)
    assert client.get("/login", headers={"host": host}).status_code == 200


def _login_form(client: TestClient, **headers: str) -> httpx.Response:
    token = csrf_from(client.get("/login").text)
    data = {"username": "vic", "password": PASSWORD, "csrf_token": token}
    return client.post("/login", data=data, headers=headers)


@pytest.mark.parametrize("headers", [
    {"origin": "http://evil.example"},
    {"origin": "null"},
    {"origin": "http://127.0.0.1:9999"},      # another local app is another origin
    {"origin": "https://127.0.0.1"},
    {"origin": "http://127.0.0.1.nip.io"},
    {"origin": "not a url"},
    {"referer": "http://evil.example/page"},
    {"origin": "http://evil.example", "referer": "http://127.0.0.1/login"},
])
def test_post_from_a_foreign_origin_gets_403(app: Any, headers: dict[str, str]) -> None:
    client = TestClient(app, follow_redirects=False, base_url=LOCAL)
    response = _login_form(client, **headers)
    assert response.status_code == 403
    assert "A form sent from another site is refused." in response.text
    assert client.get("/register").status_code == 303  # not logged in


@pytest.mark.parametrize("headers", [{}, {"origin": "http://127.0.0.1"}, {"origin": "HTTP://127.0.0.1:80"},
                                     {"referer": "http://127.0.0.1/login?next=/review"}])
def test_post_from_the_app_itself_is_accepted(app: Any, headers: dict[str, str]) -> None:
    client = TestClient(app, follow_redirects=False, base_url=LOCAL)
    assert _login_form(client, **headers).status_code == 303


def test_origin_compared_with_the_host_asked_for() -> None:
    from starlette.requests import Request

    def request(host: str, origin: str) -> Request:
        scope = {"type": "http", "method": "POST", "scheme": "http", "path": "/", "query_string": b"",
                 "headers": [(b"host", host.encode()), (b"origin", origin.encode())], "server": ("x", 80)}
        return Request(scope)

    assert not foreign_origin(request("localhost:8000", "http://localhost:8000"))
    assert foreign_origin(request("localhost:8000", "http://127.0.0.1:8000"))
    assert not foreign_origin(request("[::1]:8000", "http://[::1]:8000"))


def test_serve_ignores_forwarding_headers_unless_told(monkeypatch: pytest.MonkeyPatch, web_case: Case) -> None:
    """`serve` runs uvicorn with proxy headers off (uvicorn trusts them from 127.0.0.1 by default)."""
    from typer.testing import CliRunner

    from undercount.cli import app as cli

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda application, **kwargs: calls.append(
        {**kwargs, "settings": application.state.settings}))
    monkeypatch.setattr("undercount.cli.web.port_in_use", lambda host, port: False)
    result = CliRunner().invoke(cli, ["serve", str(web_case.path)])
    assert result.exit_code == 0, result.output
    assert calls[-1]["proxy_headers"] is False
    result = CliRunner().invoke(cli, ["serve", str(web_case.path), "--trusted-proxy", "10.0.0.5",
                                      "--allowed-host", "review.example", "--session-idle", "600"])
    assert result.exit_code == 0, result.output
    options = calls[-1]
    assert options["proxy_headers"] is True and options["forwarded_allow_ips"] == ["10.0.0.5"]
    assert options["settings"].allowed_hosts == ("127.0.0.1", "localhost", "::1", "review.example")
    assert options["settings"].session_idle == 600


def test_rotating_forwarded_for_does_not_escape_the_limiter(_template_case: Path, tmp_path: Path) -> None:
    """Over a real socket, as `serve` runs it: 50 wrong passwords, each with another
    X-Forwarded-For, are answered 429 before the 10th; then even the right password is held back."""
    target = tmp_path / "case"
    shutil.copytree(_template_case, target)
    with LiveServer(create_app(target), Case.open(target)) as server:
        with httpx.Client(base_url=server.url, follow_redirects=False, timeout=30) as client:
            codes = []
            for i in range(50):
                token = csrf_from(client.get("/login").text)
                response = client.post(
                    "/login", data={"username": "rita", "password": f"guess {i}", "csrf_token": token},
                    headers={"x-forwarded-for": f"203.0.113.{i + 1}", "x-real-ip": f"198.51.100.{i + 1}"},
                )
                codes.append(response.status_code)
            token = csrf_from(client.get("/login").text)
            right = client.post("/login", data={"username": "rita", "password": PASSWORD, "csrf_token": token},
                                headers={"x-forwarded-for": "192.0.2.77"})
        addresses = server.read(lambda case: case.query(
            "SELECT DISTINCT json_extract_string(detail, '$.address') AS a FROM uc_audit WHERE action = 'login'"))
    assert codes.index(429) < 9, codes
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    assert right.status_code == 429
    assert addresses["a"].tolist() == ["127.0.0.1"]
