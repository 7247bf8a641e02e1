"""Every route with extreme parameters answers 4xx (or a normal page), never 500.

The walk is built from the app's own routes, so a new route is walked without changing this
test: each path, query and form parameter is set in turn to huge numbers, negative numbers,
words, empty text, NUL bytes, lone surrogates, invalid UTF-8 and very long text.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from undercount.web import create_app
from undercount.web.settings import WebSettings

from .conftest import LOCAL, PASSWORD, csrf_from

#: Raw (already percent-encoded) values: every one is tried in every parameter.
EXTREMES = [
    "0", "-1", "2", "9223372036854775807", "9223372036854775808", "99999999999999999999999", "1e309", "abc",
    "", "%00", "%ED%A0%80", "%FF%FE", "..%2F..%2Fetc%2Fpasswd", quote("محمد أحمد"), "P" + "9" * 40,
    "99999999999999999999-1", "x" * 5000, quote("<script>alert(1)</script>"),
]
#: Fields that must stay as they are for the request to reach the code under test.
SKIP_FIELDS = {"csrf_token"}


def _routes(app: Any) -> list[tuple[str, str, list[str], list[str], list[str]]]:
    """(method, path, path params, query params, form fields) of every API route."""
    from undercount.web.app import ROUTERS

    found = []
    for route in [r for router in ROUTERS for r in router.routes]:
        if not isinstance(route, APIRoute):
            continue
        dep = route.dependant
        path_params = [p.name for p in dep.path_params]
        query = [p.name for p in dep.query_params]
        form = [p.alias for p in dep.body_params]
        for method in sorted(route.methods):
            found.append((method, route.path, path_params, query, form))
    return found


@pytest.fixture(scope="module")
def walker(_template_case: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    target = tmp_path_factory.mktemp("walk") / "case"
    shutil.copytree(_template_case, target)
    # The walk types many wrong passwords: a high limit keeps the admin able to log in.
    return create_app(target, settings=WebSettings(login_limit=100_000))


def _admin(app: Any) -> tuple[TestClient, str]:
    client = TestClient(app, follow_redirects=False, base_url=LOCAL, raise_server_exceptions=False)
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303
    return client, csrf_from(client.get("/login").text)


def _defaults(path_params: list[str]) -> dict[str, str]:
    return {name: ("P000000001" if name == "person_id" else "1") for name in path_params}


def _request(client: TestClient, token: str, method: str, path: str, params: dict[str, str],
             query: dict[str, str], form: dict[str, str]) -> int:
    url = re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], path)
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    if method in ("GET", "HEAD"):
        return client.request(method, url).status_code
    body = "&".join(f"{k}={v}" for k, v in {**form, "csrf_token": token}.items())
    return client.request(method, url, content=body.encode("latin-1"),
                          headers={"content-type": "application/x-www-form-urlencoded"}).status_code


@pytest.mark.slow
def test_every_route_with_extreme_parameters_answers_4xx_never_500(walker: Any) -> None:
    routes = _routes(walker)
    assert len(routes) >= 10
    answers: dict[int, int] = {}
    failures = []
    walked = 0
    for method, path, path_params, query, form in routes:
        if path == "/logout":
            continue  # walked last: it ends the session the walk uses
        client, token = _admin(walker)
        names = [("path", n) for n in path_params] + [("query", n) for n in query] + \
                [("form", n) for n in form if n not in SKIP_FIELDS]
        for kind, name in names or [("none", "")]:
            for value in EXTREMES if names else [""]:
                params = _defaults(path_params)
                q: dict[str, str] = {}
                f = {n: "1" for n in form if n not in SKIP_FIELDS}
                if kind == "path":
                    params[name] = value if value else "%20"
                elif kind == "query":
                    q[name] = value
                elif kind == "form":
                    f[name] = value
                status = _request(client, token, method, path, params, q, f)
                walked += 1
                answers[status] = answers.get(status, 0) + 1
                if status >= 500:
                    failures.append((method, path, kind, name, value[:40], status))
                if status == 303 and client.get("/register").status_code == 303:
                    client, token = _admin(walker)  # a value logged us out (a role change): log in again
    client, token = _admin(walker)
    assert _request(client, token, "POST", "/logout", {}, {}, {}) == 303
    print(f"\nroute walk: {len(routes)} routes, {walked} requests, statuses {dict(sorted(answers.items()))}")
    assert not failures, failures
    assert walked > 300
    # The walk reached the code: most answers are pages or refusals, not all redirects to login.
    assert answers.get(200, 0) > 50 and answers.get(400, 0) > 50, answers


@pytest.mark.parametrize("path", ["/register?page=99999999999999999999999", "/admin/audit?page=99999999999999999999999",
                                  "/review/decisions?page=99999999999999999999999", "/register?page=0",
                                  "/review/99999999999999999999999/1", "/review/-1/2"])
def test_huge_page_numbers_and_ids_are_refused(walker: Any, path: str) -> None:
    client, _ = _admin(walker)
    response = client.get(path)
    assert response.status_code == 400
    assert "missing or invalid field(s)" in response.text


def test_huge_page_number_in_a_search_is_refused(walker: Any) -> None:
    client, token = _admin(walker)
    response = client.post("/register", data={"q": "Omar", "page": "99999999999999999999999", "csrf_token": token})
    assert response.status_code == 400 and "page" in response.text
    past = client.post("/register", data={"q": "Omar", "page": "5", "csrf_token": token})
    assert past.status_code == 404
