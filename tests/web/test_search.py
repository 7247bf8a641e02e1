"""The search-sample pages of the review app: one person at a time, candidates, search, answers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from undercount.review.sample import answers, draw_search_sample
from undercount.store import Case
from undercount.web import create_app

from .conftest import LOCAL, PASSWORD, csrf_from


def _login(client: TestClient, username: str) -> str:
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303, response.text
    return csrf_from(client.get("/login").text)


@pytest.fixture
def sampled(web_case: Case) -> tuple[Case, TestClient]:
    # persons: survey holds the most (5), so the sample draws from the moh-only cell: P1 and P7
    sample = draw_search_sample(web_case, 10, seed=1)
    assert sample.cells == {"moh": (2, 2)}
    return web_case, TestClient(create_app(web_case.path), follow_redirects=False, base_url=LOCAL)


def test_without_a_sample_the_page_says_how_to_draw_one(web_case: Case) -> None:
    client = TestClient(create_app(web_case.path), follow_redirects=False, base_url=LOCAL)
    _login(client, "vic")
    page = client.get("/search")
    assert page.status_code == 200 and 'id="no-sample"' in page.text
    assert client.get("/search/1").status_code == 404


def test_a_person_is_shown_with_its_candidates_and_a_viewer_cannot_answer(sampled: tuple[Case, TestClient]) -> None:
    case, client = sampled
    _login(client, "vic")
    overview = client.get("/search")
    assert overview.status_code == 200 and "0 of 2 persons fully searched" in overview.text
    item = next(i for i in (1, 2) if "record 1" in client.get(f"/search/{i}").text)
    page = client.get(f"/search/{item}")
    assert "Is this person on <span dir=\"auto\">survey</span>?" in page.text
    assert "محمد أحمد علي حسن" in page.text and "Mohammed Ahmad Ali Hassan" in page.text  # the candidate, p 0.44
    assert "Found: record 2" not in page.text and 'action="/search/answer"' not in page.text
    token = csrf_from(client.get("/login").text)
    refused = client.post("/search/answer", data={"item": item, "list": "survey", "answer": "absent",
                                                  "csrf_token": token})
    assert refused.status_code == 403
    assert answers(case).empty


def test_a_reviewer_answers_found_and_absent_and_the_search_box_finds_records(sampled: tuple[Case, TestClient]) -> None:
    case, client = sampled
    token = _login(client, "rita")
    item = next(i for i in (1, 2) if "record 1" in client.get(f"/search/{i}").text)
    other = 3 - item
    page = client.get(f"/search/{item}")
    assert "Found: record 2 (p 0.44)" in page.text
    assert client.post(f"/search/{other}", data={"list": "survey", "q": "Omar Hassan"}).status_code == 403
    searched = client.post(f"/search/{other}", data={"list": "survey", "q": "Omar Hassan", "csrf_token": token})
    assert searched.status_code == 200 and "record 9" in searched.text
    assert "Omar" not in str(searched.url)
    assert client.post("/search/answer", data={"item": item, "list": "survey", "answer": "found",
                                               "found_record_id": "2"}).status_code == 403  # no CSRF token
    done = client.post("/search/answer", data={"item": item, "list": "survey", "answer": "found",
                                               "found_record_id": "2", "csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == f"/search/{item}"
    wrong = client.post("/search/answer", data={"item": other, "list": "survey", "answer": "found",
                                                "found_record_id": "3", "csrf_token": token})
    assert wrong.status_code == 400 and "is on list" in wrong.text  # record 3 is on moh
    client.post("/search/answer", data={"item": other, "list": "survey", "answer": "absent", "csrf_token": token})
    got = answers(case)
    assert sorted(got[["item", "answer", "username"]].values.tolist()) == sorted(
        [[item, "found", "rita"], [other, "absent", "rita"]])
    assert "2 of 2 persons fully searched" in client.get("/search").text
    assert "found record 2</strong> by rita" in client.get(f"/search/{item}").text
