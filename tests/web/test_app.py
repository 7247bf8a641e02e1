"""The review app in-process (TestClient): login, roles, CSRF, headers, decisions, pages."""

from __future__ import annotations

import os
import re
import shutil
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from undercount.store import Case
from undercount.web import add_user, create_app
from undercount.web.app import ROUTERS, SECURITY_HEADERS

from .conftest import LOCAL, PASSWORD, csrf_from, person_id

PAGES = ["/", "/register", "/person/P000000001", "/review", "/review/1/2", "/admin/audit", "/admin/users"]


@pytest.fixture
def client(web_case: Case) -> TestClient:
    """A client of an app on a fresh copy of the case (for tests that write)."""
    return TestClient(create_app(web_case.path), follow_redirects=False, base_url=LOCAL)


@pytest.fixture(scope="module")
def shared_app(_template_case: Path, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """One app for the tests that only read (building an app per test is slow)."""
    target = tmp_path_factory.mktemp("shared") / "case"
    shutil.copytree(_template_case, target)
    return create_app(target)


@pytest.fixture
def anonymous(shared_app: FastAPI) -> TestClient:
    return TestClient(shared_app, follow_redirects=False, base_url=LOCAL)


@pytest.fixture(scope="module")
def viewer(shared_app: FastAPI) -> TestClient:
    """A client of the shared app, logged in as the viewer."""
    client = TestClient(shared_app, follow_redirects=False, base_url=LOCAL)
    login(client, "vic")
    return client


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in; return the session's CSRF token."""
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 303, response.text
    # The login page needs no database: the cheapest page showing the new session's token.
    return csrf_from(client.get("/login").text)


def shown_pair(html: str) -> tuple[int, int]:
    match = re.search(r'data-l="(\d+)" data-r="(\d+)"', html)
    assert match, "no pair on the review page"
    return int(match.group(1)), int(match.group(2))


@pytest.mark.parametrize("path", PAGES)
def test_pages_need_login(anonymous: TestClient, path: str) -> None:
    response = anonymous.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_redirect_keeps_the_page_asked_for(anonymous: TestClient) -> None:
    client = anonymous
    assert client.get("/review").headers["location"] == "/login?next=/review"
    token = csrf_from(client.get("/login?next=/review").text)
    response = client.post(
        "/login", data={"username": "rita", "password": PASSWORD, "csrf_token": token, "next": "/review"}
    )
    assert response.headers["location"] == "/review"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site(anonymous: TestClient, target: str) -> None:
    client = anonymous
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login", data={"username": "rita", "password": PASSWORD, "csrf_token": token, "next": target}
    )
    assert response.headers["location"] == "/register"


def test_session_cookie_flags(anonymous: TestClient) -> None:
    client = anonymous
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"username": "vic", "password": PASSWORD, "csrf_token": token})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("uc_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie


def test_login_changes_the_csrf_token(anonymous: TestClient) -> None:
    client = anonymous
    before = csrf_from(client.get("/login").text)
    after = login(client, "vic")
    assert before != after


def test_head_of_the_login_page_is_answered_like_get(anonymous: TestClient) -> None:
    # `curl -I .../login` (and uptime checks) got 405 Method Not Allowed
    page, head = anonymous.get("/login"), anonymous.head("/login")
    assert head.status_code == page.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == page.headers["content-type"] == "text/html; charset=utf-8"
    assert head.headers["content-length"] == page.headers["content-length"]
    assert all(head.headers[name] == value for name, value in SECURITY_HEADERS.items())


def test_wrong_password_refused_and_audited(client: TestClient, web_case: Case) -> None:
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"username": "rita", "password": "wrong password", "csrf_token": token})
    assert response.status_code == 401
    assert "Wrong user name or password." in response.text
    assert client.get("/register").status_code == 303
    event = web_case.audit_log().iloc[0]
    assert (event["action"], event["username"]) == ("login", "rita")
    assert '"ok": false' in event["detail"]


def test_failed_logins_limited(client: TestClient) -> None:
    token = csrf_from(client.get("/login").text)
    for _ in range(5):
        bad = client.post("/login", data={"username": "rita", "password": "not it at all", "csrf_token": token})
        assert bad.status_code == 401
    blocked = client.post("/login", data={"username": "rita", "password": PASSWORD, "csrf_token": token})
    assert blocked.status_code == 429
    assert "Too many failed logins" in blocked.text
    # Another account from the same address is not blocked.
    other = client.post("/login", data={"username": "vic", "password": PASSWORD, "csrf_token": token})
    assert other.status_code == 303


