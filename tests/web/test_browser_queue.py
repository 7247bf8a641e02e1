"""The review queue in Chromium at 1280x800, keyboard only: ten decisions, a note, progress that moves."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from undercount.store import Case
from undercount.web import create_app

from .conftest import PASSWORD, LiveServer

pytestmark = pytest.mark.browser

# More pairs across the two lists (moh: 1 3 5 7; survey: 2 4 6 8 9), all inside the review band.
EXTRA = {(1, 4): 0.55, (1, 6): 0.45, (1, 8): 0.6, (1, 9): 0.4, (2, 3): 0.52, (3, 6): 0.35, (3, 8): 0.65,
         (3, 9): 0.48, (4, 5): 0.58, (5, 8): 0.42, (5, 9): 0.3, (2, 5): 0.7, (2, 7): 0.5}


def _keyboard_login(page: Any, url: str) -> None:
    """Log rita in with the keyboard: the name field has the focus, Tab to the password, Enter sends."""
    page.goto(url + "/login")
    # Chromium may apply the name field's autofocus just after the load event: typing before it lands nowhere.
    page.wait_for_function("document.activeElement && document.activeElement.name === 'username'")
    page.keyboard.type("rita")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")


@pytest.fixture(scope="module")
def queue_server(tmp_path_factory: pytest.TempPathFactory, _template_case: Path) -> Iterator[LiveServer]:
    target = tmp_path_factory.mktemp("queue") / "case"
    shutil.copytree(_template_case, target)
    case = Case.open(target)
    link = case.current_run("link")
    with case.transaction() as con:
        for (left, right), probability in EXTRA.items():
            con.execute("INSERT INTO uc_pairs VALUES (?, ?, ?, 0.0, ?, NULL)", [link, left, right, probability])
    with LiveServer(create_app(target), case) as server:
        yield server


def test_ten_decisions_by_keyboard_only(page: Any, queue_server: LiveServer, artifacts: Path) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    _keyboard_login(page, queue_server.url)
    page.goto(queue_server.url + "/review")
    assert page.locator("#pair").count() == 1, page.content()[:3000]
    total = int(page.locator("#matters").inner_text())
    assert total == 2 + len(EXTRA)  # (1, 2), (3, 4) and the extra pairs: all across lists, in the band
    # The decision buttons show without scrolling.
    for button in ("same", "different", "skip"):
        box = page.locator(f"#decide-form button.{button}").bounding_box()
        assert box is not None and box["y"] + box["height"] <= 800
    page.screenshot(path=str(artifacts / "review-queue-1280x800.png"))
    seen = []
    for step in range(10):
        assert int(page.locator("#matters-decided").inner_text()) == step
        pair = page.locator("#pair")
        seen.append((int(pair.get_attribute("data-l")), int(pair.get_attribute("data-r"))))
        if step == 0:  # a note, by keyboard too
            page.keyboard.press("n")
            page.keyboard.type("same family, different ages")
            page.keyboard.press("Escape")
        with page.expect_navigation():
            page.keyboard.press("s" if step % 2 == 0 else "d")
    assert int(page.locator("#matters-decided").inner_text()) == 10
    assert len(set(seen)) == 10
    stored = queue_server.read(lambda case: case.query(
        "SELECT record_id_l, record_id_r, decision, note FROM uc_decisions ORDER BY decision_id"))
    assert [(int(r.record_id_l), int(r.record_id_r)) for r in stored.itertuples()] == seen
    assert stored["decision"].tolist() == ["same", "different"] * 5
    assert stored["note"].iloc[0] == "same family, different ages" and stored["note"].iloc[1:].isna().all()


@pytest.fixture(scope="module")
def simulated_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The review app on a simulated case, imported and linked as a user would: the 'small' preset's
    three lists drawn from 700 people (its 1,800 cost 55 processor seconds here, 700 cost 31;
    gaza-like's 58,000 records take minutes to link, too long for the suite: bench/review_bench.py
    measures the server time on gaza-like).

    UNDERCOUNT_REVIEW_CASE=<a linked case folder> runs the same test on a copy of that case instead
    (how it is run on gaza-like: see docs/review-app.md)."""
    import os

    from undercount.ingest import import_list
    from undercount.link import link_case
    from undercount.simulate import simulate
    from undercount.web import add_user

    out = tmp_path_factory.mktemp("simulated")
    given = os.environ.get("UNDERCOUNT_REVIEW_CASE")
    if given:
        shutil.copytree(given, out / "case")
        case = Case.open(out / "case")
    else:
        # The test decides ten pairs that matter: the case must hold at least ten cross-list pairs in the
        # review band. Seed 3 held 11 until the relatives rule (link.slots, session 14) left it 7; seed 4 holds 15.
        sim = simulate(out / "data", preset="small", people=700, seed=4)
        case = Case.init(out / "case")
        for name, path in sim.list_files.items():
            import_list(case, path, name=name, spec=sim.spec_files.get(name))
        link_case(case)
    add_user(case, "rita", "reviewer", PASSWORD, written_by="test")
    with LiveServer(create_app(case.path), case) as server:
        yield server


@pytest.mark.slow
def test_the_first_ten_pairs_of_a_simulated_queue_by_keyboard(page: Any, simulated_server: LiveServer) -> None:
    from undercount.review import review_queue

    first = simulated_server.read(lambda case: review_queue(case, limit=10))
    expected = [(p["record_id_l"], p["record_id_r"]) for p in first.pairs]
    assert first.matters >= 10, f"the simulated case holds {first.matters} pairs that matter: pick a seed with 10 or more"
    assert len(expected) == 10 and all(p["matters"] for p in first.pairs)
    page.set_viewport_size({"width": 1280, "height": 800})
    _keyboard_login(page, simulated_server.url)
    page.goto(simulated_server.url + "/review")
    assert int(page.locator("#matters").inner_text()) == first.matters
    seen, progress = [], []
    for step in range(10):
        progress.append(int(page.locator("#matters-decided").inner_text()))
        pair = page.locator("#pair")
        seen.append((int(pair.get_attribute("data-l")), int(pair.get_attribute("data-r"))))
        with page.expect_navigation():
            page.keyboard.press("d" if step % 3 == 0 else "s")
    progress.append(int(page.locator("#matters-decided").inner_text()))
    assert seen == expected  # the queue's first ten, in its order
    assert progress == list(range(first.matters_decided, first.matters_decided + 11))  # progress moved each time
    stored = simulated_server.read(lambda case: case.query(
        "SELECT record_id_l, record_id_r, decision, username FROM uc_decisions ORDER BY decision_id"))
    assert [(int(r.record_id_l), int(r.record_id_r)) for r in stored.itertuples()] == expected
    assert set(stored["username"]) == {"rita"}
