"""The review app in Debian's Chromium (Playwright): log in, search, decide by keyboard, re-cluster."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from .conftest import PASSWORD, LiveServer

pytestmark = pytest.mark.browser


def log_in(page: Any, server: LiveServer, username: str) -> None:
    page.goto(server.url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form.login button[type=submit]")
    assert page.url == server.url + "/register"


def shown_pair(page: Any) -> tuple[int, int]:
    pair = page.locator("#pair")
    return int(pair.get_attribute("data-l")), int(pair.get_attribute("data-r"))


def decisions(server: LiveServer) -> list[tuple[int, int, str, str]]:
    df = server.read(lambda case: case.decisions())
    return [(int(r.record_id_l), int(r.record_id_r), r.decision, r.username) for r in df.itertuples()]


@pytest.mark.parametrize("path", ["/review", "/person/P000000001"])
def test_pages_without_login_redirect_to_it(page: Any, live_server: LiveServer, path: str) -> None:
    page.goto(live_server.url + path)
    assert page.url == f"{live_server.url}/login?next={path}"
    assert page.locator("form.login input[name=password]").count() == 1


def test_search_decide_by_keyboard_and_recluster(page: Any, live_server: LiveServer, artifacts: Path) -> None:
    log_in(page, live_server, "rita")
    # Search a person in Arabic (without the hamza the list wrote).
    page.fill("#q", "محمد احمد علي")
    with page.expect_navigation():
        page.press("#q", "Enter")
    assert page.locator("#person-count").inner_text().startswith("2 persons")
    arabic = page.locator("#persons span.name", has_text="محمد أحمد علي حسن")
    assert arabic.get_attribute("dir") == "rtl"
    with page.expect_navigation():
        page.click("a[href='/person/P000000001']")
    cell = page.locator("#records tr[data-field=full_name] td", has_text="محمد أحمد علي حسن")
    assert cell.get_attribute("dir") == "rtl"

    page.goto(live_server.url + "/review")
    assert shown_pair(page) == (1, 2)
    assert page.locator("tr.differs[data-field=age]").count() == 1
    assert page.locator("table.evidence").inner_text().count("transliteration match") >= 1
    page.screenshot(path=str(artifacts / "review-page.png"), full_page=True)
    with page.expect_navigation():
        page.keyboard.press("s")
    assert shown_pair(page) == (3, 4)
    with page.expect_navigation():
        page.keyboard.press("d")
    assert shown_pair(page) == (7, 8)
    assert page.locator("#decided").inner_text() == "2"
    page.screenshot(path=str(artifacts / "review-page-after-decisions.png"), full_page=True)
    assert decisions(live_server) == [(1, 2, "same", "rita"), (3, 4, "different", "rita")]

    before = live_server.read(lambda case: case.clusters().set_index("record_id")["person_id"])
    assert before[1] != before[2] and before[3] == before[4]
    with page.expect_navigation():
        page.click("#recluster-form button")
    assert page.locator("h1").inner_text() == "Re-clustered"
    assert "P000000001" in page.locator("#merged").inner_text()
    assert "P000000003" in page.locator("#split").inner_text()
    page.screenshot(path=str(artifacts / "recluster.png"), full_page=True)
    after = live_server.read(lambda case: case.clusters().set_index("record_id")["person_id"])
    assert after[1] == after[2] and after[3] != after[4]
    # The person's page now shows both records, the Arabic and the English.
    page.goto(live_server.url + "/person/P000000001")
    assert page.locator("#records thead th").count() == 3
    # Decisions persist: a new session sees them.
    page.context.clear_cookies()
    log_in(page, live_server, "rita")
    page.goto(live_server.url + "/review")
    assert page.locator("#decided").inner_text() == "2"
    assert decisions(live_server) == [(1, 2, "same", "rita"), (3, 4, "different", "rita")]


def test_viewer_cannot_decide(page: Any, live_server: LiveServer) -> None:
    before = decisions(live_server)
    log_in(page, live_server, "vic")
    page.goto(live_server.url + "/review")
    assert page.locator("#read-only").is_visible()
    assert page.locator("#decide-form").count() == 0
    page.keyboard.press("s")
    status = page.evaluate(
        """async () => (await fetch('/review/decide', {method: 'POST',
            headers: {'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content,
                      'Content-Type': 'application/x-www-form-urlencoded'},
            body: 'record_id_l=7&record_id_r=8&decision=same'})).status"""
    )
    assert status == 403
    assert decisions(live_server) == before


def test_form_without_csrf_token_is_refused(page: Any, live_server: LiveServer, artifacts: Path) -> None:
    before = decisions(live_server)
    log_in(page, live_server, "rita")
    page.goto(live_server.url + "/review")
    pair = shown_pair(page)
    page.evaluate("document.querySelector('#decide-form input[name=csrf_token]').remove()")
    with page.expect_navigation():
        page.keyboard.press("s")
    assert page.locator("h1").inner_text().startswith("403")
    assert re.search("security token", page.locator("#error-message").inner_text())
    page.screenshot(path=str(artifacts / "csrf-refused.png"))
    assert decisions(live_server) == before
    page.goto(live_server.url + "/review")
    assert shown_pair(page) == pair
