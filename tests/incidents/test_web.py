"""Incidents in the review app: the list, and deciding pairs of reports as person links are decided."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from undercount.store import Case
from undercount.web import add_user, create_app

PASSWORD = "correct horse battery"
LOCAL = "http://127.0.0.1"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _login(client: TestClient, name: str) -> str:
    token = _csrf(client.get("/login").text)
    assert client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token}).status_code == 303
    return _csrf(client.get("/login").text)


@pytest.fixture
def client(deduped_dir: Path, tmp_path: Path) -> Iterator[TestClient]:
    target = tmp_path / "case"
    shutil.copytree(deduped_dir, target)
    case = Case.open(target)
    add_user(case, "rita", "reviewer", PASSWORD)
    add_user(case, "vic", "viewer", PASSWORD)
    with TestClient(create_app(target), base_url=LOCAL, follow_redirects=False) as test_client:
        yield test_client


def test_the_list_shows_incidents_with_grades_and_named_victims(client: TestClient) -> None:
    _login(client, "vic")
    page = client.get("/incidents")
    assert page.status_code == 200
    rows = re.findall(r'<td class="mono">(I\d{7})</td>', page.text)
    assert len(rows) == 50 and "named of" in page.text and "weak" in page.text
    assert client.get("/incidents?page=2").status_code == 200
    assert client.get("/incidents?page=999").status_code == 404
    assert 'href="/incidents"' in client.get("/register").text


def test_a_reviewer_decides_and_the_reports_are_deduplicated_again(client: TestClient) -> None:
    token = _login(client, "rita")
    page = client.get("/incidents/review")
    match = re.search(r'data-l="(\d+)" data-r="(\d+)"', page.text)
    assert page.status_code == 200 and match and "The model's evidence" in page.text
    left, right = int(match.group(1)), int(match.group(2))
    before = client.app.state.data.case.current_run("incident-dedupe")  # type: ignore[attr-defined]
    refused = client.post("/incidents/review/decide", data={"report_id_l": left, "report_id_r": right,
                                                            "decision": "same"})
    assert refused.status_code == 403
    done = client.post("/incidents/review/decide", data={"report_id_l": left, "report_id_r": right,
                                                         "decision": "same", "csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == f"/incidents/review?last={left}-{right}"
    case = client.app.state.data.case  # type: ignore[attr-defined]
    assert case.current_run("incident-dedupe") != before
    decisions = case.query("SELECT report_id_l, report_id_r, decision, username FROM uc_incident_decisions")
    assert decisions.values.tolist() == [[left, right, "same", "rita"]]
    together = case.query("SELECT count(DISTINCT incident_id) AS n FROM uc_incident_clusters WHERE run_id = ? AND "
                          "report_id IN (?, ?)", [case.current_run("incident-dedupe"), left, right])["n"].iloc[0]
    assert together == 1
    assert "Saved: reports" in client.get(done.headers["location"]).text


def test_a_viewer_cannot_decide(client: TestClient) -> None:
    token = _login(client, "vic")
    assert "can browse but not decide" in client.get("/incidents/review").text
    answer = client.post("/incidents/review/decide", data={"report_id_l": 1, "report_id_r": 2, "decision": "same",
                                                           "csrf_token": token})
    assert answer.status_code == 403
