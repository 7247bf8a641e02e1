"""Negative dependence between two lists: the pooled test and what auto does with it."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from undercount.errors import ConfigError
from undercount.estimate import auto
from undercount.estimate.auto import AutoOptions, estimate_table, fit_table, with_pooled_dependence
from undercount.estimate.case import estimate_matrix
from undercount.estimate.dependence import (
    OverlapCheck,
    check_overlaps,
    format_pairs,
    negative_pairs,
    pair_dependence,
    parse_pairs,
)
from undercount.estimate.registry import choose

LISTS = ["hospital", "survey", "social"]


def expected_table(n: int, *, interaction: float = -0.8, probs: tuple[float, ...] = (0.6, 0.3, 0.3)) -> pd.DataFrame:
    """The expected capture table (rounded) of n persons under a log-linear model with a hospital x
    survey interaction on the log odds scale (the end-to-end bench's -0.8)."""
    pats = np.array(list(itertools.product([0, 1], repeat=3)))
    weights = np.exp(pats @ np.log(np.array(probs) / (1 - np.array(probs))) + interaction * pats[:, 0] * pats[:, 1])
    counts = np.round(n * weights / weights.sum()).astype(int)
    table = pd.DataFrame(pats[1:], columns=LISTS)
    table["count"] = counts[1:]
    return table


def test_mantel_haenszel_odds_ratio_of_a_pair() -> None:
    found = {p.lists: p for p in pair_dependence([expected_table(2000)])}
    hs = found[("hospital", "survey")]
    assert hs.log_odds_ratio == pytest.approx(-0.8, abs=0.02)
    assert hs.z == pytest.approx(hs.log_odds_ratio / hs.se) and hs.z < -3.5
    assert hs.persons == 54 + 280 + 80 + 186  # the slice where the third list holds the person
    assert found[("hospital", "social")].log_odds_ratio == pytest.approx(0, abs=0.02)
    independent = pair_dependence([expected_table(2000, interaction=0.0)])
    assert [p.log_odds_ratio for p in independent] == pytest.approx([0, 0, 0], abs=0.02)


def test_pooling_strata_finds_what_no_stratum_shows() -> None:
    stratum = expected_table(300)
    assert negative_pairs([stratum]) == []  # z -1.6 alone: above the Bonferroni bound of 3 pairs (-2.13)
    pooled = negative_pairs([stratum] * 6)
    assert [p.lists for p in pooled] == [("hospital", "survey")]
    assert negative_pairs([expected_table(300, interaction=0.0)] * 6) == []
    assert negative_pairs([expected_table(300, interaction=0.8)] * 6) == []  # positive: latent classes express it
    # a list missing from a stratum (naming no one there) is left out of that stratum's slices
    two = stratum.groupby(["hospital", "survey"], as_index=False)["count"].sum()
    assert pair_dependence([two]) == [pair_dependence([two])[0]] and pair_dependence([two])[0].z is None


def test_auto_takes_the_dependent_model_in_a_small_stratum() -> None:
    stratum = expected_table(300)  # 235 documented, 300 in truth
    old = estimate_table(stratum, options={"dependence_alpha": 0})
    assert old.details["point_method"] == "lcmcr" and old.estimate > 310  # the latent classes read it as heterogeneity
    fitting, found = with_pooled_dependence(choose("auto"), [stratum] * 6)
    assert [f["lists"] for f in found] == [["hospital", "survey"]]
    new = fit_table(fitting, stratum, level=0.95, seed=0)
    assert new.details["point_method"] == "loglinear" and "[12" in new.model
    assert new.estimate == pytest.approx(300, rel=0.01)
    assert new.lower <= 300 <= new.upper and new.upper >= old.upper  # LCMCR stays in the envelope
    assert new.details["negative_pairs"] == [["hospital", "survey"]]
    assert "negative dependence of hospital x survey" in new.details["why"]


def test_case_estimate_passes_the_pooled_pairs_to_every_stratum() -> None:
    rows = []
    for s in range(8):
        table = expected_table(64, interaction=-1.0)  # 49 documented (below LCMCR's 50: cheap), z -1.2 alone
        for pattern in table.itertuples(index=False):
            rows += [{"stratum": f"s{s}", **dict(zip(LISTS, pattern[:3]))}] * int(pattern[3])
    frame = pd.DataFrame(rows)
    matrix, labels = frame[LISTS], frame["stratum"]
    strata, total, _ = estimate_matrix(matrix, [labels], seed=0)
    assert total.details["negative_pairs"][0]["lists"] == ["hospital", "survey"]
    assert all(r.details["negative_pairs"] == [["hospital", "survey"]] and "[12" in r.model for r in strata.values())
    off, off_total, _ = estimate_matrix(matrix, [labels], seed=0, options={"dependence_alpha": 0})
    assert "negative_pairs" not in off_total.details
    assert abs(total.estimate - 512) < abs(off_total.estimate - 512)


def test_options_are_checked() -> None:
    assert parse_pairs(format_pairs([("a", "b"), ("c", "d")])) == [("a", "b"), ("c", "d")]
    with pytest.raises(ConfigError, match="negative_pairs"):
        AutoOptions(negative_pairs="hospital x survey")
    with pytest.raises(ConfigError, match="dependence_alpha"):
        AutoOptions(dependence_alpha=1.5)
    with pytest.raises(ConfigError, match="check_alpha"):
        AutoOptions(check_alpha=-0.1)
    small = expected_table(64, interaction=-1.0)  # 49 documented: no LCMCR fit; alone the test finds nothing
    assert estimate_table(small).details["negative_pairs"] == []
    given = estimate_table(small, options={"negative_pairs": '[["hospital", "survey"]]'})
    assert given.details["negative_pairs"] == [["hospital", "survey"]] and "[12" in given.model


def anti_ordered_classes(n: int = 4000) -> pd.DataFrame:
    """The expected table of two equal latent classes that lists A and B reach in opposite order (0.6 and
    0.1), C and D alike: A x B negatively dependent, as latent classes make it (and LCMCR expresses)."""
    probs = np.array([[0.6, 0.1, 0.4, 0.4], [0.1, 0.6, 0.4, 0.4]])
    pats = np.array(list(itertools.product([0, 1], repeat=4)))[1:]
    given = np.prod(np.where(pats[:, None, :] == 1, probs[None], 1 - probs[None]), axis=2)  # patterns x classes
    table = pd.DataFrame(pats, columns=list("ABCD"))
    table["count"] = np.round(n * given.mean(axis=1)).astype(int)
    return table


SHORT = {"lcmcr": {"iterations": 2000, "burnin": 500, "thinning": 5, "chains": 2}}


def test_the_check_pools_the_test_statistic_and_sees_latent_classes_reproduce_it() -> None:
    table = anti_ordered_classes()
    test = {p.lists: p for p in pair_dependence([table])}[("A", "B")]
    check = check_overlaps([table], ("A", "B"), draws=100)
    assert check.observed == pytest.approx(test.log_odds_ratio)  # the same Mantel-Haenszel statistic
    assert check.observed < -1.3 and check.replicated == pytest.approx(check.observed, abs=0.15)
    assert check.p_value is not None and 0.05 < check.p_value < 0.95 and check.tables == 1
    pooled = check_overlaps([table, table], ("A", "B"), draws=100)
    assert pooled.observed == pytest.approx(check.observed) and pooled.tables == 2
    assert check_overlaps([table], ("A", "E"), draws=10).p_value is None  # no table holds the pair
    assert check_overlaps([table], ("A", "B"), draws=10, min_persons=5000).p_value is None  # too few persons


def test_auto_keeps_lcmcr_when_its_fit_holds_the_pair() -> None:
    table = anti_ordered_classes()  # 3,482 documented of 4,000
    res = estimate_table(table, seed=1, options=SHORT)
    assert res.details["point_method"] == "lcmcr" and res.details["negative_pairs"] == []
    assert [c["lists"] for c in res.details["lcmcr_reproduces"]] == [["A", "B"]]
    assert "held by LCMCR's fit" in res.details["why"]
    old = estimate_table(table, seed=1, options={**SHORT, "check_alpha": 0})  # the rule of session 8
    assert old.details["point_method"] == "loglinear" and old.details["negative_pairs"] == [["A", "B"]]
    fitting, found = with_pooled_dependence(choose("auto", SHORT), [table] * 2, seed=1)
    assert found[0]["lists"] == ["A", "B"] and found[0]["switched"] is False and found[0]["check"]["tables"] == 2
    assert fitting.options.negative_pairs == "[]"


def test_auto_switches_when_lcmcr_cannot_hold_the_pair_or_lists_are_three(monkeypatch: pytest.MonkeyPatch) -> None:
    # three lists: the check cannot tell (seven cells), the pair moves the point unchecked
    fitting, found = with_pooled_dependence(choose("auto"), [expected_table(300)] * 6)
    assert found[0]["switched"] is True and "check" not in found[0]
    # four lists, LCMCR's fit short of the pair's overlap: the point leaves LCMCR
    monkeypatch.setattr(auto, "check_overlaps", lambda tables, pair, **_: OverlapCheck(pair, -1.4, -0.3, 0.01, 1, 200))
    res = estimate_table(anti_ordered_classes(), seed=1, options=SHORT)
    assert res.details["point_method"] == "loglinear" and res.details["negative_pairs"] == [["A", "B"]]
    assert "posterior predictive p 0.010" in res.details["why"]
