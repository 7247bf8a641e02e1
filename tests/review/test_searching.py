"""Search-sample persons in the review queue: the next person to search, before the pairs."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from typer.testing import CliRunner

from undercount.cli import app
from undercount.review.sample import draw_search_sample, record_answer, sample_items
from undercount.review.searching import search_waiting
from undercount.store import Case

FIXTURE = Path(__file__).parents[1] / "store" / "fixtures" / "case_v1.tar.gz"


def test_the_queue_names_the_next_person_to_search(tmp_path: Path) -> None:
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(tmp_path, filter="data")
    case = Case.open(tmp_path / "case")
    assert search_waiting(case) is None  # no sample drawn
    sample = draw_search_sample(case, 30, seed=1, review=False)
    waiting = search_waiting(case)
    assert waiting is not None and (waiting.items, waiting.complete, waiting.next_item) == (sample.items, 0, 1)
    first = sample_items(case, sample.sample_id).iloc[0]
    for name in first["search_lists"]:  # person 1 searched on every list it was to be searched on
        record_answer(case, 1, name, "absent", username="amal")
    waiting = search_waiting(case)
    assert waiting is not None and waiting.complete == 1 and waiting.next_item == 2 and waiting.left == sample.items - 1
    shown = CliRunner().invoke(app, ["review", "queue", str(case.path), "--json", "--limit", "1"])
    assert json.loads(shown.stdout)["search_sample"]["next_item"] == 2
    text = CliRunner().invoke(app, ["review", "queue", str(case.path), "--limit", "1"])
    assert f"1 of {sample.items} search-sample persons searched; next person 2" in text.stdout
    from tests.review.test_outlook import _review_page

    page = _review_page(case)
    assert 'id="search-next"' in page and 'href="/search/2"' in page
