"""The model's (unverified) correction for missed links (undercount.estimate.correction), by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from undercount.estimate.correction import ModelCorrection, _Replicate
from undercount.link.missed import Calibration


def _case() -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """P0 on A (record 1), P1 on B (records 2, 3), P2 on A and B (records 4, 5)."""
    matrix = pd.DataFrame([(1, 0), (0, 1), (1, 1)], index=pd.Index(["P0", "P1", "P2"], name="person_id"),
                          columns=["A", "B"], dtype=np.int8)
    labels = pd.Series("all", index=matrix.index)
    person = pd.Series(["P0", "P1", "P1", "P2", "P2"], index=[1, 2, 3, 4, 5])
    return matrix, labels, person


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def _correction(apart: list[tuple[int, int, float]], shift: float, sd: float = 0.0) -> ModelCorrection:
    frame = pd.DataFrame([(a, b, "A", "B", _logit(p)) for a, b, p in apart], columns=["a", "b", "list_l", "list_r", "logit"])
    unstored = pd.DataFrame(columns=["a", "b", "list_l", "list_r", "logit", "pi", "c"])
    return ModelCorrection(frame, unstored, Calibration(shift, sd, 0, 0), {}, unseen=False)


def test_a_pair_left_apart_is_merged_with_the_calibrated_excess_over_its_probability() -> None:
    matrix, labels, person = _case()
    # p = 0.2 (odds 1/4); a shift of log 4 makes the odds 1: p_a = 0.5; the draws gave 0.2 already,
    # so the correction merges with (0.5 - 0.2) / (1 - 0.2) = 0.375
    point = _correction([(1, 2, 0.2)], np.log(4)).point(matrix, labels, person)
    assert point == pytest.approx({("all", (1, 0)): -0.375, ("all", (0, 1)): -0.375, ("all", (1, 1)): 0.375})
    # two record pairs between the same two persons merge them once: 1 - (1 - q)^2
    point = _correction([(1, 2, 0.2), (1, 3, 0.2)], np.log(4)).point(matrix, labels, person)
    assert point[("all", (1, 1))] == pytest.approx(1 - 0.625**2)
    # a shift that lowers the probability takes no link away, and a pair in one person is left alone
    assert _correction([(1, 2, 0.2)], -1.0).point(matrix, labels, person) == {}
    assert _correction([(4, 5, 0.2)], 2.0).point(matrix, labels, person) == {}


def test_the_shift_is_drawn_once_per_replicate_so_its_uncertainty_moves_every_pair() -> None:
    matrix, labels, person = _case()
    correction = _correction([(1, 2, 0.3), (1, 3, 0.3)], 0.0, sd=1.5)
    rng = np.random.default_rng(0)
    rep = _Replicate(matrix, labels, person)
    merged = [correction.draw(rep, rng).get(("all", (1, 1)), 0.0) for _ in range(2000)]
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
    correction = ModelCorrection(empty, empty.assign(pi=[], c=[]), Calibration(0.0, 1.0, 0, 0), {})
    assert correction.point(matrix, labels, person) == {}  # the point estimate leaves them out
    rng = np.random.default_rng(3)
    rep = _Replicate(matrix, labels, person)
    merges = np.array([correction.draw(rep, rng).get(("all", (1, 1)), 0.0) for _ in range(4000)])
    # U ~ Poisson(Gamma(1, 1)) is geometric: P(U = 0) = 1/2, P(U >= 3) = 1/8, mean 1
    assert np.mean(merges == 0) == pytest.approx(0.5, abs=0.03)
    assert np.mean(merges >= 3) == pytest.approx(0.125, abs=0.02)
    assert merges.mean() == pytest.approx(1.0, abs=0.1)
