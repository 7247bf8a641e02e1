"""The search-sample pages of the review app: one person at a time, candidates, search, answers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from undercount.review.sample import answers, draw_search_sample, sample_items
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
    sample = draw_search_sample(web_case, 10, seed=1, review=False)
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


def test_a_reviewer_splits_a_linked_record_off_a_person_of_the_review_half(web_case: Case) -> None:
    sample = draw_search_sample(web_case, 100, seed=1)  # the whole case: every cell and band in full
    items = sample_items(web_case, sample.sample_id)
    review = items[items["search_lists"].map(len) == 0]
    assert len(review) and all(c.startswith("links, doubt") for c in review["cell"])
    it = review.iloc[0]
    item, other = int(it["item"]), int(it["record_ids"][1])
    source = str(web_case.records(["record_id", "source"]).set_index("record_id").loc[other, "source"])
    client = TestClient(create_app(web_case.path), follow_redirects=False, base_url=LOCAL)
    _login(client, "vic")
    page = client.get(f"/search/{item}")
    assert page.status_code == 200 and 'id="review-links"' in page.text and f'id="review-{other}"' in page.text
    assert 'class="answer-link"' not in page.text  # a viewer sees, cannot answer
    assert f"its {len(it['record_ids']) - 1} linked record(s)" in client.get("/search").text
    token = _login(client, "rita")
    page = client.get(f"/search/{item}")
    assert 'class="answer-link"' in page.text and 'value="different" class="different">Not this person' in page.text
    form = {"item": item, "list": source, "record_id": str(other), "answer": "different"}
    assert client.post("/search/answer", data=form).status_code == 403  # no CSRF token
    done = client.post("/search/answer", data={**form, "csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == f"/search/{item}"
    wrong = client.post("/search/answer", data={**form, "record_id": str(int(it["record_ids"][0])), "csrf_token": token})
    assert wrong.status_code == 400 and "first record" in wrong.text
    got = answers(web_case)
    mine = got[got["item"] == item]
    assert mine[["answer", "found_record_id", "username"]].values.tolist() == [["different", other, "rita"]]
    assert "not this person</strong> by rita" in client.get(f"/search/{item}").text
