"""Linkage draws: decisions never sampled, reproducible, varied when links are uncertain, calibrated."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from undercount.link.draws import calibrate_probabilities, sample_linkages


def _records(n: int) -> pd.DataFrame:
    return pd.DataFrame({
        "record_id": np.arange(1, n + 1),
        "source": ["a" if i % 2 else "b" for i in range(n)],
        "sex": ["male"] * n,
        "id_number": [None] * n,
        "id_valid": [None] * n,
    })


def _chain_pairs(n: int, prob: float) -> pd.DataFrame:
    """Pairs (1,2), (3,4), ...: each an a/b couple with the given probability."""
    left = np.arange(1, n, 2)
    return pd.DataFrame({"record_id_l": left, "record_id_r": left + 1, "probability": prob})


def test_all_certain_pairs_give_no_draws() -> None:
    pairs = _chain_pairs(20, 1.0)
    pairs.loc[::2, "probability"] = 0.0
    draws, uncertain = sample_linkages(_records(20), pairs, 5, seed=1)
    assert draws == [] and uncertain == 0


def test_decisions_are_never_sampled() -> None:
    records = _records(20)
    pairs = _chain_pairs(20, 0.5)
    must, cannot = [(1, 2), (3, 4)], [(5, 6), (7, 8)]
    draws, uncertain = sample_linkages(records, pairs, 40, seed=3, must_link=must, cannot_link=cannot)
    assert uncertain == 6
    for person in draws:
        assert person[1] == person[2] and person[3] == person[4]
        assert person[5] != person[6] and person[7] != person[8]
    # the undecided pairs are sometimes linked, sometimes not
    linked = [person[9] == person[10] for person in draws]
    assert 0 < sum(linked) < len(linked)


def test_same_seed_same_draws_and_documented_count_varies() -> None:
    records, pairs = _records(200), _chain_pairs(200, 0.5)
    first, _ = sample_linkages(records, pairs, 10, seed=7)
    again, _ = sample_linkages(records, pairs, 10, seed=7)
    other, _ = sample_linkages(records, pairs, 10, seed=8)
    assert all(a.equals(b) for a, b in zip(first, again))
    assert not all(a.equals(b) for a, b in zip(first, other))
    counts = {int(a.nunique()) for a in first}
    assert len(counts) > 1
    # about half of the 100 couples are linked in a draw
    assert all(125 <= c <= 175 for c in counts)


def test_chaining_guard_holds_in_draws() -> None:
    records = _records(3)
    records["source"] = ["a", "b", "a"]
    pairs = pd.DataFrame({"record_id_l": [1, 2], "record_id_r": [2, 3], "probability": [0.9, 0.9]})
    draws, _ = sample_linkages(records, pairs, 30, seed=0)
    # two records of list 'a' are never in one person: no pair says they are duplicates
    assert all(person[1] != person[3] for person in draws)


def test_without_decisions_the_model_probabilities_are_kept() -> None:
    prob = np.linspace(0.01, 0.99, 50)
    calibrated, info = calibrate_probabilities(prob, decided=np.zeros(50, dtype=bool), labels=np.zeros(50, dtype=bool))
    assert np.array_equal(calibrated, prob) and info["rule"] == "model"


@pytest.mark.parametrize("cut", [0.3, 0.8])
def test_calibration_on_decisions_follows_people(cut: float) -> None:
    rng = np.random.default_rng(1)
    prob = rng.uniform(0.05, 0.95, size=400)
    # people decided every other pair; only pairs above `cut` were the same person
    decided = np.arange(400) % 2 == 0
    labels = prob > cut
    calibrated, info = calibrate_probabilities(prob, decided=decided, labels=labels)
    assert info["rule"] == "decisions" and info["decisions"] == 200
    order = np.argsort(prob)
    assert np.all(np.diff(calibrated[order]) >= -1e-12)  # monotone: never reorders pairs
    below, above = prob < cut - 0.05, prob > cut + 0.05
    assert calibrated[below].mean() < 0.3 < 0.7 < calibrated[above].mean()


def test_two_candidates_of_one_record_each_win_a_draw_as_often_as_their_odds_say() -> None:
    # record 1 (list a) and two records of list b (2, 4), both at 0.9: when a draw samples both,
    # the guard keeps one, and it must not always be the same one.
    records = _records(4)
    pairs = pd.DataFrame({"record_id_l": [1, 1], "record_id_r": [2, 4], "probability": [0.9, 0.9]})
    draws, _ = sample_linkages(records, pairs, 400, seed=5)
    with_2 = np.mean([d.loc[1] == d.loc[2] for d in draws])
    with_4 = np.mean([d.loc[1] == d.loc[4] for d in draws])
    assert not any(d.loc[1] == d.loc[2] == d.loc[4] for d in draws)  # one-to-one holds in every draw
    assert abs(with_2 - 0.495) < 0.07 and abs(with_4 - 0.495) < 0.07  # 0.9 * (0.1 + 0.9 / 2) each


def test_decisions_recalibrate_each_pair_of_lists_with_enough_of_them() -> None:
    from undercount.link.draws import calibrate_by_list_pair

    rng = np.random.default_rng(0)
    prob = rng.uniform(0.05, 0.95, 400)
    lists = np.array(["a x b"] * 200 + ["a x c"] * 200, dtype=object)
    decided = np.ones(400, dtype=bool)
    # a x b: pairs are true more often than the model says; a x c: less often
    labels = np.r_[rng.random(200) < np.minimum(prob[:200] + 0.3, 1), rng.random(200) < prob[200:] / 3]
    out, fit = calibrate_by_list_pair(prob, lists, decided=decided, labels=labels)
    assert set(fit["by_list_pair"]) == {"a x b", "a x c"}  # type: ignore[arg-type]
    assert np.mean(out[:200] - prob[:200]) > 0.1 and np.mean(out[200:] - prob[200:]) < -0.1
    few = decided.copy()
    few[210:] = False  # a x c keeps 10 decisions: it takes the fit of all
    _, fit = calibrate_by_list_pair(prob, lists, decided=few, labels=labels)
    assert set(fit["by_list_pair"]) == {"a x b"}  # type: ignore[arg-type]


def test_a_draw_keeps_a_list_that_holds_a_person_twice_together_through_a_strong_chain() -> None:
    # records 1 and 3 (list a) are one person through record 2 (list b); their own pair is weak:
    # the best linkage's bridge keeps all three together, and so must a draw that samples both links
    records = _records(3)
    pairs = pd.DataFrame({"record_id_l": [1, 2, 1], "record_id_r": [2, 3, 3], "probability": [0.999, 0.995, 0.2]})
    draws, _ = sample_linkages(records, pairs, 200, seed=4)
    together = np.mean([d.nunique() == 1 for d in draws])
    assert together > 0.95  # the plain guard (no bridge) kept them together only when 1-3 was drawn: ~0.2
