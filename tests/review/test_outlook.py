"""The queue's progress says what deciding the pairs that matter would do to the linkage share."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from undercount.estimate.linkage import estimate_populations
from undercount.review import decide, review_queue
from undercount.review.outlook import share_after
from undercount.store import Case

FIXTURE = Path(__file__).parents[1] / "store" / "fixtures" / "case_v1.tar.gz"


def test_share_after_keeps_the_measured_share_and_falls_to_zero() -> None:
    assert share_after(0.4, 1.0) == pytest.approx(1 - (1 - 0.4) ** 0.5)  # nothing decided: the measured share
    assert share_after(0.4, 0.0) == 0.0 and share_after(0.0, 0.5) == 0.0
    assert share_after(0.4, 0.5) < share_after(0.4, 0.8) < share_after(0.4, 1.0)


def test_progress_forecasts_the_linkage_share_and_moves_with_decisions(tmp_path: Path) -> None:
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(tmp_path, filter="data")
    case = Case.open(tmp_path / "case")
    result = estimate_populations(case, link_draws=4, imputations=1, models=False, method="loglinear", by="none",
                                  status="killed")
    measured = result.headline.total.details["linkage"]["linkage_share"]
    first = review_queue(case, limit=5)
    assert first.outlook is not None and first.matters > first.matters_decided
    assert first.outlook.measured == pytest.approx(measured)
    assert first.outlook.now == pytest.approx(measured, abs=1e-9)  # no decision since the estimate
    assert first.outlook.after < first.outlook.now
    assert first.outlook.sentence() in first.progress and "would fall from" in first.progress
    top = [p for p in first.pairs if p["matters"]][:3]
    for pair in top:
        decide(case, pair["record_id_l"], pair["record_id_r"], "same", username="amal")
    later = review_queue(case, limit=5)
    assert later.outlook is not None and later.matters_decided == first.matters_decided + len(top)
    assert later.outlook.now < first.outlook.now  # the decided pairs are certain now
    assert later.outlook.after == pytest.approx(first.outlook.after)  # the same pairs decided in the end
    # the command line and the app say the same sentence
    import html
    import json

    from typer.testing import CliRunner

    from undercount.cli import app

    shown = CliRunner().invoke(app, ["review", "queue", str(case.path), "--json", "--limit", "1"])
    assert json.loads(shown.stdout)["linkage_share"]["after"] == pytest.approx(later.outlook.after, abs=1e-4)
    assert later.outlook.sentence() in html.unescape(_review_page(case))


def _review_page(case: Case) -> str:
    import re

    from fastapi.testclient import TestClient

    from undercount.web import add_user, create_app

    add_user(case, "vera", "viewer", "a long passphrase 1", written_by="test")
    client = TestClient(create_app(case.path), follow_redirects=False, base_url="http://127.0.0.1")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"username": "vera", "password": "a long passphrase 1", "csrf_token": token})
    return client.get("/review").text
