"""Blind double review: two reviewers, Cohen's kappa, disagreements queued for a third decision."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from undercount.errors import ConfigError
from undercount.review import agreement, blind, decide, double_plan, review_queue, set_double_review
from undercount.review.double import kappa
from undercount.store import Case

FIXTURE = Path(__file__).parents[1] / "store" / "fixtures" / "case_v1.tar.gz"


@pytest.fixture
def case(tmp_path: Path) -> Case:
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(tmp_path, filter="data")
    return Case.open(tmp_path / "case")


def _pairs(case: Case, user: str, n: int) -> list[tuple[int, int]]:
    return [(p["record_id_l"], p["record_id_r"]) for p in review_queue(case, limit=n, username=user).pairs]


def test_two_reviewers_give_kappa_and_a_third_decision_queue(case: Case) -> None:
    with pytest.raises(ConfigError, match="between 0 and 1"):
        set_double_review(case, 1.5)
    set_double_review(case, 0.5, seed=7, username="ada")
    assert double_plan(case) == (0.5, 7)
    assert case.audit_log()["action"].iloc[0] == "double-review"
    doubled = [p for p in review_queue(case, limit=1000, username="rita").pairs if p["double"]]
    assert 0.3 < len(doubled) / review_queue(case, limit=0).waiting < 0.7  # about half the pairs
    pairs = [(p["record_id_l"], p["record_id_r"]) for p in doubled[:10]]
    first = ["same", "different"] * 5
    second = ["same", "different", "same", "same", "different", "different", "same", "different", "same", "same"]
    for (left, right), decision in zip(pairs, first):
        assert blind(case, left, right, "rita")
        decide(case, left, right, decision, username="rita")
        assert not blind(case, left, right, "rita")  # she has decided: she may see
    # Rita's queue no longer holds them; Sam's does, blind.
    assert not set(pairs) & set(_pairs(case, "rita", 1000))
    assert set(pairs) <= set(_pairs(case, "sam", 1000))
    assert all(blind(case, left, right, "sam") for left, right in pairs)
    for (left, right), decision in zip(pairs, second):
        decide(case, left, right, decision, username="sam")
    found = agreement(case)
    expected, po, pe = kappa(first, second)
    assert (found.pairs, found.agreed, found.third_waiting, found.third_decided) == (10, 7, 3, 0)
    assert found.kappa == pytest.approx(expected) and found.observed == pytest.approx(0.7)
    assert found.expected == pytest.approx(0.5) and found.kappa == pytest.approx(0.4)
    # The three disagreements head a third reviewer's queue, and nobody else's.
    disagreed = {p for p, a, b in zip(pairs, first, second) if a != b}
    queue = review_queue(case, limit=10, username="carl")
    assert {(p["record_id_l"], p["record_id_r"]) for p in queue.pairs[:3]} == disagreed
    assert all(p["third"] for p in queue.pairs[:3]) and queue.third == 3
    assert not disagreed & set(_pairs(case, "rita", 1000)) and not disagreed & set(_pairs(case, "sam", 1000))
    for left, right in disagreed:
        decide(case, left, right, "same", username="carl")
    done = agreement(case)
    assert (done.third_waiting, done.third_decided, done.kappa) == (0, 3, found.kappa)
    assert not set(pairs) & set(_pairs(case, "dora", 1000))  # every doubled pair is resolved


def test_kappa_is_none_when_chance_agreement_is_certain() -> None:
    assert kappa([], []) == (None, None, None)
    assert kappa(["same"] * 3, ["same"] * 3) == (None, 1.0, 1.0)


def test_double_review_at_the_command_line(case: Case) -> None:
    import json

    from typer.testing import CliRunner

    from undercount.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["review", "double", str(case.path), "--share", "2"]).exit_code == 2
    on = runner.invoke(app, ["review", "double", str(case.path), "--share", "1", "--seed", "3"])
    assert on.exit_code == 0 and "Blind double review: 100% of the pairs." in on.stdout
    queue = json.loads(runner.invoke(app, ["review", "queue", str(case.path), "--limit", "20", "--json"]).stdout)
    decided = set(case.query("SELECT record_id_l, record_id_r FROM uc_decisions").itertuples(index=False, name=None))
    fresh = [p for p in queue["pairs"] if (p["record_id_l"], p["record_id_r"]) not in decided]
    left, right = fresh[0]["record_id_l"], fresh[0]["record_id_r"]
    assert all(p["double"] for p in queue["pairs"])
    for user, decision in (("rita", "same"), ("sam", "different")):
        assert runner.invoke(app, ["review", "decide", str(case.path), str(left), str(right), decision,
                                   "--user", user]).exit_code == 0
    text = runner.invoke(app, ["review", "agreement", str(case.path)]).stdout
    assert "1 pair(s) decided by two reviewers, 0 in agreement" in text and "third decision: 1" in text
    third = json.loads(runner.invoke(app, ["review", "queue", str(case.path), "--user", "carl", "--json"]).stdout)
    assert (third["pairs"][0]["record_id_l"], third["pairs"][0]["third"]) == (left, True)


def test_the_waiting_count_alone_is_the_queues(case: Case) -> None:
    """``undercount status`` counts the waiting pairs with a query of their own: the same number as the
    queue's, through single decisions, skips, a double-review share, agreements and disagreements."""
    from undercount.review.queue import waiting_pairs

    def same() -> int:
        count = waiting_pairs(case)
        assert count == review_queue(case, limit=0).waiting
        return count

    start = same()
    pairs = _pairs(case, "rita", 12)
    decide(case, *pairs[0], "same", username="rita")
    decide(case, *pairs[1], "skip", username="rita")
    decide(case, *pairs[2], "different", username="rita")
    assert same() == start - 2  # a skip leaves its pair waiting
    set_double_review(case, 0.5, seed=3, username="ada")
    doubled = [(p["record_id_l"], p["record_id_r"]) for p in review_queue(case, limit=1000).pairs if p["double"]]
    assert len(doubled) >= 4
    before = same()
    decide(case, *doubled[0], "same", username="rita")
    decide(case, *doubled[1], "same", username="rita")
    assert same() == before  # one reviewer leaves a doubled pair open
    decide(case, *doubled[0], "same", username="sam")
    decide(case, *doubled[1], "different", username="sam")
    assert same() == before - 1  # agreement resolves; a disagreement waits for a third
    decide(case, *doubled[1], "same", username="carl")
    assert same() == before - 2
