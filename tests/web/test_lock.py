"""Pages open the case's DuckDB file only while holding the app's case lock (AppData.lock).

DuckDB refuses a read-only and a read-write connection to one file at once in one process, and
the app serves requests on several threads: a page that opens the case outside the lock can meet
another thread's connection of the other kind and fail with "different configuration" (a 503 on
the register page came from the persons' incident labels read that way). The walk requests every
route of the app (built from its routers, so a new page is walked without changing this test) and
some pages with real ids, recording every connection to the case file and whether the thread that
opened it held the lock.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from undercount.web import create_app
from undercount.web.settings import WebSettings

from .conftest import person_id
from .test_routes import _admin, _defaults, _request, _routes

PAGES = ["/register", "/register?q=Omar", f"/person/{person_id(1)}", "/review", "/review/decisions", "/recluster",
         "/search", "/incidents", "/admin", "/admin/audit"]


def _held(lock: Any) -> bool:
    """True when the calling thread holds ``lock`` (a threading.RLock)."""
    return bool(lock._is_owned())


def test_every_page_opens_the_case_only_under_the_app_lock(_template_case: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "case"
    shutil.copytree(_template_case, target)
    app = create_app(target, settings=WebSettings(login_limit=100_000))
    data = app.state.data
    assert _held(data.lock) is False
    with data.lock:
        assert _held(data.lock)  # the check itself works
    database = Path(data.case.db_path).resolve()
    opened: list[tuple[str, bool]] = []
    current = {"request": "start"}
    real = duckdb.connect

    def connect(path: Any = ":memory:", *args: Any, **kwargs: Any) -> Any:
        if str(path) != ":memory:" and Path(str(path)).resolve() == database:
            opened.append((current["request"], _held(data.lock)))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", connect)
    client, token = _admin(app)
    requests = 0
    for method, path, path_params, _query, form in _routes(app):
        if path == "/logout":
            continue  # ends the session the walk uses
        current["request"] = f"{method} {path}"
        fields = {n: "1" for n in form if n != "csrf_token"}
        status = _request(client, token, method, path, _defaults(path_params), {}, fields)
        requests += 1
        if method == "POST" and status == 303 and client.get("/register").status_code == 303:
            client, token = _admin(app)  # a form logged us out (a role change): log in again
    for page in PAGES:
        current["request"] = f"GET {page}"
        assert client.get(page).status_code in (200, 303, 404), page
        requests += 1
    outside = sorted({request for request, held in opened if not held})
    assert requests > 20 and len(opened) > requests  # the walk reached the store on most requests
    assert not outside, f"opened the case outside AppData.lock: {outside}"