def test_login_without_csrf_refused(client: TestClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": "rita", "password": PASSWORD})
    assert response.status_code == 403
    assert client.get("/register").status_code == 303


@pytest.mark.parametrize("path", ["/login", "/register", "/static/app.css", "/nothing-here"])
def test_security_headers(viewer: TestClient, path: str) -> None:
    response = viewer.get(path)
    assert response.status_code == (404 if path == "/nothing-here" else 200)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


def test_every_post_refused_without_csrf(client: TestClient, web_case: Case) -> None:
    login(client, "ada")
    posts = [r.path for router in ROUTERS for r in router.routes if isinstance(r, APIRoute) and "POST" in r.methods]
    assert set(posts) >= {"/login", "/logout", "/register", "/review/decide", "/review/recluster", "/admin/users"}
    form = {"record_id_l": "1", "record_id_r": "2", "decision": "same", "username": "eve", "role": "admin",
            "password": "a long enough one", "q": "x"}
    for path in posts:
        response = client.post(path, data=form)
        assert response.status_code == 403, path
        assert "security token" in response.text
        wrong = client.post(path, data={**form, "csrf_token": "not-the-token"})
        assert wrong.status_code == 403, path
    assert web_case.query("SELECT count(*) AS n FROM uc_decisions")["n"][0] == 0
    assert web_case.current_link_run() == web_case.current_run("link")
    assert "eve" not in web_case.query("SELECT username FROM uc_users")["username"].tolist()


def test_csrf_header_accepted_for_json_posts(client: TestClient, web_case: Case) -> None:
    token = login(client, "rita")
    response = client.post(
        "/review/decide",
        data={"record_id_l": "1", "record_id_r": "2", "decision": "same"},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 303
    assert web_case.decisions()["decision"].tolist() == ["same"]


def test_viewer_browses_but_cannot_decide(client: TestClient, web_case: Case) -> None:
    token = login(client, "vic")
    assert client.get("/register").status_code == 200
    review = client.get("/review")
    assert review.status_code == 200
    assert "decide-form" not in review.text and "can browse but not decide" in review.text
    response = client.post(
        "/review/decide", data={"record_id_l": "1", "record_id_r": "2", "decision": "same", "csrf_token": token}
    )
    assert response.status_code == 403
    assert "needs the reviewer role" in response.text
    assert client.post("/review/recluster", data={"csrf_token": token}).status_code == 403
    assert web_case.query("SELECT count(*) AS n FROM uc_decisions")["n"][0] == 0


def test_decisions_stored_with_user_and_time(client: TestClient, web_case: Case) -> None:
    token = login(client, "rita")
    assert shown_pair(client.get("/review").text) == (1, 2)
    before = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
    for decision in ("same", "different"):
        response = client.post(
            "/review/decide",
            data={"record_id_l": "2", "record_id_r": "1", "decision": decision, "csrf_token": token},
        )
        assert response.status_code == 303 and response.headers["location"] == "/review?last=1-2"
    rows = web_case.query("SELECT * FROM uc_decisions ORDER BY decision_id")
    assert rows["decision"].tolist() == ["same", "different"]
    assert set(rows["username"]) == {"rita"}
    assert (rows["record_id_l"].tolist(), rows["record_id_r"].tolist()) == ([1, 1], [2, 2])
    assert rows["link_run_id"].iloc[0] == web_case.current_run("link")
    assert all(before <= t <= before + timedelta(minutes=1) for t in rows["decided_at"])
    # The newest decision on a pair wins.
    assert web_case.decisions()["decision"].tolist() == ["different"]
    audit = web_case.audit_log()
    decided = audit[audit["action"] == "decide"]
    assert len(decided) == 2 and set(decided["username"]) == {"rita"}
    assert "محمد" not in "".join(audit["detail"]) and "400000002" not in "".join(audit["detail"])
    # The decided pair leaves the queue; the next nearest the threshold comes up.
    page = client.get("/review?last=1-2").text
    assert shown_pair(page) == (3, 4)
    assert re.search(r"Saved: records 1 and 2,\s*<strong>different people</strong>\s*\(rita\)", page)
    listing = client.get("/review/decisions").text
    assert re.findall(r'href="/review/(\d+)/(\d+)"', listing) == [("1", "2")]
    assert '<td class="decision-different">different</td><td>rita</td>' in listing


def test_empty_queue_says_so(client: TestClient) -> None:
    token = login(client, "rita")
    for left, right in ((1, 2), (3, 4), (5, 6), (7, 8)):
        client.post("/review/decide", data={"record_id_l": left, "record_id_r": right, "decision": "same", "csrf_token": token})
    page = client.get("/review").text
    assert 'id="queue-empty"' in page and 'id="decided">4<' in page
    assert 'id="recluster-form"' in page


def test_skipped_pairs_go_to_the_end(client: TestClient) -> None:
    token = login(client, "rita")
    client.post("/review/decide", data={"record_id_l": "1", "record_id_r": "2", "decision": "skip", "csrf_token": token})
    page = client.get("/review").text
    assert shown_pair(page) == (3, 4)
    assert re.findall(r'href="/review/(\d+)/(\d+)"', page)[-1] == ("1", "2")


def test_unknown_decision_or_pair_refused(client: TestClient, web_case: Case) -> None:
    token = login(client, "rita")
    bad = client.post("/review/decide", data={"record_id_l": "1", "record_id_r": "2", "decision": "maybe", "csrf_token": token})
    assert bad.status_code == 400
    not_pair = client.post("/review/decide", data={"record_id_l": "1", "record_id_r": "9", "decision": "same", "csrf_token": token})
    assert not_pair.status_code == 400 and "not a candidate pair" in not_pair.text
    assert web_case.query("SELECT count(*) AS n FROM uc_decisions")["n"][0] == 0


def test_queue_puts_what_moves_the_estimate_first(web_case: Case) -> None:
    from undercount.web.data import AppData

    link = web_case.current_run("link")
    with web_case.transaction() as con:
        # 0.5625 is as near 0.5 as 0.4375 and joins record 9 to a person of two records, but
        # both records are on the survey list: no overlap between lists moves.
        con.execute("INSERT INTO uc_pairs VALUES (?, 6, 9, 0.1, 0.5625, NULL)", [link])
    found = AppData(web_case).review_queue()
    order = [(q["record_id_l"], q["record_id_r"]) for q in found.pairs]
    # Across lists in the band first (by uncertainty x records moved), then the rest by score.
    assert order == [(1, 2), (3, 4), (6, 9), (7, 8), (5, 6)]
    assert [q["matters"] for q in found.pairs] == [True, True, False, False, False]
    assert [q["effect"] for q in found.pairs[:3]] == [2, 2, 3]
    assert (found.waiting, found.threshold, found.matters, found.matters_decided) == (5, 0.5, 2, 0)
    # (1, 2) are apart at p=0.4375, (3, 4) together at p=0.625: 0.4375 + 0.375 expected wrong.
    assert found.expected_errors == pytest.approx(0.8125)
    assert found.progress == "0 of 2 pairs that move the estimate decided; about 0.8 wrong link(s) expected among the rest"


def test_a_note_is_kept_with_the_decision_but_not_in_the_audit_log(client: TestClient, web_case: Case) -> None:
    token = login(client, "rita")
    page = client.get("/review").text
    assert 'id="matters-decided">0<' in page and 'id="matters">2<' in page
    # The buttons come before the records, so they show without scrolling.
    assert page.index('id="decide-form"') < page.index('id="records"')
    client.post("/review/decide", data={"record_id_l": "1", "record_id_r": "2", "decision": "same",
                                        "note": "  same father in the family list  ", "csrf_token": token})
    assert web_case.query("SELECT note FROM uc_decisions")["note"].tolist() == ["same father in the family list"]
    assert "father" not in "".join(web_case.audit_log()["detail"])
    assert 'id="matters-decided">1<' in client.get("/review").text
    assert "same father in the family list" in client.get("/review/1/2").text
    too_long = client.post("/review/decide", data={"record_id_l": "3", "record_id_r": "4", "decision": "same",
                                                   "note": "x" * 2001, "csrf_token": token})
    assert too_long.status_code == 400 and "note" in too_long.text


def test_review_page_shows_differences_and_evidence(viewer: TestClient) -> None:
    page = viewer.get("/review/3/4").text
    assert re.search(r'<tr class="differs" data-field="age">', page)
    assert re.search(r'<tr class="differs" data-field="status">', page)
    # Arabic and English spellings of one name are not a difference.
    assert re.search(r'<tr class="" data-field="given">', page)
    assert '<td dir="rtl" class="">فاطمة أحمد علي حسن</td>' in page
    assert "transliteration match" in page and "+3.20" in page
    # The rows as written in their files, empty cells left out.
    assert '<dt dir="auto">name</dt><dd dir="auto">Fatima Ahmed Ali Hasan</dd><dt dir="auto">age</dt>' in page
    assert '<dt dir="auto">notes</dt>' not in page
    assert 'src="/static/review.js"' in page


@pytest.mark.parametrize(
    "query, expected",
    [
        # The Arabic query finds the English record of the same man too (not yet merged).
        ("محمد احمد", ["P000000001", "P000000002"]),
        ("مُحَمَّد أحمد", ["P000000001", "P000000002"]),
        ("فاط", ["P000000003"]),
        ("فاطمه", ["P000000003"]),
        ("Fatima Hassan", ["P000000003"]),
        ("Yusuf Khalid", ["P000000005"]),
        ("400000036", ["P000000007"]),
        ("4000 000 36", ["P000000007"]),
        ("nobody like this", []),
    ],
)
def test_search_by_name_or_id(viewer: TestClient, query: str, expected: list[str]) -> None:
    token = csrf_from(viewer.get("/login").text)
    response = viewer.post("/register", data={"q": query, "csrf_token": token})
    assert response.status_code == 200
    assert sorted(set(re.findall(r'href="/person/(P\d+)"', response.text))) == expected


def test_search_text_is_escaped(viewer: TestClient) -> None:
    token = csrf_from(viewer.get("/login").text)
    response = viewer.post("/register", data={"q": '"><script>alert(1)</script>', "csrf_token": token})
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.text
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_register_lists_everyone_paginated(viewer: TestClient) -> None:
    client = viewer
    page = client.get("/register").text
    assert len(set(re.findall(r'href="/person/(P\d+)"', page))) == 7
    assert "7 persons" in page
    past = client.get("/register?page=2")
    assert past.status_code == 404 and "There is no page 2: the last is 1." in past.text


def test_person_page_side_by_side_with_evidence(viewer: TestClient) -> None:
    client = viewer
    page = client.get(f"/person/{person_id(5)}").text
    assert "record 5" in page and "record 6" in page
    assert '<td dir="rtl" class="">يوسف خالد محمود عبدالله</td>' in page
    assert '<td dir="ltr" class="">Yousef Khaled Mahmoud Abdullah</td>' in page
    assert '<td class="num">0.990</td>' in page and 'href="/review/5/6"' in page
    assert re.search(r'<td class="for">transliteration match <span class="weight">\+3\.2</span></td>', page)
    assert client.get("/person/P999").status_code == 404


def test_audit_log_admin_only(client: TestClient) -> None:
    token = login(client, "rita")
    client.post("/review/decide", data={"record_id_l": "1", "record_id_r": "2", "decision": "same", "csrf_token": token})
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/users").status_code == 403
    client.post("/logout", data={"csrf_token": token})
    login(client, "ada")
    page = client.get("/admin/audit").text
    actions = re.findall(r"<td>(import|link|user|login|decide)</td>", page)
    assert actions[:3] == ["login", "decide", "login"]
    assert actions[-2:] == ["link", "import"]


def test_admin_adds_and_disables_users(client: TestClient, web_case: Case) -> None:
    token = login(client, "ada")
    response = client.post(
        "/admin/users", data={"username": "nour", "role": "reviewer", "password": "another passphrase", "csrf_token": token}
    )
    assert response.status_code == 303
    assert "nour" in client.get("/admin/users").text
    short = client.post("/admin/users", data={"username": "x", "role": "viewer", "password": "short", "csrf_token": token})
    assert short.status_code == 400 and "at least 8 characters" in short.text
    other = TestClient(client.app, follow_redirects=False, base_url=LOCAL)
    login(other, "nour", "another passphrase")
    assert other.get("/review").status_code == 200
    client.post("/admin/users", data={"username": "nour", "role": "disabled", "password": "another passphrase", "csrf_token": token})
    # A disabled account's open session ends.
    assert other.get("/review").status_code == 303


def test_role_change_ends_open_sessions(client: TestClient, web_case: Case) -> None:
    login(client, "rita")
    assert client.get("/review").status_code == 200
    add_user(web_case, "rita", "viewer", PASSWORD)
    assert client.get("/review").status_code == 303


def test_logout(client: TestClient) -> None:
    token = login(client, "vic")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/register").status_code == 303


def test_forged_cookie_refused(client: TestClient) -> None:
    login(client, "vic")
    value = client.cookies.get("uc_session")
    client.cookies.set("uc_session", value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"))
    assert client.get("/register").status_code == 303


def test_passwords_stored_as_argon2id_hashes(web_case: Case) -> None:
    hashes = web_case.query("SELECT password_hash FROM uc_users")["password_hash"].tolist()
    assert len(hashes) == 3
    assert all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)


def test_secret_kept_in_case_with_mode_600(web_case: Case) -> None:
    create_app(web_case.path)
    path = web_case.path / "web_secret"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    first = path.read_text()
    create_app(web_case.path)
    assert path.read_text() == first


def test_unlinked_case_gives_a_status_page(empty_case: Case) -> None:
    add_user(empty_case, "vic", "viewer", PASSWORD)
    client = TestClient(create_app(empty_case.path), follow_redirects=False, base_url=LOCAL)
    login_token = csrf_from(client.get("/login").text)
    client.post("/login", data={"username": "vic", "password": PASSWORD, "csrf_token": login_token})
    for path in ("/register", "/review"):
        response = client.get(path)
        assert response.status_code == 409
        assert "The case has not been linked yet" in response.text and "LinkError" not in response.text


def test_recluster_applies_decisions(client: TestClient, web_case: Case) -> None:
    token = login(client, "rita")
    for left, right, decision in ((1, 2, "same"), (3, 4, "different")):
        client.post(
            "/review/decide",
            data={"record_id_l": str(left), "record_id_r": str(right), "decision": decision, "csrf_token": token},
        )
    response = client.post("/review/recluster", data={"csrf_token": token})
    assert response.status_code == 200
    assert re.search(r'id="persons-before">7<', response.text)
    assert re.search(r'id="persons-after">7<', response.text)
    assert re.search(r'id="records-changed">4<', response.text)
    assert "P000000001</a>" in response.text
    clusters = web_case.clusters().set_index("record_id")["person_id"]
    assert web_case.current_link_run().startswith("recluster-")
    assert clusters[1] == clusters[2]
    assert clusters[3] != clusters[4]
    assert clusters[5] == clusters[6]
    run = web_case.runs("recluster").iloc[0]
    assert run["username"] == "rita"


@pytest.mark.parametrize("module", ["app", "auth", "data", "records", "views.login"])
def test_examples_in_docstrings_run(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"undercount.web.{module}"))
    assert result.failed == 0


def test_the_app_says_what_is_stale_after_a_recluster(client: TestClient, web_case: Case) -> None:
    token = login(client, "rita")
    assert 'id="stale"' not in client.get("/review").text
    client.post("/review/decide", data={"record_id_l": "1", "record_id_r": "2", "decision": "same",
                                        "csrf_token": token})
    page = client.get("/review").text
    assert 'id="stale"' in page and "Review decisions are not yet applied to the clusters" in page
    assert f"undercount review recluster {web_case.path}" in page
    done = client.post("/review/recluster", data={"csrf_token": token}).text
    assert 'id="stale"' not in done  # no estimate yet: nothing it showed is out of date


def test_blind_double_review_in_the_app(client: TestClient, web_case: Case) -> None:
    from undercount.review import set_double_review
    from undercount.web import add_user

    set_double_review(web_case, 1.0, seed=1, username="ada")
    add_user(web_case, "sam", "reviewer", PASSWORD, written_by="ada")
    token = login(client, "rita")
    client.post("/review/decide", data={"record_id_l": "1", "record_id_r": "2", "decision": "same",
                                        "note": "reason of rita", "csrf_token": token})
    assert shown_pair(client.get("/review").text) != (1, 2)  # decided: it left rita's queue
    client.post("/logout", data={"csrf_token": token})
    token = login(client, "sam")
    page = client.get("/review").text
    assert shown_pair(page) == (1, 2) and 'id="blind"' in page and "reason of rita" not in page
    assert "/review/1/2" not in client.get("/review/decisions").text  # still blind to sam
    client.post("/review/decide", data={"record_id_l": "1", "record_id_r": "2", "decision": "different",
                                        "csrf_token": token})
    assert "reason of rita" in client.get("/review/1/2").text  # decided: now he may see
    client.post("/logout", data={"csrf_token": token})
    login(client, "ada")
    page = client.get("/review").text
    assert shown_pair(page) == (1, 2) and "third decision" not in page.split('id="queue"')[0]
    listing = client.get("/review/decisions").text
    assert 'id="kappa"' in listing and 'id="third-waiting">1<' in listing
