"""Recalibration of pair probabilities per pair of lists on labels the model did not make."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from undercount.link import link_case
from undercount.link.calibrate import MIN_LABELS, pair_labels, recalibrate
from undercount.link.model import LinkOptions

from .conftest import make_case


def _three_lists(n: int = 20, p_ab: float = 0.3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """n persons on lists a, b, c; a-c and b-c links strong, a-b scored ``p_ab``; plus n/2 false
    a-b pairs (a person with the next person) scored ``p_ab`` too."""
    ids = {(s, i): k for k, (s, i) in enumerate(((s, i) for s in "abc" for i in range(n)), start=1)}
    prepared = pd.DataFrame({"unique_id": list(ids.values()), "source": [s for s, _ in ids]})
    rows = [(ids["a", i], ids["c", i], 0.99) for i in range(n)] + [(ids["b", i], ids["c", i], 0.99) for i in range(n)]
    rows += [(ids["a", i], ids["b", i], p_ab) for i in range(n)] + [(ids["a", i], ids["b", i + 1], p_ab) for i in range(n // 2)]
    scored = pd.DataFrame(rows, columns=["unique_id_l", "unique_id_r", "match_probability"])
    p = scored["match_probability"].to_numpy()
    scored["match_weight"] = np.log2(p / (1 - p))
    return prepared, scored


def test_a_third_lists_strong_links_shift_an_underconfident_pair_of_lists() -> None:
    prepared, scored = _three_lists()
    out, summary = recalibrate(prepared, scored)
    ab = summary["a x b"]
    assert ab["applied"] and ab["labels"] == 30 and ab["positives"] == 20
    # 20 of 30 labelled pairs at 0.3 are one person: the shift moves them toward 2/3, shrunk by the
    # prior, and is applied one standard deviation short of its mean
    assert 0.8 < ab["shift"] < np.log(2 / 1) - np.log(0.3 / 0.7)
    assert ab["applied_shift"] == pytest.approx(ab["shift"] - ab["sd"], abs=1e-4) and ab["applied_shift"] > 0.5
    moved = out["match_probability"].to_numpy()[40:]
    assert np.all(moved > 0.4) and np.all(moved < 2 / 3)
    assert out["mw_calibration"].to_numpy()[40:] == pytest.approx(ab["applied_shift"] / np.log(2), abs=1e-3)
    # a x c and b x c: no third list decides them (a and b are not strongly linked): unchanged
    assert not summary["a x c"]["applied"] and not summary["b x c"]["applied"]
    assert out["match_probability"].to_numpy()[:40] == pytest.approx(0.99)


def test_too_few_labels_of_one_kind_leave_the_probabilities_alone() -> None:
    prepared, scored = _three_lists(n=2 * (MIN_LABELS - 1))  # MIN_LABELS - 1 false pairs only
    out, summary = recalibrate(prepared, scored)
    assert summary["a x b"]["positives"] >= MIN_LABELS and not summary["a x b"]["applied"]
    assert out["match_probability"].to_numpy() == pytest.approx(scored["match_probability"].to_numpy())


def test_reviewed_decisions_label_pairs_before_the_third_list() -> None:
    source = pd.Series(["a", "b", "c"], index=[1, 2, 3])
    left, right, prob = np.array([1, 1, 2]), np.array([2, 3, 3]), np.array([0.2, 0.95, 0.95])
    assert pair_labels(left, right, prob, source).tolist() == [1, -1, -1]
    assert pair_labels(left, right, prob, source, reviewed={(1, 2): 0, (1, 3): 1}).tolist() == [0, 1, -1]


def test_a_recalibrated_run_stores_each_pair_of_lists_shift_and_shows_it_in_the_evidence(tmp_path: Path) -> None:
    case = make_case(tmp_path)
    result = link_case(case, options=LinkOptions(recalibrate=True))
    calibration = result.training["calibration"]
    assert "moh x survey" in calibration
    assert all(set(c) == {"shift", "sd", "labels", "positives", "applied", "applied_shift"} for c in calibration.values())
    sources = case.records(["record_id", "source"]).set_index("record_id")["source"]
    for row in case.pairs().itertuples():
        fit = calibration[" x ".join(sorted((sources[row.record_id_l], sources[row.record_id_r])))]
        assert json.loads(row.evidence)["calibration"]["weight"] == pytest.approx(fit["applied_shift"] / math.log(2), abs=0.006)
