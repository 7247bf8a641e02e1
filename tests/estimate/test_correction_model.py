"""The model's (unverified) correction for linkage errors (undercount.estimate.correction), by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from undercount.estimate.correction import ModelCorrection, _Replicate
from undercount.link.missed import SHIFT_PRIOR_SD, Calibration


def _case() -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """P0 on A (record 1), P1 on B (records 2, 3: a duplicate), P2 on A and B (records 4, 5)."""
    matrix = pd.DataFrame([(1, 0), (0, 1), (1, 1)], index=pd.Index(["P0", "P1", "P2"], name="person_id"),
                          columns=["A", "B"], dtype=np.int8)
    labels = pd.Series("all", index=matrix.index)
    person = pd.Series(["P0", "P1", "P1", "P2", "P2"], index=[1, 2, 3, 4, 5])
    return matrix, labels, person


RECORDS = pd.DataFrame({"record_id": [1, 2, 3, 4, 5], "source": ["A", "B", "B", "A", "B"]})


def _logit(p: float) -> float:
    p = min(p, 1 - 1e-12)
    return float(np.log(p / (1 - p)))


def _correction(pairs: list[tuple[int, int, float]], shift: float, sd: float = 0.0, *, records: pd.DataFrame = RECORDS,
                must: list[tuple[int, int]] | None = None, apart: bool = True) -> ModelCorrection:
    """``apart``: the pairs left apart take the same shift (else the default, the shift's prior)."""
    frame = pd.DataFrame([(a, b, _logit(p)) for a, b, p in pairs], columns=["a", "b", "logit"])
    unstored = pd.DataFrame(columns=["a", "b", "list_l", "list_r", "logit", "pi", "c"])
    out = ModelCorrection(frame, unstored, Calibration(shift, sd, 0, 0), {}, records=records, must=must or [],
                          unseen=False, apart_shift=Calibration(shift, sd, 0, 0) if apart else None)
    out.point_draws = 120  # the point is a mean of draws: enough for the tolerances below, and cheap
    return out


def test_the_best_linkage_joins_pairs_it_left_apart_at_p_a_and_cuts_links_it_holds_at_one_minus_p_a() -> None:
    matrix, labels, person = _case()
    # a deterministic linkage is not a draw: the pair it left apart at p = 0.2 (odds 1/4; a shift of
    # log 4 makes p_a = 0.5) is joined at p_a, not at the excess (p_a - p) / (1 - p) = 0.375 of a draw
    best = _correction([(1, 2, 0.2), (2, 3, 1.0), (4, 5, 1.0)], np.log(4))
    assert best.event_chances(np.array([False, True, True]), np.log(4)) == pytest.approx([0.5, 0.0, 0.0])
    point = best.point(matrix, labels, person)
    assert point[("all", (1, 1))] == pytest.approx(0.5, abs=0.08)
    assert point[("all", (1, 0))] == pytest.approx(-0.5, abs=0.08) and point[("all", (0, 1))] == point[("all", (1, 0))]
    # a held link at 0.9 is wrong one time in ten: P2 splits into one person on A and one on B
    held = _correction([(2, 3, 1.0), (4, 5, 0.9)], 0.0)
    point = held.point(matrix, labels, person)
    assert point[("all", (1, 1))] == pytest.approx(-0.1, abs=0.05)
    assert point[("all", (1, 0))] == pytest.approx(0.1, abs=0.05) and point[("all", (0, 1))] == point[("all", (1, 0))]
    assert held.expected(person) == pytest.approx({"joined": 0.0, "cut": 0.1, "unstored": 0.0})


def test_linkage_draws_keep_the_excess_for_every_pair_the_draw_left_apart() -> None:
    matrix, labels, person = _case()
    pairs = [(1, 2, 0.2), (2, 3, 1.0), (4, 5, 0.6)]
    drawn = _correction(pairs, np.log(4)).on_draws()
    assert isinstance(drawn, ModelCorrection) and drawn.linkage == "draws"
    # apart (drawn with p already): the excess; held: nothing to cut when p_a > p
    chances = drawn.event_chances(np.array([False, True, True]), np.log(4))
    assert chances == pytest.approx([(0.5 - 0.2) / 0.8, 0.0, 0.0])
    # a draw that broke P2's link (4, 5): the correction may join it again, although the best
    # linkage held it (session 6: only the best linkage's apart pairs could be joined)
    broken = pd.Series(["P0", "P1", "P1", "P2", "P5"], index=[1, 2, 3, 4, 5])
    split = pd.DataFrame([(1, 0), (0, 1), (1, 0), (0, 1)], index=pd.Index(["P0", "P1", "P2", "P5"], name="person_id"),
                         columns=["A", "B"], dtype=np.int8)
    p_a = 6 / 7  # odds 1.5 x 4
    assert drawn.expected(broken)["joined"] == pytest.approx((0.5 - 0.2) / 0.8 + (p_a - 0.6) / 0.4)
    point = drawn.point(split, pd.Series("all", index=split.index), broken)
    assert point[("all", (1, 1))] == pytest.approx((0.5 - 0.2) / 0.8 + (p_a - 0.6) / 0.4, abs=0.12)
    # a shift that lowers p cuts held links by (p - p_a) / p
    lower = _correction(pairs, -np.log(4)).on_draws()
    assert lower.event_chances(np.array([False, True, True]), -np.log(4))[2] == pytest.approx((0.6 - 0.6 / 2.2) / 0.6)


def test_a_cut_link_splits_nothing_while_other_links_hold_the_person_together() -> None:
    # one person on A, B and C (records 1, 2, 3) joined by three links: cutting one splits nothing
    matrix = pd.DataFrame([(1, 1, 1)], index=pd.Index(["P1"], name="person_id"), columns=["A", "B", "C"], dtype=np.int8)
    labels = pd.Series("all", index=matrix.index)
    person = pd.Series(["P1"] * 3, index=[1, 2, 3])
    records = pd.DataFrame({"record_id": [1, 2, 3], "source": ["A", "B", "C"]})
    triangle = _correction([(1, 2, 0.5), (1, 3, 0.5), (2, 3, 0.5)], 0.0, records=records)
    # the person splits only when two of its three links are cut: 4/8 of the time, into 2 or 3 parts
    point = triangle.point(matrix, labels, person)
    assert point[("all", (1, 1, 1))] == pytest.approx(-0.5, abs=0.08)
    # people's decision holds it together whatever the model says
    decided = _correction([(1, 2, 0.5), (1, 3, 0.5), (2, 3, 0.5)], 0.0, records=records, must=[(1, 2), (2, 3)])
    assert decided.point(matrix, labels, person) == {}
    # a person its linkage joined without a stored pair (here: the truth) is never split by the model
    loose = _correction([(1, 2, 0.5)], 0.0, records=records)
    point = loose.point(matrix, labels, person)
    assert set(point) == {("all", (1, 1, 1)), ("all", (1, 0, 1)), ("all", (0, 1, 0))}
    assert point[("all", (0, 1, 0))] == pytest.approx(0.5, abs=0.08)


def test_the_shift_is_drawn_once_per_replicate_so_its_uncertainty_moves_every_pair() -> None:
    matrix, labels, person = _case()
    correction = _correction([(1, 2, 0.3), (1, 3, 0.3), (2, 3, 1.0), (4, 5, 1.0)], 0.0, sd=1.5).on_draws()
    rng = np.random.default_rng(0)
    rep = _Replicate(matrix, labels, person)
    merged = [correction.draw(rep, rng).get(("all", (1, 1)), 0.0) for _ in range(300)]
    # half the shifts are negative (no excess): far more replicates without a merge than the
    # chance of a pair-by-pair draw at the mean shift (which would merge every replicate a little)
    assert 0.45 < np.mean(np.asarray(merged) == 0) < 0.85
    assert set(np.unique(merged)) <= {0.0, 1.0}


def test_pairs_no_part_of_the_model_sees_widen_the_draws_by_the_rule_of_three() -> None:
    # 20 persons on A only, 20 on B only, 10 on both, nothing scored: the model sees no missed pair
    rows = [(1, 0)] * 20 + [(0, 1)] * 20 + [(1, 1)] * 10
    matrix = pd.DataFrame(rows, index=pd.Index([f"P{i}" for i in range(50)], name="person_id"), columns=["A", "B"],
                          dtype=np.int8)
    labels = pd.Series("all", index=matrix.index)
    person = pd.Series(matrix.index, index=range(1, 51))
    empty = pd.DataFrame(columns=["a", "b", "list_l", "list_r", "logit"])
    records = pd.DataFrame({"record_id": range(1, 51), "source": ["A"] * 50})
    correction = ModelCorrection(empty, empty.assign(pi=[], c=[]), Calibration(0.0, 1.0, 0, 0), {}, records=records)
    assert correction.point(matrix, labels, person) == {}  # the point estimate leaves them out
    rng = np.random.default_rng(3)
    rep = _Replicate(matrix, labels, person)
    merges = np.array([correction.draw(rep, rng).get(("all", (1, 1)), 0.0) for _ in range(4000)])
    # U ~ Poisson(Gamma(1, 1)) is geometric: P(U = 0) = 1/2, P(U >= 3) = 1/8, mean 1
    assert np.mean(merges == 0) == pytest.approx(0.5, abs=0.03)
    assert np.mean(merges >= 3) == pytest.approx(0.125, abs=0.02)
    assert merges.mean() == pytest.approx(1.0, abs=0.1)


def test_pairs_left_apart_take_the_models_word_and_held_links_the_measured_shift_by_default() -> None:
    matrix, labels, person = _case()
    # the structural shift (log 4) is measured on pairs linkage joined or kept apart with confidence;
    # no label reaches a pair left apart, which is joined at its own p = 0.2 (the prior's mean, 0)
    best = _correction([(1, 2, 0.2), (2, 3, 1.0), (4, 5, 0.6)], np.log(4), apart=False)
    assert best.apart_shift == Calibration(0.0, SHIFT_PRIOR_SD, 0, 0)
    assert best.expected(person) == pytest.approx({"joined": 0.2, "cut": 1 - 6 / 7, "unstored": 0.0})
    point = best.point(matrix, labels, person)
    assert point[("all", (1, 1))] == pytest.approx(0.2 - (1 - 6 / 7), abs=0.08)
    # a draw shares nothing between the two: the pairs left apart draw from the prior
    rng = np.random.default_rng(1)
    rep = _Replicate(matrix, labels, person)
    merged = [best.draw(rep, rng).get(("all", (1, 1)), 0.0) for _ in range(400)]
    assert 0.1 < np.mean(np.asarray(merged) > 0) < 0.45


def _larger_case(seed: int) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame, list[tuple[int, int, float]]]:
    """40 persons, each with one to three records on lists A, B, C; stored pairs within and across persons."""
    rng = np.random.default_rng(seed)
    rows, person_of = [], {}
    record = 0
    for p in range(40):
        for source in rng.choice(["A", "B", "C"], size=int(rng.integers(1, 4)), replace=False):
            record += 1
            rows.append((record, str(source)))
            person_of[record] = f"P{p}"
    records = pd.DataFrame(rows, columns=["record_id", "source"])
    person = pd.Series(person_of).sort_index()
    matrix = pd.crosstab(person.to_numpy(), records.set_index("record_id")["source"].reindex(person.index).to_numpy())
    matrix = (matrix > 0).astype(np.int8).rename_axis("person_id").rename_axis(None, axis=1)
    ids = person.index.to_numpy()
    pairs = []
    for a, b in zip(ids[:-1], ids[1:]):
        same = person[a] == person[b]
        pairs.append((int(a), int(b), float(rng.uniform(0.7, 0.99) if same else rng.uniform(0.05, 0.4))))
    return matrix, person, records, pairs


