"""The model's own estimate of missed links (undercount.link.missed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.link.conftest import make_case, persons_of
from typer.testing import CliRunner

from undercount.cli import app
from undercount.estimate.correction import correction_for
from undercount.link import link_case
from undercount.link.lineage import LineageRates
from undercount.link.missed import (
    DEFENSIVE,
    SHIFT_PRIOR_SD,
    STRONG,
    Calibration,
    _calibrated_counts,
    _inclusion,
    apart_pairs,
    fit_shift,
    missed_links,
    refused_logit,
    score_pair_sample,
    structural_labels,
    unstored_pairs,
)
from undercount.link.model import LinkOptions, default_blocking_rules
from undercount.link.run import _score, linkage_table
from undercount.store import Case


def test_inclusion_probabilities_sum_to_the_sample_and_stay_above_the_uniform_share() -> None:
    proxy = np.linspace(-5, 20, 10_000)
    pi = _inclusion(proxy, 500)
    assert pi.sum() == pytest.approx(500, rel=0.01)
    assert pi.min() >= DEFENSIVE * 500 / 10_000 - 1e-12 and pi.max() <= 1.0
    assert (np.diff(pi) >= 0).all()
    assert (_inclusion(proxy[:100], 500) == 1).all()  # a frame smaller than the sample is taken whole


def test_the_horvitz_thompson_sum_is_unbiased() -> None:
    rng = np.random.default_rng(0)
    proxy = rng.normal(0, 3, 5_000)
    y = 1 / (1 + np.exp(-(proxy - 8)))  # probabilities rising with the proxy
    pi = _inclusion(0.6 * proxy, 300)
    sums = [float((y / pi)[rng.random(len(y)) < pi].sum()) for _ in range(400)]
    se = np.sqrt(((1 - pi) * y**2 / pi).sum())
    assert abs(np.mean(sums) - y.sum()) < 4 * se / np.sqrt(400)
    assert np.std(sums) == pytest.approx(se, rel=0.2)


def _true_missed(case: Case, truth: Path) -> pd.DataFrame:
    joined = persons_of(case, truth)[["record_id", "source", "person_id", "true_person"]]
    pairs = joined.merge(joined, on="true_person", suffixes=("_l", "_r"))
    pairs = pairs[pairs["record_id_l"] < pairs["record_id_r"]]
    pairs["list_l"] = np.minimum(pairs["source_l"], pairs["source_r"])
    pairs["list_r"] = np.maximum(pairs["source_l"], pairs["source_r"])
    pairs["missed"] = pairs["person_id_l"] != pairs["person_id_r"]
    return pairs.groupby(["list_l", "list_r"])["missed"].sum()


def test_stored_part_is_the_sum_of_probabilities(linked_case: tuple[Case, Path]) -> None:
    case, _ = linked_case
    got = missed_links(case).set_index(["list_l", "list_r"])
    clusters = case.clusters().set_index("record_id")
    pairs = case.pairs()
    same = clusters["person_id"].reindex(pairs["record_id_l"]).to_numpy() == clusters["person_id"].reindex(
        pairs["record_id_r"]).to_numpy()
    a = clusters["source"].reindex(pairs["record_id_l"]).to_numpy()
    b = clusters["source"].reindex(pairs["record_id_r"]).to_numpy()
    sel = ((a == "moh") & (b == "press")) | ((a == "press") & (b == "moh"))
    p = pairs["probability"].to_numpy()
    assert got.loc[("moh", "press"), "expected_false"] == pytest.approx((1 - p)[sel & same].sum())
    assert got.loc[("moh", "press"), "missed_scored"] == pytest.approx(p[sel & ~same].sum())
    # every pair was compared in so small a case: an unstored pair scored below the floor
    row = got.loc[("moh", "press")]
    assert row["sampled_pairs"] == row["frame_pairs"] and row["missed_unstored_se"] == 0
    assert row["missed_unstored"] <= LinkOptions().floor * row["frame_pairs"]
    linked = persons_of(case, _).groupby(["person_id", "source"]).size().unstack(fill_value=0)
    assert row["linked_pairs"] == int((linked["moh"] * linked["press"]).sum())
    # the calibrated count has an interval that is never zero-width where pairs were left apart
    apart = got[got["missed_scored"] > 0.05]
    assert len(apart) and (apart["missed_high"] > apart["missed_low"]).all()
    assert (got["missed_low"] <= got["calibrated_missed"] + 1e-9).all()
    assert (got["calibrated_missed"] <= got["missed_high"] + 1e-9).all()


def test_a_missing_blocking_rule_shows_as_expected_missed_pairs(tmp_path: Path) -> None:
    case = make_case(tmp_path)
    keep = ("same ID number",)
    skip = tuple(r.name for r in default_blocking_rules() if r.name not in keep)
    result = link_case(case, options=LinkOptions(compare_all_below=0, skip_blocking=skip))
    truth = tmp_path / "lists" / "truth.csv"
    true = _true_missed(case, truth)
    got = pd.DataFrame(result.missed).set_index(["list_l", "list_r"])
    # survey and press hold no IDs: every true pair of theirs is missed and none is stored
    assert true.loc[("press", "survey")] > 20
    row = got.loc[("press", "survey")]
    assert row["missed_scored"] == 0 and row["frame_pairs"] > 0
    assert row["expected_missed"] == pytest.approx(true.loc[("press", "survey")], rel=0.2)
    # the calibrated count's interval holds the truth for every pair of lists
    for key, n in true.items():
        r = got.loc[key]
        assert r["missed_low"] <= n <= r["missed_high"], (key, n, r.to_dict())
    stored = case.query("SELECT * FROM uc_missed_links WHERE run_id = ?", [result.run_id])
    assert len(stored) == len(got[got["frame_pairs"] > 0])
    # the estimate's model correction stands for those pairs: about as many merges as missed pairs
    correction = correction_for(case, "model")
    assert correction is not None and correction.kind == "model" and not correction.verified
    assert correction.info["expected_merges"] == pytest.approx(float(true.sum()), rel=0.2)


def test_link_prints_the_models_estimate_of_missed_links(tmp_path: Path) -> None:
    make_case(tmp_path)
    out = CliRunner().invoke(app, ["link", str(tmp_path / "case")])
    assert out.exit_code == 0, out.output
    assert "The model's own estimate of linkage errors" in out.output
    assert "moh x press:" in out.output and "never stored" in out.output


def test_a_third_list_labels_pairs_by_its_own_strong_links() -> None:
    source = pd.Series(["a", "a", "b", "b", "c", "c"], index=[1, 2, 3, 4, 5, 6])
    # a1-c5 and b3-c5 are strong: a1-b3 is one person; b4-c6 is strong: a1-b4 is two persons;
    # a2 has no strong link to c: a2-b3 stays undecided; strong pairs label each other too
    left = np.array([1, 3, 4, 1, 1, 2])
    right = np.array([5, 5, 6, 3, 4, 3])
    prob = np.array([0.99, 0.95, 0.97, 0.2, 0.3, 0.4])
    labels = structural_labels(left, right, prob, source)
    assert labels.tolist() == [-1, -1, -1, 1, 0, -1]
    # a record with two strong links to c decides nothing
    labels = structural_labels(np.append(left, 1), np.append(right, 6), np.append(prob, 0.99), source)
    assert labels[3] == -1 and labels[4] == -1
    # anchored lower: a2-c5 at 0.8 then decides a2-b3
    labels = structural_labels(np.append(left, 2), np.append(right, 5), np.append(prob, 0.8), source, strong=0.7)
    assert labels[5] == 1
    assert structural_labels(np.append(left, 2), np.append(right, 5), np.append(prob, 0.8), source, strong=STRONG)[5] == -1


def test_the_calibration_shift_is_recovered_with_its_uncertainty() -> None:
    rng = np.random.default_rng(1)
    p = 1 / (1 + np.exp(-rng.normal(-1, 2, 4_000)))
    truth = 1.2
    y = (rng.random(len(p)) < 1 / (1 + np.exp(-(np.log(p / (1 - p)) + truth)))).astype(int)
    fit = fit_shift(p, y)
    assert abs(fit.shift - truth) < 3 * fit.sd and fit.sd < 0.1
    few = fit_shift(p[:5], y[:5])
    none = fit_shift(p, np.full(len(p), -1))
    assert none.shift == 0 and none.sd == pytest.approx(SHIFT_PRIOR_SD) and few.sd > 0.5


class _Stored:
    """The three tables apart_pairs reads from a link run: stored pairs, the threshold, clusters."""

    def __init__(self, pairs: pd.DataFrame, clusters: pd.DataFrame, threshold: float) -> None:
        self.pairs, self._clusters, self.threshold = pairs, clusters, threshold

    def query(self, sql: str, params: list[str]) -> pd.DataFrame:
        return self.pairs

    def rows(self, sql: str, params: list[str]) -> list[dict[str, object]]:
        assert "uc_link_models" in sql
        return [{"engine": "duckdb", "threshold": self.threshold}]

    def clusters(self, run: str) -> pd.DataFrame:
        return self._clusters


def test_a_pair_the_guard_refused_competes_with_the_weakest_link_its_persons_hold() -> None:
    # persons: {1 (moh), 2 (press)} held at 0.95 and {3 (press)}; {4 (moh)} and {5 (press)} alone.
    # 1-3 at 0.8 was refused (two press records without a link of their own); 2-4 at 0.6 was
    # refused (two moh records): 4 holds no link, its rival is 2's 0.95; 4-5 at 0.3 is below the threshold
    pairs = pd.DataFrame({"record_id_l": [1, 1, 4, 2], "record_id_r": [2, 3, 5, 4], "probability": [0.95, 0.8, 0.3, 0.6]})
    clusters = pd.DataFrame({"record_id": [1, 2, 3, 4, 5], "person_id": ["P1", "P1", "P3", "P4", "P5"],
                             "source": ["moh", "press", "press", "moh", "press"]})
    got = apart_pairs(_Stored(pairs, clusters, 0.5), "run").set_index(["a", "b"])
    assert got.index.tolist() == [(1, 3), (4, 5), (2, 4)]
    assert got.loc[(1, 3), "rival"] == pytest.approx(np.log(0.95 / 0.05))
    assert got.loc[(2, 4), "rival"] == pytest.approx(np.log(0.95 / 0.05))
    assert np.isnan(got.loc[(4, 5), "rival"])  # below the threshold: no guard, no rival
    # at a threshold above 0.8 nothing is held and nothing was refused
    assert apart_pairs(_Stored(pairs, clusters, 0.99), "run")["rival"].isna().all()
    # the count: the refused pair is one person with odds 4 / (1 + 19); the other keeps its 0.3
    apart = got.reset_index()
    counts = _calibrated_counts(apart[apart["b"] == 3], apart.iloc[:0].assign(pi=[]), Calibration(0.0, 1e-9, 0, 0))
    assert counts["calibrated_missed"].iloc[0] == pytest.approx(4 / 24)
    logits = refused_logit(apart["logit"].to_numpy(), apart["rival"].to_numpy(), shift=0.5)
    assert logits[1] == pytest.approx(np.log(0.3 / 0.7) + 0.5)
    assert logits[0] == pytest.approx(np.log(4 * np.exp(0.5) / (1 + 19 * np.exp(0.5))))


def test_pairs_left_apart_take_the_models_word_in_the_count_and_the_correction_alike(
        linked_case: tuple[Case, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    # no structural label reaches a pair left apart: whatever shift the labels measure, the count of
    # missed pairs and the model correction's joins stay at the model's word (session 13: the shift
    # over-counted them, 1.31 times the truth at 12,000 people), and the same in both places
    case, _ = linked_case
    got = {}
    for shift in (-3.0, 3.0):
        monkeypatch.setattr("undercount.link.missed.structural_calibration", lambda *a, s=shift, **k: Calibration(s, 0.01, 50, 5))
        correction = correction_for(case, "model")
        assert correction is not None
        got[shift] = (missed_links(case)["calibrated_missed"].sum(), correction.info["expected_merges"],
                      correction.info["calibration"]["shift"])
    assert got[-3.0][0] == pytest.approx(got[3.0][0]) and got[-3.0][1] == pytest.approx(got[3.0][1])
    assert got[-3.0][2] == -3.0 and got[3.0][2] == 3.0  # the held links still take the measured shift
    run = case.current_run("link")
    apart, unstored = apart_pairs(case, run), unstored_pairs(case, run)
    apart_p = 1 / (1 + np.exp(-refused_logit(apart["logit"].to_numpy(), apart["rival"].to_numpy())))
    unstored_p = 1 / (1 + np.exp(-unstored["logit"].to_numpy()))
    at_word = float(apart_p.sum() + (unstored_p / unstored["pi"].to_numpy()).sum())
    assert got[3.0][0] == pytest.approx(at_word)


def _log2_odds(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=float), 1e-15, 1 - 1e-15)
    out: np.ndarray = np.log2(q / (1 - q))
    return out


def test_the_unstored_sample_is_scored_on_the_stored_pairs_footing(tmp_path: Path) -> None:
    # the stored pairs take bits after the model (the Latin record's spelling, a third list's links);
    # the sample of unstored pairs that estimates the missed links must take the same (session 16)
    case = make_case(tmp_path)
    opts = LinkOptions(missed_sample=100_000, third_list=True)
    prepared, comparisons, _ = linkage_table(case, opts)
    pairs, settings, training, bits = _score(prepared, engine="duckdb", options=opts, labels=None, comparisons=comparisons)
    rates = LineageRates(**training["corrections"])
    evidence = [json.loads(e) for e in pairs["evidence"].astype(str)]

    def weight(key: str) -> np.ndarray:
        return np.array([e.get(key, {}).get("weight", 0.0) for e in evidence])

    assert (np.abs(weight("spelling")) > 0.1).sum() >= 5 and (np.abs(weight("third_list")) > 0.1).sum() >= 5
    # a stored pair scored as a sample pair: the model's log-odds and the bits alike (the stored pair has
    # in addition its pair of lists' prior over the global one and the one-to-one odds: unstored_pairs' part)
    sample = pairs.rename(columns={"record_id_l": "a", "record_id_r": "b"})[["a", "b"]]
    p = score_pair_sample(prepared, sample, settings, options=opts, rates=rates, comparisons=comparisons, bits=bits)
    stored = _log2_odds(pairs["probability"].to_numpy()) - weight("lists") - weight("one_to_one")
    assert np.abs(_log2_odds(p) - stored).max() < 0.03  # the evidence's weights are rounded to 0.01
    # a link run stores its sample so scored
    link_case(case, options=opts)
    kept = case.query("SELECT record_id_l AS a, record_id_r AS b, final_probability FROM uc_missed_sample")
    assert len(kept) > 100
    again = score_pair_sample(prepared, kept[["a", "b"]], settings, options=opts, rates=rates, comparisons=comparisons, bits=bits)
    assert np.abs(_log2_odds(kept["final_probability"].to_numpy()) - _log2_odds(again)).max() < 1e-6
