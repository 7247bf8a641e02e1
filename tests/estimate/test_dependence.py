"""Negative dependence between two lists: the pooled test and what auto does with it."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from undercount.errors import ConfigError
from undercount.estimate.auto import AutoOptions, estimate_table, fit_table, with_pooled_dependence
from undercount.estimate.case import estimate_matrix
from undercount.estimate.dependence import format_pairs, negative_pairs, pair_dependence, parse_pairs
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
    small = expected_table(64, interaction=-1.0)  # 49 documented: no LCMCR fit; alone the test finds nothing
    assert estimate_table(small).details["negative_pairs"] == []
    given = estimate_table(small, options={"negative_pairs": '[["hospital", "survey"]]'})
    assert given.details["negative_pairs"] == [["hospital", "survey"]] and "[12" in given.model