def test_a_replicate_regrouped_once_gives_every_pass_the_draws_it_would_make_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The passes of a run that draw one linkage with one generator (the pooled draws and the breakdowns)
    share the stored pairs' regrouping (made once, the generator's state carried on); each gets exactly
    the corrected matrix and labels a correction of its own would give it."""
    import undercount.estimate.correction as correction_module

    matrix, person, records, pairs = _larger_case(3)
    by_sex = pd.Series(np.where(np.arange(len(matrix)) % 2 == 0, "sex=female", "sex=male"), index=matrix.index)
    by_period = pd.Series(np.where(np.arange(len(matrix)) % 3 == 0, "period=2024Q1", "period=2024Q2"), index=matrix.index)
    real = correction_module.cluster_records
    calls: list[int] = []

    def counting(*args: object, **kwargs: object) -> pd.Series:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(correction_module, "cluster_records", counting)
    shared = _correction(pairs, 0.8, sd=1.0, records=records).on_draws()
    for labels in (by_sex, by_period, by_sex):
        for seed in range(6):
            alone = _correction(pairs, 0.8, sd=1.0, records=records).on_draws()
            got = shared.fresh().adjust(matrix, labels, person, np.random.default_rng([0, seed]))
            want = alone.adjust(matrix, labels, person, np.random.default_rng([0, seed]))
            pd.testing.assert_frame_equal(got[0], want[0])
            pd.testing.assert_series_equal(got[1], want[1])
    regrouped = len(shared._regrouped)
    flips = sum(found is not None for _, found in shared._regrouped.values())  # seeds whose draw changed a pair
    assert regrouped == 6 and flips > 0
    assert len(calls) == 3 * flips + flips  # each correction alone clusters every time; the shared one once a seed
    other = person.copy()
    other[other.index[:2]] = "P99"  # another linkage: regrouped afresh
    shared.fresh().adjust(matrix.reindex(list(matrix.index) + ["P99"], fill_value=0), by_sex.reindex(
        list(by_sex.index) + ["P99"], fill_value="sex=male"), other, np.random.default_rng([0, 0]))
    assert len(shared._regrouped) == regrouped + 1
